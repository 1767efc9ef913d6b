"""Watching for numbers that are not finite: outputs, losses, gradients, weights."""

from __future__ import annotations

import math
from typing import Any

from autograd_lite.engine import Value


def _all_finite(values: list[float]) -> bool:
    # A sum that is finite has no nan or inf in it; only when it is not, look closer.
    return math.isfinite(sum(values)) or all(map(math.isfinite, values))


def _outputs(pred: Any) -> list[Any]:
    out, stack = [], [pred]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            out.append(item)
    return out


def _value_problem(loss_value: Value, preds: list[Any], what: str = "loss") -> str | None:
    """What is not finite about a forward pass: an output, or the loss; ``None`` if all is."""
    for out in _outputs(preds):
        number = out.data if isinstance(out, Value) else out
        if isinstance(number, float) and not math.isfinite(number):
            return f"a model output is {number!r}"
    if not math.isfinite(loss_value.data):
        return f"the {what} is {loss_value.data!r}"
    return None


def _grad_problem(params: list[Value]) -> str | None:
    grads = [p.grad for p in params]
    if _all_finite(grads):
        return None
    i = next(i for i, g in enumerate(grads) if not math.isfinite(g))
    return f"the gradient of {params[i].label or f'parameter {i}'} is {grads[i]!r}"


def _weight_problem(params: list[Value], verb: str = "became") -> str | None:
    data = [p.data for p in params]
    if _all_finite(data):
        return None
    i = next(i for i, d in enumerate(data) if not math.isfinite(d))
    return f"{params[i].label or f'parameter {i}'} {verb} {data[i]!r}"
