"""Loss functions: how far predictions are from targets, as one ``Value``.

Each returns the *mean* over the samples it is given, so its scale does not
depend on the batch size. Losses with logs go through a stable log-sum-exp.

**Trace-safe shifts.** :func:`log_softmax`, :func:`softmax` and
:func:`cross_entropy` subtract ``m = max_j z_j`` before exponentiating. ``m``
is computed by the op :data:`MAX` under ``no_grad()``: eagerly it is a plain
number (a leaf), and inside :func:`autograd_lite.compile` it is part of the
traced program, recomputed from the logits of every replay (a detached
value: no gradient flows through it, and none is needed, since the shift
cancels exactly). :func:`logsumexp` is one op, :data:`LOGSUMEXP`, that shifts
inside its own forward. So a compiled loss replayed on logits far from the
traced ones (``+-800``) gives what eager gives, on every backend.

**Infinite logits, as PyTorch.** ``logsumexp`` masks an infinite max (the
shift is 0 then, as ``torch.logsumexp``): ``logsumexp([-inf, -inf])`` is
``-inf``, ``logsumexp([inf, 1])`` is ``inf`` (gradient ``[nan, 0]``), and
``logsumexp([-inf, 1])`` is ``1``. ``softmax``, ``log_softmax`` and
``cross_entropy`` shift by the max unmasked, as ``torch.softmax``,
``torch.log_softmax`` and ``torch.nn.functional.cross_entropy`` do: a
``+inf`` logit makes every entry nan, all ``-inf`` logits too, and a single
``-inf`` among finite logits is a probability 0 (log-probability ``-inf``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Union

from autograd_lite.engine import Value, apply, no_grad
from autograd_lite.ops import VARIADIC, Domain, Op
from autograd_lite.rules import exp, log1p, maximum, where

__all__ = [
    "LOGSUMEXP",
    "MAX",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge",
    "l2_penalty",
    "log_softmax",
    "logsumexp",
    "max_margin",
    "mean_squared_error",
    "mse",
    "softmax",
]

Scalar = Union[Value, float]


def _pairs(preds: Any, targets: Any, name: str) -> list[tuple[Any, Any]]:
    preds = [preds] if isinstance(preds, (Value, int, float)) else list(preds)
    targets = [targets] if isinstance(targets, (Value, int, float)) else list(targets)
    if len(preds) != len(targets):
        raise ValueError(f"{name}: {len(preds)} predictions but {len(targets)} targets")
    if not preds:
        raise ValueError(f"{name}: no predictions given")
    return list(zip(preds, targets))


def mean_squared_error(preds: Sequence[Scalar] | Scalar, targets: Sequence[float] | float) -> Value:
    """(1/n) * sum_i (pred_i - target_i)**2."""
    pairs = _pairs(preds, targets, "mean_squared_error")
    return Value.sum((p - t) ** 2 for p, t in pairs) / len(pairs)


mse = mean_squared_error


def max_margin(scores: Sequence[Scalar] | Scalar, labels: Sequence[float] | float) -> Value:
    """micrograd's SVM max-margin (hinge) loss: (1/n) * sum_i relu(1 - y_i * score_i), y_i in {-1, +1}."""
    pairs = _pairs(scores, labels, "max_margin")
    for _, y in pairs:
        if y not in (-1, 1):
            raise ValueError(f"max_margin: labels must be -1 or +1, got {y!r}")
    return Value.sum((1 - y * s).relu() for s, y in pairs) / len(pairs)


hinge = max_margin


def binary_cross_entropy_with_logits(
    logits: Sequence[Scalar] | Scalar, targets: Sequence[float] | float
) -> Value:
    """Mean of -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], y in [0, 1].

    Written as softplus(z) - y * z, which never overflows (softplus is stable).
    """
    pairs = _pairs(logits, targets, "binary_cross_entropy_with_logits")
    for _, y in pairs:
        if not 0 <= y <= 1:
            raise ValueError(f"binary_cross_entropy_with_logits: targets must be in [0, 1], got {y!r}")
    return Value.sum(_as_value(z).softplus() - y * z for z, y in pairs) / len(pairs)


def _as_value(x: Scalar) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _max_derivative(out: Any, *xs: Any) -> list[Any]:
    # d max/dx_i = 1 for the largest input, 0 for the others; a tie shares the 1
    # evenly (PyTorch's amax); nan when the max is nan (no input equals it).
    hits = [where(x >= out, 1.0, 0.0) for x in xs]
    count = hits[0]
    for h in hits[1:]:
        count = count + h
    return [h / where(count > 0, count, math.nan) for h in hits]


class _MaxOp(Op):
    def __reduce__(self) -> tuple[Any, ...]:
        return (_max_op, ())


def _max_op() -> Op:
    return MAX


