"""``compile``: trace a function once, then replay it without building a graph.

A training step builds the same graph again and again: only the numbers
change. ``compile(fn, example_inputs)`` runs ``fn`` once on ``Value``s,
records that graph (:mod:`autograd_lite.compiler.trace`), and runs it on a
backend (:mod:`autograd_lite.compiler.backend`):

* ``"python"``: straight-line Python, one line per node and one ``+=`` per
  edge (:mod:`autograd_lite.compiler.python_backend`), for one sample or a
  list of them; no ``Value`` is created and NumPy is not needed. Single
  samples always run here;
* ``"numpy"``: a whole batch at once: every node of the same op at the same
  depth of the graph is one NumPy call over all its nodes and all the
  samples (:mod:`autograd_lite.compiler.numpy_backend`).

This module holds what every backend shares, written once: the traces and
retracing, checking arguments, replaying the samples a backend could not do
(guards that fail, values outside an op's domain) one by one, merging every
trace's parameter gradients into the full parameter list, and adding them
into ``.grad``.

Replays read every parameter's current ``.data`` and add gradients into its
``.grad``, exactly as ``out.backward()`` would, so optimizers work unchanged.

Guards: the trace holds only while ``fn``'s Python control flow does not
depend on the data. Every comparison of ``Value``s made while tracing
(``if x > 0:``, ``max(values)``) is recorded with its answer; a replay where
an answer changes is traced again for that sample (``on_guard_failure=
"retrace"``, the default) or raises :class:`GuardError` (``"raise"``). A
replay never silently returns the gradient of a different program.

Retracing is bounded: at most ``max_traces`` programs are kept (8 by default),
the oldest dropped first, and with it the parameters only it read, so a
function that keeps retracing keeps a bounded memory. A :class:`RetraceWarning`
says, once per compiled function and kind, when retracing costs: the kept
traces are full (so calls may retrace every time), or a retrace met leaves no
earlier trace read (a ``Value`` created inside ``fn``, which becomes a new
parameter of every trace, frozen at its traced value). It names the
comparison that changed its answer and the line of ``fn`` that made it (like
``torch.compile``'s recompile reasons); :attr:`CompiledFunction.retraces` and
:attr:`CompiledFunction.retrace_reasons` keep the count and the latest reasons.

What a trace cannot see: numbers read out of a ``Value`` (``v.data``,
``v.item()``) inside ``fn`` are frozen at their traced values; so are leaves
made from them. Use ``Value`` operations and comparisons instead.

Example:
    >>> import autograd_lite as al
    >>> from autograd_lite.nn import MLP
    >>> model = MLP(2, [4, 1], seed=0)
    >>> step = al.compile(lambda x, y: (model(x) - y) ** 2, ([0.0, 0.0], 0.0))
    >>> loss = step([0.5, -1.0], 1.0)  # forward and backward; grads in p.grad
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_lite._callers import user_frame
from autograd_lite.compiler.backend import Backend, get_backend
from autograd_lite.compiler.python_backend import PythonProgram
from autograd_lite.compiler.trace import Guard, Program, Signature, TraceError, trace
from autograd_lite.engine import Value

__all__ = [
    "BatchResult",
    "CompiledFunction",
    "GuardError",
    "Gradients",
    "RetraceWarning",
    "TraceError",
    "compile",
]


class GuardError(RuntimeError):
    """A replay's data changed the answer of a comparison made while tracing."""


class RetraceWarning(RuntimeWarning):
    """A compiled function retraces in a way that costs time or memory; the message says why."""


@dataclass
class Gradients:
    """What :meth:`CompiledFunction.grad` returns.

    ``outputs``: ``fn``'s result as floats, in its structure; ``params``: one
    gradient per parameter of :attr:`CompiledFunction.params`; ``inputs``:
    the gradients with respect to the arguments, in their structure.
    """

    outputs: Any
    params: list[float]
    inputs: tuple[Any, ...]


@dataclass
class BatchResult:
    """What :meth:`CompiledFunction.batch` returns.

    ``outputs``: one result per sample (a list, or a NumPy array with the
    numpy backend); ``params``: the parameter gradients summed over the batch
    (one per parameter), or per sample (``[sample][parameter]``) with
    ``per_sample=True``.
    """

    outputs: Any
    params: Any


