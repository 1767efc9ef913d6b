"""The losses ``fit`` knows by name, and how each one counts a prediction as correct."""

from __future__ import annotations

from typing import Any, Callable

from autograd_lite import losses
from autograd_lite.engine import Value

LossFn = Callable[[list[Any], list[Any]], Value]
LOSSES: dict[str, LossFn] = {
    "mse": losses.mean_squared_error,
    "hinge": losses.max_margin,
    "max_margin": losses.max_margin,
    "bce": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
}
# Losses of one number per output: with several outputs per sample (2-D targets) they
# are taken over every (output, target) pair, the mean over all of them.
ELEMENTWISE = ("mse", "hinge", "max_margin", "bce")


def _flat_pairs(preds: list[Any], targets: list[Any]) -> tuple[list[Any], list[Any]]:
    """Predictions and targets, one number each: a sample's list of outputs is spread out."""
    if not any(isinstance(p, (list, tuple)) or isinstance(t, (list, tuple)) for p, t in zip(preds, targets)):
        return preds, targets
    flat_preds: list[Any] = []
    flat_targets: list[Any] = []
    for p, t in zip(preds, targets):
        ps = list(p) if isinstance(p, (list, tuple)) else [p]
        ts = list(t) if isinstance(t, (list, tuple)) else [t]
        if len(ps) != len(ts):
            raise ValueError(
                f"the model gives {len(ps)} outputs for a sample whose target has {len(ts)} numbers"
            )
        flat_preds += ps
        flat_targets += ts
    return flat_preds, flat_targets


def _elementwise(loss_fn: LossFn) -> LossFn:
    def loss(preds: list[Any], targets: list[Any]) -> Value:
        return loss_fn(*_flat_pairs(list(preds), list(targets)))

    loss.__name__ = loss.__qualname__ = getattr(loss_fn, "__name__", "loss")
    return loss


def _correct_hinge(pred: Any, label: Any) -> bool:
    if isinstance(pred, list) or isinstance(label, list):
        return all(_correct_hinge(p, t) for p, t in zip(*_flat_pairs([pred], [label])))
    return (pred.data > 0) == (label > 0)


def _correct_bce(pred: Any, label: Any) -> bool:
    if isinstance(pred, list) or isinstance(label, list):
        return all(_correct_bce(p, t) for p, t in zip(*_flat_pairs([pred], [label])))
    return (pred.data > 0) == (label > 0.5)


def _correct_class(pred: Any, label: Any) -> bool:
    scores = [p.data for p in pred]
    return max(range(len(scores)), key=scores.__getitem__) == label


ACCURACY: dict[str, Callable[[Any, Any], bool]] = {
    "hinge": _correct_hinge,
    "max_margin": _correct_hinge,
    "bce": _correct_bce,
    "cross_entropy": _correct_class,
}


def _resolve_loss(loss: str | LossFn) -> tuple[LossFn, Callable[[Any, Any], bool] | None]:
    if callable(loss):
        return loss, None
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or pass a function")
    loss_fn = _elementwise(LOSSES[loss]) if loss in ELEMENTWISE else LOSSES[loss]
    return loss_fn, ACCURACY.get(loss)
