"""The compiled fast path agrees with the eager engine: values and every gradient."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, custom_op, no_grad
from autograd_lite.compiler import GuardError, TraceError
from autograd_lite.nn import MLP
from autograd_lite.testing import expressions, mlps


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def eager(fn, args):
    """fn on fresh Values; its output's data and every input's gradient."""
    xs = [Value(x) for x in args]
    out = fn(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


# -- random expression graphs ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(expr=expressions(3, max_steps=10))
def test_random_expressions_unbatched(expr):
    cf = al.compile(expr, tuple(expr.point))
    got = cf.grad(*expr.point)
    value, grads = eager(expr, expr.point)
    assert close(got.outputs, value)
    assert all(close(a, b) for a, b in zip(got.inputs, grads)), (str(expr), got.inputs, grads)


@settings(max_examples=100, deadline=None)
@given(expr=expressions(2, max_steps=10), shift=st.floats(-1e-3, 1e-3))
def test_random_expressions_batched(expr, shift):
    points = [expr.point, tuple(x + shift for x in expr.point), tuple(x - shift for x in expr.point)]
    # Each input passes through a parameter (x + p, p = 0), so the parameters' per-sample
    # gradients are the expression's input gradients: there is something to compare.
    shifts = [Value(0.0), Value(0.0)]
    cf = al.compile(lambda a, b: expr(a + shifts[0], b + shifts[1]), tuple(expr.point), params=shifts)
    result = cf.batch([p[0] for p in points], [p[1] for p in points], backend="numpy", per_sample=True)
    assert np.shape(result.params) == (len(points), 2)
    for n, p in enumerate(points):
        value, grads = eager(expr, p)
        assert close(float(result.outputs[n]), value, rel=1e-9, abs_=1e-9), str(expr)
        assert all(close(float(a), b, rel=1e-9, abs_=1e-9) for a, b in zip(result.params[n], grads)), str(
            expr
        )
    # The same through the Python backend, sample by sample.
    py = cf.batch([p[0] for p in points], [p[1] for p in points], backend="python", per_sample=True)
    assert all(close(float(a), b, abs_=1e-9) for a, b in zip(result.outputs, py.outputs))
    assert len(py.params) == len(points) and all(len(row) == 2 for row in py.params)
    for row_np, row_py in zip(result.params, py.params):
        assert all(close(float(a), b, rel=1e-9, abs_=1e-9) for a, b in zip(row_np, row_py))


# -- networks -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(net=mlps(max_inputs=3, max_hidden_layers=2, max_width=5))
def test_mlp_gradients_match_eager(net):
    model, x = net
    cf = al.compile(model, (x,))
    assert cf.params == model.parameters()  # a module's own order
    got = cf.grad(x)
    model.zero_grad()
    out = model(x)
    out.backward()
    assert close(got.outputs, out.data)
    assert all(close(a, p.grad) for a, p in zip(got.params, model.parameters()))


def moons_loss_setup(n=40):
    from autograd_lite.data import make_moons

    X, labels = make_moons(n, noise=0.1, seed=1)
    y = [2.0 * t - 1 for t in labels]
    model = MLP(2, [8, 8, 1], seed=3)
    return model, X, y


def eager_batch_grads(model, X, y):
    model.zero_grad()
    loss = Value.sum((1 - t * model(x)).relu() for x, t in zip(X, y)) / len(X)
    loss.backward()
    return loss.data, [p.grad for p in model.parameters()]


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_batch_sums_gradients_like_one_big_graph(backend):
    model, X, y = moons_loss_setup()
    value, grads = eager_batch_grads(model, X, y)
    cf = al.compile(lambda x, t: (1 - t * model(x)).relu(), (X[0], y[0]), params=model.parameters())
    model.zero_grad()
    result = cf.batch(X, y, grad_outputs=1 / len(X), backend=backend)
    assert close(sum(float(o) for o in result.outputs) / len(X), value)
    assert all(close(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert all(close(float(a), g) for a, g in zip(result.params, grads))


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_per_sample_gradients(backend):
    model, X, y = moons_loss_setup(6)
    cf = al.compile(lambda x, t: (1 - t * model(x)).relu(), (X[0], y[0]), params=model.parameters())
    model.zero_grad()
    result = cf.batch(X, y, backend=backend, per_sample=True)
    assert all(p.grad == 0.0 for p in model.parameters())  # per-sample leaves .grad alone
    for n in range(len(X)):
        _, grads = eager_batch_grads(model, [X[n]], [y[n]])
        assert all(close(float(a), g) for a, g in zip(result.params[n], grads))


def test_call_accumulates_like_backward_and_returns_structure():
    model = MLP(3, [4, 2], activation="tanh", seed=0)
    cf = al.compile(model, ([0.1, 0.2, 0.3],))
    model.zero_grad()
    outs = cf([0.5, -0.5, 1.0], grad_outputs=[1.0, -2.0])
    first = [p.grad for p in model.parameters()]
    cf([0.5, -0.5, 1.0], grad_outputs=[1.0, -2.0])
    model.zero_grad()
    a, b = model([0.5, -0.5, 1.0])
    (a - 2 * b).backward()
    assert isinstance(outs, list) and len(outs) == 2
    assert close(outs[0], a.data) and close(outs[1], b.data)
    for p, g in zip(model.parameters(), first):
        assert close(g, p.grad)
    assert cf.forward([0.5, -0.5, 1.0]) == outs


def test_compiled_reads_parameters_live():
    w = Value(2.0)
    cf = al.compile(lambda x: w * x * x, (1.0,))
    assert cf.params == [w]
    assert cf.forward(3.0) == 18.0
    w.data = -1.0
    assert cf.forward(3.0) == -9.0
    w.grad = 0.0
    cf(3.0)
    assert w.grad == 9.0


def test_numbers_in_expressions_are_constants_and_inputs_are_not_params():
    cf = al.compile(lambda x: 3 * x + 1.5, (1.0,))
    assert cf.params == []
    assert cf.grad(2.0).inputs == (3.0,)
    assert cf.grad(2.0).outputs == 7.5


def test_nested_structures_and_constant_outputs():
    cf = al.compile(lambda pair, s: [pair[0] * s, [pair[1] + s, 2.0]], ([1.0, 2.0], 3.0))
    result = cf.grad([2.0, 5.0], 10.0, grad_outputs=[1.0, [1.0, 1.0]])
    assert result.outputs == [20.0, [15.0, 2.0]]
    assert result.inputs == ([10.0, 1.0], 3.0)


# -- guards ---------------------------------------------------------------------------


def branchy(x):
    if x > 0:
        return x.log() * 2
    return (-x).log() * 3


def test_guard_retraces_on_the_other_branch():
    cf = al.compile(branchy, (2.0,))
    assert len(cf.program.guards) == 1
    assert close(cf.grad(4.0).inputs[0], 2 / 4.0)
    assert close(cf.grad(-4.0).inputs[0], 3 / -4.0)  # the other branch: traced anew
    assert len(cf.traces) == 2
    assert close(cf.grad(5.0).inputs[0], 2 / 5.0)  # both kept
    assert len(cf.traces) == 2


def test_guard_raises_when_asked():
    cf = al.compile(branchy, (2.0,), on_guard_failure="raise")
    with pytest.raises(GuardError, match="comparison made while tracing"):
        cf(-1.0)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_guards_in_a_batch_of_mixed_samples(backend):
    cf = al.compile(branchy, (2.0,))
    xs = [1.0, -2.0, 3.0, -0.5, 0.25]
    result = cf.batch(xs, backend=backend, per_sample=True)
    for x, out in zip(xs, result.outputs):
        assert close(float(out), eager(branchy, [x])[0])
    summed = cf.batch(xs, backend=backend)
    assert close(float(np.sum(summed.outputs)), sum(eager(branchy, [x])[0] for x in xs))


def test_guard_on_a_parameter_and_on_max():
    w = Value(1.0)

    def f(x):
        return x * w if w > 0 else x * w * w

    cf = al.compile(f, (2.0,))
    w.data = -3.0
    assert cf.forward(2.0) == 18.0

    g = al.compile(lambda a, b: max(a, b) * 2, (1.0, 5.0))
    assert g.forward(7.0, 5.0) == 14.0
    assert g.grad(7.0, 5.0).inputs == (2.0, 0.0)


# -- detach and no_grad while tracing ---------------------------------------------------


def test_detach_and_no_grad_are_recomputed_but_stop_gradients():
    def f(x):
        with no_grad():
            scale = x * 2
        return x * scale + x * x.detach()

    cf = al.compile(f, (1.0,))
    result = cf.grad(3.0)
    assert result.outputs == 3.0 * 6.0 + 9.0  # recomputed from the new input
    assert result.inputs == (6.0 + 3.0,)  # no gradient through scale or detach()


# -- custom ops -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_custom_op_compiles(backend):
    cube = custom_op(lambda x: x**3, derivative=lambda out, x: 3 * x * x, name="cube")

    cf = al.compile(lambda x: cube(x) + x, (1.0,))
    result = cf.batch([0.5, -1.5], backend=backend, per_sample=False, accumulate=False)
    assert [float(o) for o in result.outputs] == [0.5**3 + 0.5, (-1.5) ** 3 - 1.5]
    assert close(cf.grad(-1.5).inputs[0], 3 * 2.25 + 1)


# -- bad input --------------------------------------------------------------------------


def test_bad_arguments_are_named():
    cf = al.compile(lambda x, y: x[0] * y, ([1.0, 2.0], 3.0))
    with pytest.raises(TypeError, match="takes 2 argument"):
        cf([1.0, 2.0])
    with pytest.raises(TypeError, match="argument 0: expected a sequence of 2, got 3"):
        cf([1.0, 2.0, 3.0], 1.0)
    with pytest.raises(TypeError, match=r"argument 1: expected a number, got str"):
        cf([1.0, 2.0], "x")
    with pytest.raises(TypeError, match="must be callable"):
        al.compile(42, ())
    with pytest.raises(TraceError, match="must return a Value"):
        al.compile(lambda x: "nope", (1.0,))
    with pytest.raises(TraceError, match="example_inputs must be a tuple"):
        al.compile(lambda x: x, 1.0)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_domain_errors_are_the_eager_errors_and_change_nothing(backend):
    w = Value(1.0)
    cf = al.compile(lambda x: (x * w).log(), (1.0,))
    w.grad = 0.0
    with pytest.raises(ValueError, match=r"log: log\(-2.0\) is undefined"):
        cf.batch([1.0, -2.0], backend=backend)
    assert w.grad == 0.0  # a failed batch adds nothing


def test_unbatched_path_needs_no_numpy():
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "import autograd_lite as al\n"
        "from autograd_lite.nn import MLP\n"
        "m = MLP(2, [3, 1], seed=0)\n"
        "cf = al.compile(lambda x: m(x) ** 2, ([0.1, 0.2],))\n"
        "print(cf([0.3, 0.4]), len(cf.batch([[0.3, 0.4]] * 3).outputs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "3"


def test_source_is_readable_python():
    cf = al.compile(lambda x, y: (x * y + 1).tanh(), (1.0, 2.0))
    assert "def run(samples, params, seeds):" in cf.source
    assert "_tanh(" in cf.source
    assert "Value" not in cf.source
    assert "<lambda>" in repr(cf)


# -- training ----------------------------------------------------------------------


def weights_each_epoch(compile_mode, loss, X, y, nouts, **kwargs):
    from autograd_lite.train import fit

    model = MLP(2, [6, nouts], seed=11)
    seen = []
    history = fit(
        model,
        X,
        y,
        loss=loss,
        lr=0.3,
        epochs=6,
        progress=False,
        compile=compile_mode,
        callback=lambda epoch, h: seen.append([p.data for p in model.parameters()]),
        **kwargs,
    )
    return history, seen


@pytest.mark.parametrize("compile_mode", ["python", "numpy", True])
@pytest.mark.parametrize(
    ("loss", "nouts", "kwargs"),
    [
        ("hinge", 1, {"l2": 1e-3}),
        ("mse", 1, {"batch_size": 7}),
        ("bce", 1, {"validation_split": 0.2}),
        ("cross_entropy", 2, {"batch_size": 10}),
    ],
)
def test_compiled_training_matches_eager_step_for_step(compile_mode, loss, nouts, kwargs):
    from autograd_lite.data import make_moons

    X, labels = make_moons(40, noise=0.2, seed=5)
    y = [2 * t - 1 for t in labels] if loss == "hinge" else labels
    eager_history, eager_weights = weights_each_epoch(False, loss, X, y, nouts, **kwargs)
    fast_history, fast_weights = weights_each_epoch(compile_mode, loss, X, y, nouts, **kwargs)
    assert fast_history.stop_reason == eager_history.stop_reason
    assert all(close(a, b) for a, b in zip(fast_history.loss, eager_history.loss))
    assert fast_history.accuracy == eager_history.accuracy
    assert len(fast_weights) == len(eager_weights) == 6
    for fast, slow in zip(fast_weights, eager_weights):
        assert all(close(a, b, abs_=1e-12) for a, b in zip(fast, slow))


def test_fit_rejects_an_unknown_compile_mode():
    from autograd_lite.train import fit

    model = MLP(2, [1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match="compile must be"):
        fit(model, [[0.0, 1.0]], [1.0], compile="fast", progress=False)
    assert [p.data for p in model.parameters()] == before


# -- the NumPy schedule, forward-only batches, bookkeeping -----------------------------


def test_level_schedule_groups_a_whole_layer_into_one_step():
    def steps(width):
        model = MLP(2, [width, width, 1], seed=0)
        cf = al.compile(lambda x, t: (1 - t * model(x)).relu(), ([0.1, 0.2], 1.0))
        cf.batch([[0.1, 0.2]], [1.0], backend="numpy")
        return len(cf.traces[0].prepared("numpy").steps), len(cf.program.instructions)

    (narrow_steps, narrow_ops), (wide_steps, wide_ops) = steps(3), steps(24)
    assert wide_ops > narrow_ops
    assert wide_steps == narrow_steps <= 10  # one NumPy step per op and depth, however wide


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_forward_batch(backend):
    model = MLP(2, [5, 3], activation="sigmoid", seed=2)
    cf = al.compile(model, ([0.0, 0.0],))
    X = [[0.1, 0.2], [-1.0, 2.0], [3.0, -0.5]]
    got = cf.forward_batch(X, backend=backend)
    for x, row in zip(X, got):
        assert all(close(float(a), b.data) for a, b in zip(row, model(x)))


def test_ragged_batches_and_mismatched_lengths_are_named():
    cf = al.compile(lambda x, t: x[0] * t, ([1.0, 2.0], 3.0))
    with pytest.raises(TypeError, match=r"sample 1\): argument 0: expected a sequence of 2, got 3"):
        cf.batch([[1.0, 2.0], [1.0, 2.0, 3.0]], [1.0, 2.0], backend="numpy")
    with pytest.raises(ValueError, match="different lengths"):
        cf.batch([[1.0, 2.0]] * 3, [1.0, 2.0], backend="python")
    with pytest.raises(ValueError, match="backend must be"):
        cf.batch([[1.0, 2.0]], [1.0], backend="cuda")


def test_compile_cost_and_trace_limit_are_reported():
    cf = al.compile(branchy, (2.0,), max_traces=1)
    assert cf.compile_seconds > 0
    before = cf.compile_seconds
    cf(-3.0)  # retrace; the old program is dropped but its cost still counted
    assert len(cf.traces) == 1 and cf.compile_seconds > before
    with pytest.raises(ValueError, match="max_traces"):
        al.compile(branchy, (2.0,), max_traces=0)


# -- programs with more in them ----------------------------------------------------------


def test_a_gradient_inside_the_traced_function_compiles_too():
    def slope(x):
        return al.grad(x**3 + x.sin(), x, create_graph=True)  # 3x^2 + cos(x), as a Value

    cf = al.compile(slope, (1.0,))
    for x in (0.5, -2.0):
        result = cf.grad(x)
        assert close(result.outputs, 3 * x * x + math.cos(x))
        assert close(result.inputs[0], 6 * x - math.sin(x))  # the second derivative


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_truncated_bptt_rnn_compiles(backend):
    from autograd_lite.nn import RNN

    rnn = RNN(1, 3, seed=4)

    def last_output_loss(xs, target):
        return (rnn(xs, truncate_every=2)[-1] - target) ** 2

    sequences = [[0.5, -0.2, 0.9, 0.1, -0.7], [0.1, 0.2, 0.3, 0.4, 0.5]]
    targets = [1.0, -1.0]
    cf = al.compile(last_output_loss, (sequences[0], targets[0]), params=rnn.parameters())
    rnn.zero_grad()
    got = cf.batch(sequences, targets, backend=backend, accumulate=False)
    rnn.zero_grad()
    total = Value.sum(last_output_loss(xs, t) for xs, t in zip(sequences, targets))
    total.backward()
    assert close(float(np.sum(got.outputs)), total.data)
    assert all(close(float(a), p.grad) for a, p in zip(got.params, rnn.parameters()))


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_outputs_that_are_inputs_parameters_or_numbers(backend):
    w = Value(3.0)
    cf = al.compile(lambda x: [x, w, 2.0, x * w], (1.0,))
    result = cf.batch([1.0, 2.0], backend=backend, per_sample=True)
    assert [list(map(float, row)) for row in result.outputs] == [[1.0, 3.0, 2.0, 3.0], [2.0, 3.0, 2.0, 6.0]]
    assert [float(row[0]) for row in result.params] == [1.0 + 1.0, 1.0 + 2.0]  # d/dw of w + x*w


@pytest.mark.parametrize("per_sample", [False, True])
def test_parameter_only_terms_are_computed_once_per_batch_and_still_exact(per_sample):
    model, X, y = moons_loss_setup(12)
    params = model.parameters()

    def loss_with_penalty(x, t):
        return (1 - t * model(x)).relu() + 1e-2 * Value.sum(p * p for p in params)

    cf = al.compile(loss_with_penalty, (X[0], y[0]), params=params)
    result = cf.batch(X, y, backend="numpy", per_sample=per_sample, accumulate=False)
    shared = [s for s in cf.traces[0].prepared("numpy").steps if s[3]]
    assert len(shared) == 3  # the squares, their sum, its scaling: no input in them
    rows = result.params if per_sample else [result.params]
    samples = [[n] for n in range(len(X))] if per_sample else [list(range(len(X)))]
    for row, idx in zip(rows, samples):
        model.zero_grad()
        total = Value.sum(loss_with_penalty(X[n], y[n]) for n in idx)
        total.backward()
        assert all(close(float(a), p.grad) for a, p in zip(row, params))


def test_readme_compile_example_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = re.search(r"^## Training at the speed of floats.*?\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "README has no compile section"
    blocks = re.findall(r"```python\n(.*?)```", section.group(1), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "<README.md: compile>", "exec"), namespace)
    model, X, y = namespace["model"], namespace["X"], namespace["y"]
    compiled_grads = [p.grad for p in model.parameters()]
    value, grads = eager_batch_grads(model, X, y)  # the same loss, eagerly
    assert close(float(namespace["result"].outputs.mean()), value)
    assert all(close(a, b) for a, b in zip(compiled_grads, grads))


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_variadic_custom_op_compiles(backend):
    def product(*xs):
        total = 1.0
        for x in xs:
            total *= x
        return total

    prod = custom_op(product, derivative=lambda out, *xs: [out / x for x in xs], name="prod")
    cf = al.compile(lambda a, b, c: prod(a, b, c), (1.0, 2.0, 3.0))
    result = cf.batch([2.0, 1.0], [3.0, 4.0], [5.0, 0.5], backend=backend, per_sample=True)
    assert [float(o) for o in result.outputs] == [30.0, 2.0]
    assert cf.grad(2.0, 3.0, 5.0).inputs == (15.0, 10.0, 6.0)


def test_labels_cannot_inject_code_into_the_generated_source():
    w = Value(1.0, label="w\nimport os; os.system('echo hacked')")
    cf = al.compile(lambda x: w * x, (2.0,))
    assert "\nimport os" not in cf.source
    assert cf.forward(3.0) == 3.0
