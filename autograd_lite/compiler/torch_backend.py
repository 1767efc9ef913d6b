"""The ``torch`` backend: a traced program over a whole batch at once, level by level, on PyTorch tensors.

The same schedule as the :mod:`~autograd_lite.compiler.numpy_backend`, on
``torch.float64`` tensors on a device (``"cpu"``, ``"cuda"``, ...): every
node of the program gets a row of a ``(nodes, batch)`` tensor ``V`` (and of
the gradient tensor ``G``); nodes are grouped by *level* (a leaf is level 0,
a node one more than its deepest input), op and arity, and one group is one
tensor expression over all its nodes and all the samples. A group of ``dot``
nodes whose weights are parameters and whose inputs are the same for every
node is a dense layer: ``W @ X`` forward, ``W.T @ G`` and ``G @ X.T``
backward.

Kernels are made from each op's own rule, never written here: the rule and
the forward evaluated on symbols (:meth:`~autograd_lite.ops.Op.symbolic_rule`)
are printed as array source (:func:`autograd_lite.rules.source`) and run
with the vocabulary on tensors (:func:`autograd_lite.rules.torch_functions`).
An op whose rule or forward has no symbolic form (a Python ``if`` in it) runs
as it does on NumPy, element by element on the CPU, and its results are moved
back to the device.

Errors are reported, not raised, as on NumPy: samples whose guards give
another answer (``failed``) and samples where an op that is not total gives
a non-finite number (``invalid``); the core replays them one by one.

Data: a batch is a ``(batch, n_inputs)`` float64 tensor on the device (lists,
NumPy arrays and tensors are accepted), seeds an ``(n_outputs, batch)``
tensor; outputs and parameter gradients come back as float64 tensors on the
device. Float64 only: the numbers are those of the NumPy backend (to 1e-9).
The schedule is built once per program; the index tensors once per device.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from autograd_lite._optional import optional_dependency

with optional_dependency("torch", "the 'torch' compile backend"):
    import torch

from autograd_lite import ops, rules
from autograd_lite.compiler.backend import Backend, BatchRun, batch_matrix
from autograd_lite.compiler.trace import Program, Signature

__all__ = ["TorchBackend", "TorchProgram", "resolve_device"]

Tensor = torch.Tensor
F64 = torch.float64


def resolve_device(device: Any, where: str = "batch") -> torch.device:
    """``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``) checked to be usable here."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{where}: device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{where}: device {device!r} is not available here (torch.cuda.is_available() is False); "
            "use device='cpu'"
        )
    return resolved


# ============================================================================
# Kernels: an op's forward and local derivatives on tensors, made from its rule.


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {f"_{name}": fn for name, fn in rules.torch_functions().items()}
    return {**ns, "_inf": math.inf, "_nan": math.nan}


def _define(text: str, what: str) -> Callable[..., Any]:
    namespace = _namespace()
    exec(compile(text, f"<autograd_lite torch: {what}>", "exec"), namespace)  # written by rules.source
    return namespace["kernel"]


