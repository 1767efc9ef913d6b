"""The gradient-checking toolkit: gradcheck, gradgradcheck, kinks, and the Hypothesis strategies."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st

from autograd_lite import Value, custom_op
from autograd_lite.ops import ABS, RELU, TANH, Domain
from autograd_lite.testing import (
    Expression,
    GradcheckError,
    KinkError,
    Network,
    close,
    expressions,
    find_kinks,
    gradcheck,
    gradgradcheck,
    mlps,
    numerical_grad,
    values,
)

# -- gradcheck -----------------------------------------------------------------


@given(x=values(-3, 3), y=values(-3, 3))
def test_gradcheck_passes_on_a_correct_function(x: float, y: float):
    assert gradcheck(lambda a, b: (a * b).tanh() + a.sin() * b**2, [x, y]) is True


def _wrong_in_second_input():
    # d/db (a * b) should be a; the rule says 1.1 a.
    return custom_op(lambda a, b: a * b, derivative=lambda out, a, b: (b, 1.1 * a), name="wrong_mul")


def test_gradcheck_fails_on_a_wrong_custom_op_and_the_table_names_the_wrong_input():
    wrong = _wrong_in_second_input()
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda weight, bias: wrong(weight, bias) + weight, [2.0, 3.0])
    err = caught.value
    assert not isinstance(err, KinkError)
    assert [m.name for m in err.mismatches] == ["df/dbias"]
    (row,) = err.mismatches
    assert row.analytic == pytest.approx(2.2) and row.numeric == pytest.approx(2.0)
    assert row.abs_error == pytest.approx(0.2) and row.rel_error == pytest.approx(0.2 / 2.2)
    text = str(err)
    assert "1 of 2 derivatives disagree" in text
    header, line = text.splitlines()[1:3]
    for column in ("derivative", "analytic", "numeric", "abs error", "rel error"):
        assert column in header
    assert line.split()[:4] == ["df/dbias", "3", "2.2", "2"]
    assert "df/dweight" not in text


def test_gradcheck_names_inputs_by_label_then_parameter_then_position():
    wrong = _wrong_in_second_input()
    with pytest.raises(GradcheckError, match="df/dlr"):
        gradcheck(lambda a, b: wrong(a, b), [Value(1.0), Value(2.0, label="lr")])
    with pytest.raises(GradcheckError, match="df/dx1"):
        gradcheck(lambda *xs: wrong(*xs), [1.0, 2.0])


def test_gradcheck_with_values_perturbs_them_in_place_and_leaves_them_as_they_were():
    w, b = Value(0.5), Value(-0.25)
    w.grad = 7.0
    x = 1.5

    def loss(*_):  # uses w and b through the closure, as a model uses its parameters
        return (w * x + b).tanh() ** 2

    assert gradcheck(loss, [w, b])
    assert (w.data, b.data, w.grad, b.grad) == (0.5, -0.25, 7.0, 0.0)

    def wrong_loss(*_):
        return _wrong_in_second_input()(x, w) + b

    with pytest.raises(GradcheckError):
        gradcheck(wrong_loss, [w, b])
    assert (w.data, b.data) == (0.5, -0.25)


def test_numerical_grad_matches_known_derivatives():
    assert numerical_grad(lambda x, y: x * y + x.exp(), [0.5, 2.0]) == pytest.approx(
        [2.0 + math.exp(0.5), 0.5], rel=1e-7
    )


# -- tolerances are on the derivatives, not scaled by |f| ------------------------------


def _flat_hundred():
    # f = 100 + 5e-4 x, so df/dx = 5e-4; the rule says 0.
    return custom_op(lambda x: 100 + 5e-4 * x, derivative=lambda out, x: 0.0, name="flat_hundred")


def test_a_large_output_does_not_hide_a_wrong_derivative():
    with pytest.raises(GradcheckError) as caught:
        gradcheck(_flat_hundred(), [1.0])
    assert not isinstance(caught.value, KinkError)
    (row,) = caught.value.mismatches
    assert row.analytic == 0.0 and row.numeric == pytest.approx(5e-4, rel=1e-4)


def test_the_old_tolerance_scaled_by_f_is_no_longer_accepted():
    # Before: |a - n| <= atol * (1 + |f|) + rtol * |n| accepted 0 for 5e-4 at f = 100.
    atol, rtol, f, analytic, numeric = 1e-5, 1e-3, 100.0, 0.0, 5e-4
    assert abs(analytic - numeric) <= atol * (1 + abs(f)) + rtol * abs(numeric)
    assert not close(analytic, numeric, f, rtol=rtol, atol=atol)
    assert not close(analytic, numeric, f)  # close()'s own, tighter, defaults
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: _flat_hundred()(x) * 1.0, [1.0])


def test_a_large_gradient_does_not_hide_a_wrong_second_derivative():
    # f = 100 x + 5e-4 x * detach(x): its gradient g = 100 + 5e-4 x has the slope 5e-4
    # (finite differences see it), but detach cuts x out of g's graph: d g/dx = 0.
    steep = lambda x: 100 * x + 5e-4 * x * x.detach()
    assert gradcheck(steep, [1.0])
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(steep, [1.0])
    (row,) = caught.value.mismatches
    assert row.name == "d2f/dx dx"
    assert row.analytic == 0.0 and row.numeric == pytest.approx(5e-4, rel=1e-3)


@pytest.mark.parametrize(
    ("f", "x"),
    [
        (lambda x: 1e6 * x, 1.0),
        (lambda x: 1e6 * x - 1e6, 1.0 + 1e-9),
        (lambda x: x.exp(), 12.0),
        (lambda x: x**2 + x.sin(), 1e3),
        (lambda x: 1e4 * x**3, 3.0),
        # f = 1e8: f(x +- h) are rounded to 1.5e-8, so the quotient is off by
        # about 1e-3 > atol + rtol * 0.88; the rounding bound (0.09) keeps it.
        (lambda x: x.sin() + 1e8, 0.5),
    ],
)
def test_correct_derivatives_of_large_functions_pass(f, x: float):
    assert gradcheck(f, [x])
    assert gradgradcheck(f, [x])


def test_close_allows_for_rounding_but_not_for_a_wrong_derivative():
    assert close(0.8775825618903728, 0.8791685104361324, 1e8)  # sin(x) + 1e8 at 0.5
    assert not close(0.8775825618903728 + 0.1, 0.8791685104361324, 1e8)
    assert close(2.0, 2.0 + 1e-5, 1.0) and not close(2.0, 2.0 + 1e-3, 1.0)


@pytest.mark.parametrize(
    ("f", "inputs", "error", "message"),
    [
        (lambda x: x.data * 2, [1.0], TypeError, "f must return a Value.*got float"),
        (lambda x: None, [1.0], TypeError, "f must return a Value.*got NoneType"),
        (lambda x: x, 1.0, TypeError, "inputs must be a list"),
        (lambda x: x, Value(1.0), TypeError, "inputs must be a list"),
        (lambda x: x, "ab", TypeError, "inputs must be a list"),
        (lambda x: x, [], ValueError, "inputs is empty"),
        (lambda x: x, ["1"], TypeError, r"inputs\[0\] must be a number or a Value, got str"),
        (lambda x: x, [math.nan], ValueError, "finite"),
        (lambda x: x.log(), [0.0], ValueError, "log"),
        (lambda x: x.log(), [1e-9], ValueError, "too close to the edge of f's domain"),
    ],
)
def test_gradcheck_rejects_bad_input_clearly(f, inputs, error, message):
    for check in (gradcheck, gradgradcheck):
        with pytest.raises(error, match=message):
            check(f, inputs)


# -- kinks -----------------------------------------------------------------------


@pytest.mark.parametrize("x", [0.0, 1e-9, -3e-7])
def test_gradcheck_at_a_relu_kink_reports_a_kink_not_a_mismatch(x: float):
    with pytest.raises(KinkError) as caught:
        gradcheck(lambda a: a.relu() * 2 + a, [x])
    err = caught.value
    assert "not differentiable here" in str(err) and "kink" in err.mismatches[0].note
    assert [(k.op, k.at, k.input) for k in err.kinks] == [(RELU, 0.0, 0)]


def test_gradcheck_reports_a_kink_inside_the_graph_with_the_input_that_crosses_it():
    # abs(x - 1) has its kink at x = 1; y is smooth.
    with pytest.raises(KinkError) as caught:
        gradcheck(lambda x, y: abs(x - 1 + 1e-9) + y * y, [1.0, 0.5])
    assert {k.input for k in caught.value.kinks} == {0}
    assert caught.value.kinks[0].op == ABS
    assert [m.name for m in caught.value.mismatches] == ["df/dx"]


def test_a_wrong_derivative_next_to_a_kink_is_still_a_mismatch():
    wrong = _wrong_in_second_input()
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x, y: x.relu() + wrong(x + 2, y), [1e-9, 2.0])
    assert not isinstance(caught.value, KinkError)
    notes = {m.name: m.note for m in caught.value.mismatches}
    assert notes["df/dy"] == "" and notes["df/dx"].startswith("kink")


@given(x=values(-1, 1), y=values(-1, 1))
def test_find_kinks_is_empty_away_from_kinks_and_names_them_at_them(x: float, y: float):
    f = lambda a, b: (a * b).relu() + abs(a)
    assume(all(not 0.9e-6 < abs(v) < 1.1e-6 for v in (x, y)))  # steps of 1e-6 cross 0 within 1e-6
    crossing = find_kinks(f, [x, y])
    assert bool(crossing) == (abs(x) <= 1e-6 or abs(y) <= 1e-6)
    assert all(k.op in (RELU, ABS) for k in crossing)


def test_a_kink_in_a_custom_op_domain_is_detected():
    step = custom_op(
        lambda x: x if x > 0 else 0.5 * x,
        derivative=lambda out, x: 1.0 if x > 0 else 0.5,
        domain=Domain(-5, 5, kinks=(0.0,)),
        name="half_leaky",
    )
    with pytest.raises(KinkError):
        gradcheck(step, [0.0])
    assert gradcheck(step, [0.3])


def test_gradgradcheck_at_a_kink_of_the_first_derivative_reports_a_kink():
    # x * |x| is differentiable everywhere; its derivative 2|x| has a kink at 0.
    assert gradcheck(lambda x: x * abs(x), [1e-9])
    with pytest.raises(KinkError):
        gradgradcheck(lambda x: x * abs(x), [1e-9])


# -- gradgradcheck -----------------------------------------------------------------


@given(x=values(-2, 2), y=values(0.2, 2))
def test_gradgradcheck_passes_on_a_correct_function(x: float, y: float):
    assert gradgradcheck(lambda a, b: (a * b).sin() + a**3 / b + b.log() * a, [x, y]) is True


def _number(x):
    """x's number, read out of the graph on purpose (a rule gets floats, or Values for higher order)."""
    return x.item() if isinstance(x, Value) else float(x)


