"""``compile``: trace a function once, then replay it without building a graph.

A training step builds the same graph again and again: only the numbers
change. ``compile(fn, example_inputs)`` runs ``fn`` once on ``Value``s,
records that graph (:mod:`autograd_lite.trace`), and turns it into code:

* straight-line Python, one line per node and one ``+=`` per edge
  (:mod:`autograd_lite.codegen`), for one sample or a list of them; no
  ``Value`` is created and NumPy is not needed;
* with ``backend="numpy"``, a whole batch at once: every node of the same op
  at the same depth of the graph is one NumPy call over all its nodes and
  all the samples (:mod:`autograd_lite.batched`).

Replays read every parameter's current ``.data`` and add gradients into its
``.grad``, exactly as ``out.backward()`` would, so optimizers work unchanged.

Guards: the trace holds only while ``fn``'s Python control flow does not
depend on the data. Every comparison of ``Value``s made while tracing
(``if x > 0:``, ``max(values)``) is recorded with its answer; a replay where
an answer changes is traced again for that sample (``on_guard_failure=
"retrace"``, the default; up to ``max_traces`` programs are kept) or raises
:class:`GuardError` (``"raise"``). A replay never silently returns the
gradient of a different program.

What a trace cannot see: numbers read out of a ``Value`` (``v.data``,
``float(v)``) inside ``fn`` are frozen at their traced values; so are leaves
made from them. Use ``Value`` operations and comparisons instead.

Example:
    >>> import autograd_lite as al
    >>> from autograd_lite.nn import MLP
    >>> model = MLP(2, [4, 1], seed=0)
    >>> step = al.compile(lambda x, y: (model(x) - y) ** 2, ([0.0, 0.0], 0.0))
    >>> loss = step([0.5, -1.0], 1.0)  # forward and backward; grads in p.grad
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograd_lite.codegen import generate
from autograd_lite.engine import Value
from autograd_lite.trace import Program, Structure, TraceError, flatten, trace

__all__ = ["BatchResult", "CompiledFunction", "GuardError", "Gradients", "TraceError", "compile"]


class GuardError(RuntimeError):
    """A replay's data changed the answer of a comparison made while tracing."""


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


def _restructure(flat: Sequence[float], structure: Structure, start: int = 0) -> tuple[Any, int]:
    if structure is None:
        return flat[start], start + 1
    items = []
    for sub in structure:
        item, start = _restructure(flat, sub, start)
        items.append(item)
    return items, start