def _on_cpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A NumPy function of arrays as a function of tensors: through the CPU and back."""

    def run(*tensors: Any) -> Any:
        like = next(t for t in tensors if isinstance(t, Tensor))
        arrays = [t.detach().cpu().numpy() if isinstance(t, Tensor) else t for t in tensors]
        result = fn(*arrays)
        back = lambda r: torch.as_tensor(r, dtype=F64, device=like.device)
        return [back(r) for r in result] if isinstance(result, (list, tuple)) else back(result)

    return run


def _make_kernels(op: Any, arity: int) -> tuple[Callable[..., Any], Callable[..., Sequence[Any]]]:
    names = ops.input_names(arity)
    forward_tree = op.symbolic_forward(arity)
    if forward_tree is None:
        forward = _on_cpu(op.forward_on_arrays(arity))
    else:
        text = f"def kernel({', '.join(names)}):\n    return {rules.source(forward_tree, style='array')}\n"
        forward = _define(text, f"{op} forward")
    trees = op.symbolic_rule(arity)
    if trees is None:
        numpy_rule = _on_cpu(op.interpretation("array", arity))
        derivative = (lambda *a: (numpy_rule(*a),)) if op.arity == 1 else numpy_rule
    else:
        body = ", ".join(rules.source(t, style="array") for t in trees)
        text = f"def kernel({', '.join(['out', *names])}):\n    return ({body},)\n"
        derivative = _define(text, f"{op} rule")
    return forward, derivative


def kernels(op: Any, arity: int) -> tuple[Callable[..., Any], Callable[..., Sequence[Any]]]:
    """The op's forward and its local derivatives (one per input) on tensors.

    Kept with the op's other interpretations, so a new rule
    (:meth:`~autograd_lite.ops.Op.set_rule`) makes new kernels.
    """
    return op._cached(("torch", arity), lambda: _make_kernels(op, arity))


# ============================================================================
# The schedule: levels, groups and rows, device-independent (plain Python).


class _Group:
    """Nodes of one op and arity at one level: ``rows first .. first+k-1 = op(children)``."""

    def __init__(self, op: Any, grad: bool, shared: bool, children: list[list[int]], first: int) -> None:
        self.op, self.grad, self.shared, self.children, self.first = op, grad, shared, children, first

    @property
    def out(self) -> slice:
        return slice(self.first, self.first + len(self.children))


def _levels(program: Program) -> tuple[list[int], list[bool]]:
    n_in, n = program.n_inputs, program.n_slots
    level = [0] * n
    shared = [False] * n_in + [True] * (n - n_in)  # the same for every sample
    for ins in program.instructions:
        level[ins.slot] = 1 + max((level[c] for c in ins.children), default=0)
        shared[ins.slot] = all(shared[c] for c in ins.children)
    return level, shared


def _schedule(program: Program) -> tuple[list[int], list[_Group]]:
    """Each slot's row, and the groups in an order where every group comes after its inputs."""
    level, shared = _levels(program)
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for ins in program.instructions:
        key = (level[ins.slot], ins.op is None, id(ins.op), len(ins.children), ins.grad, shared[ins.slot])
        groups[key].append(ins)
    first_instr = program.first_instruction
    row = list(range(first_instr)) + [0] * (program.n_slots - first_instr)
    next_row, ordered = first_instr, []
    op_of = {id(ins.op): ins.op for ins in program.instructions}
    for key in sorted(groups, key=lambda k: (k[0], str(op_of[k[2]]), k[2], k[3], k[1], k[4], k[5])):
        members = sorted(groups[key], key=lambda ins: tuple(row[c] for c in ins.children))
        first = next_row
        for ins in members:
            row[ins.slot] = next_row
            next_row += 1
        children = [[row[c] for c in ins.children] for ins in members]
        ordered.append(_Group(members[0].op, key[4], key[5], children, first))
    return row, ordered


class TorchProgram:
    """A :class:`~autograd_lite.compiler.trace.Program` scheduled level by level, run on any device."""

    def __init__(self, program: Program) -> None:
        self.program = program
        row, self.groups = _schedule(program)
        self.n_rows = program.n_slots
        self.tracked = [True] * program.first_constant + [False] * (self.n_rows - program.first_constant)
        for ins in program.instructions:
            self.tracked[row[ins.slot]] = ins.grad
        self.param_rows = slice(program.n_inputs, program.first_constant)
        self.const_rows = slice(program.first_constant, program.first_instruction)
        self.output_rows = [row[s] for s in program.outputs]
        self.guards = [
            (row[g.slot], g.cmp, None if g.other is None else row[g.other], g.constant, g.expected)
            for g in program.guards
        ]
        self.lazy_seconds = 0.0  # building a device's steps, reported in compile_seconds
        self._devices: dict[torch.device, _DeviceProgram] = {}

    def on(self, device: torch.device) -> _DeviceProgram:
        """The program's steps with their index tensors on ``device`` (built once per device)."""
        made = self._devices.get(device)
        if made is None:
            started = time.perf_counter()
            made = self._devices[device] = _DeviceProgram(self, device)
            self.lazy_seconds += time.perf_counter() - started
        return made


