"""autograd_lite.micrograd builds micrograd 0.1.0's graphs node for node, and autograd_lite's tools take them.

micrograd's ``_prev`` is a plain ``set``, whose iteration order follows memory
addresses; to compare the order of backward steps node for node, some tests
run micrograd with ``_prev`` an insertion-ordered set (``ordered_micrograd``):
micrograd's own ops and ``backward()``, only its sets made reproducible. Others
compare with micrograd as it is, by a canonical form that does not depend on
set order.
"""

from __future__ import annotations

import gc
import math
import random
import re
import subprocess
import sys
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite.data import make_moons
from autograd_lite.micrograd import nn as twin_nn
from autograd_lite.micrograd.engine import Value
from autograd_lite.testing import KinkError
from benchmarks.bench_core import micrograd_demo_step
from tests import micrograd_expressions
from tests.html_pages import page_data

mg_engine = pytest.importorskip("micrograd.engine")
mg_nn = pytest.importorskip("micrograd.nn")


class _InsertionOrderedSet(set):
    """A set that iterates in insertion order: micrograd's ``_prev`` made reproducible."""

    def __init__(self, items=()):
        self.order = list(dict.fromkeys(items))
        super().__init__(self.order)

    def __iter__(self):
        return iter(self.order)


@pytest.fixture
def ordered_micrograd(monkeypatch):
    original = mg_engine.Value.__init__

    def init(self, data, _children=(), _op=""):
        original(self, data, _children, _op)
        self._prev = _InsertionOrderedSet(_children)

    monkeypatch.setattr(mg_engine.Value, "__init__", init)
    return mg_engine.Value


# -- micrograd's test_engine.py expressions, for any Value class --------------------


def sanity_check(V):
    x = V(-4.0)
    return [x], micrograd_expressions.sanity_check(x)


def more_ops(V):
    a, b = V(-4.0), V(2.0)
    return [a, b], micrograd_expressions.more_ops(a, b)


def neuron(V, Neuron):
    random.seed(7)
    n = Neuron(3)
    x = [V(1.0), V(-2.0), V(0.5)]
    return n.parameters() + x, n(x)


def mlp(V, MLP):
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    x = [V(2.0), V(3.0), V(-1.0)]
    return model.parameters() + x, model(x)


CASES = {
    "sanity_check": lambda V, nn: sanity_check(V),
    "more_ops": lambda V, nn: more_ops(V),
    "neuron": lambda V, nn: neuron(V, nn.Neuron),
    "mlp": lambda V, nn: mlp(V, nn.MLP),
}


def all_nodes(root):
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def record_backward_order(root):
    """Call ``root.backward()`` with every node's ``_backward`` wrapped to record the order of calls."""
    calls = []
    for v in all_nodes(root):

        def wrapped(v=v, inner=v._backward):
            calls.append(v)
            inner()

        v._backward = wrapped
    root.backward()
    return calls


def pair_nodes(theirs, ours):
    """micrograd's nodes mapped to the twin's by walking both graphs in step, ``_prev`` in order.

    Checks on the way that each pair has the same ``_op`` and data, the same
    number of inputs, and that the mapping is one to one.
    """
    mapping, back, stack = {}, {}, [(theirs, ours)]
    while stack:
        m, t = stack.pop()
        if m in mapping:
            assert mapping[m] is t, "micrograd shares a node where the twin has two"
            continue
        assert t not in back, "the twin shares a node where micrograd has two"
        mapping[m], back[t] = t, m
        assert type(t._op) is str and t._op == m._op
        assert t.data == m.data
        assert isinstance(t._prev, set) and len(t._prev) == len(m._prev)
        stack.extend(zip(m._prev, t._prev))
    return mapping


def canonical(root):
    """A form of the graph below ``root`` that does not depend on set order: each node's op,
    data and the sorted forms of its inputs; with the numbers of nodes and edges (sharing)."""
    forms = {}
    for v in _postorder(root):
        forms[v] = (v._op, v.data, tuple(sorted(forms[c] for c in v._prev)))
    return forms[root], len(forms), sum(len(v._prev) for v in forms)


def _postorder(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev)
    return order


