"""Nothing silent at the edges: nan, inf, 0 x inf, float types and failed backward passes.

Each case of issue 13 (points: nan propagation, 0 x inf, float64, all-or-nothing
backward) is its own test, and every path is asked: ``backward()``, ``grad()``
(floats and ``create_graph``), forward mode (``jvp``), ``backward_steps``,
generated Python and NumPy batches. The semantics are plain IEEE 754: every
chain-rule term is ``upstream * local``, computed even when a factor is 0, so
``0 * inf`` is nan and nan propagates (README, "nan, inf and 0 x inf").
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, custom_op
from autograd_lite.engine import topological_order
from autograd_lite.functional import grad, jvp
from autograd_lite.nn import MLP
from autograd_lite.ops import leaky_relu, pow_number
from autograd_lite.optim import SGD, Adam
from autograd_lite.stepper import backward_steps
from autograd_lite.testing import expressions

nan, inf = math.nan, math.inf


def same(a: float, b: float) -> bool:
    """Equal as IEEE numbers, nan equal to nan."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def every_path(f, x: float) -> dict[str, tuple[float, float]]:
    """``(f(x), df/dx)`` by every way of differentiating ``f`` at ``x``."""
    got: dict[str, tuple[float, float]] = {}
    v = Value(x)
    y = f(v)
    y.backward()
    got["backward"] = (y.data, v.grad)
    v = Value(x)
    y = f(v)
    got["grad"] = (y.data, grad(y, v))
    v = Value(x)
    y = f(v)
    got["grad create_graph"] = (y.data, grad(y, v, create_graph=True).data)
    got["jvp"] = jvp(f, [x], [1.0])
    v = Value(x)
    y = f(v)
    for _ in backward_steps(y):
        pass
    got["backward_steps"] = (y.data, v.grad)
    compiled = al.compile(f, (0.5,))
    r = compiled.grad(x)
    got["compile python"] = (r.outputs, r.inputs[0])
    p = Value(x)  # NumPy batches give parameter gradients: x as a parameter
    batched = al.compile(lambda unused: f(p), (0.0,), params=[p])
    for backend in ("python", "numpy"):
        b = batched.batch([0.0, 0.0], backend=backend, accumulate=False)
        got[f"batch {backend}"] = (float(b.outputs[0]), float(b.params[0]) / 2)
    return got


def assert_every_path(f, x: float, value: float, derivative: float) -> None:
    for path, (v, d) in every_path(f, x).items():
        assert same(v, value), f"{path}: f({x}) = {v}, expected {value}"
        assert same(d, derivative), f"{path}: f'({x}) = {d}, expected {derivative}"


# -- 1. nan propagates the same way on every path ------------------------------------------------


def test_relu_of_nan_is_nan_on_every_path():
    # Issue 13: Value(nan).relu() was 0.0 eagerly and in generated Python, nan in NumPy.
    # Its derivative at nan is 1, as PyTorch's (relu's rule tests x <= 0).
    assert math.isnan(Value(nan).relu().data)
    assert_every_path(lambda x: x.relu(), nan, nan, 1.0)


@pytest.mark.parametrize(
    "name, f, derivative",
    [
        ("leaky_relu", lambda x: x.leaky_relu(0.1), 0.1),  # as PyTorch: the slope
        ("abs", lambda x: abs(x), 0.0),  # as PyTorch: sign(nan) taken as 0
        ("softplus", lambda x: x.softplus(), nan),
        ("sqrt", lambda x: x.sqrt(), nan),
        ("x**0.5", lambda x: x**0.5, nan),
        ("sigmoid", lambda x: x.sigmoid(), nan),
        ("tanh", lambda x: x.tanh(), nan),
        ("2**x", lambda x: 2.0**x, nan),
        ("x**x", lambda x: x**x, nan),
    ],
)
def test_where_based_and_other_ops_give_nan_at_nan_on_every_path(name, f, derivative):
    assert_every_path(f, nan, nan, derivative)


def test_one_corrupt_sample_makes_the_loss_nan_on_every_path():
    # Issue 13: with one nan sample in 40, eager reported a finite loss, compile="python"
    # trained on, compile="numpy" read a loss of 0.0.
    model = MLP(2, [8, 1], seed=0)
    xs = [[0.1 * i, -0.05 * i] for i in range(40)]
    xs[17] = [nan, 0.3]

    def loss_of(x0, x1):
        return (model([x0, x1]) - 1.0) ** 2

    eager = Value.sum([loss_of(Value(a), Value(b)) for a, b in xs])
    assert math.isnan(eager.data)
    compiled = al.compile(loss_of, (0.0, 0.0))
    for backend in ("python", "numpy"):
        result = compiled.batch([a for a, _ in xs], [b for _, b in xs], backend=backend, accumulate=False)
        outputs = np.asarray(result.outputs, dtype=float)
        assert math.isnan(outputs[17]) and np.isfinite(np.delete(outputs, 17)).all(), backend
        assert np.isnan(np.asarray(result.params, dtype=float)).any(), backend


