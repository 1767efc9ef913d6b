"""Compiling at the edges: trace-safe losses, bounded retracing with a warning, big programs."""

from __future__ import annotations

import gc
import math
import tracemalloc
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, apply, no_grad
from autograd_lite.compiler import RetraceWarning
from autograd_lite.losses import LOGSUMEXP, MAX, cross_entropy, log_softmax, logsumexp, softmax
from autograd_lite.testing import close, expressions

BACKENDS = ["python", "numpy"]

# -- the losses' shift is computed inside the traced program ----------------------------------


def _model() -> tuple[list[Value], object]:
    """Logits z_i * w_i + b_i; the loss is cross_entropy + logsumexp + log_softmax + softmax terms."""
    w = [Value(1.0 + 0.1 * i, label=f"w{i}") for i in range(3)]
    b = [Value(0.05 * i, label=f"b{i}") for i in range(3)]

    def loss(z: list[Value]) -> Value:
        logits = [zi * wi + bi for zi, wi, bi in zip(z, w, b)]
        return (
            cross_entropy(logits, 1)
            + 0.5 * logsumexp(logits)
            + 0.25 * log_softmax(logits)[2]
            + softmax(logits)[0]
        )

    return w + b, loss


def _eager(loss, params: list[Value], z: list[float]) -> tuple[float, list[float], list[float]]:
    for p in params:
        p.grad = 0.0
    zs = [Value(x) for x in z]
    out = loss(zs)
    out.backward()
    return out.data, [p.grad for p in params], [x.grad for x in zs]


FAR = [[801.0, 799.5, 800.25], [-800.0, -801.5, -799.0], [800.0, -800.0, 0.0], [1e3, 1e3 + 1, 1e3 - 2]]


@pytest.mark.parametrize("z", FAR, ids=str)
def test_compiled_losses_replay_far_from_the_traced_logits(z: list[float]):
    params, loss = _model()
    compiled = al.compile(loss, ([0.0, 0.1, -0.1],), params=params)
    value, pgrads, zgrads = _eager(loss, params, z)
    assert math.isfinite(value) and all(math.isfinite(g) for g in pgrads)
    got = compiled.grad(z)
    assert close(got.outputs, value, value)
    assert all(close(a, b, value) for a, b in zip(got.params, pgrads))
    assert all(close(a, b, value) for a, b in zip(got.inputs[0], zgrads))
    for backend in BACKENDS:
        batch = compiled.batch([z, z], backend=backend, accumulate=False)
        assert [close(float(o), value, value) for o in batch.outputs] == [True, True]
        assert all(close(float(a), 2 * b, value) for a, b in zip(batch.params, pgrads)), backend
    assert compiled.retraces == 0  # no guard: the shift is part of the program


def test_the_shift_is_an_op_of_the_program_and_passes_no_gradient():
    compiled = al.compile(lambda z: log_softmax(z)[0], ([0.0, 1.0],))
    assert "_maximum(v0, v1)" in compiled.source
    detached = [ins for ins in compiled.program.instructions if ins.op is MAX]
    assert len(detached) == 1 and detached[0].grad is False
    zs = [Value(1.0), Value(2.0)]
    out = log_softmax(zs)[0]
    out.backward()
    m = out._prev[1]._prev[1]  # z0 - (log(...) + m): eagerly m is a leaf holding the max
    assert m.data == 2.0 and not m._prev


def test_logsumexp_is_one_op_shifting_inside_its_forward():
    compiled = al.compile(lambda z: logsumexp(z), ([0.0, 1.0],))
    assert "_maximum(v0, v1)" in compiled.source  # the shift, recomputed on every replay
    assert [ins.op for ins in compiled.program.instructions] == [LOGSUMEXP]


finite_logits = st.lists(st.floats(-5.0, 5.0), min_size=2, max_size=5)