_PYTHON = get_backend("python")  # single samples and replays: its code raises each op's own error


class _Trace:
    """One traced program, and what each backend prepared from it (built on first use, then kept)."""

    def __init__(self, program: Program, seconds: float) -> None:
        self.program = program
        self.params = program.params
        self.seconds = seconds  # spent tracing and preparing backends for this trace
        self._prepared: dict[str, Any] = {}
        self.python: PythonProgram = self.prepared(_PYTHON)
        self.source = self.python.source
        self.columns: list[int] = []  # index of each of params in CompiledFunction.params
        self.in_order = False  # columns == 0, 1, 2, ...

    def prepared(self, backend: Backend | str) -> Any:
        """The program as ``backend`` prepared it (a backend or its name)."""
        if isinstance(backend, str):
            backend = get_backend(backend)
        prepared = self._prepared.get(backend.name)
        if prepared is None:
            started = time.perf_counter()
            prepared = backend.prepare(self.program)
            self.seconds += time.perf_counter() - started
            self._prepared[backend.name] = prepared
        return prepared

    @property
    def total_seconds(self) -> float:
        return self.seconds + sum(getattr(p, "lazy_seconds", 0.0) for p in self._prepared.values())

    def param_data(self) -> list[float]:
        return [p.data for p in self.params]