class _Trace:
    """One traced program and its generated replay functions."""

    def __init__(self, program: Program, seconds: float) -> None:
        self.program = program
        self.seconds = seconds  # spent tracing and generating code for this trace
        self.params = program.params
        started = time.perf_counter()
        self.source, self.run = generate(program, backward=True)
        self.seconds += time.perf_counter() - started
        self.columns: list[int] = []  # index of each of params in CompiledFunction.params
        self.in_order = False  # columns == 0, 1, 2, ...
        self._forward: Callable[..., Any] | None = None
        self._batched: Any = None

    @property
    def forward(self) -> Callable[..., Any]:
        if self._forward is None:
            started = time.perf_counter()
            self._forward = generate(self.program, backward=False)[1]
            self.seconds += time.perf_counter() - started
        return self._forward

    @property
    def batched(self) -> Any:
        if self._batched is None:
            from autograd_lite.batched import BatchedProgram

            started = time.perf_counter()
            self._batched = BatchedProgram(self.program)
            self.seconds += time.perf_counter() - started
        return self._batched

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
        self._params: dict[Value, int] = {}  # every parameter met, and its index
        first = self._add_trace(example_inputs)
        self.in_structure = first.program.in_structure
        self.out_structure = first.program.out_structure

    # -- tracing ------------------------------------------------------------

    def _add_trace(self, args: Sequence[Any]) -> _Trace:
        started = time.perf_counter()
        program = trace(self.fn, args, self._given_params)
        new = _Trace(program, time.perf_counter() - started)
        if self.traces and (
            new.program.in_structure != self.in_structure or new.program.out_structure != self.out_structure
        ):
            raise TraceError(
                "compile: retracing gave a result of another shape; fn must always return the same shape"
            )
        self.traces.insert(0, new)
        self._dropped_seconds += sum(t.seconds for t in self.traces[self.max_traces :])
        del self.traces[self.max_traces :]
        for p in new.params:
            self._params.setdefault(p, len(self._params))
        new.columns = [self._params[p] for p in new.params]
        new.in_order = new.columns == list(range(len(new.columns)))
        return new

    @property
    def compile_seconds(self) -> float:
        """Time spent tracing and generating code so far (the NumPy schedule is built on first use)."""
        return self._dropped_seconds + sum(t.seconds for t in self.traces)

    @property
    def params(self) -> list[Value]:
        """Every parameter the traces have read (leaves that are not inputs), in order met."""
        return list(self._params)

    @property
    def source(self) -> str:
        """The generated Python of the newest trace: worth reading once."""
        return self.traces[0].source

    @property
    def program(self) -> Program:
        """The newest traced :class:`~autograd_lite.trace.Program`."""
        return self.traces[0].program

    # -- arguments ------------------------------------------------------------

    def _flat(self, args: Sequence[Any], where: str = "") -> tuple[float, ...]:
        if len(args) != len(self.in_structure):
            raise TypeError(
                f"compiled function{where} takes {len(self.in_structure)} argument(s), got {len(args)}"
            )
        flat: list[float] = []
        for i, (arg, s) in enumerate(zip(args, self.in_structure)):
            flatten(arg, s, flat, f"compiled function{where}: argument {i}")
        return tuple(flat)

    def _seed(self, grad_outputs: Any) -> tuple[float, ...]:
        n = len(self.program.outputs)
        if grad_outputs is None:
            return (1.0,) * n
        if isinstance(grad_outputs, (int, float)):
            return (float(grad_outputs),) * n
        flat: list[float] = []
        flatten(grad_outputs, self.out_structure, flat, "grad_outputs")
        return tuple(flat)

    def _result(self, flat_outputs: Sequence[float]) -> Any:
        return _restructure(flat_outputs, self.out_structure)[0]

    # -- one sample -----------------------------------------------------------

    def _run_one(self, sample: tuple[float, ...], seed: tuple[float, ...]) -> tuple[_Trace, Any, Any, Any]:
        """Run the first trace whose guards hold for ``sample``; retrace if none does."""
        for t in self.traces:
            outs, pgrads, igrads, failed = t.run([sample], t.param_data(), [seed])
            if not failed:
                return t, outs[0], pgrads, igrads[0]
        if self.on_guard_failure == "raise":
            raise GuardError(
                "compiled function: a comparison made while tracing gives another answer for these inputs "
                f"{list(sample)!r}; the traced program does not apply (use on_guard_failure='retrace')"
            )
        args = _restructure(sample, self.in_structure)[0]
        t = self._add_trace(args)
        outs, pgrads, igrads, failed = t.run([sample], t.param_data(), [seed])
        if failed:  # the function's control flow is not a function of its inputs
            raise GuardError("compiled function: a fresh trace fails its own guards; fn is not deterministic")
        return t, outs[0], pgrads, igrads[0]

    def __call__(self, *args: Any, grad_outputs: Any = None) -> Any:
        """``fn(*args)`` as floats; gradients added into every parameter's ``.grad``.

        Like ``out = fn(*args); out.backward()``: each output is seeded with
        ``grad_outputs`` (default 1.0 for each output).
        """
        t, outs, pgrads, _ = self._run_one(self._flat(args), self._seed(grad_outputs))
        for p, g in zip(t.params, pgrads):
            p.grad += g
        return self._result(outs)

    def grad(self, *args: Any, grad_outputs: Any = None) -> Gradients:
        """Outputs and gradients of ``fn(*args)``, without touching any ``.grad``."""
        t, outs, pgrads, igrads = self._run_one(self._flat(args), self._seed(grad_outputs))
        params = [0.0] * len(self._params)
        for i, g in zip(t.columns, pgrads):
            params[i] = g
        inputs = _restructure(igrads, self.in_structure)[0]
        return Gradients(self._result(outs), params, tuple(inputs))

    def forward(self, *args: Any) -> Any:
        """``fn(*args)`` as floats: the forward pass only, no gradients."""
        sample = self._flat(args)
        for t in self.traces:
            outs, failed = t.forward([sample], t.param_data())
            if not failed:
                return self._result(outs[0])
        return self._result(self._run_one(sample, self._seed(None))[1])

    # -- a batch ----------------------------------------------------------------

    def _samples(self, batched_args: Sequence[Any]) -> list[tuple[float, ...]]:
        if len(batched_args) != len(self.in_structure):
            raise TypeError(
                f"compiled function takes {len(self.in_structure)} batched argument(s), "
                f"got {len(batched_args)}"
            )
        sizes = {len(a) for a in batched_args}
        if len(sizes) > 1:
            raise ValueError(f"compiled function: batched arguments have different lengths {sorted(sizes)}")
        return [self._flat(sample, f" (sample {n})") for n, sample in enumerate(zip(*batched_args))]

    def _seeds(self, grad_outputs: Any, n: int) -> list[tuple[float, ...]]:
        if grad_outputs is None or isinstance(grad_outputs, (int, float)):
            return [self._seed(grad_outputs)] * n
        if len(grad_outputs) != n:
            raise ValueError(f"grad_outputs: expected one per sample ({n}), got {len(grad_outputs)}")
        return [self._seed(g) for g in grad_outputs]

    def forward_batch(self, *batched_args: Any, backend: str = "python") -> Any:
        """``fn`` on every sample of a batch, forward only: a list of results, or an array with NumPy.

        With ``backend="numpy"`` the array has one row per sample: ``(batch,)``
        for a function returning one ``Value``, ``(batch, outputs)`` otherwise.
        """
        if backend == "numpy":
            from autograd_lite.batched import forward_batch

            return forward_batch(self, batched_args)
        if backend != "python":
            raise ValueError(f"forward_batch: backend must be 'python' or 'numpy', got {backend!r}")
        samples = self._samples(batched_args)
        t = self.traces[0]
        outs, failed = t.forward(samples, t.param_data())
        results = [self._result(o) for o in outs]
        for n in failed:
            results.insert(n, self.forward(*_restructure(samples[n], self.in_structure)[0]))
        return results

    def batch(
        self,
        *batched_args: Any,
        grad_outputs: Any = None,
        backend: str = "python",
        per_sample: bool = False,
        accumulate: bool = True,
    ) -> BatchResult:
        """Run ``fn`` on every sample of a batch: forward and backward.

        Each argument has a leading batch axis (a list, or an array). Each
        sample's outputs are seeded with ``grad_outputs`` (a number for all,
        or one per sample). Parameter gradients are summed over the batch and,
        with ``accumulate``, added into each parameter's ``.grad``; with
        ``per_sample=True`` they are returned per sample instead (and
        ``.grad`` is left alone).

        ``backend="python"`` runs the generated code sample after sample;
        ``"numpy"`` runs the whole batch at once, level by level.
        """
        if backend == "numpy":
            from autograd_lite.batched import run_batch

            return run_batch(self, batched_args, grad_outputs, per_sample, accumulate)
        if backend != "python":
            raise ValueError(f"batch: backend must be 'python' or 'numpy', got {backend!r}")
        samples = self._samples(batched_args)
        seeds = self._seeds(grad_outputs, len(samples))
        if per_sample:
            results, per = [], []
            for s, seed in zip(samples, seeds):
                t, outs, pgrads, _ = self._run_one(s, seed)
                row = [0.0] * len(self._params)
                for i, g in zip(t.columns, pgrads):
                    row[i] = g
                per.append(row)
                results.append(self._result(outs))
            width = len(self._params)  # a retrace may have met new parameters
            return BatchResult(results, [row + [0.0] * (width - len(row)) for row in per])
        t = self.traces[0]
        outs, pgrads, _, failed = t.run(samples, t.param_data(), seeds)
        totals = dict(zip(t.params, pgrads))
        outputs: list[Any] = [self._result(o) for o in outs]
        for n in failed:  # guards did not hold: other traces, or a new one
            other, o, g, _ = self._run_one(samples[n], seeds[n])
            for p, gp in zip(other.params, g):
                totals[p] = totals.get(p, 0.0) + gp
            outputs.insert(n, self._result(o))
        params = self.params
        summed = [totals.get(p, 0.0) for p in params]
        if accumulate:
            for p, g in zip(params, summed):
                p.grad += g
        return BatchResult(outputs, summed)

    def __repr__(self) -> str:
        p = self.program
        return (
            f"<compiled {getattr(self.fn, '__name__', type(self.fn).__name__)}: {len(p.instructions)} ops, "
            f"{len(self.params)} params, {len(p.guards)} guards, {len(self.traces)} trace(s)>"
        )


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
        max_traces: how many traced programs to keep for retracing.

    Returns:
        A :class:`CompiledFunction`: call it like ``fn`` (forward and backward,
        gradients into ``.grad``), or use ``.forward``, ``.grad``, ``.batch``.
    """
    return CompiledFunction(fn, example_inputs, params, on_guard_failure, max_traces)