@settings(max_examples=40, deadline=None)
@given(z=finite_logits, offset=st.sampled_from([0.0, 700.0, -900.0]), target=st.integers(0, 1))
def test_compiled_loss_gradients_match_finite_differences(z: list[float], offset: float, target: int):
    z = [x + offset for x in z]
    n = len(z)
    f = al.compile(lambda v: cross_entropy(v, target) + logsumexp(v) * 0.5, ([0.0] * n,))

    def forward(point: list[float]) -> float:
        return float(f.forward(point))

    got = f.grad(z)
    for i in range(n):
        h = 1e-5 * max(1.0, abs(z[i]))
        up, down = list(z), list(z)
        up[i] += h
        down[i] -= h
        numeric = (forward(up) - forward(down)) / (up[i] - down[i])
        assert abs(got.inputs[0][i] - numeric) < 1e-5 * max(1.0, abs(got.outputs)), (i, z)


distinct = st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=6, unique=True).filter(
    lambda xs: all(abs(a - b) > 1e-2 for i, a in enumerate(xs) for b in xs[i + 1 :])
)


@settings(max_examples=60, deadline=None)
@given(xs=distinct)
def test_max_op_derivative_matches_finite_differences(xs: list[float]):
    vs = [Value(x) for x in xs]
    out = apply(MAX, *vs)
    out.backward()
    assert out.data == max(xs)
    for i, v in enumerate(vs):
        h = 1e-6
        up = max(x + h if j == i else x for j, x in enumerate(xs))
        down = max(x - h if j == i else x for j, x in enumerate(xs))
        assert abs(v.grad - (up - down) / (2 * h)) < 1e-6


def test_max_op_shares_a_tie_and_propagates_nan():
    a, b, c = Value(2.0), Value(2.0), Value(1.0)
    apply(MAX, a, b, c).backward()
    assert (a.grad, b.grad, c.grad) == (0.5, 0.5, 0.0)
    assert math.isnan(apply(MAX, Value(1.0), Value(math.nan)).data)
    with pytest.raises(ValueError, match="maximum: needs at least one number"):
        apply(MAX)


# -- retracing: bounded, with a warning saying why --------------------------------------------


def _bucketed(x: Value) -> Value:
    w = Value(2.0, label="w")  # a new leaf on every call: a parameter of each trace
    k = sum(1 for t in range(3) if x > t)  # 4 programs, more than max_traces
    return x * w + k


def test_retracing_stays_bounded_over_3000_calls():
    compiled = al.compile(_bucketed, (0.5,), max_traces=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetraceWarning)
        for i in range(1300):
            compiled(i % 4 + 0.5)
        tracemalloc.start()  # the last 1,500 calls measured (tracing memory is slow)
        try:
            for i in range(200):  # tables' one-off growth (labels, caches) outside the window
                compiled(i % 4 + 0.5)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for i in range(1500):
                compiled(i % 4 + 0.5)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert compiled.retraces >= 2000  # most calls met a program no kept trace had
    assert len(compiled.traces) == 2
    compiled(0.5)
    assert len(compiled.params) <= 3  # the kept traces' leaves (and a dropped one's, until the next call)
    # Before: each retrace kept its leaf as a parameter (+240 KB over these 1,500 calls); what
    # is left is tables' growth that does not scale with the calls (a dict resizing).
    assert after - before < 40_000, f"memory grew by {after - before} bytes over 1,500 retracing calls"
    assert len(compiled.retrace_reasons) == 2


def test_retrace_warning_says_why_once_per_kind():
    compiled = al.compile(_bucketed, (0.5,), max_traces=2)
    with pytest.warns(RetraceWarning) as record:
        for x in (1.5, 2.5, 3.5, 0.5, 1.5):
            compiled(x)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2, messages
    leaves, full = messages
    assert "created inside fn: Value(2.0, label='w')" in leaves
    assert "the comparison `input 0 > 1.0` at test_compile_edges.py:" in leaves
    assert "gave True, the newest kept trace has False" in leaves
    assert "keeps at most max_traces=2 traces, so the oldest was dropped" in full
    assert all(w.filename == __file__ for w in record)  # attributed to the caller's line
    assert compiled.retraces == 4  # 2.5 and 3.5 take the same branches