class CompiledFunction:
    """A traced function, replayed as generated code. Made by :func:`compile`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        example_inputs: Sequence[Any],
        params: Sequence[Value] | None,
        on_guard_failure: str,
        max_traces: int,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"compile: fn must be callable, got {type(fn).__name__}")
        if on_guard_failure not in ("retrace", "raise"):
            raise ValueError(
                f"compile: on_guard_failure must be 'retrace' or 'raise', got {on_guard_failure!r}"
            )
        if max_traces < 1:
            raise ValueError(f"compile: max_traces must be at least 1, got {max_traces}")
        if params is None and hasattr(fn, "parameters") and callable(fn.parameters):
            params = fn.parameters()
        self.fn = fn
        self.on_guard_failure = on_guard_failure
        self.max_traces = max_traces
        self._given_params = list(params) if params is not None else None
        self._dropped_seconds = 0.0
        self.traces: list[_Trace] = []
        self._params: dict[Value, int] = {}  # the kept traces' parameters, and their indices
        self._stale = False  # a trace was dropped: prune its parameters at the next call
        self.retraces = 0
        """How many times a replay was traced again (guards that no kept trace passed)."""
        self.retrace_reasons: deque[str] = deque(maxlen=max_traces)
        """Why the latest retraces happened, oldest first (at most ``max_traces``)."""
        self._warned: set[str] = set()
        first = self._add_trace(example_inputs)
        self.in_structure = first.program.in_structure
        self.out_structure = first.program.out_structure
        self.signature = Signature(self.in_structure, self.out_structure)

    # -- tracing ------------------------------------------------------------

    def _add_trace(self, args: Sequence[Any]) -> _Trace:
        started = time.perf_counter()
        program = trace(self.fn, args, self._given_params)
        new = _Trace(program, time.perf_counter() - started)
        newest = self.traces[0] if self.traces else None
        if newest is not None and (
            new.program.in_structure != self.in_structure or new.program.out_structure != self.out_structure
        ):
            raise TraceError(
                "compile: retracing gave a result of another shape; fn must always return the same shape"
            )
        new_leaves = _throwaway(new.params) if newest is not None else []
        self.traces.insert(0, new)
        dropped = self.traces[self.max_traces :]
        self._dropped_seconds += sum(t.total_seconds for t in dropped)
        del self.traces[self.max_traces :]
        self._stale = self._stale or bool(dropped)
        for p in new.params:
            self._params.setdefault(p, len(self._params))
        self._set_columns(new)
        if newest is not None:
            self._retraced(newest.program, new.program, new_leaves, bool(dropped))
        return new

    def _set_columns(self, t: _Trace) -> None:
        t.columns = [self._params[p] for p in t.params]
        t.in_order = t.columns == list(range(len(t.columns)))

    def _prune(self) -> None:
        """Forget the parameters only dropped traces read (at the start of a call, so that a
        call's results always line up with :attr:`params` as it was during that call)."""
        if not self._stale:
            return
        self._stale = False
        live = {p for t in self.traces for p in t.params}
        self._params = {p: i for i, p in enumerate(p for p in self._params if p in live)}
        for t in self.traces:
            self._set_columns(t)

    def _retraced(self, newest: Program, new: Program, new_leaves: list[Value], dropped: bool) -> None:
        """Count a retrace, remember why, and warn once per kind when it costs."""
        self.retraces += 1
        reason = _why_retraced(newest, new)
        self.retrace_reasons.append(reason)
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        if new_leaves and "leaves" not in self._warned:
            self._warned.add("leaves")
            _warn(
                f"compiled function {name!r} retraced ({reason}) and met {len(new_leaves)} leaf Value(s) "
                f"created inside fn: {_leaves_text(new_leaves)}. Such a Value is a new parameter of "
                "every trace, frozen at its traced value, and its gradient goes to an object nothing "
                "else holds; create it once outside fn (a parameter), or use a plain number (a constant)"
            )
        if dropped and "full" not in self._warned:
            self._warned.add("full")
            _warn(
                f"compiled function {name!r} retraced {self.retraces} time(s) and keeps at most "
                f"max_traces={self.max_traces} traces, so the oldest was dropped and calls may retrace "
                f"every time (slow). Latest reason: {reason}. Make fn's control flow independent of the "
                "data (e.g. relu/where-style ops instead of if), raise max_traces, or use "
                "on_guard_failure='raise'"
            )

    @property
    def compile_seconds(self) -> float:
        """Time spent tracing and generating code so far (a backend's preparation is made on first use)."""
        return self._dropped_seconds + sum(t.total_seconds for t in self.traces)

    @property
    def params(self) -> list[Value]:
        """Every parameter the kept traces read (leaves that are not inputs), in order met.

        ``params`` given to :func:`compile` come first and always stay. The
        parameters only a dropped trace read are forgotten at the start of
        the next call (so each call's results line up with this list as it
        was during that call).
        """
        return list(self._params)

    @property
    def source(self) -> str:
        """The generated Python of the newest trace: worth reading once."""
        return self.traces[0].source

    @property
    def program(self) -> Program:
        """The newest traced :class:`~autograd_lite.compiler.trace.Program`."""
        return self.traces[0].program

    # -- one sample: the python backend, every trace in turn, retracing if none applies ------

    def _run_one(self, sample: tuple[float, ...], seed: tuple[float, ...]) -> tuple[_Trace, Any, Any, Any]:
        """Run the first trace whose guards hold for ``sample``; retrace if none does.

        Returns the trace, the flat outputs, its parameters' gradients and the
        flat input gradients. A sample outside an op's domain raises the op's
        own error, as ``backward()`` does.
        """
        for t in self.traces:
            got = t.python.one(sample, t.param_data(), seed)
            if got is not None:
                return (t, *got)
        if self.on_guard_failure == "raise":
            raise GuardError(
                "compiled function: a comparison made while tracing gives another answer for these inputs "
                f"{list(sample)!r}; the traced program does not apply (use on_guard_failure='retrace')"
            )
        t = self._add_trace(self.signature.arguments(sample))
        got = t.python.one(sample, t.param_data(), seed)
        if got is None:  # the function's control flow is not a function of its inputs
            raise GuardError("compiled function: a fresh trace fails its own guards; fn is not deterministic")
        return (t, *got)

    def _forward_one(self, sample: tuple[float, ...]) -> Any:
        """One sample's flat outputs, forward only where a trace applies."""
        for t in self.traces:
            outs = t.python.forward_one(sample, t.param_data())
            if outs is not None:
                return outs
        return self._run_one(sample, self.signature.seed(None))[1]

    def __call__(self, *args: Any, grad_outputs: Any = None) -> Any:
        """``fn(*args)`` as floats; gradients added into every parameter's ``.grad``.

        Like ``out = fn(*args); out.backward()``: each output is seeded with
        ``grad_outputs`` (default 1.0 for each output).
        """
        self._prune()
        sig = self.signature
        t, outs, pgrads, _ = self._run_one(sig.flat(args), sig.seed(grad_outputs))
        for p, g in zip(t.params, pgrads):
            p.grad += g
        return sig.result(outs)

    def grad(self, *args: Any, grad_outputs: Any = None) -> Gradients:
        """Outputs and gradients of ``fn(*args)``, without touching any ``.grad``."""
        self._prune()
        sig = self.signature
        t, outs, pgrads, igrads = self._run_one(sig.flat(args), sig.seed(grad_outputs))
        params = [0.0] * len(self._params)
        for i, g in zip(t.columns, pgrads):
            params[i] = g
        return Gradients(sig.result(outs), params, tuple(sig.arguments(igrads)))

    def forward(self, *args: Any) -> Any:
        """``fn(*args)`` as floats: the forward pass only, no gradients."""
        self._prune()
        return self.signature.result(self._forward_one(self.signature.flat(args)))

    # -- a batch: any backend; what it could not do is replayed here, one sample at a time ---

    def forward_batch(self, *batched_args: Any, backend: str = "python", device: Any = None) -> Any:
        """``fn`` on every sample of a batch, forward only: a list of results, or an array with NumPy.

        With ``backend="numpy"`` the array has one row per sample: ``(batch,)``
        for a function returning one ``Value``, ``(batch, outputs)`` otherwise;
        with ``backend="torch"`` a float64 tensor of the same shape on ``device``.
        """
        self._prune()
        b = get_backend(backend, "forward_batch", device)
        batch = b.inputs(batched_args, self.signature)
        t = self.traces[0]
        run = b.forward(t.prepared(b), batch, t.param_data())
        outputs = run.outputs
        # Guards that failed: other traces, or a new one. Outside a domain: the op's own error.
        for n in sorted(run.failed + run.invalid):
            outputs[n] = self._forward_one(b.sample(batch, n))
        return b.results(outputs, self.signature)

    def batch(
        self,
        *batched_args: Any,
        grad_outputs: Any = None,
        backend: str = "python",
        per_sample: bool = False,
        accumulate: bool = True,
        device: Any = None,
    ) -> BatchResult:
        """Run ``fn`` on every sample of a batch: forward and backward.

        Each argument has a leading batch axis (a list, or an array). Each
        sample's outputs are seeded with ``grad_outputs`` (a number for all,
        or one per sample). Parameter gradients are summed over the batch and,
        with ``accumulate``, added into each parameter's ``.grad``; with
        ``per_sample=True`` they are returned per sample instead (and
        ``.grad`` is left alone).

        ``backend="python"`` runs the generated code sample after sample;
        ``"numpy"`` runs the whole batch at once, level by level; ``"torch"``
        does the same with PyTorch tensors on ``device`` (``"cpu"``, the
        default, or ``"cuda"``) and returns float64 tensors there.
        """
        self._prune()
        b = get_backend(backend, "batch", device)
        batch = b.inputs(batched_args, self.signature)
        seeds = b.seeds(grad_outputs, b.size(batch), self.signature)
        t = self.traces[0]
        run = b.run(t.prepared(b), batch, t.param_data(), seeds, per_sample)

        outputs = run.outputs
        # Replayed one by one: a sample whose guards did not hold, through other traces or a new one
        # (which may meet new parameters); a sample outside an op's domain alone, which raises the
        # op's own error where backward() would (before anything is added to .grad), or gives
        # backward()'s numbers (an inf that eager also lets through).
        replayed = []
        for n in sorted(run.failed + run.invalid):
            other, outs, pgrads, _ = self._run_one(b.sample(batch, n), b.seed(seeds, n))
            outputs[n] = outs
            replayed.append((n, other, pgrads))

        # Every trace's gradients into the full parameter list.
        params = self.params
        in_order = t.in_order and len(t.columns) == len(params)
        full = b.place(run.params, None if in_order else t.columns, len(params), per_sample)
        index = self._params
        for n, other, pgrads in replayed:
            row = full[n] if per_sample else full
            for p, g in zip(other.params, pgrads):
                row[index[p]] += g
        if accumulate and not per_sample:
            for p, g in zip(params, full.tolist() if hasattr(full, "tolist") else full):
                p.grad += g
        return BatchResult(b.results(outputs, self.signature), full)

    def __repr__(self) -> str:
        p = self.program
        return (
            f"<compiled {getattr(self.fn, '__name__', type(self.fn).__name__)}: {len(p.instructions)} ops, "
            f"{len(self.params)} params, {len(p.guards)} guards, {len(self.traces)} trace(s)>"
        )


def _warn(message: str) -> None:
    """A :class:`RetraceWarning` attributed to the first line outside autograd_lite (the user's call)."""
    _, level = user_frame()
    warnings.warn(message, RetraceWarning, stacklevel=level)


def _slot_text(program: Program, slot: int | None, constant: float) -> str:
    """A guard's operand for people: an input's name, a parameter's label, a number, or "a value"."""
    if slot is None:
        return repr(constant)
    if slot < program.n_inputs:
        return f"input {slot}"
    if slot < program.first_constant:
        label = program.params[slot - program.n_inputs].label
        return f"parameter {label!r}" if label else "a parameter"
    if slot < program.first_instruction:
        return repr(program.constants[slot - program.first_constant])
    return "a computed value"


def _guard_text(program: Program, g: Guard) -> str:
    where = f" at {g.where}" if g.where else ""
    lhs, rhs = _slot_text(program, g.slot, g.constant), _slot_text(program, g.other, g.constant)
    return f"`{lhs} {g.cmp} {rhs}`{where}"


def _why_retraced(newest: Program, new: Program) -> str:
    """Why ``new`` was traced while ``newest`` was kept: the first comparison that answered differently."""
    for old, now in zip(newest.guards, new.guards):
        if (old.cmp, old.where, old.expected) != (now.cmp, now.where, now.expected):
            if (old.cmp, old.where) == (now.cmp, now.where):
                return (
                    f"the comparison {_guard_text(new, now)} gave {now.expected}, "
                    f"the newest kept trace has {old.expected}"
                )
            return f"the comparisons differ from the newest kept trace's from {_guard_text(new, now)} on"
    if len(newest.guards) != len(new.guards):
        return f"fn made {len(new.guards)} comparison(s), the newest kept trace {len(newest.guards)}"
    return "an older trace's comparison gave another answer"


def _throwaway(params: list[Value]) -> list[Value]:
    """The leaves a fresh trace read that nothing but the trace holds: made inside ``fn``.

    A module's or closure's parameter is held by it too. (Reference counts:
    the list's, the loop variable's and ``getrefcount``'s own argument's.)
    """
    return [p for p in params if sys.getrefcount(p) <= 3]


def _leaves_text(leaves: list[Value]) -> str:
    shown = [f"Value({v.data!r}{f', label={v.label!r}' if v.label else ''})" for v in leaves[:3]]
    return ", ".join(shown) + (f" and {len(leaves) - 3} more" if len(leaves) > 3 else "")


def compile(
    fn: Callable[..., Any],
    example_inputs: Sequence[Any] = (),
    params: Sequence[Value] | None = None,
    *,
    on_guard_failure: str = "retrace",
    max_traces: int = 8,
) -> CompiledFunction:
    """Trace ``fn(*example_inputs)`` once and return a fast replay of it.

    Args:
        fn: takes numbers (or nested lists of numbers) as ``Value``s and
            returns a ``Value`` or a (nested) list of ``Value``s. A model
            (``nn.Module``) can be passed directly.
        example_inputs: a tuple with one example per argument of ``fn``; its
            structure (numbers, sequence lengths) is what the compiled function
            accepts from then on.
        params: the parameters, in the order you want their gradients (default:
            ``fn.parameters()`` for a module, else every leaf ``fn`` touches that
            is not an input or a number in an expression, in the order met).
            Leaves not listed are parameters too, appended after.
        on_guard_failure: ``"retrace"`` or ``"raise"`` (see :class:`GuardError`).
        max_traces: how many traced programs to keep for retracing (the
            oldest is dropped first; see :class:`RetraceWarning`).

    Returns:
        A :class:`CompiledFunction`: call it like ``fn`` (forward and backward,
        gradients into ``.grad``), or use ``.forward``, ``.grad``, ``.batch``.
    """
    return CompiledFunction(fn, example_inputs, params, on_guard_failure, max_traces)
