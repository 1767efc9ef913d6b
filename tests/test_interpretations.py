"""Every op of the table through every interpretation of its one rule.

Eager ``backward()``, ``grad(..., create_graph=True)`` (first and second
derivatives), forward mode (``jvp``), compiled Python and the NumPy batch:
each is checked against central finite differences and against the eager
engine, at points Hypothesis draws from the op's domain. A new op is tested
everywhere by adding it to the table (or one line to ``OPS`` below for a
custom op). ``benchmarks/mutation_check.py`` breaks each rule and runs these
tests once per interpretation (``-k eager``, ``-k create_graph``, ...), and
also breaks one interpretation alone (its cached function in the op).

``test_tails`` takes every interpretation to the tails of each op's inputs
(``|x|`` 20 to 700, tiny ``|x|``), where it must agree with the eager forward
and with finite differences to a relative tolerance however small the
derivative (``exp'(-30) = 9e-14``); ``test_each_input_near_zero`` takes each
input in turn to a tiny ``|x|`` (a tiny base of ``a ** b``). The losses'
``logsumexp`` op is walked as the table's ops are.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, apply, custom_op, grad, jvp, losses
from autograd_lite.ops import VARIADIC, Domain, Op
from autograd_lite.rules import where
from autograd_lite.testing import numerical_derivative, numerical_grad
from tests.test_op_table import (
    ALL_OPS,
    bounded_numeric,
    cancels,
    defined_at,
    domain_values,
    op_inputs,
    op_tail_inputs,
    within_bound,
)


@custom_op(domain=Domain(-3.0, 3.0, kinks=(0.0,)))  # its second derivative has a kink at 0
def soft_sign(x):
    return x / (1 + abs(x))


soft_sign.defderivative(lambda out, x: 1 / (1 + abs(x)) ** 2)


@custom_op(domain=(Domain(0.5, 3.0), Domain(-3.0, 3.0)))
def hypot(x, y):
    return (x * x + y * y) ** 0.5


hypot.defderivative(lambda out, x, y: (x / out, y / out))


@custom_op(domain=Domain(-3.0, 3.0, kinks=(0.0,)))
def half_leaky(x):
    return x if x > 0 else 0.5 * x  # a Python `if`: a forward without a symbolic form


half_leaky.defderivative(lambda out, x: where(x > 0, 1.0, 0.5))


@custom_op(domain=Domain(-2.0, 2.0))
def opaque_cube(x):
    return x**3


@opaque_cube.defderivative
def _(out, x):
    if x > 100:  # a rule that branches with `if`: used as it is, element by element on arrays
        return 3.0 * (x * x)
    return 3 * x * x


OPS: list[Op] = [*ALL_OPS, soft_sign.op, hypot.op, half_leaky.op, opaque_cube.op, losses.LOGSUMEXP]


def close_to_numeric(analytic: float, numeric: float) -> bool:
    """Within the rounding of a central difference (h = 1e-6 scaled)."""
    return math.isclose(analytic, numeric, rel_tol=1e-4, abs_tol=1e-6)


def same(a: float, b: float) -> bool:
    """The same number up to rounding in a different order of operations."""
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def function_of(op: Op):
    return lambda *xs: apply(op, *xs)


def eager(op: Op, point: list[float]) -> tuple[float, list[float]]:
    xs = [Value(x) for x in point]
    out = apply(op, *xs)
    out.backward()
    return out.data, [x.grad for x in xs]


def draw_point(data: st.DataObject, op: Op) -> tuple[list[float], list[float]]:
    """A point from the op's domain, and the finite-difference gradient there (finite)."""
    point = data.draw(op_inputs(op))
    numeric = numerical_grad(function_of(op), point)
    assume(all(math.isfinite(n) for n in numeric))
    return point, numeric


@pytest.mark.parametrize("op", OPS, ids=str)
@given(data=st.data())
def test_eager_backward(op: Op, data: st.DataObject):
    point, numeric = draw_point(data, op)
    _, grads = eager(op, point)
    for i, (a, n) in enumerate(zip(grads, numeric)):
        assert close_to_numeric(a, n), f"{op}: d/dx{i} at {point}: backward {a!r}, finite differences {n!r}"


