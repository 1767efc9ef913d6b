"""Custom ops: a forward and a derivative rule, working everywhere a built-in op works."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
from hypothesis import given, settings

from autograd_lite import CustomOp, Value, apply, custom_op, grad, hessian, topological_order
from autograd_lite.custom import exp, log, sigmoid, sqrt, tanh
from autograd_lite.ops import MUL, SIN, VARIADIC, Domain
from autograd_lite.testing import expressions, gradcheck, gradgradcheck, values


@custom_op(domain=Domain(-10.0, 10.0, kinks=(0.0,)))  # its second derivative jumps at 0
def softsign(x: float) -> float:
    """x / (1 + |x|)."""
    return x / (1 + abs(x))


@softsign.defderivative
def _softsign_derivative(out, x):
    return 1 / (1 + abs(x)) ** 2


@custom_op(derivative=lambda out, x, y: (y / x, log(x)), domain=(Domain(0.2, 5.0), Domain(-2.0, 2.0)))
def x_log_x_power(x: float, y: float) -> float:
    """y * log(x), a two-input op."""
    return y * math.log(x)


logsumexp = custom_op(
    lambda *xs: math.log(sum(math.exp(x) for x in xs)),
    derivative=lambda out, *xs: [exp(x - out) for x in xs],  # softmax
    name="logsumexp",
)

swish = custom_op(
    lambda x: x / (1 + math.exp(-x)),
    derivative=lambda out, x: sigmoid(x) + out * (1 - sigmoid(x)),
    name="swish",
)

CUSTOM = [softsign, x_log_x_power, logsumexp, swish]


def test_custom_op_metadata():
    assert isinstance(softsign, CustomOp)
    assert (softsign.name, softsign.arity, x_log_x_power.arity, logsumexp.arity) == (
        "softsign",
        1,
        2,
        VARIADIC,
    )
    assert softsign.__doc__ == "x / (1 + |x|)."
    assert softsign.domain == (Domain(-10.0, 10.0, kinks=(0.0,)),)
    assert x_log_x_power.domain == (Domain(0.2, 5.0), Domain(-2.0, 2.0))
    assert repr(softsign) == "CustomOp('softsign', arity=1)"


@given(x=values(-5, 5, avoid=[0]))
def test_custom_op_backward_matches_the_formula(x: float):
    v = Value(x)
    out = softsign(v)
    out.backward()
    assert out.data == x / (1 + abs(x))
    assert v.grad == pytest.approx(1 / (1 + abs(x)) ** 2, rel=1e-12)
    assert out._op == "softsign" and out._prev == (v,)


@pytest.mark.parametrize("op", CUSTOM, ids=lambda op: op.name)
@given(data=values(0.25, 4.5), other=values(-1.9, 1.9, avoid=[0.0]))
@settings(max_examples=40)
def test_custom_ops_pass_gradcheck_and_gradgradcheck(op: CustomOp, data: float, other: float):
    point = [data, other] if op.arity != 1 else [other]
    if op.arity == VARIADIC:
        point = [data, other, data * other]
    f = lambda *xs: op(*xs)
    assert gradcheck(f, point)
    assert gradgradcheck(f, point)


def test_custom_op_underscore_backward_by_hand_matches_backward():
    x, y = Value(1.5), Value(-0.5)
    out = x_log_x_power(x, y) * softsign(y)
    out.backward()
    expected = [x.grad, y.grad]
    for v in topological_order(out):
        v.grad = 0.0
    out.grad = 1.0
    for v in reversed(topological_order(out)):
        v._backward()
    assert [x.grad, y.grad] == pytest.approx(expected, rel=1e-14)


def test_custom_op_second_derivative_matches_its_formula():
    # softsign'' = -2 sign(x) / (1 + |x|)**3
    for x in (-1.5, 0.5, 2.0):
        assert hessian(lambda v: softsign(v), [x]) == [
            [pytest.approx(-2 * math.copysign(1, x) / (1 + abs(x)) ** 3)]
        ]
    v = Value(0.3)
    g = grad(swish(v), v, create_graph=True)
    s = 1 / (1 + math.exp(-0.3))
    assert grad(g, v) == pytest.approx(s * (1 - s) * (2 + 0.3 * (1 - 2 * s)), rel=1e-12)


@given(expression=expressions(["x", "y"], ops=[*CUSTOM, MUL, SIN], min_steps=2))
@settings(max_examples=60)
def test_strategies_draw_custom_ops_into_random_expressions(expression):
    assert set(expression.ops) <= {*(op.op for op in CUSTOM), MUL, SIN}
    assert gradcheck(expression, expression.point)
    assert gradgradcheck(expression, expression.point)


def test_strategies_draw_each_custom_op():
    from hypothesis import Phase, find

    search = settings(database=None, phases=[Phase.generate])
    for op in CUSTOM:
        found = find(expressions(2, ops=CUSTOM), lambda e, op=op: op.op in e.ops, settings=search)
        assert op.op in found.ops


def test_apply_takes_a_custom_ops_entry_too():
    assert apply(softsign.op, 1.0).data == 0.5


def test_graphs_with_custom_ops_pickle_and_copy():
    x = Value(2.0)
    out = softsign(x) + logsumexp(x, 1.0)
    for clone in (pickle.loads(pickle.dumps(out)), copy.deepcopy(out)):
        assert clone._prev[0]._op is softsign.op
        clone.backward()
        assert clone._prev[0]._prev[0].grad == pytest.approx(1 / 9 + math.exp(2) / (math.exp(2) + math.e))


def test_a_missing_derivative_rule_is_a_clear_error():
    half = custom_op(lambda x: x / 2, name="half")
    out = half(Value(3.0))
    assert out.data == 1.5
    with pytest.raises(NotImplementedError, match="custom op 'half' has no derivative rule"):
        out.backward()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: custom_op(3.0), TypeError, "forward must be a function"),
        (lambda: custom_op(lambda: 1.0), ValueError, "at least one input"),
        (
            lambda: custom_op(lambda x: x, domain=(Domain(0, 1), Domain(0, 1))),
            ValueError,
            "one Domain per input",
        ),
        (lambda: custom_op(lambda x: x, name=""), TypeError, "non-empty str"),
        (lambda: custom_op(lambda x: x).defderivative(1.0), TypeError, "must be a function"),
    ],
)
def test_bad_definitions_are_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_rules_and_forwards_are_clear_errors_at_use():
    pair = custom_op(lambda x: x, derivative=lambda out, x: (1.0, 2.0), name="pair")
    with pytest.raises(TypeError, match="one-input op must return one number"):
        pair(Value(1.0)).backward()
    single = custom_op(lambda a, b: a + b, derivative=lambda out, a, b: 1.0, name="single")
    with pytest.raises(TypeError, match=r"one derivative per input \(2\)"):
        single(Value(1.0), Value(2.0)).backward()
    text = custom_op(lambda x: "1", derivative=lambda out, x: 0.0, name="text")
    with pytest.raises(TypeError, match="forward must return a number, got str"):
        text(Value(1.0))
    with pytest.raises(TypeError, match="takes 1 input"):
        softsign(Value(1.0), Value(2.0))


def test_rule_helpers_work_on_floats_and_values():
    for helper, reference in ((exp, math.exp), (log, math.log), (tanh, math.tanh), (sqrt, math.sqrt)):
        assert helper(0.7) == reference(0.7)
        assert helper(Value(0.7)).data == reference(0.7)
    assert sigmoid(Value(0.0)).data == 0.5


def test_custom_op_steps_through_the_stepper_and_renders_in_the_graph():
    from autograd_lite.stepper import backward_steps
    from autograd_lite.viz import draw_graph

    x = Value(1.0, label="x")
    out = softsign(x) * 3
    steps = list(backward_steps(out, zero_grad=True))
    (step,) = [s for s in steps if s.node._op == "softsign"]
    assert step.local == pytest.approx(0.25) and x.grad == pytest.approx(0.75)
    assert "softsign" in draw_graph(out).source
