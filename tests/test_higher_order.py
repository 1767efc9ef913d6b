"""Second and higher derivatives: every op's rule differentiated again, known functions, random graphs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value, apply, grad, hessian, jacobian
from autograd_lite.ops import Op
from autograd_lite.testing import expressions, gradcheck, gradgradcheck, values
from tests.test_op_table import ALL_OPS, op_inputs


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@given(data=st.data())
@settings(max_examples=40)
def test_every_op_second_derivative_matches_finite_differences_of_its_gradient(op: Op, data: st.DataObject):
    point = data.draw(op_inputs(op))
    assert gradgradcheck(lambda *xs: apply(op, *xs), point)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# f and its second derivative f'', written out by hand.
KNOWN_SECOND_DERIVATIVES = {
    "x**3": (lambda x: x**3, lambda x: 6 * x, values(-5, 5)),
    "x**-1": (lambda x: x**-1, lambda x: 2 / x**3, values(0.2, 5)),
    "x**0.5": (lambda x: x**0.5, lambda x: -0.25 * x**-1.5, values(0.1, 5)),
    "sqrt": (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5, values(0.1, 5)),
    "sin": (lambda x: x.sin(), lambda x: -math.sin(x), values()),
    "cos": (lambda x: x.cos(), lambda x: -math.cos(x), values()),
    "exp": (lambda x: x.exp(), math.exp, values(-5, 5)),
    "log": (lambda x: x.log(), lambda x: -1 / x**2, values(0.1, 10)),
    "tanh": (lambda x: x.tanh(), lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2), values()),
    "sigmoid": (
        lambda x: x.sigmoid(),
        lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x)),
        values(),
    ),
    "softplus": (lambda x: x.softplus(), lambda x: _sigmoid(x) * (1 - _sigmoid(x)), values()),
    "1/x": (lambda x: 1 / x, lambda x: 2 / x**3, values(0.2, 5)),
    "x*sin(x)": (lambda x: x * x.sin(), lambda x: 2 * math.cos(x) - x * math.sin(x), values()),
    "2**x": (lambda x: 2**x, lambda x: math.log(2) ** 2 * 2**x, values(-3, 3)),
    "relu(x)**2": (lambda x: x.relu() ** 2, lambda x: 2.0 if x > 0 else 0.0, values(avoid=[0])),
    "|x|**3": (lambda x: abs(x) ** 3, lambda x: 6 * abs(x), values(-3, 3, avoid=[0])),
}


@pytest.mark.parametrize("name", sorted(KNOWN_SECOND_DERIVATIVES))
@given(data=st.data())
@settings(max_examples=30)
def test_second_derivative_of_known_function_matches_its_formula(name: str, data: st.DataObject):
    f, second, points = KNOWN_SECOND_DERIVATIVES[name]
    x0 = data.draw(points)
    x = Value(x0)
    first = grad(f(x), x, create_graph=True)
    assert grad(first, x) == pytest.approx(second(x0), rel=1e-9, abs=1e-12)
    assert hessian(f, [x0]) == [[pytest.approx(second(x0), rel=1e-9, abs=1e-12)]]


@given(x=values(-2, 2), y=values(-2, 2))
def test_rosenbrock_hessian_matches_its_formula(x: float, y: float):
    def rosenbrock(a, b):
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2

    expected = [[1200 * x * x - 400 * y + 2, -400 * x], [-400 * x, 200.0]]
    h = hessian(rosenbrock, [x, y])
    for row, want in zip(h, expected):
        assert row == pytest.approx(want, rel=1e-9, abs=1e-9)


@given(x=values(0.2, 3), y=values(-2, 2))
def test_mixed_partial_of_a_value_power(x: float, y: float):
    # f = x**y: f_xx = y (y-1) x**(y-2), f_xy = x**(y-1) (1 + y log x), f_yy = x**y log(x)**2
    h = hessian(lambda a, b: a**b, [x, y])
    f_xy = x ** (y - 1) * (1 + y * math.log(x))
    assert h[0][0] == pytest.approx(y * (y - 1) * x ** (y - 2), rel=1e-9, abs=1e-12)
    assert h[0][1] == pytest.approx(f_xy, rel=1e-9, abs=1e-12)
    assert h[1][0] == pytest.approx(f_xy, rel=1e-9, abs=1e-12)
    assert h[1][1] == pytest.approx(x**y * math.log(x) ** 2, rel=1e-9, abs=1e-12)


@given(x=values(-2, 2))
def test_third_and_fourth_derivatives_by_differentiating_again(x: float):
    v = Value(x)
    d1 = grad((2 * v).exp() + v.sin(), v, create_graph=True)
    d2 = grad(d1, v, create_graph=True)
    d3 = grad(d2, v, create_graph=True)
    d4 = grad(d3, v)
    e = math.exp(2 * x)
    assert d1.data == pytest.approx(2 * e + math.cos(x), rel=1e-12)
    assert d2.data == pytest.approx(4 * e - math.sin(x), rel=1e-12, abs=1e-12)
    assert d3.data == pytest.approx(8 * e - math.cos(x), rel=1e-12, abs=1e-12)
    assert d4 == pytest.approx(16 * e + math.sin(x), rel=1e-12, abs=1e-12)


@given(x=values(-1.5, 1.5), y=values(-1.5, 1.5))
def test_jacobian_matches_its_formula(x: float, y: float):
    # f(x, y) = (x y, sin x + y**2, exp(x - y))
    j = jacobian(lambda a, b: [a * b, a.sin() + b**2, (a - b).exp()], [x, y])
    e = math.exp(x - y)
    expected = [[y, x], [math.cos(x), 2 * y], [e, -e]]
    for row, want in zip(j, expected):
        assert row == pytest.approx(want, rel=1e-12, abs=1e-12)


@given(expression=expressions(3, max_steps=8))
@settings(max_examples=150)
def test_random_expressions_pass_gradcheck(expression):
    assert gradcheck(expression, expression.point)


@given(expression=expressions(3, max_steps=6))
@settings(max_examples=100)
def test_random_expressions_second_derivatives_match_finite_differences_of_gradients(expression):
    assert gradgradcheck(expression, expression.point)


@given(expression=expressions(2, max_steps=6))
@settings(max_examples=50)
def test_hessian_of_random_expressions_is_symmetric(expression):
    h = hessian(expression, expression.point)
    scale = 1 + max(abs(v) for row in h for v in row)
    assert h[0][1] == pytest.approx(h[1][0], abs=1e-9 * scale)
