"""The ``torch`` compile backend gives the NumPy backend's numbers (1e-9, float64), and its errors.

Every op of the table (and custom ops, with and without a symbolic rule),
random expression graphs and MLPs are run as batches on both backends; the
shared replay (guards, domain errors) behaves as on every backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.optional import require

torch = require("torch", "torch")

import autograd_lite as al  # noqa: E402
from autograd_lite import Value, apply  # noqa: E402
from autograd_lite.compiler.torch_backend import TorchBackend  # noqa: E402
from autograd_lite.nn import MLP, RNN  # noqa: E402
from autograd_lite.ops import Op  # noqa: E402
from autograd_lite.testing import expressions, mlps  # noqa: E402
from tests.test_compiler_backends import TS, XS, eager_branchy, eager_error, make_branchy  # noqa: E402
from tests.test_interpretations import OPS, draw_point, eager  # noqa: E402
from tests.test_op_table import op_inputs  # noqa: E402


def same(a: float, b: float, tol: float = 1e-9) -> bool:
    return a == b or math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)


def assert_close_arrays(got, expected, tol: float = 1e-9, what: str = "") -> None:
    got, expected = as_numpy(got), as_numpy(expected)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    scale = np.maximum(1.0, np.abs(expected))
    worst = float(np.max(np.abs(got - expected) / scale)) if got.size else 0.0
    assert worst <= tol, f"{what}: largest relative difference {worst:.3g} > {tol}"


def both(cf, *batched, **kwargs):
    """The same batch on the NumPy and on the torch backend."""
    return (
        cf.batch(*batched, backend="numpy", accumulate=False, **kwargs),
        cf.batch(*batched, backend="torch", accumulate=False, **kwargs),
    )


# -- every op of the table, as the NumPy batch is tested ------------------------------


@pytest.mark.parametrize("op", OPS, ids=str)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_every_op_on_the_torch_backend_equals_eager(op: Op, data: st.DataObject):
    point, _ = draw_point(data, op)
    others = [data.draw(op_inputs(op)) for _ in range(2)]
    samples = [point] + [p for p in others if len(p) == len(point)]
    shifts = [Value(0.0) for _ in point]  # x + p, p = 0: the parameters' gradients are the op's derivatives
    fn = lambda *xs: apply(op, *[x + p for x, p in zip(xs, shifts)])
    cf = al.compile(fn, tuple(point), params=shifts)
    columns = [torch.tensor([s[i] for s in samples], dtype=torch.float64) for i in range(len(point))]
    result = cf.batch(*columns, backend="torch", per_sample=True)
    assert isinstance(result.outputs, torch.Tensor) and result.outputs.dtype == torch.float64
    for n, sample in enumerate(samples):
        value, grads = eager(op, sample)
        assert same(float(result.outputs[n]), value)
        for i, (g, e) in enumerate(zip(result.params[n].tolist(), grads)):
            assert same(g, e), f"{op}: torch d/dx{i} at {sample}: {g!r}, eager {e!r}"


# -- random expression graphs and MLPs: torch against NumPy -----------------------------


def outcome(cf, batched, backend, per_sample):
    """The batch's outputs and gradients, or the error it raises (type and message)."""
    try:
        r = cf.batch(*batched, backend=backend, per_sample=per_sample, accumulate=False)
    except Exception as error:  # both backends must raise the same thing
        return type(error), str(error)
    return as_numpy(r.outputs), as_numpy(r.params)


