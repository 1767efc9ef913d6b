"""Every op in the table, checked against central finite differences and a reference forward.

The test walks the table, so a new op is tested the moment it is added, and
an op without a usable domain makes it fail. Inputs come from each op's
``Domain`` and from its tails (``|x|`` from 20 to 700, tiny ``|x|`` from 1e-6
to 1e-3, on each side the domain reaches), where derivatives are checked to a
relative tolerance however small they are (``gradcheck(relative=True)``).
"""

from __future__ import annotations

import math
import sys
from typing import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd_lite import Value, apply, ops
from autograd_lite.ops import BUILTIN_OPS, OP_FAMILIES, VARIADIC, Domain, Op
from autograd_lite.testing import analytic_grad, close, gradcheck, numerical_derivative, numerical_grad

KINK_MARGIN = 1e-2

FAMILY_PARAMETERS = {
    "**k": [2, 3, -1, -2, 0.5, 1.5, -0.5, 1, 0],
    "leaky_relu": [0.01, 0.2],
}

ALL_OPS: list[Op] = list(BUILTIN_OPS) + [
    OP_FAMILIES[name](p) for name, params in FAMILY_PARAMETERS.items() for p in params
]


def test_every_op_in_the_module_is_in_the_table():
    defined = {name for name, obj in vars(ops).items() if isinstance(obj, Op)}
    listed = {name for name, obj in vars(ops).items() if isinstance(obj, Op) and obj in BUILTIN_OPS}
    assert defined == listed, f"ops missing from BUILTIN_OPS: {defined - listed}"


def test_every_family_is_exercised():
    assert set(FAMILY_PARAMETERS) == set(OP_FAMILIES)


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_every_op_has_a_domain_per_input(op: Op):
    assert op.domain, f"op {op!r} has no domain to draw test inputs from"
    assert all(isinstance(d, Domain) and d.low < d.high for d in op.domain)
    if op.arity != VARIADIC:
        assert len(op.domain) == op.arity, f"op {op!r} needs one Domain per input"


def domain_values(domain: Domain) -> st.SearchStrategy[float]:
    values = st.floats(domain.low, domain.high, allow_nan=False, allow_infinity=False)
    if domain.integer:
        values = st.integers(math.ceil(domain.low), math.floor(domain.high)).map(float)
    return values.filter(lambda x: all(abs(x - k) > KINK_MARGIN for k in domain.kinks))


@st.composite
def op_inputs(draw: st.DrawFn, op: Op) -> list[float]:
    if op.arity == VARIADIC:
        count = draw(st.integers(1, 6))
        return [draw(domain_values(op.domain[0])) for _ in range(count)]
    return [draw(domain_values(d)) for d in op.domain]


TAIL_MAGNITUDES = st.one_of(st.floats(20.0, 40.0), st.floats(40.0, 700.0), st.floats(1e-6, 1e-3))
"""Beyond every op's test domain: past 20 (exp(-20) = 2e-9), up to exp's overflow, and tiny."""


def tail_values(domain: Domain) -> st.SearchStrategy[float]:
    """Magnitudes from TAIL_MAGNITUDES, on each side of 0 that ``domain`` reaches."""
    signs = [s for s, reached in ((1.0, domain.high > 0), (-1.0, domain.low < 0)) if reached]
    return st.builds(lambda m, s: m * s, TAIL_MAGNITUDES, st.sampled_from(signs))


@st.composite
def op_tail_inputs(draw: st.DrawFn, op: Op) -> list[float]:
    """A point with inputs from the op's domain or its tails, at least one from the tails."""
    domains = op.domain * draw(st.integers(1, 4)) if op.arity == VARIADIC else op.domain
    tail = draw(st.integers(0, len(domains) - 1))
    return [
        draw(tail_values(d) if i == tail else st.one_of(domain_values(d), tail_values(d)))
        for i, d in enumerate(domains)
    ]


def defined_at(op: Op, point: list[float]) -> bool:
    """Whether the op's forward is finite at the point and a step away on each input (1%)."""
    for moved in [point] + [[x * (1 + s * 1e-2) if j == i else x for j, x in enumerate(point)]
                            for i in range(len(point)) for s in (1, -1)]:  # fmt: skip
        try:
            if not math.isfinite(op.forward(*moved)):
                return False
        except (ArithmeticError, ValueError):
            return False
    return True


def cancels(op: Op, point: list[float]) -> bool:
    """A sum or dot whose terms cancel to (near) zero: rounding then swallows a small input's step.

    ``sum(1e-185, 20, -20)`` is 0, and so is the sum one step either side of
    1e-185: the finite difference is 0 with an error bound of 0 (the bound
    sees only the results, not the 20s in between), while the derivative is 1.
    """
    if op.rule_form not in ("sum", "dot"):
        return False
    half = len(point) // 2
    terms = list(point)
    if op.rule_form == "dot":  # w.x (+ b): the products, and the bias when there is one
        terms = [point[i] * point[half + i] for i in range(half)] + point[2 * half :]
    largest = max((abs(t) for t in terms), default=0.0)
    return largest > 0 and abs(math.fsum(terms)) < 1e-6 * largest


