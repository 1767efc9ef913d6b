"""The ``numpy`` backend: a traced program over a whole batch at once, level by level.

Every node of the program gets a row of a ``(nodes, batch)`` array ``V``
(and a row of the gradient array ``G``). Nodes are scheduled by *level*
(a leaf is level 0, a node one more than its deepest input), and all nodes
of the same op and arity at the same level form a *group* that one NumPy
call computes for every node and every sample. Rows are numbered group by
group, in the order of their inputs' rows, so that a layer's outputs are
contiguous and the next layer reads them as a slice, not a copy.

A group of ``dot`` nodes whose weights are parameters and whose inputs are
the same for every node is a dense layer: a matrix product forward
(``W @ X``) and two backward (``W.T @ G`` for the inputs, ``G @ X.T`` for the
weights, already summed over the batch).

Errors: comparisons (guards) are checked per sample, and so are the ops'
domains (``log`` of a negative number, ...): a sample in which an op that
can leave its domain (``Op.total`` false) gets an input, or gives a value or
a local derivative, that is not finite is not computed here (eager may raise
there, or give an inf that it lets through). This backend only reports such
samples (``failed``, ``invalid``): the core replays them one by one through
the traces, retracing as needed, so that an invalid sample raises exactly the
error ``backward()`` would (see :mod:`~autograd_lite.compiler.backend`).

A batch is a ``(batch, n_inputs)`` float array, seeds a ``(n_outputs, batch)``
array; outputs come back as an array with one row per sample.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

from autograd_lite._optional import optional_dependency

with optional_dependency("numpy", "the 'numpy' compile backend"):
    import numpy as np

from autograd_lite import ops
from autograd_lite.compiler.backend import Backend, BatchRun, batch_matrix
from autograd_lite.compiler.trace import Program, Signature

__all__ = ["BatchedProgram", "NumpyBackend"]

Array = Any  # np.ndarray; kept loose so the module reads without NumPy's stubs


def _rows(idx: Any) -> Any:
    """A slice when ``idx`` is a run of consecutive rows (a view, no copy), else an index array."""
    idx = np.asarray(idx, dtype=np.intp)
    if len(idx) and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


class _Scatter:
    """``G[targets] += C`` that is right when a target repeats (sums them), skipping untracked rows."""

    def __init__(self, targets: Any, tracked: Array) -> None:
        t = np.asarray(targets, dtype=np.intp)
        keep = tracked[t]
        self.empty = not keep.any()
        self.all = bool(keep.all())
        self.keep = np.flatnonzero(keep)
        t = t[self.keep]
        self.unique = len(np.unique(t)) == len(t)
        if self.unique:
            self.rows = _rows(t)
        else:
            order = np.argsort(t, kind="stable")
            self.order = self.keep[order]
            sorted_t = t[order]
            self.starts = np.flatnonzero(np.r_[True, sorted_t[1:] != sorted_t[:-1]])
            self.rows = sorted_t[self.starts]

    def add(self, G: Array, C: Array) -> None:
        if self.empty:
            return
        if self.unique:
            G[self.rows] += C if self.all else C[self.keep]
        else:
            G[self.rows] += np.add.reduceat(C[self.order], self.starts, axis=0)


# ============================================================================
# Kernels: each op's forward and local derivatives on whole arrays, made from
# the op's own forward and rule (Op.forward_on_arrays, Op.interpretation).
# dot and sum also have structural fast paths (matrix products, broadcast
# sums); those are used only while the op's rule is exactly the one they
# implement, so a changed rule is always what runs.


Kernel = tuple[Callable[..., Array], Callable[..., Sequence[Any]]]


def _kernel(op: Any, arity: int, grad: bool = True) -> Kernel:
    """The op's forward and its local derivatives on arrays (one per input; none for a detached group)."""
    if not grad:
        return op.forward_on_arrays(arity), lambda *a: ()
    derivative = op.interpretation("array", arity)
    if op.arity == 1:
        return op.forward_on_arrays(arity), lambda *a: (derivative(*a),)
    return op.forward_on_arrays(arity), derivative


# ============================================================================


