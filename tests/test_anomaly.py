"""detect_anomaly(): the first nan or inf an op makes, forward or backward, raises and says where."""

from __future__ import annotations

import doctest
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite
import autograd_lite.anomaly as anomaly
from autograd_lite import Value, detect_anomaly, engine
from autograd_lite.anomaly import origin_of

HERE = __file__


def test_an_op_that_makes_inf_raises_naming_the_op_the_node_and_the_users_line():
    x = Value(1e308, label="x")
    with detect_anomaly(), pytest.raises(FloatingPointError) as caught:
        x * 10.0  # the line the message names
    message = str(caught.value)
    assert "op '*' made inf in the forward pass" in message
    assert "(x*10.0)" in message and "1e+308" in message
    assert f"{HERE}:" in message and "x * 10.0  # the line the message names" in message


def test_a_nan_that_comes_in_from_a_leaf_is_caught_at_the_first_op_that_uses_it():
    data = Value(float("nan"), label="sample")
    w = Value(2.0, label="w")
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"'sample' was nan already.*a leaf"):
        w * data


def test_an_op_on_two_values_made_in_the_block_is_reported_at_its_line():
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"made inf") as caught:
        Value(1e200) * Value(1e200)
    assert "test_anomaly.py" in str(caught.value)


def test_backward_stops_at_the_first_rule_that_makes_nan_and_puts_every_grad_back():
    x = Value(0.0, label="x")
    w = Value(3.0, label="w")
    x.grad, w.grad = 5.0, 7.0
    with detect_anomaly():
        out = x.sqrt() * 0.0 + w * x  # d sqrt(x)/dx = inf at 0, times the upstream 0: nan
        with pytest.raises(FloatingPointError) as caught:
            out.backward()
    message = str(caught.value)
    assert "the chain rule at node sqrt(x) (op 'sqrt') made nan in the gradient of its input 'x'" in message
    assert "out = x.sqrt() * 0.0 + w * x" in message
    assert (x.grad, w.grad) == (5.0, 7.0), "all or nothing"
    out.backward()  # outside the block: IEEE, nothing checked
    assert math.isnan(x.grad)


def test_outside_the_block_nothing_is_checked_and_every_method_is_the_plain_one():
    plain = {name: Value.__dict__[name] for name in anomaly._OP_METHODS}
    plain_node = engine._node
    with detect_anomaly():
        with detect_anomaly():  # blocks nest
            assert Value.__dict__["__mul__"] is not plain["__mul__"]
        assert Value.__dict__["__mul__"] is not plain["__mul__"], "the outer block is still open"
    assert {name: Value.__dict__[name] for name in anomaly._OP_METHODS} == plain
    assert engine._node is plain_node and engine._ANOMALY[0] is None
    assert math.isinf((Value(1e308) * 10.0).data), "off: inf goes through silently, as in PyTorch"


def test_the_block_closes_also_when_it_raises_and_works_as_a_decorator():
    plain_exp = Value.__dict__["exp"]

    @detect_anomaly()
    def overflow() -> Value:
        return Value(1e308).exp()

    with pytest.raises((FloatingPointError, OverflowError)):
        overflow()
    assert engine._ANOMALY[0] is None and Value.__dict__["exp"] is plain_exp


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_finite_computations_give_the_same_numbers_with_the_block_on(a: float, b: float):
    def f(x: Value, y: Value) -> Value:
        return (x * y + x.tanh() - y.exp() / 3 + Value.sum([x, y, 1.0])).relu() + (x - y) ** 2

    x1, y1, x2, y2 = Value(a), Value(b), Value(a), Value(b)
    f(x1, y1).backward()
    with detect_anomaly():
        out = f(x2, y2)
        out.backward()
    assert (x1.grad, y1.grad) == (x2.grad, y2.grad)
    assert origin_of(out) is not None and "return (x * y" in origin_of(out)  # type: ignore[operator]


def test_nodes_made_by_apply_and_library_functions_get_the_users_line():
    from autograd_lite.losses import logsumexp

    a, b = Value(1.0), Value(2.0)
    with detect_anomaly():
        out = logsumexp([a, b])  # made inside the library: the line is this one
    assert "out = logsumexp([a, b])" in (origin_of(out) or "")


def test_a_graph_without_hooks_keeps_the_fast_loop_once_the_block_is_closed(monkeypatch: pytest.MonkeyPatch):
    with detect_anomaly():
        pass
    calls: list[int] = []
    monkeypatch.setattr(engine, "_backward_with_extras", lambda *a: calls.append(1))
    x = Value(2.0)
    (x * x).backward()
    assert calls == [] and x.grad == 4.0


def test_pytorch_detect_anomaly_stops_on_the_same_backward():
    torch = pytest.importorskip("torch")
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings(record=True), torch.autograd.detect_anomaly():  # its own two warnings
        with pytest.raises(RuntimeError, match="returned nan"):
            (t.sqrt() * 0.0).backward()
    x = Value(0.0)
    with detect_anomaly(), pytest.raises(FloatingPointError, match="nan"):
        (x.sqrt() * 0.0).backward()


def test_the_module_docstring_example_runs():
    assert doctest.testmod(anomaly, optionflags=doctest.ELLIPSIS).failed == 0
    assert autograd_lite.detect_anomaly is detect_anomaly
