"""A traced program over a whole batch at once, with NumPy, level by level.

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

Errors: comparisons (guards) are checked per sample; samples whose guards
fail are replayed one by one through the traced functions (retracing as
needed). A sample outside an op's domain (``log`` of a negative number, ...)
is replayed alone too, so it raises exactly the error ``backward()`` would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd_lite import ops
from autograd_lite.trace import Program, Structure

if TYPE_CHECKING:
    from autograd_lite.compiler import BatchResult, CompiledFunction

__all__ = ["BatchedProgram", "run_batch"]

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


# ----------------------------------------------------------------------------
# Elementwise ops on whole arrays: forward, local derivatives (given the output
# and the inputs), and the samples outside the domain. Side by side, as in the
# op table.


def _sigmoid(x: Array) -> Array:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_Kernel = tuple[Callable[..., Array], Callable[..., list[Array]], Callable[..., Array] | None]

_KERNELS: dict[Any, _Kernel] = {
    ops.ADD: (np.add, lambda o, a, b: [1.0, 1.0], None),
    ops.SUB: (np.subtract, lambda o, a, b: [1.0, -1.0], None),
    ops.MUL: (np.multiply, lambda o, a, b: [b, a], None),
    ops.DIV: (np.divide, lambda o, a, b: [1.0 / b, -o / b], lambda a, b: b == 0),
    ops.NEG: (np.negative, lambda o, a: [-1.0], None),
    ops.ABS: (np.abs, lambda o, a: [np.sign(a)], None),
    ops.RELU: (lambda a: np.maximum(a, 0.0), lambda o, a: [a > 0], None),
    ops.TANH: (np.tanh, lambda o, a: [1.0 - o * o], None),
    ops.SIGMOID: (_sigmoid, lambda o, a: [o * (1.0 - o)], None),
    ops.SOFTPLUS: (
        lambda a: np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a))),
        lambda o, a: [_sigmoid(a)],
        None,
    ),
    ops.EXP: (np.exp, lambda o, a: [o], lambda a: a > 709.782712893384),
    ops.LOG: (np.log, lambda o, a: [1.0 / a], lambda a: a <= 0),
    ops.SQRT: (
        np.sqrt,
        lambda o, a: [np.where(o > 0, 0.5 / np.where(o > 0, o, 1.0), np.inf)],
        lambda a: a < 0,
    ),
    ops.SIN: (np.sin, lambda o, a: [np.cos(a)], None),
    ops.COS: (np.cos, lambda o, a: [-np.sin(a)], None),
    ops.POW: (
        np.power,
        lambda o, a, b: [
            np.where(a > 0, b * np.power(a, b - 1), np.where(b < 1, np.inf, b * np.power(a, b - 1))),
            np.where(a > 0, o * np.log(np.where(a > 0, a, 1.0)), 0.0),
        ],
        lambda a, b: (a < 0) | ((a == 0) & (b <= 0)),
    ),
}


def _family_kernel(op: Any) -> _Kernel | None:
    """Kernels for the parametrised ops: ``x ** k`` and ``leaky_relu(slope)``."""
    if op.startswith("**"):
        k = float(op[2:])
        integer = k.is_integer()

        def power_derivative(o: Array, a: Array) -> list[Array]:
            if k >= 1:
                return [k * np.power(a, k - 1)]
            safe = np.where(a == 0, 1.0, a)
            return [np.where(a == 0, 0.0 if k == 0 else np.inf, k * np.power(safe, k - 1))]

        def power_domain(a: Array) -> Array:
            bad = (a == 0) if k < 0 else np.zeros(a.shape, dtype=bool)
            return bad if integer else bad | (a < 0)

        if k == 2:
            return (np.square, lambda o, a: [2.0 * a], None)
        return (lambda a: np.power(a, k), power_derivative, power_domain)
    if op.startswith("LeakyReLU("):
        slope = float(op[len("LeakyReLU(") : -1])
        return (lambda a: np.where(a > 0, a, slope * a), lambda o, a: [np.where(a > 0, 1.0, slope)], None)
    return None


def _python_kernel(op: Any, arity: int) -> _Kernel:
    """Any other op (a custom one): its own forward and derivative, sample by sample."""
    forward = np.frompyfunc(lambda *xs: float(op.forward(*xs)), arity, 1)

    def derivative(o: Array, *a: Array) -> list[Array]:
        ds = [op.derivative(oo, *xs) for oo, xs in zip(o.ravel(), zip(*[x.ravel() for x in a]))]
        cols = [ds] if len(a) == 1 else list(zip(*ds))
        return [np.array(c, dtype=float).reshape(o.shape) for c in cols]

    return (lambda *a: forward(*a).astype(float), derivative, None)


# ----------------------------------------------------------------------------


class BatchedProgram:
    """A :class:`~autograd_lite.trace.Program` scheduled level by level for NumPy."""

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
                ins.op or "",
                len(ins.children),
                ins.grad,
                shared[ins.slot],
            )
            groups[key].append(ins)

        # Rows: leaves keep their slots; each group's nodes get consecutive rows.
        row = list(range(first_instr)) + [0] * (n - first_instr)
        next_row = first_instr
        ordered: list[tuple[Any, list[Any]]] = []
        for key in sorted(groups, key=lambda k: (k[0], str(k[2]), k[3], k[1], k[4], k[5])):
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
            forward_step, backward_step = self._step(key[:5], children, row[members[0].slot])
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
        if op == ops.DOT:
            return self._dot_step(idx, out, grad)
        if op == ops.SUM:
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

        kernel = _KERNELS.get(op) or _family_kernel(op) or _python_kernel(op, arity)
        forward, derivative, domain = kernel
        cols = [_rows(idx[:, j]) for j in range(arity)]
        scatters = [_Scatter(idx[:, j], self.tracked) for j in range(arity)]

        def forward_step(V: Array, invalid: Array) -> None:
            args = [V[c] for c in cols]
            if domain is not None:
                invalid |= domain(*args).any(axis=0)
            V[out] = forward(*args)

        def backward_step(V: Array, G: Array, GP: Array, per_sample: bool) -> None:
            g = G[out]
            locals_ = derivative(V[out], *[V[c] for c in cols])
            for scatter, d in zip(scatters, locals_):
                if not scatter.empty:
                    scatter.add(G, g * d if not (isinstance(d, float) and d == 1.0) else g)

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


def _leaf_count(structure: Structure) -> int:
    return 1 if structure is None else sum(_leaf_count(s) for s in structure)


def _as_matrix(cf: CompiledFunction, batched_args: Sequence[Any]) -> Array:
    """The batch as a ``(batch, n_inputs)`` float array."""
    if len(batched_args) != len(cf.in_structure):
        raise TypeError(
            f"compiled function takes {len(cf.in_structure)} batched argument(s), got {len(batched_args)}"
        )
    columns = []
    try:
        for i, (arg, s) in enumerate(zip(batched_args, cf.in_structure)):
            a = np.asarray(arg, dtype=float)
            if a.ndim == 0:
                raise ValueError
            columns.append(a.reshape(len(a), -1))
            if columns[-1].shape[1] != _leaf_count(s):
                raise TypeError(
                    f"batched argument {i}: each sample has {columns[-1].shape[1]} number(s), "
                    f"expected {_leaf_count(s)}"
                )
        if len({c.shape[0] for c in columns}) > 1:
            raise ValueError(
                f"batched arguments have different lengths {sorted({c.shape[0] for c in columns})}"
            )
    except ValueError:  # ragged or mismatched: check each sample, with a message naming it
        return np.asarray(cf._samples(batched_args), dtype=float).reshape(-1, cf.program.n_inputs)
    if not columns:
        raise TypeError("batch: a function without inputs has nothing to batch over; call it instead")
    return np.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]


def forward_batch(cf: CompiledFunction, batched_args: Sequence[Any]) -> Array:
    """:meth:`CompiledFunction.forward_batch` with ``backend="numpy"``."""
    X = _as_matrix(cf, batched_args)
    trace = cf.traces[0]
    program = trace.batched
    V, failed, invalid = program.forward(X, np.asarray(trace.param_data(), dtype=float))
    outputs = V[program.output_rows].T
    for n in np.flatnonzero(failed | invalid):  # replayed alone: other traces, or the op's own error
        outputs[n] = cf._run_one(tuple(X[n].tolist()), (0.0,) * outputs.shape[1])[1]
    return outputs[:, 0] if cf.out_structure is None else outputs


def run_batch(
    cf: CompiledFunction, batched_args: Sequence[Any], grad_outputs: Any, per_sample: bool, accumulate: bool
) -> BatchResult:
    """:meth:`CompiledFunction.batch` with ``backend="numpy"``."""
    from autograd_lite.compiler import BatchResult

    X = _as_matrix(cf, batched_args)
    B = X.shape[0]
    trace = cf.traces[0]
    program = trace.batched
    n_out = len(trace.program.outputs)
    if grad_outputs is None:
        seeds = np.ones((n_out, B))
    else:
        g = np.asarray(grad_outputs, dtype=float)
        if g.ndim == 0:
            seeds = np.full((n_out, B), float(g))
        elif g.shape[0] != B:
            raise ValueError(f"grad_outputs: expected one per sample ({B}), got {g.shape[0]}")
        else:
            seeds = np.broadcast_to(g.reshape(B, -1), (B, n_out)).T.copy()

    V, failed, invalid = program.forward(X, np.asarray(trace.param_data(), dtype=float))
    if (invalid & ~failed).any():  # replay that sample alone: it raises the op's own error
        n = int(np.flatnonzero(invalid & ~failed)[0])
        cf._run_one(tuple(X[n].tolist()), tuple(seeds[:, n].tolist()))
        raise ValueError(f"batch: sample {n} is outside an op's domain")
    if failed.any():
        ok = np.flatnonzero(~failed)
        V, _, _ = program.forward(X[ok], np.asarray(trace.param_data(), dtype=float))
        seeds_ok = seeds[:, ok]
    else:
        ok, seeds_ok = None, seeds
    grads = program.backward(V, seeds_ok, per_sample)
    outputs = V[program.output_rows].T  # (samples, n_out)

    replayed = []  # samples whose guards failed, one by one (may retrace: new params)
    if ok is not None:
        all_outputs = np.empty((B, n_out))
        all_outputs[ok] = outputs
        for bad in np.flatnonzero(failed).tolist():
            other, outs, pgrads, _ = cf._run_one(tuple(X[bad].tolist()), tuple(seeds[:, bad].tolist()))
            all_outputs[bad] = outs
            replayed.append((bad, other.params, pgrads))
        outputs = all_outputs

    params = cf.params
    index = cf._params
    cols = np.asarray(trace.columns, dtype=np.intp)
    if not replayed and not per_sample and len(cols) == len(params) and trace.in_order:
        full = grads  # the common case: this trace has every parameter, in order
    elif per_sample:
        full = np.zeros((B, len(params)))
        full[np.ix_(ok if ok is not None else np.arange(B), cols)] = grads
    else:
        full = np.zeros(len(params))
        full[cols] = grads
    for n, other_params, pgrads in replayed:
        for p, gp in zip(other_params, pgrads):
            if per_sample:
                full[n, index[p]] += gp
            else:
                full[index[p]] += gp
    if accumulate and not per_sample:
        for p, g in zip(params, full.tolist()):
            p.grad += g
    if cf.out_structure is None:
        outputs = outputs[:, 0]
    return BatchResult(outputs, full)