# -- graphs node for node -------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_graph_grads_and_step_order_as_micrograd(case, ordered_micrograd):
    mg_leaves, mg_root = CASES[case](ordered_micrograd, mg_nn)
    leaves, root = CASES[case](Value, twin_nn)
    mapping = pair_nodes(mg_root, root)
    assert len(mapping) == len(all_nodes(root))
    mg_order = record_backward_order(mg_root)
    order = record_backward_order(root)
    assert [mapping[v] for v in mg_order] == order  # same nodes, same order of _backward() calls
    for m, t in mapping.items():
        assert t.grad == m.grad  # exactly: the same terms added in the same order
    assert [v.grad for v in leaves] == [v.grad for v in mg_leaves]


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_graph_as_micrograd_with_its_plain_sets(case):
    mg_leaves, mg_root = CASES[case](mg_engine.Value, mg_nn)
    leaves, root = CASES[case](Value, twin_nn)
    assert canonical(root) == canonical(mg_root)
    mg_root.backward()
    root.backward()
    for ours, theirs in zip(leaves, mg_leaves):
        assert ours.grad == pytest.approx(theirs.grad, rel=1e-12, abs=1e-12)


def test_micrograds_own_nodes_spelled_as_micrograd():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    assert [v._op for v in (a - b)._prev] == ["", "*"]  # a + (b * -1)
    assert [v._op for v in (a / b)._prev] == ["", "**-1"]  # a * b**-1
    assert (a**2.0)._op == "**2.0" and (a**2)._op == "**2"
    first, second = (2 + a)._prev
    assert first is a and second.data == 2.0  # micrograd's __radd__: self + 2
    assert [v._op for v in (2 - a)._prev] == ["*", ""]  # (-a) + 2
    assert [v._op for v in (2 / a)._prev] == ["**-1", ""]  # a**-1 * 2
    assert (a * a)._prev == {a} and len((a * a)._prev) == 1
    assert a.relu()._op == "ReLU" and repr((a + b)._op) == "'+'"
    assert isinstance(a, al.Value) and not isinstance(a - b, al.engine._Node)


def test_lecture_tanh_neuron_as_exp_expression():
    def lecture(tanh_by_hand):
        x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
        w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
        b = Value(6.8813735870195432, label="b")
        n = x1 * w1 + x2 * w2 + b
        if tanh_by_hand:
            e = (2 * n).exp()
            o = (e - 1) / (e + 1)
        else:
            o = n.tanh()
        o.backward()
        return o, [x1.grad, w1.grad, x2.grad, w2.grad]

    o, grads = lecture(True)
    ops = {v._op for v in all_nodes(o)}
    assert ops == {"", "*", "+", "exp", "**-1"}  # the lecture's picture: no '-' or '/'
    o2, grads2 = lecture(False)
    assert o.data == pytest.approx(o2.data) and grads == pytest.approx(grads2)
    assert grads == pytest.approx([-1.5, 1.0, 0.5, 0.0], abs=1e-6)  # the lecture's numbers


def test_training_loop_same_losses_as_micrograd(ordered_micrograd):
    X, labels = make_moons(20, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    random.seed(1337)
    ours = twin_nn.MLP(2, [8, 8, 1])
    random.seed(1337)
    theirs = mg_nn.MLP(2, [8, 8, 1])
    for _ in range(3):
        assert micrograd_demo_step(Value, ours, X, y) == micrograd_demo_step(ordered_micrograd, theirs, X, y)
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]


def test_training_loop_with_micrograds_plain_sets():
    X, labels = make_moons(20, noise=0.1, seed=1)
    y = [2 * t - 1 for t in labels]
    random.seed(3)
    ours = twin_nn.MLP(2, [8, 1])
    random.seed(3)
    theirs = mg_nn.MLP(2, [8, 1])
    for _ in range(3):
        a = micrograd_demo_step(Value, ours, X, y)
        assert a == pytest.approx(micrograd_demo_step(mg_engine.Value, theirs, X, y), rel=1e-12)


