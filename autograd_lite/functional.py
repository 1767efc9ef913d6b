"""Derivatives as functions: ``grad``, ``jacobian``, ``hessian``, and derivatives of derivatives.

``backward()`` answers one question, "what is d(root)/d(leaf) for every leaf",
and writes the answers into ``.grad``. This module asks the same question
without touching ``.grad``, for the inputs you name, and can answer it with
``Value``s instead of floats: with ``create_graph=True`` every gradient is
itself a graph-connected ``Value``, so it can be differentiated again.

How: reverse mode over the recorded graph, accumulating adjoints
``adj[child] += adj[node] * d node / d child`` in a dictionary. The local
derivative comes from the node's op rule (:mod:`autograd_lite.ops`). With
floats for arguments the rule gives a number; called with the node itself
and its child ``Value``s, the *same* rule builds the graph of the
derivative. There is one rule per op, for every order.

Example (Newton's method, ``x <- x - f'(x) / f''(x)``, minimising
``f(x) = x**4 - 3 x**2 + x`` from ``x = 2``):

    >>> from autograd_lite import Value
    >>> from autograd_lite.functional import grad
    >>> x = Value(2.0)
    >>> for _ in range(8):
    ...     y = x**4 - 3 * x**2 + x
    ...     slope = grad(y, x, create_graph=True)  # f'(x), a Value
    ...     curvature = grad(slope, x)  # f''(x), a float
    ...     x = Value(x.data - slope.data / curvature)
    >>> round(x.data, 6)  # a root of f'(x) = 4 x**3 - 6 x + 1
    1.130901
    >>> abs(4 * x.data**3 - 6 * x.data + 1) < 1e-12
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Union, overload

from autograd_lite.engine import Value, _chain_rule_error, enable_grad, local_derivatives, topological_order
from autograd_lite.ops import Op

_NO_RULE = (
    "node {node!r} (op {op!r}) was made with Value(data, _children, _op) and its own _backward "
    "closure: its local derivatives can be read as numbers (by calling the closure) but it has no "
    "rule to build them as a graph, so create_graph=True (and higher derivatives) cannot go through it"
)

__all__ = ["grad", "hessian", "jacobian", "jvp"]

Number = Union[int, float]
Gradient = Union[float, Value]


def _times(g: Any, d: Any) -> Any:
    """g * d, without recording a node when one side is the number 1 (exact: x * 1 is x).

    Every other product is computed, zeros included: ``0 * inf`` is nan (IEEE 754),
    as in ``backward()``.
    """
    if d.__class__ is float or d.__class__ is int:
        if d == 1:
            return g
    elif g.__class__ is float and g == 1:
        return d
    return g * d


def _plus(total: Any, term: Any) -> Any:
    """total + term, where either may be the float 0."""
    if total.__class__ is float and total == 0:
        return term
    if term.__class__ is float and term == 0:
        return total
    return total + term


@overload
def grad(
    outputs: Value | Sequence[Value],
    inputs: Value,
    grad_outputs: Number | Sequence[Number] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> Any: ...
@overload
def grad(
    outputs: Value | Sequence[Value],
    inputs: Sequence[Value],
    grad_outputs: Number | Sequence[Number] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Any]: ...


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: Number | Sequence[Number] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> Any:
    """The gradient of ``outputs`` with respect to each of ``inputs``, as ``torch.autograd.grad``.

    Reverse-mode differentiation of the graph the outputs were built from:
    ``sum_k grad_outputs[k] * d outputs[k] / d input``, each derivative
    summed over every path from the input to the output (the chain rule).
    Unlike ``backward()`` it writes no ``.grad`` anywhere, runs no hooks, and
    only visits the part of the graph between the inputs and the outputs.

    Args:
        outputs: a ``Value`` (the function's result), or a sequence of them.
        inputs: a ``Value`` or a sequence of ``Value``s (leaves or interior nodes).
        grad_outputs: the seed per output (a number, or one per output);
            ``None`` is 1 for each.
        retain_graph: accepted for PyTorch's signature and ignored: graphs
            are never freed by a backward pass here.
        create_graph: if ``False``, return floats. If ``True``, return
            ``Value``s connected to the graph (the derivative is built out of
            recorded ops, even inside ``no_grad()``), which can be passed to
            ``grad`` or ``backward()`` again for second and higher
            derivatives. A gradient that does not depend on any input (a
            constant) is then a new leaf ``Value``.
        allow_unused: an input that no output depends on is a
            ``RuntimeError`` (a mistake, usually: the wrong variable), as in
            PyTorch; with ``allow_unused=True`` its gradient is ``None``.

    Returns:
        One gradient per input, in order: a list for a sequence of inputs, a
        single gradient for a single input ``Value``.

    Raises:
        TypeError: an output or an input is not a ``Value``; a seed is not a number.
        ValueError: ``grad_outputs`` does not have one seed per output.
        RuntimeError: an output does not depend on an input (without ``allow_unused``).
    """
    single = isinstance(inputs, Value)
    wrt: list[Value] = [inputs] if single else list(inputs)  # type: ignore[list-item, arg-type]
    for i, v in enumerate(wrt):
        if not isinstance(v, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(v).__name__} {v!r}")
    seeded = _seeded_outputs(outputs, grad_outputs)
    grads = _gradients(seeded, wrt, create_graph)
    if not allow_unused:
        unused = [i for i, g in enumerate(grads) if g is None]
        if unused:
            i = unused[0]
            raise RuntimeError(
                f"grad: input {wrt[i]!r} (inputs[{i}]) is not used to compute the output(s): the output "
                "does not depend on it. Pass allow_unused=True to get None for it (as in PyTorch)"
            )
    return grads[0] if single else grads


def _seeded_outputs(outputs: Any, grad_outputs: Any) -> list[tuple[Value, float]]:
    """``(output, seed)`` pairs, every output checked to be a Value and every seed a number."""
    many = not isinstance(outputs, Value) and isinstance(outputs, Sequence)
    outs = list(outputs) if many else [outputs]
    for k, y in enumerate(outs):
        if not isinstance(y, Value):
            where = f"outputs[{k}]" if many else "output"
            raise TypeError(f"grad: {where} must be a Value, got {type(y).__name__} {y!r}")
    if grad_outputs is None:
        seeds: list[Any] = [1.0] * len(outs)
    else:
        seeds = list(grad_outputs) if isinstance(grad_outputs, Sequence) else [grad_outputs]
        if len(seeds) != len(outs):
            raise ValueError(f"grad: {len(seeds)} grad_outputs for {len(outs)} outputs; give one per output")
    for s in seeds:
        if isinstance(s, Value) or not isinstance(s, (int, float)):
            raise TypeError(f"grad: grad_outputs must be numbers, got {type(s).__name__} {s!r}")
    return [(y, float(s)) for y, s in zip(outs, seeds)]


def _gradients(seeded: list[tuple[Value, float]], wrt: list[Value], create_graph: bool) -> list[Any]:
    """d(sum of seed * output)/d input per input; ``None`` for an input no output depends on."""
    total: list[Any] = [None] * len(wrt)
    for output, seed in seeded:
        if create_graph:
            with enable_grad():
                adjoints = _adjoints(output, wrt, create_graph=True)
        else:
            adjoints = _adjoints(output, wrt, create_graph=False)
        for i, v in enumerate(wrt):
            if v in adjoints:
                term = _times(adjoints[v], seed) if seed != 1 else adjoints[v]
                total[i] = term if total[i] is None else _plus(total[i], term)
    if create_graph:
        return [g if g is None or isinstance(g, Value) else Value(g) for g in total]
    return [g if g is None else float(g) for g in total]


def _zeros_for_unused(grads: list[Any], create_graph: bool = False) -> list[Any]:
    """``grads`` with 0 (a float, or a leaf Value with ``create_graph``) in place of ``None``."""
    return [(Value(0.0) if create_graph else 0.0) if g is None else g for g in grads]


def _adjoints(output: Value, wrt: list[Value], create_graph: bool) -> dict[Value, Any]:
    """d output / d node for every node on a path from an input in ``wrt`` to ``output``."""
    order = topological_order(output)  # children before parents
    targets = set(wrt)
    # A node matters if it is an input or depends on one: only those get adjoints.
    relevant = set()
    for node in order:
        if node in targets or any(child in relevant for child in node._prev):
            relevant.add(node)
    adjoints: dict[Value, Any] = {}
    if output not in relevant:
        return adjoints
    adjoints[output] = 1.0
    node = output
    try:
        for node in reversed(order):
            kids = node._prev
            if not kids or node not in relevant:
                continue
            g = adjoints.get(node, 0.0)
            op: Any = node._op
            if not isinstance(op, Op):  # a node with its own _backward closure: probed, floats only
                if create_graph:
                    raise TypeError(_NO_RULE.format(op=op, node=node))
                ds = local_derivatives(node)
            elif create_graph:  # the rule on Values: the derivative becomes graph
                ds = op.interpretation("value")(node, *kids)
            else:
                ds = op.derivative(node.data, *[k.data for k in kids])
            if isinstance(op, Op) and op.arity == 1:
                ds = (ds,)
            for child, d in zip(kids, ds):
                if child in relevant:
                    adjoints[child] = _plus(adjoints.get(child, 0.0), _times(g, d))
    except Exception as error:  # say where: the node, its op, the numbers
        failure = _chain_rule_error("grad()", node, adjoints.get(node, 0.0), error)
        if failure is error:
            raise
        raise failure from error
    return adjoints


def jvp(
    f: Callable[..., Any],
    inputs: Sequence[Number | Value],
    tangents: Sequence[Number],
    create_graph: bool = False,
) -> tuple[Any, Any]:
    """Forward mode: ``f(inputs)`` and its directional derivative along ``tangents``.

    Dual numbers, on the op table's rules: every value ``v`` carries a
    tangent ``dv``, the inputs' given, and each node's is the sum over its
    inputs of local derivative times tangent,
    ``d out = sum_i (d out / d x_i) * d x_i`` (the same rule ``backward()``
    uses, read the other way). The tangents are pushed from the inputs to
    the output through the recorded graph, node by node. The result is the
    Jacobian-vector product ``J v``: one pass per direction, whatever the
    number of outputs (reverse mode is one pass per output).

    Args:
        f: takes one ``Value`` per input; returns a ``Value`` or a sequence
            of ``Value``s.
        inputs: the point. A number becomes a fresh leaf; a ``Value`` is
            passed to ``f`` itself (so ``f`` may be a closure over it, and a
            ``jvp`` inside ``f`` stays connected to the graph).
        tangents: the direction, one number per input. A tangent of 0 means
            "not along this input" (as JAX's symbolic zeros): the input's
            terms are not computed, so ``jvp`` along the i-th unit vector is
            exactly ``grad``'s i-th component, also where another input's
            local derivative is inf or nan (``0 * inf`` would be nan).
        create_graph: if ``True``, the output and its tangent are returned as
            graph-connected ``Value``s that can be differentiated again
            (forward over forward, or reverse over forward).

    Returns:
        ``(output, tangent)``: floats (or ``Value``s with ``create_graph``), or
        lists of them when ``f`` returns a sequence.

    Example:
        >>> jvp(lambda x, y: x * y + x.sin(), [0.0, 2.0], [1.0, 0.0])  # d/dx = y + cos(x)
        (0.0, 3.0)
    """
    args = [v if isinstance(v, Value) else Value(v) for v in _leaves(inputs, copy=False)]
    if isinstance(tangents, Value) or not isinstance(tangents, Sequence) or len(tangents) != len(args):
        raise TypeError(f"jvp: give one tangent per input ({len(args)}), got {tangents!r}")
    with enable_grad():
        outputs = f(*args)
        single = isinstance(outputs, Value)
        outs = [outputs] if single else list(outputs) if isinstance(outputs, Sequence) else None
        if outs is None or not all(isinstance(y, Value) for y in outs):
            raise TypeError(f"jvp: f must return a Value or a sequence of Values, got {outputs!r}")
        seeds: dict[Value, Any] = {}
        for x, t in zip(args, tangents):
            if isinstance(t, Value) or t != 0:  # a zero tangent: x is not differentiated along
                seeds[x] = _plus(seeds.get(x, 0.0), t if isinstance(t, Value) else float(t))
        pushed = _tangents(outs, seeds, create_graph)
    results: list[tuple[Any, Any]]
    if create_graph:
        results = [(y, t if isinstance(t, Value) else Value(t)) for y, t in zip(outs, pushed)]
    else:
        results = [(y.data, t.data if isinstance(t, Value) else float(t)) for y, t in zip(outs, pushed)]
    if single:
        return results[0]
    return [r[0] for r in results], [r[1] for r in results]


def _tangents(outputs: list[Value], seeds: dict[Value, Any], create_graph: bool) -> list[Any]:
    """The tangent of each output: seeds pushed forward through the graph, children first."""
    tangent: dict[Value, Any] = dict(seeds)
    done: set[Value] = set(seeds)
    node: Any = None
    try:
        for node in (n for out in outputs for n in topological_order(out)):
            if node in done:
                continue
            done.add(node)
            kids = node._prev
            if not kids or not any(k in tangent for k in kids):
                continue
            op: Any = node._op
            if create_graph:
                ds = op.interpretation("value")(node, *kids)
            else:
                ds = op.derivative(node.data, *[k.data for k in kids])
            if op.arity == 1:
                ds = (ds,)
            total: Any = 0.0
            for child, d in zip(kids, ds):
                if child in tangent:
                    total = _plus(total, _times(tangent[child], d))
            tangent[node] = total
    except Exception as error:  # say where: the node, its op, the numbers
        if node is None:
            raise
        ins = [tangent.get(k, 0.0) for k in node._prev]
        failure = _chain_rule_error("jvp()", node, ins, error, "input tangents")
        if failure is error:
            raise
        raise failure from error
    return [tangent.get(y, 0.0) for y in outputs]


def _leaves(inputs: Sequence[Number | Value], copy: bool = True) -> list[Value]:
    if isinstance(inputs, Value) or not isinstance(inputs, Sequence):
        raise TypeError(
            f"inputs must be a sequence of numbers or Values, got {type(inputs).__name__}; "
            "wrap a single input in a list: [x]"
        )
    if not inputs:
        raise ValueError("inputs is empty: give at least one point to differentiate at")
    if not copy:
        return list(inputs)  # type: ignore[arg-type]
    return [Value(v.data if isinstance(v, Value) else v) for v in inputs]


def jacobian(f: Callable[..., Any], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The Jacobian matrix ``J[i][j] = d f_i / d x_j`` at ``inputs``.

    Args:
        f: takes one ``Value`` per input and returns a sequence of ``Value``s
            (the outputs ``f_1 .. f_m``) or a single ``Value`` (one row).
        inputs: the point, as numbers or ``Value``s (their ``.data``; fresh
            leaves are made, so no existing ``.grad`` changes).

    Returns:
        ``m`` rows of ``n`` floats, one row per output, one column per input.
    """
    leaves = _leaves(inputs)
    outputs = f(*leaves)
    if isinstance(outputs, Value):
        outputs = [outputs]
    if not isinstance(outputs, Sequence) or not all(isinstance(y, Value) for y in outputs):
        raise TypeError(f"jacobian: f must return a Value or a sequence of Values, got {outputs!r}")
    return [_grad_or_zero(y, leaves) for y in outputs]


def hessian(f: Callable[..., Any], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The Hessian matrix ``H[i][j] = d**2 f / (d x_i d x_j)`` at ``inputs``.

    Computed as the Jacobian of the gradient: the gradient is built as a
    graph with ``grad(..., create_graph=True)`` and each of its entries is
    differentiated again (reverse over reverse).

    Args:
        f: takes one ``Value`` per input and returns one ``Value``.
        inputs: the point, as numbers or ``Value``s (their ``.data`` is used).

    Returns:
        ``n`` rows of ``n`` floats (symmetric where ``f`` is twice
        continuously differentiable).
    """
    leaves = _leaves(inputs)
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"hessian: f must return a Value, got {type(out).__name__} {out!r}")
    first = _grad_or_zero(out, leaves, create_graph=True)
    return [_grad_or_zero(g, leaves) for g in first]


def _grad_or_zero(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """:func:`grad` of one output for a list of inputs, 0 for an input it does not use
    (what checks such as ``gradcheck`` compare with finite differences, which give 0 there)."""
    grads = grad(output, list(inputs), create_graph=create_graph, allow_unused=True)
    return _zeros_for_unused(grads, create_graph)