@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=40)
@given(data=st.data())
def test_create_graph(op: Op, data: st.DataObject):
    point, numeric = draw_point(data, op)
    xs = [Value(x) for x in point]
    first = grad(apply(op, *xs), xs, create_graph=True)
    _, grads = eager(op, point)
    for i, (g, n, e) in enumerate(zip(first, numeric, grads)):
        assert close_to_numeric(g.data, n), f"{op}: d/dx{i} as a Value {g.data!r}, finite differences {n!r}"
        assert same(g.data, e)
    # second derivatives: the graph of each first derivative, against differences of eager gradients
    for j, x in enumerate(point):
        h = 1e-6 * max(1.0, abs(x))
        up, down = list(point), list(point)
        up[j], down[j] = x + h, x - h
        try:
            ups, downs = eager(op, up)[1], eager(op, down)[1]
        except (ArithmeticError, ValueError):
            continue  # a step out of the domain
        for i, g in enumerate(first):
            second = grad(g, xs[j], allow_unused=True) if isinstance(g, Value) else 0.0
            second = 0.0 if second is None else second  # g does not depend on xs[j]
            numeric2 = (ups[i] - downs[i]) / (2 * h)
            if math.isfinite(numeric2):
                assert math.isclose(second, numeric2, rel_tol=1e-3, abs_tol=1e-4 * (1 + abs(ups[i]))), (
                    f"{op}: d2/dx{i}dx{j} at {point}: {second!r}, finite differences {numeric2!r}"
                )


@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=40)
@given(data=st.data())
def test_forward_mode(op: Op, data: st.DataObject):
    point, numeric = draw_point(data, op)
    value, grads = eager(op, point)
    for i in range(len(point)):
        direction = [1.0 if j == i else 0.0 for j in range(len(point))]
        out, tangent = jvp(function_of(op), point, direction)
        assert same(out, value)
        assert close_to_numeric(tangent, numeric[i]), (
            f"{op}: jvp along x{i} {tangent!r}, numeric {numeric[i]!r}"
        )
        assert same(tangent, grads[i])


@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_compiled_python(op: Op, data: st.DataObject):
    point, numeric = draw_point(data, op)
    value, grads = eager(op, point)
    got = al.compile(function_of(op), tuple(point)).grad(*point)
    assert same(got.outputs, value)
    for i, (g, n, e) in enumerate(zip(got.inputs, numeric, grads)):
        assert close_to_numeric(g, n), f"{op}: compiled d/dx{i} {g!r}, finite differences {n!r}"
        assert same(g, e)


@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_numpy_batch(op: Op, data: st.DataObject):
    point, numeric = draw_point(data, op)
    others = [data.draw(op_inputs(op)) for _ in range(2)]
    samples = [point] + [p for p in others if len(p) == len(point)]
    # Each input passes through a parameter (x + p, p = 0), so the parameters' per-sample
    # gradients are the op's derivatives with respect to its inputs, sample by sample.
    shifts = [Value(0.0) for _ in point]
    fn = lambda *xs: apply(op, *[x + p for x, p in zip(xs, shifts)])
    cf = al.compile(fn, tuple(point), params=shifts)
    columns = [np.array([s[i] for s in samples]) for i in range(len(point))]
    result = cf.batch(*columns, backend="numpy", per_sample=True)
    for n, sample in enumerate(samples):
        value, grads = eager(op, sample)
        assert same(float(result.outputs[n]), value)
        for i, (g, e) in enumerate(zip(result.params[n], grads)):
            assert same(float(g), e), f"{op}: NumPy d/dx{i} at {sample}: {g!r}, eager {e!r}"
    for i, (g, n) in enumerate(zip(result.params[0], numeric)):
        assert close_to_numeric(float(g), n), f"{op}: NumPy d/dx{i} {g!r}, finite differences {n!r}"


@pytest.mark.parametrize("op", OPS, ids=str)
def test_formula_of_every_local_derivative(op: Op):
    names = ["a", "b", "c"] if op.arity == VARIADIC else [f"x{i}" for i in range(op.arity)]
    formulas = op.formulas(names, out="o")
    assert len(formulas) == len(names)
    for name, text in zip(names, formulas):
        assert text.startswith("d ") and f"/d{name}" in text, text
        if op.symbolic_rule(len(names)) is not None:  # a rule written in the vocabulary has a formula
            assert f"/d{name} = " in text, text


# -- the tails: every interpretation, relative to finite differences ---------------------


def _by_create_graph(op: Op, point: list[float]) -> tuple[float, list[float]]:
    xs = [Value(x) for x in point]
    out = apply(op, *xs)
    return out.data, [g.data if isinstance(g, Value) else float(g) for g in grad(out, xs, create_graph=True)]


def _by_forward_mode(op: Op, point: list[float]) -> tuple[float, list[float]]:
    axes = [[1.0 if j == i else 0.0 for j in range(len(point))] for i in range(len(point))]
    pushed = [jvp(function_of(op), point, axis) for axis in axes]
    return pushed[0][0], [t for _, t in pushed]