def test_nn_as_micrograds():
    random.seed(0)
    n = twin_nn.Neuron(2, False)
    assert n.nonlin is False and repr(n) == "LinearNeuron(2)"
    random.seed(0)
    assert [p.data for p in n.parameters()] == [p.data for p in mg_nn.Neuron(2, False).parameters()]
    random.seed(0)
    model = twin_nn.MLP(2, [3, 1])
    random.seed(0)
    assert repr(model) == repr(mg_nn.MLP(2, [3, 1]))
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        n([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nin"):
        twin_nn.Neuron(-1)


# -- autograd_lite's tools on twin graphs ------------------------------------------------


def dot_shape(root):
    source = al.draw_graph(root).source
    nodes = re.findall(r"^\s*(\w+) \[", source, flags=re.M)
    edges = re.findall(r"->", source)
    return len([n for n in nodes if n not in {"graph", "node", "edge", "legend"}]), len(edges)


def micrograd_trace_shape(root):
    """micrograd's trace_graph.ipynb's draw_dot: a box per value, a circle per op, their edges."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    ops = sum(1 for n in nodes if n._op)
    return len(nodes) + ops, len(edges) + ops


def test_draw_graph_of_a_twin_neuron_has_micrograds_shape():
    _, root = neuron(Value, twin_nn.Neuron)
    twin_2 = twin_nn.Neuron(2)(x=[Value(1.0), Value(-2.0)])
    assert dot_shape(twin_2) == (15, 14)
    assert dot_shape(twin_2) == micrograd_trace_shape(
        mg_nn.Neuron(2)([mg_engine.Value(1.0), mg_engine.Value(-2.0)])
    )
    assert dot_shape(root) == micrograd_trace_shape(root)
    _, expression = sanity_check(Value)
    assert dot_shape(expression) == micrograd_trace_shape(sanity_check(mg_engine.Value)[1])


def test_stepper_steps_in_backwards_order_and_gives_its_grads():
    leaves, root = more_ops(Value)
    steps = list(al.backward_steps(root))
    stepped = [v.grad for v in leaves]
    nodes_in_steps = list(dict.fromkeys(s.node for s in steps))
    for v in [*leaves, *all_nodes(root)]:
        v.grad = 0.0
    assert nodes_in_steps == [v for v in record_backward_order(root) if v._prev]
    assert stepped == pytest.approx([v.grad for v in leaves], rel=1e-12)
    x = Value(3.0)
    (step,) = al.backward_steps(x * x)  # micrograd's _prev {x}: one edge, the whole local derivative
    assert step.child is x and step.local == 6.0


def test_html_walkthrough_of_a_twin_graph(tmp_path):
    _, root = neuron(Value, twin_nn.Neuron)
    path = al.export_steps_html(root, tmp_path / "steps.html")
    data = page_data(path.read_text())
    assert ">ReLU<" in data["svg"]
    steps = list(al.backward_steps(neuron(Value, twin_nn.Neuron)[1]))
    assert len(data["steps"]) == len(steps) == 13  # 3 '*' and 3 '+', 2 edges each; 'ReLU', 1


finite = st.floats(-2.0, 2.0, allow_nan=False)


def twin_function(a, b):
    return ((a - b) / (b * b + 1)).tanh() + (a * 0.5).exp() - b**3 / 4 + (a * b).relu() * 2


@settings(max_examples=40, deadline=None)
@given(a=finite, b=finite)
def test_gradcheck_on_a_twin_function(a, b):
    try:
        assert al.gradcheck(twin_function, [Value(a), Value(b)])
    except KinkError:  # found through the twin's ReLU node: only its kink at a*b = 0 may explain it
        assert abs(a * b) < 1e-5
    xs = [Value(a), Value(b)]
    assert al.grad(twin_function(*xs), xs) == pytest.approx(eager_grads(a, b), rel=1e-12)


def eager_grads(a, b):
    xs = [Value(a), Value(b)]
    twin_function(*xs).backward()
    return [x.grad for x in xs]


def test_gradcheck_catches_a_wrong_lecture_style_rule():
    def cube(x):
        out = Value(x.data**3, (x,), "cube")

        def _backward():
            x.grad += 2 * x.data**2 * out.grad  # wrong: 3 x**2

        out._backward = _backward
        return out

    with pytest.raises(al.GradcheckError):
        al.gradcheck(lambda x: cube(x) + x, [Value(1.3)])


def test_compile_a_twin_model():
    random.seed(2)
    model = twin_nn.MLP(2, [4, 1])
    cf = al.compile(lambda x: model(x), ([0.5, -1.5],), params=model.parameters())
    got = cf.grad([0.5, -1.5])
    model.zero_grad()
    out = model([Value(0.5), Value(-1.5)])
    out.backward()
    assert got.outputs == pytest.approx(out.data, rel=1e-12)
    assert got.params == pytest.approx([p.grad for p in model.parameters()], rel=1e-12)


def lecture_exp(self):
    x = self.data
    out = Value(math.exp(x), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def test_lecture_style_op_weakref_and_own_attributes():
    a = Value(0.5, label="a")
    y = lecture_exp(a * 2) + a
    y.backward()
    assert a.grad == pytest.approx(2 * math.exp(1.0) + 1)
    (step,) = [s for s in al.backward_steps(y) if s.node._op == "exp"]
    assert step.local == pytest.approx(math.exp(1.0))
    with pytest.raises(TypeError, match=r"compile: node .*'exp'"):
        al.compile(lambda x: lecture_exp(x * 2), (0.5,))
    assert Value(1.0, (a,), "mine")._backward() is None  # micrograd's default passes nothing on
    a.m, a._vis_color = 0, "red"
    assert (a.m, a._vis_color) == (0, "red")
    node = a * a
    ref = weakref.ref(node)
    assert ref() is node
    del node
    gc.collect()
    assert ref() is None


def test_bad_input_is_a_clear_error_and_backward_loses_nothing():
    with pytest.raises(TypeError, match=r"'\+'.*'hello'"):
        Value(1.0) + "hello"
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(TypeError, match="_children"):
        Value(1.0, "ab")
    a = Value(0.0)
    y = a * 3 + lecture_exp(a)
    a.grad = 5.0

    def broken():
        raise ZeroDivisionError("boom")

    next(iter(y._prev))._backward = broken
    with pytest.raises(ZeroDivisionError, match="boom"):
        y.backward()
    assert a.grad == 5.0 and y.grad == 0.0


def test_prev_is_a_set_in_the_order_given():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    prev = (a + b)._prev
    assert isinstance(prev, set) and prev == {a, b} and list(prev) == [a, b]
    assert list(reversed(prev)) == [b, a]
    prev.add(c)
    prev.discard(a)
    prev |= {a}
    assert list(prev) == [b, c, a] and prev == {a, b, c}
    import copy
    import pickle

    assert list(copy.copy(prev)) == list(prev)
    y = (a * b + c).relu()
    z = pickle.loads(pickle.dumps(y))
    assert z.data == y.data and [v._op for v in z._prev] == ["+"]


def test_import_autograd_lite_does_not_load_the_twin():
    code = "import sys, autograd_lite; print('autograd_lite.micrograd' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_backward_twice_accumulates_as_micrograds(ordered_micrograd):
    def twice(V):
        a, b = V(1.5), V(-2.0)
        y = (a * b).relu() + a * b + a
        y.backward()
        y.backward()  # micrograd does not reset interior grads: they add up too
        return [a.grad, b.grad, y.grad]

    assert twice(Value) == twice(ordered_micrograd)


def test_types_and_what_the_twin_leaves_out():
    a = Value(2)
    assert a.data.__class__ is float and a.grad.__class__ is float and repr(a) == "Value(data=2.0, grad=0.0)"
    assert a._repr_html_ is None  # Jupyter shows micrograd's repr, not autograd_lite's card
    b = Value(3.0)
    assert (a + b)._prev[0] is a and (a + b)._prev[1:] == [b]
    with pytest.raises(TypeError, match="no hooks"):
        a.register_hook(print)


def test_an_autograd_lite_node_above_twin_nodes_gets_its_gradients():
    # In a fresh process (nothing else has switched autograd_lite's backward() to its general
    # pass): an autograd_lite op such as Value.sum puts an autograd_lite node above twin nodes.
    code = (
        "import autograd_lite as al\n"
        "from autograd_lite.micrograd.engine import Value\n"
        "a, b = Value(2.0), Value(3.0)\n"
        "al.Value.sum([a * b, b, a.tanh()]).backward()\n"
        "print(a.grad, b.grad, al.engine._EXTRAS[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    a_grad, b_grad, extras = out.stdout.split()
    assert extras == "False", "the twin costs other graphs nothing: backward() keeps its fast loop"
    a_grad, b_grad = float(a_grad), float(b_grad)
    assert a_grad == pytest.approx(3.0 + 1 - math.tanh(2.0) ** 2, rel=1e-12) and b_grad == 3.0
