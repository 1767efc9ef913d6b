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
domains (``log`` of a negative number, ...). This backend only reports such
samples (``failed``, ``invalid``): the core replays them one by one through
the traces, retracing as needed, so that an invalid sample raises exactly the
error ``backward()`` would (see :mod:`~autograd_lite.compiler.backend`).

A batch is a ``(batch, n_inputs)`` float array, seeds a ``(n_outputs, batch)``
array; outputs come back as an array with one row per sample.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from autograd_lite._optional import optional_dependency

with optional_dependency("numpy", "the 'numpy' compile backend"):
    import numpy as np

from autograd_lite import ops
from autograd_lite.compiler.backend import Backend, BatchRun
from autograd_lite.compiler.trace import Program, Signature, leaf_count

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


def _kernel(op: Any, arity: int) -> tuple[Callable[..., Array], Callable[..., Sequence[Any]]]:
    """The op's forward and its local derivatives on arrays (one per input)."""
    derivative = op.interpretation("array", arity)
    if op.arity == 1:
        return op.forward_on_arrays(arity), lambda *a: (derivative(*a),)
    return op.forward_on_arrays(arity), derivative


# ============================================================================


class BatchedProgram:
    """A :class:`~autograd_lite.compiler.trace.Program` scheduled level by level for NumPy."""

    def __init__(self, program: Program) -> None:
        self.program = program
        n_in, first_const, first_instr = program.n_inputs, program.first_constant, program.first_instruction
        n = program.n_slots
        level = [0] * n
        shared = [False] * n_in + [True] * (n - n_in)  # the same for every sample
        for ins in program.instructions:
            level[ins.slot] = 1 + max((level[c] for c in ins.children), default=0)
            shared[ins.slot] = all(shared[c] for c in ins.children)
        groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for ins in program.instructions:
            key = (
                level[ins.slot],
                ins.op is None,
                id(ins.op),  # by identity: two ops may show the same text
                len(ins.children),
                ins.grad,
                shared[ins.slot],
            )
            groups[key].append(ins)

        # Rows: leaves keep their slots; each group's nodes get consecutive rows.
        row = list(range(first_instr)) + [0] * (n - first_instr)
        next_row = first_instr
        ordered: list[tuple[Any, list[Any]]] = []
        op_of = {id(ins.op): ins.op for ins in program.instructions}
        for key in sorted(groups, key=lambda k: (k[0], str(op_of[k[2]]), k[2], k[3], k[1], k[4], k[5])):
            members = sorted(groups[key], key=lambda ins: tuple(row[c] for c in ins.children))
            for ins in members:
                row[ins.slot] = next_row
                next_row += 1
            ordered.append((key, members))
        self.n_rows = n
        self.tracked = np.zeros(n, dtype=bool)
        self.tracked[:first_const] = True
        for ins in program.instructions:
            self.tracked[row[ins.slot]] = ins.grad
        self.param_rows = slice(n_in, first_const)
        self.constants = np.asarray(program.constants, dtype=float)
        self.const_rows = slice(first_const, first_instr)
        self.output_rows = np.asarray([row[s] for s in program.outputs], dtype=np.intp)
        self.output_scatter = _Scatter(self.output_rows, self.tracked)
        self.guards = [
            (row[g.slot], g.cmp, None if g.other is None else row[g.other], g.constant, g.expected)
            for g in program.guards
        ]
        self.steps = []
        for key, members in ordered:
            children = [[row[c] for c in ins.children] for ins in members]
            step_key = (key[0], key[1], members[0].op, *key[3:5])
            forward_step, backward_step = self._step(step_key, children, row[members[0].slot])
            first = row[members[0].slot]
            self.steps.append((forward_step, backward_step, slice(first, first + len(members)), key[5]))

    # -- one group: forward and backward closures ------------------------------

    def _step(self, key: tuple[Any, ...], children: list[list[int]], first: int) -> tuple[Any, Any]:
        _, is_copy, op, arity, grad = key
        k = len(children)
        out = slice(first, first + k)
        idx = np.asarray(children, dtype=np.intp).reshape(k, arity)
        if is_copy:
            src = _rows(idx[:, 0])

            def copy_forward(V: Array, invalid: Array) -> None:
                V[out] = V[src]

            return copy_forward, None
        if op is ops.DOT and op.rule_form == "dot":
            return self._dot_step(idx, out, grad)
        if op is ops.SUM and op.rule_form == "sum":
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

            def sum_backward(V: Array, G: Array, GP: Array, per_sample: bool) -> None:
                g = G[out]
                scatter.add(G, np.broadcast_to(g[:, None, :], (k, arity, g.shape[1])).reshape(k * arity, -1))

            return sum_forward, sum_backward if grad else None

        forward, derivative = _kernel(op, arity)
        partial = not op.total  # may leave its domain: a non-finite result marks the sample
        cols = [_rows(idx[:, j]) for j in range(arity)]
        scatters = [_Scatter(idx[:, j], self.tracked) for j in range(arity)]

        def forward_step(V: Array, invalid: Array) -> None:
            result = forward(*[V[c] for c in cols])
            if partial:
                invalid |= ~np.isfinite(result).all(axis=0)
            V[out] = result

        def backward_step(V: Array, G: Array, GP: Array, per_sample: bool) -> None:
            g = G[out]
            locals_ = derivative(V[out], *[V[c] for c in cols])
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

            def dense_backward(V: Array, G: Array, GP: Array, per_sample: bool) -> None:
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

        def dot_backward(V: Array, G: Array, GP: Array, per_sample: bool) -> None:
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
            for forward_step, _, out, shared in self.steps:
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

    def backward(self, V: Array, seeds: Array, per_sample: bool) -> Array:
        """Parameter gradients: ``(n_params,)`` summed over the batch, or ``(batch, n_params)``."""
        G = np.zeros_like(V)
        GP = np.zeros(self.param_rows.stop - self.param_rows.start)
        self.output_scatter.add(G, seeds)
        with np.errstate(all="ignore"):
            column, g_column = V[:, :1], G[:, :1]
            for _, backward_step, out, shared in reversed(self.steps):
                if backward_step is None:
                    continue
                if shared and not per_sample:  # the batch's gradients summed, then passed back once
                    G[out, 0] = G[out].sum(axis=1)
                    backward_step(column, g_column, GP, per_sample)
                else:
                    backward_step(V, G, GP, per_sample)
        if per_sample:
            return G[self.param_rows].T
        return G[self.param_rows].sum(axis=1) + GP


