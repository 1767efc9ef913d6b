"""The Value contract: arithmetic, backward(), micrograd compatibility, grad mode."""

from __future__ import annotations

import gc
import math
import threading

import pytest
from hypothesis import given

from autograd_lite import Value, no_grad, topological_order
from autograd_lite.engine import enable_grad, is_grad_enabled
from autograd_lite.testing import analytic_grad, close, expressions, numerical_grad
from tests import micrograd_expressions


@given(expression=expressions(3))
def test_random_expressions_match_finite_differences(expression):
    point = expression.point
    value, analytic = analytic_grad(expression, point)
    numeric = numerical_grad(expression, point)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert close(a, n, value), f"input {i} of {expression!r}: {a} vs {n}"


@given(expression=expressions(3))
def test_second_backward_recomputes_interior_and_doubles_leaves(expression):
    leaves = [Value(x) for x in expression.point]
    out = expression(*leaves)
    out.backward()
    interior = [v for v in topological_order(out) if v._prev]
    first_interior = [v.grad for v in interior]
    first_leaves = [v.grad for v in leaves]
    out.backward()
    assert [v.grad for v in interior] == first_interior
    for once, twice in zip(first_leaves, (v.grad for v in leaves)):
        assert twice == pytest.approx(2 * once, rel=1e-12, abs=1e-12)  # rounding: +1 - 1 + ... terms


@given(expression=expressions(3))
def test_backward_by_hand_with_underscore_backward_matches_backward(expression):
    leaves = [Value(x) for x in expression.point]
    out = expression(*leaves)
    out.backward()
    expected = {id(v): v.grad for v in topological_order(out)}
    for v in topological_order(out):
        v.grad = 0.0
    out.grad = 1.0
    for v in reversed(topological_order(out)):  # micrograd's lesson, node by node
        v._backward()
    for v in topological_order(out):
        assert v.grad == pytest.approx(expected[id(v)], rel=1e-12, abs=1e-12)


def test_the_micrograd_lesson_neuron_by_hand():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    for node in (o, n, x1w1x2w2, x2w2, x1w1):
        node._backward()
    by_hand = [v.grad for v in (x1, x2, w1, w2, b)]
    for v in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o):
        v.grad = 0.0
    o.backward()
    assert by_hand == [v.grad for v in (x1, x2, w1, w2, b)]
    assert b.grad == pytest.approx(1 - o.data**2)
    assert w1.grad == pytest.approx(x1.data * (1 - o.data**2))


def test_node_used_twice_gets_both_paths():
    x = Value(3.0)
    y = x * x  # d/dx = 2x
    y.backward()
    assert x.grad == 6.0
    a = Value(-2.0)
    b = a + a
    c = b * a + a  # 2a*a + a -> d/da = 4a + 1
    c.backward()
    assert a.grad == 4 * -2.0 + 1