@settings(max_examples=120, deadline=None)
@given(expr=expressions(3, max_steps=12), shift=st.floats(-1e-2, 1e-2), per_sample=st.booleans())
def test_random_expressions_torch_equals_numpy(expr, shift, per_sample):
    shifts = [Value(0.0) for _ in range(3)]
    cf = al.compile(lambda *xs: expr(*[x + p for x, p in zip(xs, shifts)]), tuple(expr.point), params=shifts)
    points = [expr.point] + [tuple(x + k * shift for x in expr.point) for k in (-3, -1, 1, 2)]
    batched = [[p[i] for p in points] for i in range(3)]
    on_numpy = outcome(cf, batched, "numpy", per_sample)
    on_torch = outcome(cf, batched, "torch", per_sample)
    if isinstance(on_numpy[0], type):
        assert on_torch == on_numpy, str(expr)
        return
    assert_close_arrays(on_torch[0], on_numpy[0], what=f"outputs of {expr}")
    assert_close_arrays(on_torch[1], on_numpy[1], what=f"gradients of {expr}")


@settings(max_examples=40, deadline=None)
@given(network=mlps(max_inputs=3, max_hidden_layers=2, max_width=6, outputs=2), seed=st.integers(0, 99))
def test_mlps_torch_equals_numpy(network, seed):
    model, x = network
    rng = np.random.default_rng(seed)
    cf = al.compile(lambda x, y: sum((o - t) ** 2 for o, t in zip(model(x), y)), (x, [0.0, 0.0]))
    X, Y = rng.normal(size=(17, len(x))), rng.normal(size=(17, 2))
    for per_sample in (False, True):
        on_numpy, on_torch = both(cf, X, Y, per_sample=per_sample)
        assert_close_arrays(on_torch.outputs, on_numpy.outputs, what="outputs")
        assert_close_arrays(on_torch.params, on_numpy.params, what="gradients")
    assert_close_arrays(cf.forward_batch(X, Y, backend="torch"), cf.forward_batch(X, Y, backend="numpy"))


def test_the_w3_loss_with_its_l2_term_torch_equals_numpy_and_eager():
    model = MLP(2, [16, 16, 1], seed=3)
    params = model.parameters()

    def loss(x, t):  # the hinge loss and an L2 term computed once per batch (it depends on no input)
        return (1 - t * model(x)).relu() + 1e-4 * Value.sum(p * p for p in params)

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 2)), np.sign(rng.normal(size=64))
    cf = al.compile(loss, (X[0].tolist(), float(y[0])), params=params)
    on_numpy, on_torch = both(cf, X, y, grad_outputs=1 / 64)
    assert_close_arrays(on_torch.outputs, on_numpy.outputs)
    assert_close_arrays(on_torch.params, on_numpy.params)
    model.zero_grad()
    (Value.sum(loss(list(x), float(t)) for x, t in zip(X, y)) / 64).backward()
    assert_close_arrays(on_torch.params, [p.grad for p in params])


def test_an_unrolled_rnn_with_truncation_torch_equals_numpy():
    model = RNN(2, 5, seed=1)

    def loss(xs, ys):  # detach() every 2 steps: copies that pass no gradient back
        outs = model(xs, truncate_every=2)
        return Value.sum((o - y) ** 2 for o, y in zip(outs, ys))

    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(9, 6, 2)), rng.normal(size=(9, 6))
    cf = al.compile(loss, (xs[0].tolist(), ys[0].tolist()))
    for per_sample in (False, True):
        on_numpy, on_torch = both(cf, xs, ys, per_sample=per_sample)
        assert_close_arrays(on_torch.outputs, on_numpy.outputs)
        assert_close_arrays(on_torch.params, on_numpy.params)


# -- the shared replay: guards, domain errors, .grad ---------------------------------


@pytest.mark.parametrize("per_sample", [False, True])
def test_samples_whose_guards_fail_are_replayed_as_on_every_backend(per_sample):
    f, params = make_branchy()
    cf = al.compile(f, (1.0, 0.0))
    result = cf.batch(torch.tensor(XS), TS, backend="torch", per_sample=per_sample)
    assert len(cf.traces) == 2 and cf.params == params  # retraced once, a new parameter met
    expected = eager_branchy(per_sample)
    if per_sample:
        for n, (outs, grads) in enumerate(expected):
            assert same(float(result.outputs[n]), outs[0])
            assert all(same(a, g) for a, g in zip(result.params[n].tolist(), grads))
        assert all(p.grad == 0.0 for p in params)
    else:
        ((outs, grads),) = expected
        assert all(same(a, b) for a, b in zip(result.outputs.tolist(), outs))
        assert all(same(p.grad, g) for p, g in zip(params, grads))  # accumulated into .grad
    forward = cf.forward_batch(XS, TS, backend="torch")
    assert all(same(a, b) for a, b in zip(forward.tolist(), result.outputs.tolist()))