def test_gradgradcheck_catches_a_rule_correct_to_first_order_only():
    # math.cos of the number read out of x (math.cos(x) itself is a TypeError):
    # backward() is right, but the second derivative treats cos(x) as a constant.
    sine = custom_op(lambda x: math.sin(x), derivative=lambda out, x: math.cos(_number(x)), name="float_sine")
    assert gradcheck(sine, [0.4])
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(sine, [0.4])
    (row,) = caught.value.mismatches
    assert row.name == "d2f/dx dx"
    assert row.analytic == 0.0 and row.numeric == pytest.approx(-math.sin(0.4), rel=1e-6)


def test_gradgradcheck_catches_a_wrong_second_derivative_in_one_entry_of_the_hessian():
    # The rule for input a returns b's number: right value, but d/db of it is lost.
    odd = custom_op(lambda a, b: a * b, derivative=lambda out, a, b: (_number(b), a), name="odd_mul")
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(lambda a, b: odd(a, b), [0.5, 3.0])
    assert {m.name for m in caught.value.mismatches} == {"d2f/da db"}


# -- strategies ------------------------------------------------------------------


@given(data=st.data())
def test_values_stay_in_their_interval_and_away_from_avoided_points(data: st.DataObject):
    x = data.draw(values(-2, 3, avoid=[0.0, 1.0], margin=0.1))
    assert -2 <= x <= 3 and abs(x) >= 0.1 and abs(x - 1) >= 0.1
    d = data.draw(values(domain=Domain(-1.0, 1.0, kinks=(0.5,))))
    assert -0.99 <= d <= 0.99 and abs(d - 0.5) >= 0.01
    k = data.draw(values(domain=Domain(-4, 4, integer=True)))
    assert k.is_integer()