def _levels(program: Program) -> tuple[array, bytearray]:
    """Each slot's level (a leaf 0, a node one more than its deepest input) and whether it is
    the same for every sample (computed from parameters and constants only)."""
    table, first, n = program.instructions, program.first_instruction, program.n_slots
    level = array("q", bytes(8 * n))
    shared = bytearray(program.n_inputs) + bytearray(b"\x01" * (n - program.n_inputs))
    starts, children = table.starts, table.children
    for i in range(len(table)):
        deepest, same = 0, 1
        for c in children[starts[i] : starts[i + 1]]:
            if level[c] > deepest:
                deepest = level[c]
            same &= shared[c]
        level[first + i] = deepest + 1
        shared[first + i] = same
    return level, shared


def _groups(program: Program, level: array, shared: bytearray) -> tuple[Array, Array]:
    """The instructions in group order (level, op by text then identity, arity, grad, shared;
    instruction order within a group), and where each group starts (and the end)."""
    table, first = program.instructions, program.first_instruction
    ranked = sorted(range(len(table.ops)), key=lambda j: (str(table.ops[j]), id(table.ops[j])))
    rank = np.empty(len(ranked), dtype=np.int64)
    rank[ranked] = np.arange(len(ranked))
    keys: list[Array] = [
        np.frombuffer(level, dtype=np.int64)[first:],
        rank[np.frombuffer(table.op_index, dtype=np.int32)] if len(table) else np.zeros(0, np.int64),
        np.diff(np.frombuffer(table.starts, dtype=np.int64)),
        np.frombuffer(bytes(table.grad), dtype=np.uint8),
        np.frombuffer(bytes(shared[first:]), dtype=np.uint8),
    ]
    order = np.lexsort(keys[::-1])  # stable: the first key sorts first
    changes = np.zeros(max(len(order) - 1, 0), dtype=bool)
    for key in keys:
        changes |= np.diff(key[order]) != 0
    if not len(order):
        return order, np.zeros(1, dtype=np.int64)
    return order, np.concatenate([[0], np.flatnonzero(changes) + 1, [len(order)]])


class _Schedule:
    """The groups, in arrays: op (index into the program's ops), arity, first row, size, grad,
    shared, and where each group's input rows (``size * arity``, by node) start in ``child_rows``."""

    __slots__ = ("arity", "child_rows", "child_start", "first_row", "grad", "op", "shared", "size")

    def __init__(self) -> None:
        self.op, self.arity, self.first_row = array("i"), array("q"), array("q")
        self.size, self.child_start, self.child_rows = array("q"), array("q"), array("q")
        self.grad, self.shared = bytearray(), bytearray()


def _schedule(program: Program, order: Array, bounds: Array, row: array, shared: bytearray) -> _Schedule:
    """Give each group consecutive rows, its nodes in the order of their inputs' rows (so that a
    layer's outputs are contiguous and the next layer reads them as a slice), and record it.

    ``row`` (each slot's row; leaves keep their slots) is filled in place.
    """
    table, first = program.instructions, program.first_instruction
    starts, children, op_index = table.starts, table.children, table.op_index
    starts_np = np.frombuffer(table.starts, dtype=np.int64)
    children_np = np.frombuffer(table.children, dtype=np.int64)
    row_np = np.frombuffer(row, dtype=np.int64)
    sch, next_row = _Schedule(), first
    at, order_list = bounds.tolist(), order.tolist()
    for g in range(len(at) - 1):
        i, size = order_list[at[g]], at[g + 1] - at[g]
        arity = starts[i + 1] - starts[i]
        if size == 1:  # the common case in a deep graph: no NumPy call
            sch.child_rows.extend([row[c] for c in children[starts[i] : starts[i + 1]]])
            row[first + i] = next_row
        else:
            members = order[at[g] : at[g + 1]]
            kids = row_np[children_np[starts_np[members][:, None] + np.arange(arity)]]
            by_inputs = np.lexsort(kids.T[::-1]) if arity else np.arange(size)
            row_np[first + members[by_inputs]] = np.arange(next_row, next_row + size)
            sch.child_rows.extend(kids[by_inputs].ravel().tolist())
        sch.op.append(op_index[i])
        sch.arity.append(arity)
        sch.first_row.append(next_row)
        sch.size.append(size)
        sch.child_start.append(len(sch.child_rows) - size * arity)
        sch.grad.append(table.grad[i])
        sch.shared.append(shared[first + i])
        next_row += size
    return sch