def test_sin_and_cos_of_inf_are_nan_as_in_ieee_on_every_path():
    assert_every_path(lambda x: x.sin(), inf, nan, nan)
    assert_every_path(lambda x: x.cos(), -inf, nan, nan)


# -- 2. 0 x inf: plain IEEE 754, the same on every path --------------------------------------------


def test_relu_then_sqrt_below_zero_is_nan_on_every_path():
    # Issue 13: nan eagerly, in grad() and NumPy; 0.0 in generated Python. d sqrt/d relu at 0 is
    # inf, d relu/dx at -1 is 0: the term 0 * inf is nan (PyTorch masks it to 0 there).
    assert_every_path(lambda x: x.relu().sqrt(), -1.0, 0.0, nan)


def test_sqrt_times_zero_plus_x_at_zero_is_nan_on_every_path():
    # Issue 13: nan from grad(), 1.0 from backward() (grad() skipped a node whose adjoint was 0).
    assert_every_path(lambda x: x.sqrt() * 0 + x, 0.0, 0.0, nan)


def test_a_zero_adjoint_times_an_infinite_derivative_is_nan_in_second_derivatives():
    # create_graph used to record nothing for 0 * (a Value): the second derivative lost the nan
    x = Value(0.0)
    y = (x.sqrt() * 0.0 + x) * x
    first = grad(y, x, create_graph=True)
    assert math.isnan(first.data)
    assert math.isnan(grad(first, x))


def dead_unit(weight: float):
    """A ReLU unit, dead at the point used, with one weight that may be infinite."""
    w = [Value(weight, label="w0"), Value(1.0, label="w1")]
    b = Value(-5.0, label="b")

    def f(x0, x1):
        return Value.dot(w, [x0, x1], b).relu() * 2.0

    return f, [*w, b]


@pytest.mark.parametrize("weight", [0.5, inf, -inf])
@pytest.mark.parametrize("x0", [-1.0, 0.0, 1.0])
def test_generated_python_skips_dead_units_only_where_that_is_exact(weight, x0):
    f, params = dead_unit(weight)
    inputs = [Value(x0), Value(1.0)]
    f(*inputs).backward()
    eager = [p.grad for p in params], [v.grad for v in inputs]
    compiled = al.compile(f, (x0, 1.0), params=params)
    got = compiled.grad(x0, 1.0)
    assert all(same(a, b) for a, b in zip(got.params, eager[0])), (got.params, eager[0])
    assert all(same(a, b) for a, b in zip(got.inputs, eager[1])), (got.inputs, eager[1])
    batch = compiled.batch([x0], [1.0], backend="numpy", accumulate=False)
    assert all(same(float(a), b) for a, b in zip(batch.params, eager[0]))


def test_generated_python_still_skips_a_dead_finite_dot():
    f, params = dead_unit(0.5)
    source = al.compile(f, (-1.0, 1.0), params=params).source
    assert "if g" in source and "< _inf" in source  # the skip is there, guarded by a finite output


# -- 3. numbers stay float64 ---------------------------------------------------------------------


@pytest.mark.parametrize("k", [np.float32(0.1), np.float16(0.5), Fraction(1, 3), np.int64(2), True])
def test_an_exponent_of_any_real_type_names_the_python_float_op(k):
    assert pow_number(k) is pow_number(float(k))
    assert pow_number(k).parameter.__class__ is float
    x = Value(2.0)
    y = x**k
    y.backward()
    assert type(y.data) is float and type(x.grad) is float


def test_a_float32_slope_does_not_poison_the_leaky_relu_cache():
    leaky_relu(np.float32(0.5))  # made first with a NumPy number
    x = Value(-2.0)
    y = x.leaky_relu(0.5)
    y.backward()
    assert type(y.data) is float and type(x.grad) is float and y.data == -1.0
    assert leaky_relu(np.float32(0.5)) is leaky_relu(0.5)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_an_optimizer_step_keeps_data_a_python_float(optimizer):
    # Issue 13: one SGD step turned every parameter's .data into float32.
    w = Value(1.0)
    y = w ** np.float32(0.5) * np.float32(3.0)
    y.backward()
    opt = optimizer([w], lr=np.float32(0.1))
    opt.step()
    assert type(w.data) is float and type(w.grad) is float
    w.grad = np.float32(0.25)  # a gradient written by hand as a NumPy number
    opt.step()
    assert type(w.data) is float


@pytest.mark.parametrize("number", [np.float32(0.1), np.float16(0.5), Fraction(1, 3), np.int64(2), True])
def test_numbers_of_any_real_type_become_python_floats_everywhere(number):
    x = Value(number)
    assert type(x.data) is float
    w = Value(0.5)
    for y in (w * number, number * w, w + number, number - w, w / number, w.leaky_relu(number)):
        w.grad = 0.0
        y.backward()
        assert type(y.data) is float and type(w.grad) is float
    assert type(grad(w * number, w)) is float
    assert all(type(t) is float for t in jvp(lambda v: v * number, [number], [number]))
    compiled = al.compile(lambda v: (v * w).tanh(), (0.3,))
    w.grad = 0.0
    assert type(compiled(number, grad_outputs=number)) is float and type(w.grad) is float
    for backend in ("python", "numpy"):
        w.grad = 0.0
        compiled.batch([number, number], grad_outputs=number, backend=backend)
        assert type(w.grad) is float


