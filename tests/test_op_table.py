"""Every op in the table, checked against central finite differences.

The test walks the table, so a new op is tested the moment it is added, and
an op without a usable domain makes it fail.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd_lite import Value, apply, ops
from autograd_lite.ops import BUILTIN_OPS, OP_FAMILIES, VARIADIC, Domain, Op
from autograd_lite.testing import analytic_grad, close, gradcheck, numerical_grad

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