def test_values_rejects_an_empty_interval():
    with pytest.raises(ValueError, match="low"):
        values(2, 1)


@given(expression=expressions(["x", "y"], max_steps=10))
def test_expressions_use_only_ops_valid_at_their_point(expression: Expression):
    assert expression.names == ("x", "y")
    data = list(expression.point)
    for op, refs in expression.steps:
        for position, r in enumerate(refs):
            domain = op.domain[0] if len(op.domain) == 1 else op.domain[position]
            assert domain.low <= data[r] <= domain.high
            assert all(abs(data[r] - k) >= 1e-2 for k in domain.kinks)
        data.append(op.forward(*[data[r] for r in refs]))
    out = expression(*[Value(x) for x in expression.point])
    assert math.isfinite(out.data)


@given(expression=expressions({"u": 0.5, "v": values(1, 2)}, min_steps=3, max_steps=3))
def test_expressions_take_fixed_points_and_strategies_for_variables(expression: Expression):
    u, v = expression.point
    assert u == 0.5 and 1 <= v <= 2
    assert str(expression).count("=") == len(expression.steps)


def test_expressions_share_subexpressions():
    def shares(e: Expression) -> bool:
        refs = [r for _, rs in e.steps for r in rs if r >= len(e.names)]
        return len(refs) != len(set(refs)) or any(len(set(rs)) < len(rs) for _, rs in e.steps)

    search = settings(database=None, phases=[Phase.generate])
    assert shares(find(expressions(2, min_steps=6, max_steps=8), shares, settings=search))


