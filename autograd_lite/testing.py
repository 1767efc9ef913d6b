"""Check derivatives against finite differences.

``numerical_grad`` estimates each partial derivative of a scalar function by
central differences, ``(f(x + h) - f(x - h)) / 2h``; tests compare it with
what ``backward()`` gives. (More of the gradient-checking toolkit lands here.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from autograd_lite.engine import Value, no_grad

__all__ = ["analytic_grad", "numerical_grad", "step_size"]


def step_size(x: float, eps: float) -> float:
    """The finite-difference step at ``x``: ``eps`` scaled by ``max(1, |x|)``."""
    return eps * max(1.0, abs(x))


def _evaluate(f: Callable[..., Any], point: Sequence[float]) -> float:
    with no_grad():
        out = f(*[Value(p) for p in point])
    return out.data if isinstance(out, Value) else float(out)


def numerical_grad(f: Callable[..., Any], inputs: Sequence[float | Value], eps: float = 1e-6) -> list[float]:
    """Central-difference estimate of d f / d input_i for every input.

    Args:
        f: takes one ``Value`` per input and returns a ``Value``.
        inputs: the point, as numbers or ``Value``s (their ``.data`` is used).
        eps: relative step; the step for input ``x`` is ``eps * max(1, |x|)``.

    Returns:
        One float per input: ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``.
    """
    point = [v.data if isinstance(v, Value) else float(v) for v in inputs]
    grads = []
    for i, x in enumerate(point):
        h = step_size(x, eps)
        up, down = list(point), list(point)
        up[i], down[i] = x + h, x - h
        grads.append((_evaluate(f, up) - _evaluate(f, down)) / (up[i] - down[i]))
    return grads


def analytic_grad(f: Callable[..., Any], inputs: Sequence[float | Value]) -> tuple[float, list[float]]:
    """``f`` at ``inputs`` and its gradient by ``backward()`` (on fresh leaves)."""
    leaves = [Value(v.data if isinstance(v, Value) else float(v)) for v in inputs]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, got {type(out).__name__}")
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def close(analytic: float, numeric: float, scale: float, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Whether a derivative agrees with its finite-difference estimate.

    ``scale`` is the size of the function's value: rounding in the difference
    quotient grows with it, so the absolute tolerance does too.
    """
    if math.isinf(analytic) or math.isinf(numeric):
        return analytic == numeric
    return abs(analytic - numeric) <= atol * (1.0 + abs(scale)) + rtol * abs(numeric)