# ============================================================================
# Steps on a device: gathers, scatters and the kernels of each group.


def _contiguous(idx: Sequence[int]) -> bool:
    return len(idx) > 0 and all(b - a == 1 for a, b in zip(idx, idx[1:]))


class _Rows:
    """Rows of ``V`` to read: a slice (a view) when consecutive, else an index tensor."""

    def __init__(self, idx: Sequence[int], device: torch.device) -> None:
        idx = list(idx)
        self.index: Any = (
            slice(idx[0], idx[-1] + 1)
            if _contiguous(idx)
            else torch.tensor(idx, dtype=torch.long, device=device)
        )

    def of(self, V: Tensor) -> Tensor:
        return V[self.index]


class _Scatter:
    """``G[targets] += C``, summing repeated targets, skipping untracked rows."""

    def __init__(self, targets: Sequence[int], tracked: list[bool], device: torch.device) -> None:
        keep = [i for i, t in enumerate(targets) if tracked[t]]
        self.empty = not keep
        self.keep = None if len(keep) == len(targets) else torch.tensor(keep, dtype=torch.long, device=device)
        kept = [targets[i] for i in keep]
        self.slice = slice(kept[0], kept[-1] + 1) if _contiguous(kept) else None
        self.index = torch.tensor(kept, dtype=torch.long, device=device)

    def add(self, G: Tensor, C: Tensor) -> None:
        if self.empty:
            return
        if self.keep is not None:
            C = C.index_select(0, self.keep)
        if self.slice is not None:
            G[self.slice] += C
        else:
            if C.untyped_storage().data_ptr() == G.untyped_storage().data_ptr():
                C = C.clone()  # rows of G itself (a gradient passed on unchanged): index_add_ needs a copy
            G.index_add_(0, self.index, C.expand(len(self.index), G.shape[1]))


Step = Callable[..., None]


