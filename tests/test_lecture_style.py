"""Code written for micrograd and the micrograd lecture, run unchanged on autograd_lite.

micrograd's ``Neuron(nin, nonlin)`` positionally and its ``.nonlin``; activations by
name through ``nonlin=``; ``_op`` shown as the plain string; the lecture's
``Value(data, _children, _op, label)`` with a ``_backward`` closure of one's own;
attributes of one's own on a Value and weak references to it.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle
import subprocess
import sys
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, no_grad
from autograd_lite.engine import local_derivatives
from autograd_lite.functional import grad
from autograd_lite.nn import MLP, Layer, Neuron
from autograd_lite.stepper import backward_steps
from autograd_lite.testing import gradcheck
from autograd_lite.viz import draw_graph


def test_neuron_takes_micrograds_nonlin_positionally_and_has_it_as_an_attribute():
    linear, relu = Neuron(2, False), Neuron(2, True)
    assert linear.nonlin is False and relu.nonlin is True
    assert linear.activation == "linear" and relu.activation == "relu"
    x = [1.5, -2.0]
    pre = sum((w * xi for w, xi in zip(relu.w, x)), relu.b)
    assert relu(x).data == max(pre.data, 0.0)
    assert Neuron(2, nonlin=False).nonlin is False and Neuron(2, "tanh").nonlin is True
    relu.nonlin = False
    assert relu.activation == "linear"
    with pytest.raises(TypeError, match="nonlin must be True"):
        relu.nonlin = "tanh"  # type: ignore[assignment]


def test_mlp_nonlin_by_name_builds_those_neurons_and_an_unknown_name_is_an_error():
    model = MLP(2, [2, 1], nonlin="tanh")
    assert [n.activation for n in model.layers[0].neurons] == ["tanh", "tanh"]
    assert model.layers[-1].neurons[0].activation == "linear"
    assert {v._op for v in model([0.5, 0.25])._prev} == {"", "tanh"}  # dot(w, tanh outputs, b)
    with pytest.raises(ValueError, match="unknown activation 'tahn'"):
        MLP(2, [2, 1], nonlin="tahn")
    with pytest.raises(ValueError, match="unknown activation 'tahn'"):
        Neuron(2, "tahn")
    with pytest.raises(TypeError, match="not both"):
        Layer(2, 2, "tanh", nonlin=True)


def test_op_shows_as_the_plain_string_as_micrograd():
    a, b = Value(2.0), Value(3.0)
    assert repr((a + b)._op) == "'+'" and repr((a * b)._op) == "'*'"
    assert repr(a._op) == "''" and f"{(a * b)._op}" == "*"
    assert (a + b)._op == "+"


def lecture_exp(self: Value) -> Value:
    """The lecture's way of adding an op: a node made with Value(data, _children, _op)."""
    x = self.data
    out = Value(math.exp(x), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def lecture_mul(self: Value, other: Value) -> Value:
    out = Value(self.data * other.data, _children=(self, other), _op="*", label="m")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


@given(x=st.floats(-3, 3), y=st.floats(-3, 3))
def test_lecture_ops_with_their_own_backward_match_the_table_ops(x: float, y: float):
    a, b = Value(x), Value(y)
    out = lecture_mul(lecture_exp(a * 2), b) + a
    out.backward()
    c, d = Value(x), Value(y)
    ((c * 2).exp() * d + c).backward()
    assert a.grad == pytest.approx(c.grad, rel=1e-12) and b.grad == pytest.approx(d.grad, rel=1e-12)
    assert gradcheck(lambda u, v: lecture_mul(lecture_exp(u), v) + u, [x, y])


def test_a_lecture_node_is_micrograds_keywords_its_op_string_and_no_closure_passes_nothing():
    a = Value(2.0)
    n = Value(5.0, (a,), "mystery", label="n")
    assert n._prev == (a,) and n._op == "mystery" and n.label == "n"
    (n * 3).backward()
    assert a.grad == 0.0, "micrograd's default _backward passes nothing on"
    with pytest.raises(TypeError, match=r"_children\[1\] must be a Value"):
        Value(1.0, (a, 2.0), "+")
    with pytest.raises(TypeError, match="_children is micrograd's tuple"):
        Value(1.0, "ab")  # type: ignore[arg-type]


def test_the_stepper_and_draw_graph_see_a_lecture_node_and_every_grad_is_put_back():
    a = Value(0.5, label="a")
    e = lecture_exp(a)
    e.grad, a.grad = 7.0, 9.0
    assert local_derivatives(e) == (pytest.approx(math.exp(0.5)),)
    assert (e.grad, a.grad) == (7.0, 9.0), "probing puts every grad back"
    drawing = draw_graph(e * a)
    assert "exp" in drawing.source
    a.grad = 0.0
    step = next(s for s in backward_steps(e * a) if s.node is e)
    assert step.child is a and step.local == pytest.approx(math.exp(0.5))


def test_grad_and_compile_of_a_lecture_node_say_what_they_cannot_do():
    a = Value(0.5)
    e = lecture_exp(a)
    assert grad(e, a) == pytest.approx(math.exp(0.5))
    with pytest.raises(TypeError, match=r"own _backward closure.*create_graph"):
        grad(e, a, create_graph=True)
    with pytest.raises(TypeError, match=r"compile: node .*'exp'.*run it eagerly"):
        al.compile(lambda x: lecture_exp(x) * x, (0.5,))


def test_a_lecture_node_takes_attributes_and_weak_references():
    a = Value(1.0)
    e = lecture_exp(a)
    e._vis_color = "red"
    ref = weakref.ref(e)
    assert ref() is e and e._vis_color == "red"
    del e
    gc.collect()
    assert ref() is None


def test_every_value_takes_weak_references_and_its_label_lives_and_dies_with_it():
    a, b = Value(1.0, label="a"), Value(2.0)
    node = a * b
    node.label = "n"
    refs = [weakref.ref(v) for v in (a, b, node)]
    assert [r() for r in refs] == [a, b, node]
    assert (a.label, b.label, node.label) == ("a", "", "n")
    node.label = ""
    assert node.label == ""
    del a, b, node
    gc.collect()
    assert [r() for r in refs] == [None, None, None], "a label keeps nothing alive"
    with pytest.raises(TypeError, match="label must be a str"):
        Value(1.0).label = 3  # type: ignore[assignment]


def test_plain_leaves_and_op_nodes_keep_their_slots_so_the_readme_says_to_use_a_dict():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(AttributeError):
        a.m = 0  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        (a * b)._backward = lambda: None  # type: ignore[method-assign]
    m = {p: 0.0 for p in (a, b)}  # per-parameter state, keyed by identity
    assert m[a] == 0.0 and len(m) == 2


def test_a_lecture_node_copies_and_pickles_with_its_fields_and_is_freed_with_its_closure_cycle():
    a = Value(2.0, label="a")
    n = Value(5.0, (a,), "mystery", label="n")
    n.color = "red"
    c = copy.copy(n)
    assert (c.data, c.label, c._prev, c._op, c.color) == (5.0, "n", (a,), "mystery", "red")
    c.grad = 3.0
    assert n.grad == 0.0, "a copy has its own fields"
    d = copy.deepcopy(n)
    assert d._prev[0] is not a and d._prev[0].label == "a" and d.color == "red"
    p = pickle.loads(pickle.dumps(n))
    assert (p.data, p.label, p._op, p.color, p._prev[0].data) == (5.0, "n", "mystery", "red", 2.0)
    e = lecture_exp(a)
    ref = weakref.ref(e)
    del e
    gc.collect()
    assert ref() is None


def test_a_lecture_node_keeps_values_rules_for_requires_grad_class_and_its_fields():
    a = Value(1.0)
    out = lecture_exp(a)
    with pytest.raises(RuntimeError, match="only a leaf's flag"):
        out.requires_grad_(False)
    with pytest.raises(TypeError, match="cannot be changed on a _Custom"):
        Value(2.0, (), "x").requires_grad = False
    assert "requires_grad" not in vars(out)
    with pytest.raises(TypeError, match="class of a node of one's own"):
        out.__class__ = Value  # type: ignore[assignment]
    b = Value(2.0)
    out._prev, out._op = [b], "+"
    assert out._prev == (b,) and out._op == "+"
    del out._backward
    b.grad = 0.0
    out.grad = 1.0
    out._backward()
    assert b.grad == 0.0, "deleting the closure brings back micrograd's default"


class SameWhenEqual(Value):
    """A user's subclass that compares and hashes by data."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and self.data == other.data

    def __hash__(self) -> int:
        return hash(self.data)


def test_labels_go_by_identity_whatever_a_subclass_says_equal_is():
    a, b = SameWhenEqual(1.0, label="a"), SameWhenEqual(1.0, label="b")
    assert a == b and (a.label, b.label) == ("a", "b")


FRESH = """
import pickle, sys
from autograd_lite import Value, no_grad
a, b, c = pickle.loads(sys.stdin.buffer.read())
(c * a + b * 3.0).backward()
print(a.grad, b.grad)
"""


def test_frozen_leaves_no_grad_results_and_lecture_nodes_keep_their_rules_in_a_fresh_process():
    frozen = Value(1.5).requires_grad_(False)
    frozen.grad = 1.5
    with no_grad():
        untracked = Value(2.0) * 1.0
    made = lecture_exp(Value(0.0))
    del made._backward  # (a closure cannot be pickled): micrograd's default, passes nothing
    payload = pickle.dumps((frozen, untracked, made))
    out = subprocess.run([sys.executable, "-c", FRESH], input=payload, capture_output=True, check=True)
    assert out.stdout.split() == [b"1.5", b"0.0"], "the frozen leaf's and the no_grad result's grads stay"