@pytest.mark.parametrize("per_sample", [False, True])
def test_a_sample_outside_an_ops_domain_raises_the_eager_error_and_adds_nothing(per_sample):
    w = Value(1.0)
    f = lambda x: (x * w).log()
    cf = al.compile(f, (1.0,))
    kind, message = eager_error(f, -2.0)
    w.grad = 0.0
    with pytest.raises(kind) as info:
        cf.batch([1.0, -2.0, 3.0], backend="torch", per_sample=per_sample)
    assert str(info.value) == message and w.grad == 0.0
    with pytest.raises(kind, match=r"log"):
        cf.forward_batch([1.0, -2.0], backend="torch")


def test_results_are_float64_tensors_and_grad_outputs_per_sample_are_used():
    w = Value(0.5)
    cf = al.compile(lambda x: [x * w, (x * w).tanh()], (1.0,))
    result = cf.batch(
        np.array([1.0, 2.0, 3.0]), grad_outputs=[1.0, 0.0, 2.0], backend="torch", accumulate=False
    )
    assert result.outputs.shape == (3, 2) and result.outputs.dtype == torch.float64
    expected = sum(
        s * (x + x * (1 - math.tanh(x * 0.5) ** 2)) for s, x in [(1.0, 1.0), (0.0, 2.0), (2.0, 3.0)]
    )
    assert same(float(result.params[0]), expected)


def test_devices_are_checked_with_clear_errors():
    cf = al.compile(lambda x: x * 2, (1.0,))
    assert float(cf.batch([1.0], backend="torch", device="cpu").outputs[0]) == 2.0
    assert float(cf.batch([1.0], backend="torch", device=torch.device("cpu")).outputs[0]) == 2.0
    with pytest.raises(ValueError, match=r"^batch: device= is for backend='torch'; the 'numpy' backend"):
        cf.batch([1.0], backend="numpy", device="cpu")
    with pytest.raises(ValueError, match=r"^forward_batch: device must be 'cpu', 'cuda'"):
        cf.forward_batch([1.0], backend="torch", device="gpu please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device 'cuda' is not available here"):
            cf.batch([1.0], backend="torch", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here; the CPU tests cover the same code")
def test_the_gpu_gives_the_cpus_numbers():  # pragma: no cover - needs a GPU
    model = MLP(3, [8, 1], seed=0)
    cf = al.compile(lambda x: model(x), ([0.0] * 3,))
    X = torch.randn(20, 3, dtype=torch.float64)
    on_cpu = cf.batch(X, backend="torch", accumulate=False)
    on_gpu = cf.batch(X.cuda(), backend="torch", device="cuda", accumulate=False)
    assert on_gpu.outputs.device.type == "cuda"
    assert_close_arrays(on_gpu.params, on_cpu.params)


def test_one_backend_instance_per_device_and_one_schedule_per_program():
    backend = al.compiler.get_backend("torch")
    assert isinstance(backend, TorchBackend) and backend.device == torch.device("cpu")
    assert backend.on_device("cpu", "batch") is backend
    cf = al.compile(lambda x: x.tanh(), (1.0,))
    cf.batch([1.0, 2.0], backend="torch")
    prepared = cf.traces[0].prepared("torch")
    cf.batch([3.0], backend="torch")
    assert cf.traces[0].prepared("torch") is prepared and len(prepared._devices) == 1