def test_expressions_can_draw_every_default_op():
    from autograd_lite.testing import DEFAULT_EXPRESSION_OPS

    strategy = expressions(2, min_steps=4)
    search = settings(database=None, phases=[Phase.generate], max_examples=1000)
    for op in DEFAULT_EXPRESSION_OPS:
        assert op in find(strategy, lambda e, op=op: op in e.ops, settings=search).ops


def test_expressions_reject_bad_arguments():
    with pytest.raises(TypeError, match="ops must be Ops or custom ops"):
        expressions(2, ops=[math.sin])
    with pytest.raises(ValueError, match="at least one variable"):
        expressions(0)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        Expression(("x", "y"), (1.0, 2.0), (), (0, 1))(Value(1.0))


@given(expression=expressions(1, ops=[TANH], min_steps=2, max_steps=4))
def test_expressions_draw_only_the_given_ops(expression: Expression):
    assert set(expression.ops) <= {TANH}


@given(network=mlps())
@settings(max_examples=30)
def test_mlps_draw_seeded_networks_whose_gradients_pass_gradcheck(network: Network):
    from autograd_lite.nn import MLP

    model, x = network
    assert isinstance(model, MLP) and len(x) == len(model.layers[0].neurons[0].w)
    for_inputs = lambda *xs: model(list(xs))
    for_parameters = lambda *_: model(x)
    assume(not find_kinks(for_inputs, x) and not find_kinks(for_parameters, model.parameters()))
    assert gradcheck(for_inputs, x)
    assert gradcheck(for_parameters, model.parameters())


@given(network=mlps(outputs=2, max_hidden_layers=1))
@settings(max_examples=10)
def test_mlps_with_several_outputs_return_a_list(network: Network):
    out = network.model(network.inputs)
    assert isinstance(out, list) and len(out) == 2


def test_importing_testing_does_not_import_hypothesis():
    code = "import sys, autograd_lite.testing; print('hypothesis' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_gradcheck_is_exported_lazily_from_the_package():
    import autograd_lite

    assert autograd_lite.gradcheck is gradcheck
    assert autograd_lite.GradcheckError is GradcheckError


# -- gradcheck(relative=True): no atol to hide a tiny derivative ------------------------


def _exp_wrong_below_minus_20():
    from autograd_lite.rules import exp, where

    @custom_op()
    def bad_exp(x):
        return exp(x)

    bad_exp.defderivative(lambda out, x: where(x < -20, 1.01 * out, out))
    return bad_exp


def test_gradcheck_atol_hides_a_tiny_wrong_derivative_and_relative_catches_it():
    from autograd_lite.testing import GradcheckError, gradcheck

    bad_exp = _exp_wrong_below_minus_20()
    assert gradcheck(bad_exp, [-30.0])  # 1% of 9e-14 is far below atol = 1e-5
    with pytest.raises(GradcheckError, match="relative"):
        gradcheck(bad_exp, [-30.0], relative=True)
    assert gradcheck(bad_exp, [-3.0], relative=True)  # right above -20


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda v: v.exp(), -30.0),
        (lambda v: v.exp(), 700.0),
        (lambda v: v.sigmoid(), 25.0),
        (lambda v: v.log(), 1e-5),
        (lambda v: v**3, 1e-5),
        (lambda v: v.sin(), 627.0),
        (lambda v: v.sqrt(), 1e-6),
    ],
)
def test_gradcheck_relative_passes_right_derivatives_at_any_scale(f, x):
    from autograd_lite.testing import gradcheck, numerical_derivative

    assert gradcheck(f, [x], relative=True)
    estimate, bound = numerical_derivative(f, [x], 0)
    assert bound < 1e-2 * abs(estimate)  # tight enough to see a derivative 1% wrong


def test_gradcheck_relative_allows_what_finite_differences_cannot_resolve():
    from autograd_lite.testing import gradcheck, numerical_derivative

    # tanh'(17) = 1 - tanh(17)**2 = 7e-15, computed from values within 1e-14 of 1
    assert gradcheck(lambda v: v.tanh(), [17.0], relative=True)
    estimate, bound = numerical_derivative(lambda v: v.tanh(), [17.0], 0)
    assert bound > abs(estimate)


def test_numerical_derivative_says_when_it_cannot_step():
    from autograd_lite.testing import numerical_derivative

    with pytest.raises(ValueError, match="every step"):
        numerical_derivative(lambda v: v.exp(), [709.7], 0)