def bounded_numeric(op: Op, point: list[float]) -> list[tuple[float, float]]:
    """numerical_derivative for each input (its estimate and error bound); rejects the point if none."""
    assume(defined_at(op, point) and not cancels(op, point))
    try:
        return [numerical_derivative(lambda *xs: apply(op, *xs), point, i) for i in range(len(point))]
    except ValueError:
        assume(False)
        raise


def within_bound(analytic: float, numeric: float, bound: float, rtol: float = 1e-3) -> bool:
    """``|analytic - numeric| <= rtol * |numeric| + bound``: relative, however small the derivative."""
    return abs(analytic - numeric) <= rtol * abs(numeric) + bound


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@given(data=st.data())
def test_derivative_in_the_tails(op: Op, data: st.DataObject):
    point = data.draw(op_tail_inputs(op))
    bounded_numeric(op, point)  # rejects points where finite differences cannot be taken
    assert gradcheck(lambda *xs: apply(op, *xs), point, relative=True)


def _leaky(slope: float) -> Callable[[float], float]:
    return lambda x: x if x > 0 else slope * x


def _power(k: float) -> Callable[[float], float]:
    return lambda x: math.pow(x, k)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _dot(*args: float) -> float:
    n = len(args) // 2
    return math.fsum([w * x for w, x in zip(args[:n], args[n : 2 * n])] + list(args[2 * n :]))


REFERENCE: dict[Op, Callable[..., float]] = {
    ops.ADD: lambda a, b: a + b,
    ops.SUB: lambda a, b: a - b,
    ops.MUL: lambda a, b: a * b,
    ops.DIV: lambda a, b: a / b,
    ops.POW: math.pow,
    ops.NEG: lambda x: -x,
    ops.ABS: math.fabs,
    ops.RELU: lambda x: max(x, 0.0),
    ops.TANH: math.tanh,
    ops.SIGMOID: _sigmoid,
    ops.SOFTPLUS: lambda x: x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x)),
    ops.EXP: math.exp,
    ops.LOG: math.log,
    ops.SQRT: math.sqrt,
    ops.SIN: math.sin,
    ops.COS: math.cos,
    ops.SUM: lambda *xs: math.fsum(xs),
    ops.DOT: _dot,
    **{ops.leaky_relu(p): _leaky(p) for p in FAMILY_PARAMETERS["leaky_relu"]},
    **{ops.pow_number(k): _power(k) for k in FAMILY_PARAMETERS["**k"]},
}
"""Each op's forward written independently, with ``math``: a wrong forward whose derivative
rule is written with ``out`` (``exp``: d = out) agrees with finite differences of itself."""


def test_every_op_of_the_table_has_a_reference_forward():
    assert set(REFERENCE) == set(ALL_OPS)


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@given(data=st.data())
def test_forward_matches_an_independent_reference(op: Op, data: st.DataObject):
    point = data.draw(st.one_of(op_inputs(op), op_tail_inputs(op)))
    assume(defined_at(op, point))
    got, expected = op.forward(*point), REFERENCE[op](*point)
    # sum and dot add in another order than fsum: a few roundings of the largest term
    rounding = 8 * sys.float_info.epsilon * sum(abs(x) for x in point) ** 2 if op.arity == VARIADIC else 0.0
    rounding += sys.float_info.min  # subnormal results are exact only to an absolute 5e-324
    assert abs(got - expected) <= 1e-12 * abs(expected) + rounding, f"{op}{point}: {got!r}, {expected!r}"


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@given(data=st.data())
def test_derivative_matches_finite_differences(op: Op, data: st.DataObject):
    point = data.draw(op_inputs(op))
    f = lambda *xs: apply(op, *xs)
    value, analytic = analytic_grad(f, point)
    numeric = numerical_grad(f, point)
    assume(all(math.isfinite(n) for n in numeric))
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert close(a, n, value), f"{op}: d/dx{i} at {point}: backward {a!r}, finite differences {n!r}"


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_op_node_records_inputs_and_op(op: Op):
    point = [d.low + 0.37 * (d.high - d.low) for d in op.domain]
    if op.arity == VARIADIC:
        point = point * 3
    inputs = [Value(x) for x in point]
    out = apply(op, *inputs)
    assert out._op is op
    assert list(out._prev) == inputs
    assert out.data == pytest.approx(op.forward(*point))


def test_apply_checks_the_number_of_inputs():
    with pytest.raises(TypeError, match="tanh: takes 1 input"):
        apply(ops.TANH, Value(1.0), Value(2.0))


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
@given(data=st.data())
def test_gradcheck_passes_on_every_op(op: Op, data: st.DataObject):
    point = data.draw(op_inputs(op))
    assert gradcheck(lambda *xs: apply(op, *xs), point)