def test_a_decimal_is_refused_with_a_clear_type_error():
    from decimal import Decimal

    with pytest.raises(TypeError, match="Decimal"):
        Value(Decimal("1.5"))
    with pytest.raises(TypeError, match="Decimal"):
        Value(1.0) * Decimal("1.5")


# -- 4. backward() is all or nothing -------------------------------------------------------------


def every_grad(*roots: Value) -> list[tuple[Value, object]]:
    return [(v, v.grad) for r in roots for v in topological_order(r)]


def test_an_overflowing_derivative_leaves_every_grad_as_it_was():
    # Issue 13: a bare OverflowError midway, leaving w.grad = 3 and x.grad = 0.
    w, x = Value(2.0, label="w"), Value(1e-200, label="x")
    w.grad = 0.25
    y = w * 3 + x**-1.5
    before = every_grad(y)
    with pytest.raises(OverflowError) as caught:
        y.backward()
    assert [(v, g) for v, g in before] == [(v, v.grad) for v, _ in before]
    message = str(caught.value)
    assert "x**-1.5" in message and "'**-1.5'" in message  # the node and its op
    assert "1e-200" in message and "1e+300" in message and "upstream gradient 1.0" in message
    assert isinstance(caught.value.__cause__, OverflowError)


def test_grad_jvp_and_backward_steps_name_the_failing_node_too():
    x = Value(1e-200, label="x")
    y = Value(2.0) * 3 + x**-1.5
    for call in (lambda: grad(y, x), lambda: grad(y, x, create_graph=True), lambda: list(backward_steps(y))):
        with pytest.raises(OverflowError, match=r"x\*\*-1\.5.*1e-200"):
            call()
    with pytest.raises(OverflowError, match=r"jvp\(\).*'\*\*-1\.5'.*1e-200"):
        jvp(lambda v: v**-1.5, [1e-200], [1.0])
    assert x.grad == 0.0


def test_every_path_raises_the_same_error_for_an_overflowing_derivative():
    f = lambda v: v**-1.5
    with pytest.raises(OverflowError):
        f(Value(1e-200)).backward()
    p = Value(1e-200)
    compiled = al.compile(lambda unused: f(p), (0.0,), params=[p])
    for backend in ("python", "numpy"):  # NumPy finds the infinite derivative and replays it
        with pytest.raises(OverflowError):
            compiled.batch([0.0, 0.0], backend=backend)
        assert p.grad == 0.0


def bomb(error: type[BaseException]):
    """An identity op whose derivative raises ``error`` (its rule uses math: called on floats as is)."""

    def rule(out, x):
        math.floor(x)  # no symbolic form: the rule itself runs on floats
        raise error("boom")

    return custom_op(lambda x: x, derivative=rule, name=f"bomb_{error.__name__}")


@settings(max_examples=60, deadline=None)
@given(
    expr=expressions(3, max_steps=8),
    where=st.integers(0, 2),
    first=st.booleans(),
    grads=st.lists(st.sampled_from([0.0, 0.5, -2.0]), min_size=3, max_size=3),
)
def test_a_failed_backward_leaves_every_grad_as_it_was(expr, where, first, grads):
    xs = [Value(v) for v in expr.point]
    out = expr(*xs)
    fails = bomb(ValueError)(xs[where] * out)
    root = Value.sum([fails, out * 2.0] if first else [out * 2.0, fails])
    (out * 1.0).backward()  # interior grads from an earlier pass
    for x, g in zip(xs, grads):
        x.grad = g
    before = every_grad(root)
    with pytest.raises(ValueError, match="bomb_ValueError"):
        root.backward()
    assert [g for _, g in before] == [v.grad for v, _ in before]


def test_ctrl_c_during_backward_puts_every_grad_back_and_is_raised_as_it_is():
    x = Value(1.5)
    x.grad = 0.5
    y = bomb(KeyboardInterrupt)(x * x) + x * 3
    before = every_grad(y)
    with pytest.raises(KeyboardInterrupt) as caught:
        y.backward()
    assert str(caught.value) == "boom"
    assert [g for _, g in before] == [v.grad for v, _ in before]


def test_the_restored_state_matches_backward_steps():
    # backward_steps keeps backward()'s contract: the same grads, and the same failure
    x = Value(0.7, label="x")
    y = (x * x).tanh() + x.relu() * x
    y.backward()
    expected = x.grad
    x.grad = 0.0
    for _ in backward_steps(y):
        pass
    assert x.grad == expected