STEPS_CACHED_UP_TO = 20_000
"""A program with at most this many groups keeps each group's NumPy step (closures, index
arrays) from :meth:`~NumpyBackend.prepare` on; a bigger one (a deep, thin graph: a
million-step chain is a million groups) keeps only its compact schedule and makes each
step again on every run, so that preparing it stays within a few dozen bytes per node."""

THIN_STEPS_CACHED_UP_TO = 500
"""The same limit for a thin program, whose groups hold fewer than :data:`WIDE_GROUP` nodes
on average (a chain: one node a group). Its steps cost about 1.3 KB a group, so keeping them
would cost that per node: it keeps them only up to this many groups (about 650 KB), and
makes them again on every run past it (slower replays, in a program NumPy does not suit:
it has no rows to batch)."""

WIDE_GROUP = 4
"""Average nodes per group from which a program counts as wide (its steps are cheap per node)."""


def _keeps_steps(n_groups: int, n_nodes: int) -> bool:
    """Whether a program of ``n_groups`` groups over ``n_nodes`` nodes keeps its steps."""
    if n_groups * WIDE_GROUP > n_nodes:  # thin
        return n_groups <= THIN_STEPS_CACHED_UP_TO
    return n_groups <= STEPS_CACHED_UP_TO


class BatchedProgram:
    """A :class:`~autograd_lite.compiler.trace.Program` scheduled level by level for NumPy.

    The schedule is a table of groups (op, arity, first row, size, grad,
    shared) and the rows of their inputs, in arrays; :attr:`steps` are the
    NumPy closures made from it (kept, or made on each run for a program of
    more than :data:`STEPS_CACHED_UP_TO` groups, or of more than
    :data:`THIN_STEPS_CACHED_UP_TO` for a thin one).
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        first_const, first = program.first_constant, program.first_instruction
        n = self.n_rows = program.n_slots
        level, shared = _levels(program)
        order, bounds = _groups(program, level, shared)
        slots = array("q", range(n))  # leaves keep their slots; each group gets consecutive rows
        self._schedule = _schedule(program, order, bounds, slots, shared)
        row = np.frombuffer(slots, dtype=np.int64)
        self.tracked = np.zeros(n, dtype=bool)
        self.tracked[:first_const] = True
        self.tracked[row[first:]] = np.frombuffer(bytes(program.instructions.grad), dtype=np.uint8) != 0
        self.param_rows = slice(program.n_inputs, first_const)
        self.constants = np.asarray(program.constants, dtype=float)
        self.const_rows = slice(first_const, first)
        self.output_rows = row[np.asarray(program.outputs, dtype=np.intp)].astype(np.intp)
        self.output_scatter = _Scatter(self.output_rows, self.tracked)
        self.guards = [
            (int(row[g.slot]), g.cmp, None if g.other is None else int(row[g.other]), g.constant, g.expected)
            for g in program.guards
        ]
        keep = _keeps_steps(self.n_groups, len(program.instructions))
        self._steps = list(self._make_steps()) if keep else None

    @property
    def n_groups(self) -> int:
        return len(self._schedule.op)

    @property
    def steps(self) -> Sequence[tuple[Any, Any, slice, bool]]:
        """``(forward, backward, rows, shared)`` for each group, in order (made anew for a big program)."""
        return self._steps if self._steps is not None else list(self._make_steps())

    def _steps_in_order(self, backward: bool = False) -> Any:
        if self._steps is not None:
            return reversed(self._steps) if backward else iter(self._steps)
        groups = range(self.n_groups - 1, -1, -1) if backward else range(self.n_groups)
        return (self._make_step(g) for g in groups)

    def _make_steps(self) -> Any:
        return (self._make_step(g) for g in range(self.n_groups))

    def _make_step(self, g: int) -> tuple[Any, Any, slice, bool]:
        sch = self._schedule
        op = self.program.instructions.ops[sch.op[g]]
        arity, first, k = sch.arity[g], sch.first_row[g], sch.size[g]
        lo = sch.child_start[g]
        idx = np.frombuffer(sch.child_rows, dtype=np.int64)[lo : lo + k * arity].reshape(k, arity)
        forward_step, backward_step = self._step(op, arity, bool(sch.grad[g]), idx.astype(np.intp), first)
        return forward_step, backward_step, slice(first, first + k), bool(sch.shared[g])

    # -- one group: forward and backward closures ------------------------------

    def _step(self, op: Any, arity: int, grad: bool, idx: Array, first: int) -> tuple[Any, Any]:
        k = len(idx)
        out = slice(first, first + k)
        if op is None:  # a detached copy
            src = _rows(idx[:, 0])

            def copy_forward(V: Array, invalid: Array) -> None:
                V[out] = V[src]

            return copy_forward, None
        if op is ops.DOT and op.rule_form == op.forward_form == "dot":
            return self._dot_step(idx, out, grad)
        if op is ops.SUM and op.rule_form == op.forward_form == "sum":
            cols = [_rows(idx[:, j]) for j in range(arity)]
            scatter = _Scatter(idx.ravel(), self.tracked)

            def sum_forward(V: Array, invalid: Array) -> None:
                if arity > 4:  # one gather; NumPy adds the terms in order along this axis
                    V[out] = V[idx].sum(axis=1)
                    return
                total = V[cols[0]].copy()
                for c in cols[1:]:
                    total += V[c]
                V[out] = total

            def sum_backward(V: Array, G: Array, GP: Array, per_sample: bool, invalid: Array) -> None:
                g = G[out]
                scatter.add(G, np.broadcast_to(g[:, None, :], (k, arity, g.shape[1])).reshape(k * arity, -1))

            return sum_forward, sum_backward if grad else None

        forward, derivative = _kernel(op, arity, grad)
        partial = not op.total  # may leave its domain: a non-finite result marks the sample
        cols = [_rows(idx[:, j]) for j in range(arity)]
        scatters = [_Scatter(idx[:, j], self.tracked) for j in range(arity)]

        def forward_step(V: Array, invalid: Array) -> None:
            inputs = [V[c] for c in cols]
            result = forward(*inputs)
            if partial:  # a non-finite input or result: eager's answer (or error) is computed one by one
                invalid |= ~np.isfinite(result).all(axis=0)
                for x in inputs:  # e.g. (-inf) ** -1.5 is 0.0 in NumPy, a ValueError in eager
                    invalid |= ~np.isfinite(x).all(axis=0)
            V[out] = result

        def backward_step(V: Array, G: Array, GP: Array, per_sample: bool, invalid: Array) -> None:
            g = G[out]
            locals_ = derivative(V[out], *[V[c] for c in cols])
            if partial:  # e.g. x**-1.5 at 1e-200: eager's derivative overflows (an error) or is inf
                for d in locals_:
                    if not isinstance(d, (int, float)):
                        invalid |= ~np.isfinite(d).all(axis=0)
            for scatter, d in zip(scatters, locals_):
                if not scatter.empty:
                    scatter.add(G, g if isinstance(d, (int, float)) and d == 1 else g * d)

        return forward_step, backward_step if grad else None

    def _dot_step(self, idx: Array, out: slice, grad: bool) -> tuple[Any, Any]:
        k, arity = idx.shape
        n, has_bias = arity // 2, arity % 2 == 1
        w_idx, x_idx = idx[:, :n], idx[:, n : 2 * n]
        b_rows = _rows(idx[:, -1]) if has_bias else None
        b_scatter = _Scatter(idx[:, -1], self.tracked) if has_bias else None
        p = self.param_rows
        dense = n > 0 and bool(
            (w_idx >= p.start).all() and (w_idx < p.stop).all() and (x_idx == x_idx[:1]).all()
        )
        if dense:
            w_flat = (w_idx - p.start).ravel()
            w_gather = w_flat.reshape(k, n)
            w_unique = len(np.unique(w_flat)) == len(w_flat)
            x_rows = _rows(x_idx[0])
            x_scatter = _Scatter(x_idx[0], self.tracked)
            w_scatter = _Scatter(w_idx.ravel(), self.tracked)

            def dense_forward(V: Array, invalid: Array) -> None:
                W = V[p, 0][w_gather]
                acc = W @ V[x_rows]
                if has_bias:
                    acc += V[b_rows]
                V[out] = acc

            def dense_backward(V: Array, G: Array, GP: Array, per_sample: bool, invalid: Array) -> None:
                g = G[out]
                W = V[p, 0][w_gather]
                X = V[x_rows]
                x_scatter.add(G, W.T @ g)
                if per_sample:
                    w_scatter.add(G, (g[:, None, :] * X[None, :, :]).reshape(k * n, -1))
                elif w_unique:
                    GP[w_flat] += (g @ X.T).ravel()
                else:
                    np.add.at(GP, w_flat, (g @ X.T).ravel())
                if has_bias:
                    b_scatter.add(G, g)  # type: ignore[union-attr]

            return dense_forward, dense_backward if grad else None

        w_scatter = _Scatter(w_idx.ravel(), self.tracked)
        x_scatter = _Scatter(x_idx.ravel(), self.tracked)

        def dot_forward(V: Array, invalid: Array) -> None:
            acc = (V[w_idx] * V[x_idx]).sum(axis=1) if n else np.zeros((k, V.shape[1]))
            if has_bias:
                acc += V[b_rows]
            V[out] = acc

        def dot_backward(V: Array, G: Array, GP: Array, per_sample: bool, invalid: Array) -> None:
            g = G[out][:, None, :]
            if n:
                x_scatter.add(G, (V[w_idx] * g).reshape(k * n, -1))
                w_scatter.add(G, (V[x_idx] * g).reshape(k * n, -1))
            if has_bias:
                b_scatter.add(G, G[out])  # type: ignore[union-attr]

        return dot_forward, dot_backward if grad else None

    # -- running ------------------------------------------------------------------

    def forward(self, inputs: Array, params: Array) -> tuple[Array, Array, Array]:
        """``V`` for a batch of inputs ``(batch, n_inputs)``; masks of failed guards, invalid samples."""
        B = inputs.shape[0]
        V = np.empty((self.n_rows, B))
        V[: self.program.n_inputs] = inputs.T
        V[self.param_rows] = params[:, None]
        V[self.const_rows] = self.constants[:, None]
        invalid = np.zeros(B, dtype=bool)
        with np.errstate(all="ignore"):
            column = V[:, :1]
            for forward_step, _, out, shared in self._steps_in_order():
                if shared:  # depends on no input: computed once, then copied to every sample
                    forward_step(column, invalid)
                    V[out] = V[out, :1]
                else:
                    forward_step(V, invalid)
        failed = np.zeros(B, dtype=bool)
        for a, cmp, b, constant, expected in self.guards:
            other = V[b] if b is not None else constant
            holds = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[cmp](
                V[a], other
            )
            failed |= holds != expected
        return V, failed, invalid

    def backward(self, V: Array, seeds: Array, per_sample: bool) -> tuple[Array, Array]:
        """Parameter gradients: ``(n_params,)`` summed over the batch, or ``(batch, n_params)``;
        and the mask of samples in which a partial op's local derivative is not finite."""
        G = np.zeros_like(V)
        invalid = np.zeros(V.shape[1], dtype=bool)
        GP = np.zeros(self.param_rows.stop - self.param_rows.start)
        if V.shape[1] == 0:  # no sample ran (all were replayed elsewhere)
            return (np.zeros((0, len(GP))) if per_sample else GP), invalid
        self.output_scatter.add(G, seeds)
        with np.errstate(all="ignore"):
            column, g_column = V[:, :1], G[:, :1]
            for _, backward_step, out, shared in self._steps_in_order(backward=True):
                if backward_step is None:
                    continue
                if shared and not per_sample:  # the batch's gradients summed, then passed back once
                    G[out, 0] = G[out].sum(axis=1)
                    backward_step(column, g_column, GP, per_sample, invalid)
                else:
                    backward_step(V, G, GP, per_sample, invalid)
        if per_sample:
            return G[self.param_rows].T, invalid
        return G[self.param_rows].sum(axis=1) + GP, invalid


