"""Loss functions: how far predictions are from targets, as one ``Value``.

Each returns the *mean* over the samples it is given, so its scale does not
depend on the batch size. Losses with logs go through a stable log-sum-exp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Union

from autograd_lite.engine import Value

__all__ = [
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


def logsumexp(logits: Sequence[Scalar]) -> Value:
    """log(sum_j e**z_j), computed as m + log(sum_j e**(z_j - m)) with m = max z_j (a constant)."""
    zs = [_as_value(z) for z in logits]
    if not zs:
        raise ValueError("logsumexp: no logits given")
    m = max(z.data for z in zs)
    return Value.sum((z - m).exp() for z in zs).log() + m


def log_softmax(logits: Sequence[Scalar]) -> list[Value]:
    """z_i - logsumexp(z): log-probabilities, stable for large logits."""
    lse = logsumexp(logits)
    return [_as_value(z) - lse for z in logits]


def softmax(logits: Sequence[Scalar]) -> list[Value]:
    """e**z_i / sum_j e**z_j: probabilities, computed stably (shifted by max z)."""
    zs = [_as_value(z) for z in logits]
    m = max(z.data for z in zs)
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
        losses.append(logsumexp(zs) - _as_value(zs[t]))
    return Value.sum(losses) / len(losses)


def l2_penalty(parameters: Iterable[Value], alpha: float = 1e-4) -> Value:
    """alpha * sum_p p**2: weight decay as a term of the loss (micrograd's demo uses 1e-4)."""
    return alpha * Value.sum(p * p for p in parameters)