def test_leaf_root_backward_accumulates_one():
    x = Value(5.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_micrograd_reference_expression_matches_finite_differences():
    f = micrograd_expressions.more_ops
    value, analytic = analytic_grad(f, [-4.0, 2.0])
    numeric = numerical_grad(f, [-4.0, 2.0])
    assert all(close(a, n, value) for a, n in zip(analytic, numeric))


def test_operators_with_numbers_on_either_side():
    x = Value(3.0)
    assert (x + 1).data == 4.0 and (1 + x).data == 4.0
    assert (x - 1).data == 2.0 and (1 - x).data == -2.0
    assert (x * 2).data == 6.0 and (2 * x).data == 6.0
    assert (x / 2).data == 1.5 and (6 / x).data == 2.0
    assert (x**2).data == 9.0 and (2**x).data == 8.0
    assert (x ** Value(2.0)).data == 9.0
    assert (-x).data == -3.0 and abs(-x).data == 3.0
    assert (x**2)._op == "**2" and (x + 1)._op == "+" and (x * 2)._op == "*"


def test_pow_with_value_exponent_has_both_partials():
    a, b = Value(2.0), Value(3.0)
    out = a**b
    out.backward()
    assert a.grad == pytest.approx(3 * 2.0**2)
    assert b.grad == pytest.approx(8 * math.log(2.0))


def test_comparisons_return_bool_and_hash_is_identity():
    a, b = Value(1.0), Value(2.0)
    assert (a < b) is True and (a <= 1) is True and (b > a) is True and (b >= 3) is False
    assert (0.5 < a) is True
    twin = Value(1.0)
    assert a != twin and len({a, twin, a}) == 2
    assert {a: "a"}[a] == "a"


def test_repr_float_format_and_labels():
    v = Value(2.5, label="w")
    assert repr(v) == "Value(data=2.5, grad=0.0, label='w')"
    assert repr(Value(1)) == "Value(data=1.0, grad=0.0)"
    assert v.item() == 2.5 and f"{v:.2f}" == "2.50" and f"{v:g}" == "2.5"
    assert isinstance(Value(True).data, float) and Value(True).data == 1.0


@pytest.mark.parametrize(
    "call",
    [math.exp, math.log, math.sin, math.tanh, math.sqrt, float, lambda v: math.pow(v, 2), lambda v: "%f" % v],  # noqa: UP031
)
def test_math_functions_and_float_on_a_value_raise_and_say_what_to_do(call):
    # x * math.exp(x) would give dy/dx = e instead of 2e at x = 1: math.exp would read
    # the number out of the graph. micrograd raises a TypeError here too.
    x = Value(1.0)
    with pytest.raises(TypeError) as caught:
        call(x)
    message = str(caught.value)
    assert "graph" in message and "silently" in message
    assert ".exp()" in message and ".item()" in message and ".data" in message


def test_item_reads_the_number_on_purpose_and_leaves_the_graph():
    x = Value(1.0)
    assert x.item() == 1.0 and isinstance(x.item(), float) and x.item() == x.data
    assert isinstance((x * 3).item(), float) and (x * 3).item() == 3.0
    y = x * math.exp(x.item())  # the exp factor is a constant, on purpose
    y.backward()
    assert x.grad == pytest.approx(math.e)
    x.grad = 0.0
    y = x * x.exp()  # in the graph: dy/dx = (1 + x) e**x
    y.backward()
    assert x.grad == pytest.approx(2 * math.e)


def test_micrograd_style_code_still_runs():
    # micrograd's README example, with formatting, sum() and numbers on both sides.
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    total = sum([g, a, b])
    total.backward()
    assert f"{g.data:.4f}" == "24.7041" and f"{g:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "139.8338" and f"{b.grad:.4f}" == "646.5773"  # micrograd's, + 1 from sum()
    assert total.item() == pytest.approx(g.data - 2.0)


def test_numpy_scalars_are_accepted():
    np = pytest.importorskip("numpy")
    assert Value(np.float32(1.5)).data == 1.5
    assert Value(np.int64(3)).data == 3.0
    assert (Value(2.0) * np.float64(3.0)).data == 6.0


def test_detach_cuts_the_graph():
    x = Value(2.0, label="x")
    y = x * 3
    z = y.detach()
    assert z.data == 6.0 and z._prev == () and z._op == ""
    (z * 2).backward()
    assert x.grad == 0.0 and z.grad == 2.0


def test_sum_and_dot_are_single_nodes():
    xs = [Value(float(i)) for i in range(5)]
    ws = [Value(0.5 * i) for i in range(5)]
    s = Value.sum(xs)
    assert s.data == 10.0 and len(s._prev) == 5 and s._op == "sum"
    d = Value.dot(ws, xs, bias=Value(1.0))
    assert d.data == pytest.approx(1 + sum(0.5 * i * i for i in range(5)))
    assert len(d._prev) == 11 and d._op == "dot"
    d.backward()
    assert [w.grad for w in ws] == [x.data for x in xs]
    assert Value.sum([]).data == 0.0
    assert Value.sum([1, 2.5, Value(1.0)]).data == 4.5


def test_dot_with_mismatched_lengths_is_an_error():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        Value.dot([Value(1.0)] * 2, [1.0, 2.0, 3.0])


def test_no_grad_records_nothing_and_restores():
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 3).tanh()
        with enable_grad():
            z = x * 3
    assert is_grad_enabled()
    assert y._prev == () and y._op == ""
    assert z._prev == (x, z._prev[1])

    @no_grad()
    def f(v):
        return v * 2

    assert f(x)._prev == () and is_grad_enabled()


def test_no_grad_is_local_to_its_thread():
    inside = threading.Event()
    release = threading.Event()
    recorded = {}

    def other_thread():
        inside.wait()
        recorded["prev"] = (Value(1.0) * 2)._prev  # main thread is in no_grad now
        release.set()

    t = threading.Thread(target=other_thread)
    t.start()
    with no_grad():
        inside.set()
        release.wait(5)
        mine = Value(1.0) * 2
    t.join()
    assert len(recorded["prev"]) == 2 and mine._prev == ()


def test_graph_has_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        y = x
        for _ in range(100):
            y = (y * 1.5 + 0.1).tanh()
        y.backward()
        del x, y
        assert gc.collect() == 0, "dropping a graph left cyclic garbage"
    finally:
        gc.enable()


def test_sigmoid_tanh_softplus_are_stable_at_extremes():
    for x in (-1000.0, 1000.0):
        for method in ("sigmoid", "tanh", "softplus"):
            v = Value(x)
            out = getattr(v, method)()
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(v.grad), (method, x)
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_subgradients_at_kinks():
    for method, expected in (("relu", 0.0), ("__abs__", 0.0), ("leaky_relu", 0.01)):
        x = Value(0.0)
        getattr(x, method)().backward()
        assert x.grad == expected, method
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf


def test_topological_order_puts_children_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    order = topological_order(d)
    assert order[-1] is d and set(order) == {a, b, c, d}
    for node in order:
        for child in node._prev:
            assert order.index(child) < order.index(node)