def _as_matrix(batched_args: Sequence[Any], signature: Signature) -> Array:
    """The batch as a ``(batch, n_inputs)`` float array."""
    return batch_matrix(
        batched_args,
        signature,
        convert=lambda arg: np.asarray(arg, dtype=float),
        concatenate=lambda columns: np.concatenate(columns, axis=1),
        from_samples=lambda rows: np.asarray(rows, dtype=float).reshape(-1, signature.n_inputs),
    )


class NumpyBackend(Backend):
    """Every node of the same op at the same level, over the whole batch, in one NumPy call."""

    name = "numpy"

    def prepare(self, program: Program) -> BatchedProgram:
        return BatchedProgram(program)

    # -- data: arrays ---------------------------------------------------------------

    def inputs(self, batched_args: Sequence[Any], signature: Signature) -> Array:
        return _as_matrix(batched_args, signature)

    def seeds(self, grad_outputs: Any, size: int, signature: Signature) -> Array:
        n_out = signature.n_outputs
        if grad_outputs is None:
            return np.ones((n_out, size))
        g = np.asarray(grad_outputs, dtype=float)
        if g.ndim == 0:
            return np.full((n_out, size), float(g))
        if g.shape[0] != size:
            raise ValueError(f"grad_outputs: expected one per sample ({size}), got {g.shape[0]}")
        return np.broadcast_to(g.reshape(size, -1), (size, n_out)).T.copy()

    def size(self, batch: Array) -> int:
        return int(batch.shape[0])

    def sample(self, batch: Array, n: int) -> tuple[float, ...]:
        return tuple(batch[n].tolist())

    def seed(self, seeds: Array, n: int) -> tuple[float, ...]:
        return tuple(seeds[:, n].tolist())

    def place(self, grads: Array, columns: Sequence[int] | None, width: int, per_sample: bool) -> Array:
        if columns is None:  # the common case: every parameter, in order
            return np.ascontiguousarray(grads) if per_sample else grads
        cols = np.asarray(columns, dtype=np.intp)
        if per_sample:
            full = np.zeros((grads.shape[0], width))
            full[:, cols] = grads
        else:
            full = np.zeros(width)
            full[cols] = grads
        return full

    def results(self, rows: Array, signature: Signature) -> Array:
        return rows[:, 0] if signature.out_structure is None else rows

    # -- running --------------------------------------------------------------------

    def run(
        self, prepared: BatchedProgram, batch: Array, params: Sequence[float], seeds: Array, per_sample: bool
    ) -> BatchRun:
        X, B = batch, batch.shape[0]
        p = np.asarray(params, dtype=float)
        V, failed, invalid = prepared.forward(X, p)
        invalid &= ~failed
        skipped = failed | invalid
        if not skipped.any():
            grads, bad = prepared.backward(V, seeds, per_sample)
            if not bad.any():
                return BatchRun(V[prepared.output_rows].T, grads, [], [])
            invalid |= bad
            skipped |= bad
        # Only the samples that ran, again: the others' numbers must not reach any sum.
        ok = np.flatnonzero(~skipped)
        while True:
            V, _, _ = prepared.forward(X[ok], p)
            grads, bad = prepared.backward(V, seeds[:, ok], per_sample)
            if not bad.any():
                break
            invalid[ok[bad]] = True  # found by the backward pass: replayed alone, as the others
            ok = ok[~bad]
        outputs = np.empty((B, len(prepared.program.outputs)))
        outputs[ok] = V[prepared.output_rows].T
        if per_sample:
            rows = np.zeros((B, grads.shape[1]))
            rows[ok] = grads
            grads = rows
        return BatchRun(outputs, grads, np.flatnonzero(failed).tolist(), np.flatnonzero(invalid).tolist())

    def forward(self, prepared: BatchedProgram, batch: Array, params: Sequence[float]) -> BatchRun:
        V, failed, invalid = prepared.forward(batch, np.asarray(params, dtype=float))
        invalid &= ~failed
        outputs = V[prepared.output_rows].T
        return BatchRun(outputs, None, np.flatnonzero(failed).tolist(), np.flatnonzero(invalid).tolist())