MAX: Op = _MaxOp("max", maximum, _max_derivative, VARIADIC, (Domain(-10.0, 10.0),), total=True)
"""``max(x_1, ..., x_n)`` as an op (``apply(MAX, *values)``): its derivative
is 1 for the largest input (a tie shares it evenly), 0 for the others.

The losses below use it under ``no_grad()`` for their shift, so that the
shift is computed inside a traced program rather than frozen at trace time.
"""


def _shift(zs: list[Value]) -> Value:
    """max z_j, cut from the graph: a number eagerly, part of the program when traced."""
    with no_grad():
        m = apply(MAX, *zs)
    m.label = "max (no grad)"
    return m


_FINITE_MAX = sys.float_info.max


def _logsumexp(*zs: Any) -> Any:
    # m + log(k + sum_{z_j < m} e**(z_j - m)) for the k logits equal to the max m, written with
    # log1p so that logsumexp(-27, 0) keeps its e**-27; an infinite max is the result itself
    # (torch.logsumexp masks the shift to 0, which gives the same), nan stays nan
    m = maximum(*zs)
    ties = sum(where(z >= m, 1.0, 0.0) for z in zs)
    rest = sum(where(z >= m, 0.0, exp(z - m)) for z in zs)
    return where(m > _FINITE_MAX, m, where(m < -_FINITE_MAX, m, m + log1p(ties - 1 + rest)))


def _logsumexp_derivative(out: Any, *zs: Any) -> list[Any]:
    # d/dz_i = e**(z_i - out) = softmax(z)_i
    return [exp(z - out) for z in zs]


class _LogSumExpOp(Op):
    def __reduce__(self) -> tuple[Any, ...]:
        return (_logsumexp_op, ())


def _logsumexp_op() -> Op:
    return LOGSUMEXP


LOGSUMEXP: Op = _LogSumExpOp("logsumexp", _logsumexp, _logsumexp_derivative, VARIADIC, (Domain(-10.0, 10.0),),
                             total=True)  # fmt: skip
"""``log(sum_j e**z_j)`` as one op, shifted by the max inside its forward (masked
when the max is infinite, as ``torch.logsumexp``); derivative ``softmax(z)_i``."""


def logsumexp(logits: Sequence[Scalar]) -> Value:
    """log(sum_j e**z_j), computed as m + log(sum_j e**(z_j - m)) with m = max z_j.

    One node (:data:`LOGSUMEXP`) whose derivative is ``softmax(z)_i =
    e**(z_i - out)``. As ``torch.logsumexp``, an infinite max shifts by 0:
    ``logsumexp([-inf, -inf]) = -inf``, ``logsumexp([inf, 1]) = inf``.
    """
    zs = [_as_value(z) for z in logits]
    if not zs:
        raise ValueError("logsumexp: no logits given")
    return apply(LOGSUMEXP, *zs)


def _shifted_logsumexp(zs: list[Value]) -> Value:
    """m + log(sum_j e**(z_j - m)) with the unmasked shift m (what log_softmax subtracts, as PyTorch)."""
    m = _shift(zs)
    return Value.sum((z - m).exp() for z in zs).log() + m


def log_softmax(logits: Sequence[Scalar]) -> list[Value]:
    """z_i - logsumexp(z): log-probabilities, stable for large logits (nan for a +inf logit, as PyTorch)."""
    zs = [_as_value(z) for z in logits]
    if not zs:
        raise ValueError("log_softmax: no logits given")
    lse = _shifted_logsumexp(zs)
    return [z - lse for z in zs]


def softmax(logits: Sequence[Scalar]) -> list[Value]:
    """e**z_i / sum_j e**z_j: probabilities, computed stably (shifted by max z, as :func:`logsumexp`)."""
    zs = [_as_value(z) for z in logits]
    if not zs:
        raise ValueError("softmax: no logits given")
    m = _shift(zs)
    exps = [(z - m).exp() for z in zs]
    total = Value.sum(exps)
    return [e / total for e in exps]


def cross_entropy(logits: Sequence[Any], targets: int | Sequence[int]) -> Value:
    """Categorical cross-entropy: mean over samples of logsumexp(z) - z[target].

    ``logits`` is one sample's list of class scores with an ``int`` target,
    or a list of such lists with a list of targets.
    """
    if isinstance(targets, int):
        logits, targets = [logits], [targets]
    pairs = _pairs(list(logits), list(targets), "cross_entropy")
    losses = []
    for zs, t in pairs:
        if not isinstance(t, int) or not 0 <= t < len(zs):
            raise ValueError(f"cross_entropy: target {t!r} is not a class index in 0..{len(zs) - 1}")
        values = [_as_value(z) for z in zs]
        losses.append(_shifted_logsumexp(values) - values[t])
    return Value.sum(losses) / len(losses)


def l2_penalty(parameters: Iterable[Value], alpha: float = 1e-4) -> Value:
    """alpha * sum_p p**2: weight decay as a term of the loss (micrograd's demo uses 1e-4)."""
    return alpha * Value.sum(p * p for p in parameters)