def _as_matrix(batched_args: Sequence[Any], signature: Signature) -> Array:
    """The batch as a ``(batch, n_inputs)`` float array."""
    if len(batched_args) != len(signature.in_structure):
        raise TypeError(
            f"compiled function takes {len(signature.in_structure)} batched argument(s), "
            f"got {len(batched_args)}"
        )
    columns = []
    try:
        for i, (arg, s) in enumerate(zip(batched_args, signature.in_structure)):
            try:
                a = np.asarray(arg, dtype=float)
            except TypeError:  # Values (float() refuses them) or other objects: read sample by sample
                raise ValueError from None
            if a.ndim == 0:
                raise ValueError
            columns.append(a.reshape(len(a), -1))
            if columns[-1].shape[1] != leaf_count(s):
                raise TypeError(
                    f"batched argument {i}: each sample has {columns[-1].shape[1]} number(s), "
                    f"expected {leaf_count(s)}"
                )
        if len({c.shape[0] for c in columns}) > 1:
            raise ValueError(
                f"batched arguments have different lengths {sorted({c.shape[0] for c in columns})}"
            )
    except ValueError:  # ragged or mismatched: check each sample, with a message naming it
        return np.asarray(signature.samples(batched_args), dtype=float).reshape(-1, signature.n_inputs)
    if not columns:
        raise TypeError("batch: a function without inputs has nothing to batch over; call it instead")
    return np.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]


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
            grads = prepared.backward(V, seeds, per_sample)
            return BatchRun(V[prepared.output_rows].T, grads, [], [])
        # Only the samples that ran, again: the others' numbers must not reach any sum.
        ok = np.flatnonzero(~skipped)
        V, _, _ = prepared.forward(X[ok], p)
        grads = prepared.backward(V, seeds[:, ok], per_sample)
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