class _DeviceProgram:
    """Forward and backward closures of every group, and the program run on a batch."""

    def __init__(self, tp: TorchProgram, device: torch.device) -> None:
        self.tp, self.device = tp, device
        program = tp.program
        self.constants = torch.tensor(program.constants, dtype=F64, device=device)
        self.output_rows = torch.tensor(tp.output_rows, dtype=torch.long, device=device)
        self.output_scatter = _Scatter(tp.output_rows, tp.tracked, device)
        self.steps = [(*self._step(g), g.out, g.shared) for g in tp.groups]

    def _step(self, g: _Group) -> tuple[Step, Step | None]:
        arity = len(g.children[0])
        out = g.out
        if g.op is None:  # a detached copy
            src = _Rows([c[0] for c in g.children], self.device)

            def copy_forward(V: Tensor, invalid: Tensor) -> None:
                V[out] = src.of(V)

            return copy_forward, None
        if g.op is ops.DOT and g.op.rule_form == g.op.forward_form == "dot":
            return self._dot_step(g)
        if g.op is ops.SUM and g.op.rule_form == g.op.forward_form == "sum":
            return self._sum_step(g)
        forward, derivative = kernels(g.op, arity)
        partial = not g.op.total  # may leave its domain: a non-finite result marks the sample
        cols = [_Rows([c[j] for c in g.children], self.device) for j in range(arity)]
        scatters = [_Scatter([c[j] for c in g.children], self.tp.tracked, self.device) for j in range(arity)]

        def forward_step(V: Tensor, invalid: Tensor) -> None:
            result = forward(*[c.of(V) for c in cols])
            if partial:
                invalid |= ~torch.isfinite(torch.as_tensor(result, dtype=F64, device=V.device)).all(dim=0)
            V[out] = result

        def backward_step(V: Tensor, G: Tensor, GP: Tensor, per_sample: bool) -> None:
            grad = G[out]
            locals_ = derivative(V[out], *[c.of(V) for c in cols])
            for scatter, d in zip(scatters, locals_):
                if not scatter.empty:
                    scatter.add(G, grad if isinstance(d, (int, float)) and d == 1 else grad * d)

        return forward_step, backward_step if g.grad else None

    def _sum_step(self, g: _Group) -> tuple[Step, Step | None]:
        k, arity, out = len(g.children), len(g.children[0]), g.out
        idx = torch.tensor(g.children, dtype=torch.long, device=self.device)  # (k, arity)
        scatter = _Scatter([c for row in g.children for c in row], self.tp.tracked, self.device)

        def sum_forward(V: Tensor, invalid: Tensor) -> None:
            V[out] = V[idx].sum(dim=1)

        def sum_backward(V: Tensor, G: Tensor, GP: Tensor, per_sample: bool) -> None:
            grad = G[out]
            scatter.add(G, grad[:, None, :].expand(k, arity, grad.shape[1]).reshape(k * arity, -1))

        return sum_forward, sum_backward if g.grad else None

    def _dot_step(self, g: _Group) -> tuple[Step, Step | None]:
        arity = len(g.children[0])
        n, has_bias = arity // 2, arity % 2 == 1
        w_idx = [c[:n] for c in g.children]
        x_idx = [c[n : 2 * n] for c in g.children]
        p = self.tp.param_rows
        dense = n > 0 and all(p.start <= w < p.stop for row in w_idx for w in row)
        if dense and all(row == x_idx[0] for row in x_idx):
            return self._dense_step(g, w_idx, x_idx[0], has_bias)
        return self._gather_dot_step(g, w_idx, x_idx, has_bias)

    def _bias(self, g: _Group, has_bias: bool) -> tuple[_Rows | None, _Scatter | None]:
        if not has_bias:
            return None, None
        rows = [c[-1] for c in g.children]
        return _Rows(rows, self.device), _Scatter(rows, self.tp.tracked, self.device)

    def _dense_step(
        self, g: _Group, w_idx: list[list[int]], x_rows: list[int], has_bias: bool
    ) -> tuple[Step, Step | None]:
        """A dense layer: ``out = W @ X (+ b)``; backward ``W.T @ g`` and ``g @ X.T``."""
        k, n, out, p, dev = len(w_idx), len(x_rows), g.out, self.tp.param_rows, self.device
        w_flat = [w - p.start for row in w_idx for w in row]
        w_gather = torch.tensor(w_flat, dtype=torch.long, device=dev).reshape(k, n)
        w_index = w_gather.reshape(-1)
        xs = _Rows(x_rows, dev)
        x_scatter = _Scatter(x_rows, self.tp.tracked, dev)
        w_scatter = _Scatter([w for row in w_idx for w in row], self.tp.tracked, dev)
        b_rows, b_scatter = self._bias(g, has_bias)

        def dense_forward(V: Tensor, invalid: Tensor) -> None:
            acc = V[p, 0][w_gather] @ xs.of(V)
            if b_rows is not None:
                acc += b_rows.of(V)
            V[out] = acc

        def dense_backward(V: Tensor, G: Tensor, GP: Tensor, per_sample: bool) -> None:
            grad, W, X = G[out], V[p, 0][w_gather], xs.of(V)
            x_scatter.add(G, W.T @ grad)
            if per_sample:
                w_scatter.add(G, (grad[:, None, :] * X[None, :, :]).reshape(k * n, -1))
            else:
                GP.index_add_(0, w_index, (grad @ X.T).reshape(-1))
            if b_scatter is not None:
                b_scatter.add(G, grad)

        return dense_forward, dense_backward if g.grad else None

    def _gather_dot_step(
        self, g: _Group, w_idx: list[list[int]], x_idx: list[list[int]], has_bias: bool
    ) -> tuple[Step, Step | None]:
        """Dot products whose weights or inputs differ from node to node: gathered, multiplied, summed."""
        k, n, out, dev = len(w_idx), len(w_idx[0]), g.out, self.device
        ws = torch.tensor(w_idx, dtype=torch.long, device=dev).reshape(k, n)
        xs = torch.tensor(x_idx, dtype=torch.long, device=dev).reshape(k, n)
        w_scatter = _Scatter([w for row in w_idx for w in row], self.tp.tracked, dev)
        x_scatter = _Scatter([x for row in x_idx for x in row], self.tp.tracked, dev)
        b_rows, b_scatter = self._bias(g, has_bias)

        def dot_forward(V: Tensor, invalid: Tensor) -> None:
            acc = (V[ws] * V[xs]).sum(dim=1) if n else V.new_zeros((k, V.shape[1]))
            if b_rows is not None:
                acc += b_rows.of(V)
            V[out] = acc

        def dot_backward(V: Tensor, G: Tensor, GP: Tensor, per_sample: bool) -> None:
            grad = G[out][:, None, :]
            if n:
                x_scatter.add(G, (V[ws] * grad).reshape(k * n, -1))
                w_scatter.add(G, (V[xs] * grad).reshape(k * n, -1))
            if b_scatter is not None:
                b_scatter.add(G, G[out])

        return dot_forward, dot_backward if g.grad else None

    # -- running ------------------------------------------------------------------

    def forward(self, inputs: Tensor, params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``V`` for a batch ``(batch, n_inputs)``; masks of failed guards and of invalid samples."""
        tp, B = self.tp, inputs.shape[0]
        V = torch.empty((tp.n_rows, B), dtype=F64, device=self.device)
        V[: tp.program.n_inputs] = inputs.T
        V[tp.param_rows] = params[:, None]
        V[tp.const_rows] = self.constants[:, None]
        invalid = torch.zeros(B, dtype=torch.bool, device=self.device)
        column = V[:, :1]
        for forward_step, _, out, shared in self.steps:
            if shared:  # depends on no input: computed once, then copied to every sample
                forward_step(column, invalid)
                V[out] = V[out, :1]
            else:
                forward_step(V, invalid)
        failed = torch.zeros(B, dtype=torch.bool, device=self.device)
        compare = {"<": torch.lt, "<=": torch.le, ">": torch.gt, ">=": torch.ge}
        for a, cmp, b, constant, expected in tp.guards:
            failed |= compare[cmp](V[a], V[b] if b is not None else constant) != expected
        return V, failed, invalid

    def backward(self, V: Tensor, seeds: Tensor, per_sample: bool) -> Tensor:
        """Parameter gradients: ``(n_params,)`` summed over the batch, or ``(batch, n_params)``."""
        p = self.tp.param_rows
        G = torch.zeros_like(V)
        GP = torch.zeros(p.stop - p.start, dtype=F64, device=self.device)
        self.output_scatter.add(G, seeds)
        column, g_column = V[:, :1], G[:, :1]
        for _, backward_step, out, shared in reversed(self.steps):
            if backward_step is None:
                continue
            if shared and not per_sample:  # the batch's gradients summed, then passed back once
                G[out, 0] = G[out].sum(dim=1)
                backward_step(column, g_column, GP, per_sample)
            else:
                backward_step(V, G, GP, per_sample)
        if per_sample:
            return G[p].T.contiguous()
        return G[p].sum(dim=1) + GP


# ============================================================================
# The backend: data as tensors on a device.


def _as_matrix(batched_args: Sequence[Any], signature: Signature, device: torch.device) -> Tensor:
    """The batch as a ``(batch, n_inputs)`` float64 tensor on ``device``."""
    n = signature.n_inputs
    return batch_matrix(
        batched_args,
        signature,
        convert=lambda arg: torch.as_tensor(arg, dtype=F64, device=device),
        concatenate=lambda columns: torch.cat(columns, dim=1),
        from_samples=lambda rows: torch.tensor(rows, dtype=F64, device=device).reshape(-1, n),
    )


class _Outputs:
    """A run's output rows (a tensor) that the core can overwrite with ``outputs[n] = row`` (floats)."""

    def __init__(self, rows: Tensor) -> None:
        self.rows = rows

    def __setitem__(self, n: int, row: Sequence[float]) -> None:
        self.rows[n] = torch.tensor(list(row), dtype=F64, device=self.rows.device)


class TorchBackend(Backend):
    """Every node of the same op at the same level, over the whole batch, in one PyTorch call.

    One instance per device: ``get_backend("torch")`` runs on the CPU,
    ``batch(..., backend="torch", device="cuda")`` on the GPU.
    """

    name = "torch"

    def __init__(self, device: Any = "cpu") -> None:
        self.device = resolve_device(device, "torch backend")
        self._on_devices: dict[torch.device, TorchBackend] = {self.device: self}

    def on_device(self, device: Any, where: str) -> TorchBackend:
        resolved = resolve_device(device, where)
        backend = self._on_devices.get(resolved)
        if backend is None:
            backend = self._on_devices[resolved] = TorchBackend(resolved)
        return backend

    def prepare(self, program: Program) -> TorchProgram:
        return TorchProgram(program)

    # -- data: tensors on this backend's device -----------------------------------

    def inputs(self, batched_args: Sequence[Any], signature: Signature) -> Tensor:
        return _as_matrix(batched_args, signature, self.device)

    def seeds(self, grad_outputs: Any, size: int, signature: Signature) -> Tensor:
        n_out = signature.n_outputs
        if grad_outputs is None:
            return torch.ones((n_out, size), dtype=F64, device=self.device)
        g = torch.as_tensor(grad_outputs, dtype=F64, device=self.device)
        if g.ndim == 0:
            return torch.full((n_out, size), float(g), dtype=F64, device=self.device)
        if g.shape[0] != size:
            raise ValueError(f"grad_outputs: expected one per sample ({size}), got {g.shape[0]}")
        return g.reshape(size, -1).expand(size, n_out).T.contiguous()

    def size(self, batch: Tensor) -> int:
        return int(batch.shape[0])

    def sample(self, batch: Tensor, n: int) -> tuple[float, ...]:
        return tuple(batch[n].tolist())

    def seed(self, seeds: Tensor, n: int) -> tuple[float, ...]:
        return tuple(seeds[:, n].tolist())

    def place(self, grads: Tensor, columns: Sequence[int] | None, width: int, per_sample: bool) -> Tensor:
        if columns is None:
            return grads
        cols = torch.tensor(list(columns), dtype=torch.long, device=grads.device)
        full = grads.new_zeros((grads.shape[0], width) if per_sample else (width,))
        full[..., cols] = grads
        return full

    def results(self, rows: _Outputs, signature: Signature) -> Tensor:
        return rows.rows[:, 0] if signature.out_structure is None else rows.rows

    # -- running --------------------------------------------------------------------

    def _params(self, params: Sequence[float]) -> Tensor:
        return torch.tensor(list(params), dtype=F64, device=self.device)

    def run(
        self, prepared: TorchProgram, batch: Tensor, params: Sequence[float], seeds: Tensor, per_sample: bool
    ) -> BatchRun:
        program, p = prepared.on(self.device), self._params(params)
        with torch.no_grad():
            V, failed, invalid = program.forward(batch, p)
            invalid &= ~failed
            skipped = failed | invalid
            if not bool(skipped.any()):
                grads = program.backward(V, seeds, per_sample)
                return BatchRun(_Outputs(V[program.output_rows].T), grads, [], [])
            # Only the samples that ran, again: the others' numbers must not reach any sum.
            ok = torch.nonzero(~skipped).flatten()
            V, _, _ = program.forward(batch[ok], p)
            grads = program.backward(V, seeds[:, ok], per_sample)
            outputs = batch.new_zeros((batch.shape[0], len(prepared.output_rows)))
            outputs[ok] = V[program.output_rows].T
            if per_sample:
                rows = grads.new_zeros((batch.shape[0], grads.shape[1]))
                rows[ok] = grads
                grads = rows
        return BatchRun(_Outputs(outputs), grads, _indices(failed), _indices(invalid))

    def forward(self, prepared: TorchProgram, batch: Tensor, params: Sequence[float]) -> BatchRun:
        program = prepared.on(self.device)
        with torch.no_grad():
            V, failed, invalid = program.forward(batch, self._params(params))
            invalid &= ~failed
        return BatchRun(_Outputs(V[program.output_rows].T), None, _indices(failed), _indices(invalid))


def _indices(mask: Tensor) -> list[int]:
    return torch.nonzero(mask).flatten().tolist()