def _by_compiled_python(op: Op, point: list[float]) -> tuple[float, list[float]]:
    got = al.compile(function_of(op), tuple(point)).grad(*point)
    return got.outputs, list(got.inputs)


def _by_numpy(op: Op, point: list[float]) -> tuple[float, list[float]]:
    shifts = [Value(0.0) for _ in point]
    cf = al.compile(lambda *xs: apply(op, *[x + p for x, p in zip(xs, shifts)]), tuple(point), params=shifts)
    result = cf.batch(*[np.array([x]) for x in point], backend="numpy", per_sample=True)
    return float(result.outputs[0]), [float(g) for g in result.params[0]]


INTERPRETED = {
    "eager": eager,
    "create_graph": _by_create_graph,
    "forward mode": _by_forward_mode,
    "compiled Python": _by_compiled_python,
    "NumPy batch": _by_numpy,
}


def same_value(got: float, expected: float, op: Op, point: list[float]) -> bool:
    """Relative 1e-9, no absolute floor (exp(-30) must be right); a sum's rounding for sum and dot."""
    rounding = 8 * np.finfo(float).eps * sum(abs(x) for x in point) ** 2 if op.arity == VARIADIC else 0.0
    return abs(got - expected) <= 1e-9 * abs(expected) + rounding + np.finfo(float).tiny  # subnormals


@pytest.mark.parametrize("interpretation", INTERPRETED)
@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_tails(op: Op, interpretation: str, data: st.DataObject):
    point = data.draw(op_tail_inputs(op))
    numeric = bounded_numeric(op, point)
    value, grads = INTERPRETED[interpretation](op, point)
    assert same_value(value, op.forward(*point), op, point), f"{op}{tuple(point)}: {value!r}"
    for i, (g, (n, bound)) in enumerate(zip(grads, numeric)):
        assert within_bound(g, n, bound), (
            f"{op}: {interpretation} d/dx{i} at {point}: {g!r}, finite differences {n!r} +- {bound:.3g}"
        )


@pytest.mark.parametrize("interpretation", INTERPRETED)
@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_each_input_near_zero(op: Op, interpretation: str, data: st.DataObject):
    """Each input in turn at a tiny ``|x|`` (1e-6 to 1e-3), the others from the domain: ``a ** b``
    at a base of 1e-5 is steep in both inputs, and ``test_tails`` may draw no tiny base."""
    domains = op.domain * 3 if op.arity == VARIADIC else op.domain
    for i, d in enumerate(domains):
        signs = [s for s, reached in ((1.0, d.high > 0), (-1.0, d.low < 0)) if reached]
        tiny = data.draw(st.floats(1e-6, 1e-3)) * data.draw(st.sampled_from(signs))
        point = [tiny if j == i else data.draw(domain_values(dj)) for j, dj in enumerate(domains)]
        if not defined_at(op, point) or cancels(op, point):
            continue  # not finite a step away, or a sum that cancels (see bounded_numeric)
        try:
            numeric = [numerical_derivative(function_of(op), point, k) for k in range(len(point))]
        except ValueError:
            continue  # no finite difference at any step
        value, grads = INTERPRETED[interpretation](op, point)
        assert same_value(value, op.forward(*point), op, point), f"{op}{tuple(point)}: {value!r}"
        for k, (g, (n, bound)) in enumerate(zip(grads, numeric)):
            assert within_bound(g, n, bound), (
                f"{op}: {interpretation} d/dx{k} at {point}: {g!r}, finite differences {n!r} +- {bound:.3g}"
            )


# -- family members: parameters drawn ----------------------------------------------------


@st.composite
def family_members(draw: st.DrawFn) -> Op:
    family = draw(st.sampled_from(sorted(al.ops.OP_FAMILIES)))
    if family == "leaky_relu":
        return al.ops.leaky_relu(draw(st.floats(-2.0, 2.0)))
    return al.ops.pow_number(draw(st.one_of(st.integers(-4, 5), st.floats(-3.0, 3.0))))


@settings(max_examples=60, deadline=None)
@given(op=family_members(), data=st.data())
def test_family_members_with_drawn_parameters_agree_on_every_path(op: Op, data: st.DataObject):
    point = data.draw(st.one_of(op_inputs(op), op_tail_inputs(op)))
    numeric = bounded_numeric(op, point)
    value, grads = eager(op, point)
    for interpretation, interpret in INTERPRETED.items():
        got_value, got = interpret(op, point)
        assert same_value(got_value, value, op, point), f"{op}: {interpretation} {got_value!r} != {value!r}"
        for g, e, (n, bound) in zip(got, grads, numeric):
            assert same(g, e) and within_bound(g, n, bound), f"{op} at {point}: {interpretation} {g!r}, {e!r}"