def test_parameters_held_outside_fn_are_not_called_new_leaves():
    w, v = Value(0.5, label="w"), Value(1.5, label="v")

    def branchy(x: Value) -> Value:
        return x * w if x > 0 else x * v

    compiled = al.compile(branchy, (1.0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetraceWarning)
        compiled(-1.0)  # a retrace meeting v: held by the closure, so no warning
    assert compiled.params == [w, v]
    assert "gave False, the newest kept trace has True" in compiled.retrace_reasons[-1]


# -- big programs: the python backend loops over the instruction table ------------------------


@pytest.fixture
def table_form(monkeypatch):
    """Every program runs as a loop over its table, however small."""
    from autograd_lite.compiler import python_backend

    monkeypatch.setattr(python_backend, "TABLE_FROM", 0)


def _eager_grads(fn, point: list[float]) -> tuple[float, list[float]]:
    xs = [Value(x) for x in point]
    out = fn(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


@settings(max_examples=60, deadline=None)
@given(expr=expressions(3, max_steps=12), shift=st.floats(-1e-3, 1e-3))
def test_table_form_gives_the_generated_codes_numbers(expr, shift):
    from autograd_lite.compiler import python_backend

    point = list(expr.point)
    moved = [x + shift for x in point]
    generated = al.compile(expr, tuple(point))
    assert "def run(" in generated.source
    saved = python_backend.TABLE_FROM
    python_backend.TABLE_FROM = 0
    try:
        table = al.compile(expr, tuple(point))
    finally:
        python_backend.TABLE_FROM = saved
    assert "loop over the instruction table" in table.source
    value, grads = _eager_grads(expr, point)
    got = table.grad(*point)
    assert close(got.outputs, value, value)
    assert all(close(a, b, value) for a, b in zip(got.inputs, grads))
    columns = [list(c) for c in zip(point, moved)]
    a, b = generated.batch(*columns), table.batch(*columns)  # guards: maybe retraced
    assert a.outputs == b.outputs and a.params == b.params
    assert table.forward(*moved) == generated.forward(*moved)
    assert table.grad(*moved) == generated.grad(*moved)


def test_table_form_checks_guards_and_raises_the_ops_own_errors(table_form):
    w = Value(0.5, label="w")

    def f(x: Value) -> Value:
        return (x * w).log() if x > 0 else (-x * w).exp()

    compiled = al.compile(f, (2.0,))
    assert "loop over the instruction table" in compiled.source
    assert compiled(3.0) == pytest.approx(math.log(1.5))
    assert w.grad == pytest.approx(1 / 0.5)
    assert compiled(-2.0) == pytest.approx(math.exp(1.0))  # the guard failed: retraced
    assert compiled.retraces == 1
    with pytest.raises(OverflowError, match="exp"):
        compiled(-4000.0)


def _chain(x: Value, steps: int) -> Value:
    for _ in range(steps):
        x = x * 1.0001 + 0.1
    return x


@pytest.mark.slow
def test_a_million_node_chain_compiles_and_gives_the_gradient():
    steps = 500_000  # two nodes a step
    compiled = al.compile(lambda x: _chain(x, steps), (0.5,))
    assert len(compiled.program.instructions) == 2 * steps
    assert len(compiled.program.constants) == 2  # each distinct number once
    got = compiled.grad(0.25)
    assert got.inputs[0] == pytest.approx(1.0001**steps, rel=1e-9)
    expected = 0.25 * 1.0001**steps + 0.1 * (1.0001**steps - 1) / 0.0001
    assert got.outputs == pytest.approx(expected, rel=1e-9)


# -- long programs: generated code cut into chunks ------------------------------------------


@pytest.fixture
def chunked(monkeypatch):
    """Every program of more than 3 instructions is written as chunks of at most 3."""
    from autograd_lite.compiler import python_backend

    monkeypatch.setattr(python_backend, "CHUNK", 3)


def _replays(program, chunk: int, samples, seeds) -> str:
    """Both generated replays of ``program`` with CHUNK = ``chunk``, their results (or error) as text."""
    from autograd_lite.compiler import python_backend

    saved = python_backend.CHUNK
    python_backend.CHUNK = chunk
    try:
        source, run = python_backend.generate(program, backward=True)
        _, forward = python_backend.generate(program, backward=False)
    finally:
        python_backend.CHUNK = saved
    assert ("def forward_0(V):" in source) == (len(program.instructions) > chunk)
    params = [p.data for p in program.params]
    try:
        return repr((run(samples, params, seeds), forward(samples, params)))  # repr: nan, -0.0 exactly
    except (ArithmeticError, ValueError) as error:  # an op outside its domain: the same error
        return f"{type(error).__name__}: {error}"


@settings(max_examples=80, deadline=None)
@given(expr=expressions(3, max_steps=14), shift=st.floats(-1e-3, 1e-3), chunk=st.integers(1, 4))
def test_chunked_code_gives_the_single_functions_and_eagers_numbers_bit_for_bit(expr, shift, chunk):
    from autograd_lite.compiler.trace import trace

    point = list(expr.point)
    w = Value(0.75, label="w")  # a parameter, so that parameter gradients are compared too

    def fn(a: Value, b: Value, c: Value) -> Value:
        return expr(a * w, b, c)

    program = trace(fn, tuple(point))
    samples = [tuple(point), tuple(x + shift for x in point), tuple(point)]
    seeds = [(1.0,), (0.5,), (-2.0,)]
    single = _replays(program, 10**9, samples, seeds)
    assert _replays(program, chunk, samples, seeds) == single
    xs = [Value(x) for x in point]
    out = fn(*xs)
    out.backward()  # eager, at the traced point (the existing tests' tolerance: rules may round differently)
    got = al.compile(fn, tuple(point))
    from autograd_lite.compiler import python_backend

    saved, python_backend.CHUNK = python_backend.CHUNK, chunk
    try:
        chunked = al.compile(fn, tuple(point)).grad(*point)
    finally:
        python_backend.CHUNK = saved
    assert repr(chunked) == repr(got.grad(*point))
    assert close(chunked.outputs, out.data, out.data)
    assert all(close(a, x.grad, out.data) for a, x in zip(chunked.inputs, xs))
    assert all(close(a, p.grad, out.data) for a, p in zip(chunked.params, got.params))


def test_chunked_code_checks_guards_skips_failed_samples_and_raises_the_ops_own_errors(chunked):
    w = Value(0.5, label="w")

    def f(x: Value) -> Value:
        y = (x * w + 1.0) * 2.0
        return (y * w).log() if y > 0 else (-y * w).exp()

    compiled = al.compile(f, (2.0,))
    assert "def forward_1(V):" in compiled.source and "return False" in compiled.source
    prepared = compiled.traces[0].prepared("python")
    outs, pgrads, igrads, failed = prepared.run([(2.0,), (-4.0,), (3.0,)], [0.5], [(1.0,)] * 3)
    assert failed == [1] and len(outs) == len(igrads) == 2  # the guard failed: the sample adds nothing
    one = [compiled.grad(x) for x in (2.0, 3.0)]
    assert outs == [(g.outputs,) for g in one] and igrads == [g.inputs for g in one]
    assert pgrads == (one[0].params[0] + one[1].params[0],)
    assert prepared.forward([(-4.0,), (2.0,)], [0.5]) == ([(one[0].outputs,)], [0])
    loose = al.compile(f, (2.0,))
    assert loose(-4.0) == pytest.approx(math.exp(1.0)) and loose.retraces == 1  # the other branch
    with pytest.raises(ValueError, match="log"):
        al.compile(lambda x: (x * w + 1.0).log() * 2.0 + 1.0, (1.0,)).grad(-8.0)


def test_chunked_code_runs_empty_batches_and_batches_where_every_sample_fails(chunked):
    w = Value(2.0, label="w")
    compiled = al.compile(
        lambda x: (x * w + 1.0) * 3.0 if x > 0 else x * w * 5.0, (1.0,), on_guard_failure="raise"
    )
    prepared = compiled.traces[0].prepared("python")
    assert prepared.run([], [2.0], []) == ([], (0.0,), [], [])
    assert prepared.forward([], [2.0]) == ([], [])
    outs, pgrads, igrads, failed = prepared.run([(-1.0,), (-2.0,)], [2.0], [(1.0,), (1.0,)])
    assert (outs, pgrads, igrads, failed) == ([], (0.0,), [], [0, 1])


def test_chunked_code_keeps_outputs_constants_detached_values_and_unused_inputs(chunked):
    w = Value(1.5, label="w")

    def f(x: Value, y: Value, unused: Value) -> tuple[Value, ...]:
        with no_grad():
            scale = x * 2.0
        z = (x * scale + x * x.detach()) * w + math.inf * 0.0 + y
        return z, z.tanh() * 3.0, (y * 0.0).exp(), w * 1.0

    compiled = al.compile(f, (1.0, 2.0, 3.0))
    assert "def backward_0(V, G):" in compiled.source
    point = (3.0, -1.0, 7.0)
    xs = [Value(v) for v in point]
    outs = f(*xs)
    for o in outs:
        o.backward()
    got = compiled.grad(*point, grad_outputs=(1.0, 1.0, 1.0, 1.0))
    assert repr(got.outputs) == repr([o.data for o in outs])  # nan where eager has nan
    assert repr(got.inputs) == repr(tuple(x.grad for x in xs))
    assert got.inputs[2] == 0.0


def test_a_program_just_over_chunk_gets_chunks_and_its_source_says_what_each_holds():
    from autograd_lite.compiler import python_backend

    steps = python_backend.CHUNK // 2 + 1  # two ops a step
    compiled = al.compile(lambda x: _chain(x, steps), (0.5,))
    assert len(compiled.program.instructions) > python_backend.CHUNK
    source = compiled.source
    assert "def forward_1(V):" in source and "def backward_1(V, G):" in source
    assert "# instructions 0 .. " in source and "def run(samples, params, seeds):" in source
    assert compiled.grad(0.25).inputs[0] == pytest.approx(1.0001**steps, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(expr=expressions(2, max_steps=12), shift=st.floats(-1e-3, 1e-3))
def test_numpy_steps_made_on_each_run_give_the_kept_steps_numbers(expr, shift):
    import numpy as np

    from autograd_lite.compiler import numpy_backend

    point = list(expr.point)
    columns = [[x, x + shift, x - shift] for x in point]
    w = Value(1.0, label="w")  # a parameter, so that parameter gradients are compared too

    def fn(a: Value, b: Value) -> Value:
        return expr(a * w, b)

    kept = al.compile(fn, tuple(point))
    saved = numpy_backend.STEPS_CACHED_UP_TO, numpy_backend.THIN_STEPS_CACHED_UP_TO
    numpy_backend.STEPS_CACHED_UP_TO = numpy_backend.THIN_STEPS_CACHED_UP_TO = 0
    try:
        remade = al.compile(fn, tuple(point))
        prepared = remade.traces[0].prepared("numpy")
        assert prepared._steps is None and len(prepared.steps) == prepared.n_groups
        a = kept.batch(*columns, backend="numpy", per_sample=True)
        b = remade.batch(*columns, backend="numpy", per_sample=True)
    finally:
        numpy_backend.STEPS_CACHED_UP_TO, numpy_backend.THIN_STEPS_CACHED_UP_TO = saved
    assert np.array_equal(a.outputs, b.outputs)
    assert np.array_equal(np.asarray(a.params), np.asarray(b.params))


def test_a_thin_numpy_program_keeps_its_steps_only_while_few_a_wide_one_up_to_the_big_limit():
    """Steps cost about 1.3 KB a group: a chain (a group a node) past 500 groups makes them per run."""
    import numpy as np

    from autograd_lite.compiler import numpy_backend

    def chain(x: Value, steps: int) -> Value:
        for _ in range(steps):
            x = x * 1.0001 + 0.1
        return x

    short = al.compile(lambda v: chain(v, 100), (0.5,)).traces[0].prepared("numpy")
    long = al.compile(lambda v: chain(v, 400), (0.5,)).traces[0].prepared("numpy")
    assert short._steps is not None and long._steps is None  # 200 and 800 groups
    wide = al.compile(lambda *xs: Value.sum([x * 2.0 for x in xs]), tuple([0.5] * 64)).traces[0]
    assert wide.prepared("numpy")._steps is not None
    assert numpy_backend._keeps_steps(2000, 8000) and not numpy_backend._keeps_steps(2000, 4000)
    compiled = al.compile(lambda v: chain(v, 400), (0.5,))
    assert compiled.batch(np.array([0.25, 0.5]), backend="numpy").outputs.tolist() == [
        chain(Value(0.25), 400).data,
        chain(Value(0.5), 400).data,
    ]
