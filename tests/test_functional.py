"""grad(), jacobian(), hessian(): gradients without .grad, and gradients that are graphs."""

from __future__ import annotations

import doctest
import math
import re
from pathlib import Path

import pytest
from hypothesis import given

from autograd_lite import Value, functional, grad, hessian, jacobian, no_grad, topological_order
from autograd_lite.testing import expressions, values

ROOT = Path(__file__).resolve().parent.parent


@given(expression=expressions(3))
def test_grad_matches_backward_and_touches_no_grad(expression):
    leaves = [Value(x) for x in expression.point]
    out = expression(*leaves)
    nodes = topological_order(out)
    for v in nodes:
        v.grad = 0.25
    # allow_unused: an input the expression does not use gets None (as PyTorch), 0 to backward()
    floats = [0.0 if g is None else g for g in grad(out, leaves, allow_unused=True)]
    graphs = [Value(0.0) if g is None else g for g in grad(out, leaves, create_graph=True, allow_unused=True)]
    assert all(v.grad == 0.25 for v in nodes), "grad() must not write .grad"
    assert all(isinstance(v.grad, float) for v in [*nodes, *graphs])
    for v in nodes:
        v.grad = 0.0
    out.backward()
    assert floats == pytest.approx([leaf.grad for leaf in leaves], rel=1e-12, abs=1e-12)
    assert [g.data for g in graphs] == pytest.approx(floats, rel=1e-12, abs=1e-12)
    assert all(isinstance(g, float) for g in floats)


def test_grad_of_one_input_returns_one_gradient_and_of_a_list_a_list():
    x, y = Value(3.0), Value(-2.0)
    out = x * x * y
    assert grad(out, x) == 2 * 3.0 * -2.0
    assert grad(out, [x, y]) == [-12.0, 9.0]
    assert grad(out, (y,)) == [9.0]


def test_grad_sums_every_path_through_a_shared_node():
    x = Value(1.5)
    s = x.sin()
    out = s * s + s  # d/dx = (2 sin x + 1) cos x
    assert grad(out, x) == pytest.approx((2 * math.sin(1.5) + 1) * math.cos(1.5), rel=1e-14)


def test_grad_with_respect_to_an_interior_node_is_its_adjoint():
    x = Value(0.7)
    h = x * 3
    out = h.tanh() + h
    assert grad(out, h) == pytest.approx(1 - math.tanh(2.1) ** 2 + 1, rel=1e-14)
    assert grad(out, [h, x]) == pytest.approx([2 - math.tanh(2.1) ** 2, 3 * (2 - math.tanh(2.1) ** 2)])


def test_an_input_the_output_does_not_depend_on_is_an_error_unless_allowed_then_none():
    x, unused = Value(2.0), Value(5.0)
    out = x.exp()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        grad(out, [x, unused])
    assert grad(out, [x, unused], allow_unused=True) == [pytest.approx(math.exp(2.0)), None]
    assert grad(out, [x, unused], create_graph=True, allow_unused=True)[1] is None
    assert grad(x, x) == 1.0 and grad(x, unused, allow_unused=True) is None
    assert unused.grad == 0.0 and x.grad == 0.0, "a failed grad() writes nothing"


def test_a_constant_gradient_with_create_graph_is_a_value_that_depends_on_nothing():
    x = Value(2.0)
    g = grad(3 * x + 1, x, create_graph=True)
    assert isinstance(g, Value) and g.data == 3.0
    assert grad(g, x, allow_unused=True) is None
    assert hessian(lambda u: 3 * u + 1, [2.0]) == [[0.0]], "hessian() keeps zeros for constants"


def test_create_graph_records_the_gradient_even_under_no_grad():
    x = Value(0.3)
    y = x.sin() * x
    with no_grad():
        g = grad(y, x, create_graph=True)
    assert g._prev, "the gradient must be graph-connected"
    assert grad(g, x) == pytest.approx(2 * math.cos(0.3) - 0.3 * math.sin(0.3), rel=1e-12)


def test_a_gradient_graph_works_with_backward_too():
    x = Value(0.4)
    g = grad(x**3, x, create_graph=True)  # 3 x**2
    g.backward()
    assert x.grad == pytest.approx(6 * 0.4)


def test_grad_rejects_what_is_not_a_value():
    with pytest.raises(TypeError, match="output must be a Value, got float"):
        grad(1.0, [Value(1.0)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value, got float"):
        grad(Value(1.0), [Value(1.0), 2.0])  # type: ignore[list-item]


@given(x=values(-2, 2), y=values(-2, 2))
def test_hessian_of_a_quadratic_form_is_its_matrix(x: float, y: float):
    # f = a x**2 + b x y + c y**2 has Hessian [[2a, b], [b, 2c]] everywhere.
    a, b, c = 1.5, -0.5, 3.0
    assert hessian(lambda u, v: a * u * u + b * u * v + c * v * v, [x, y]) == [
        [pytest.approx(2 * a), pytest.approx(b)],
        [pytest.approx(b), pytest.approx(2 * c)],
    ]


def test_hessian_and_jacobian_take_values_and_leave_them_alone():
    x = Value(1.0)
    x.grad = 4.0
    assert hessian(lambda u: u**3, [x]) == [[6.0]]
    assert jacobian(lambda u: [u * 2, u**2], [x]) == [[2.0], [2.0]]
    assert jacobian(lambda u: u * 5, [x]) == [[5.0]]
    assert (x.data, x.grad) == (1.0, 4.0)


def test_hessian_and_jacobian_reject_bad_input():
    with pytest.raises(TypeError, match="hessian: f must return a Value"):
        hessian(lambda u: 1.0, [1.0])
    with pytest.raises(TypeError, match="jacobian: f must return a Value or a sequence of Values"):
        jacobian(lambda u: [u, 2.0], [1.0])
    with pytest.raises(TypeError, match="wrap a single input in a list"):
        hessian(lambda u: u, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inputs is empty"):
        jacobian(lambda: Value(1.0), [])


def test_newton_minimises_a_quadratic_in_one_step_with_the_hessian():
    # f = (x - 1)**2 + 2 (y + 3)**2 + x y: Newton from anywhere lands on the minimum.
    f = lambda x, y: (x - 1) ** 2 + 2 * (y + 3) ** 2 + x * y
    point = [5.0, 7.0]
    leaves = [Value(p) for p in point]
    g = grad(f(*leaves), leaves)
    (a, b), (c, d) = hessian(f, point)
    det = a * d - b * c
    step = [(d * g[0] - b * g[1]) / det, (-c * g[0] + a * g[1]) / det]
    new = [p - s for p, s in zip(point, step)]
    leaves = [Value(p) for p in new]
    assert grad(f(*leaves), leaves) == pytest.approx([0.0, 0.0], abs=1e-12)


def test_module_docstring_newton_example_runs():
    result = doctest.testmod(functional, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def readme_section_code() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Proving derivatives\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "README has no 'Proving derivatives' section"
    return re.findall(r"```python\n(.*?)```", section.group(1), re.S)


def test_readme_proving_derivatives_examples_run():
    blocks = readme_section_code()
    assert len(blocks) >= 3
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        # A name that is not a file: tools that read source by file name (Hypothesis) must not
        # read README.md itself, whose line numbers are not the block's.
        exec(compile(block, "<README.md: Proving derivatives>", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert tests, "the README's property test should be a test function"
    for test in tests:
        test()
