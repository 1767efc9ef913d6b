"""The training loop: forward, loss, backward, update, until it is time to stop.

``fit`` repeats gradient descent over the data until one of these happens,
and says which in ``History.stop_reason``:

* ``"tol"``: the (training, or validation if there is one) loss is at most ``tol``;
* ``"max_iter"``: ``max_iter`` optimizer steps were taken;
* ``"epochs"``: ``epochs`` passes over the data were made;
* ``"patience"``: the monitored loss has not improved for ``patience`` epochs
  (the best weights seen are restored);
* ``"callback"``: the per-epoch callback returned ``True``;
* ``"interrupted"``: Ctrl-C; the model keeps the weights of the last complete step;
* ``"nonfinite"``: only on the history of a :class:`NonFiniteError` (see below).

Nothing is silent at the edges. The input is checked before anything
changes: a bad argument or bad data is a ``TypeError`` or ``ValueError``
naming the argument (``X[3][1]``, ``batch_size``, ``lr``, ...) and the value,
and leaves the model as it was. And the moment a loss, a model output, a
gradient or an updated weight is not finite (nan or inf), ``fit`` raises a
:class:`NonFiniteError` (a ``FloatingPointError``) naming the epoch, the step
and the first sample at fault, with the model put back to the weights it had
at the end of the last complete epoch (its starting weights if that was the
first); ``error.history.stop_reason`` is then ``"nonfinite"``, never ``"tol"``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Callable

from autograd_lite.engine import no_grad
from autograd_lite.nn import Module
from autograd_lite.optim import SGD, Optimizer, _check_lr
from autograd_lite.training.checks import (
    _check_count,
    _check_real,
    _checked_data,
    _describe,
    _is_int,
    _is_number,
    _samples,
)
from autograd_lite.training.compiled import _compiled_step
from autograd_lite.training.faults import _weight_problem
from autograd_lite.training.objectives import ACCURACY, ELEMENTWISE, LOSSES, LossFn, _resolve_loss
from autograd_lite.training.record import History, NonFiniteError
from autograd_lite.training.run import Run, Settings, evaluate_on, split

__all__ = ["ACCURACY", "ELEMENTWISE", "LOSSES", "History", "NonFiniteError", "evaluate", "fit", "predict"]


def predict(model: Callable[[Any], Any], X: Sequence[Any]) -> list[Any]:
    """The model's outputs for every sample (a list or a NumPy array of them), without recording a graph."""
    with no_grad():
        return [model(x) for x in _samples("X", X, "predict")]


def evaluate(
    model: Callable[[Any], Any], X: Sequence[Any], y: Sequence[Any], loss: str | LossFn = "mse"
) -> tuple[float, float | None]:
    """(mean loss, accuracy or ``None``) of ``model`` on ``(X, y)``, without a graph.

    ``X`` and ``y`` are lists or NumPy arrays, checked as ``fit`` checks them.
    """
    loss_fn, correct = _resolve_loss(loss)
    X, y = _checked_data(model, X, y, loss if isinstance(loss, str) else None, who="evaluate")
    return evaluate_on(model, X, y, loss_fn, correct)


def fit(
    model: Module,
    X: Sequence[Any],
    y: Sequence[Any],
    *,
    loss: str | LossFn = "mse",
    optimizer: Optimizer | None = None,
    lr: float | Callable[[int], float] = 0.05,
    epochs: int = 100,
    max_iter: int | None = None,
    tol: float | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | random.Random = 0,
    validation_split: float = 0.0,
    validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None,
    l2: float = 0.0,
    progress: bool | None = None,
    callback: Callable[[int, History], Any] | None = None,
    compile: bool | str = False,
) -> History:
    """Train ``model`` on ``(X, y)`` by gradient descent until it is time to stop.

    Args:
        model: a :class:`~autograd_lite.nn.Module` (or any callable with
            ``parameters()``) mapping one sample to a Value or list of Values.
        X: the samples: a list or NumPy array (any real dtype; NumPy numbers
            become Python floats and ints). A sample is a number or a (nested)
            list of numbers.
        y: the targets, a list or NumPy array as ``X``: a target is a number
            or a list of numbers (1-D or 2-D ``y``); with several outputs per
            sample, ``"mse"``, ``"hinge"`` and ``"bce"`` average over every output.
        loss: ``"mse"``, ``"hinge"`` (labels -1/+1), ``"bce"`` (logits, labels
            0/1), ``"cross_entropy"`` (class scores, integer labels), or a
            function ``(predictions, targets) -> Value``.
        optimizer: defaults to ``SGD(model.parameters(), lr=lr)``.
        lr: the default optimizer's learning rate: a finite number > 0, or a
            schedule ``lr(step)`` returning a finite number >= 0 (a value
            that is not is a ``ValueError`` at that step, the model keeping
            the weights of the last complete step).
        epochs: passes over the data; ``max_iter``: cap on optimizer steps.
        tol: stop once the monitored loss is at most this.
        patience: stop when the monitored loss (validation if there is any,
            else training) has not improved by more than ``min_delta`` for
            this many epochs, restoring the best weights: those the best
            epoch started with when monitoring the training loss (which is
            measured during the epoch), those it ended with when monitoring
            the validation loss (measured after it).
        batch_size: samples per step, a whole number >= 1, or ``None`` (the
            default) for all of them in one batch; batches are shuffled with
            ``seed`` when ``shuffle`` is true.
        validation_split: fraction of (X, y) held out for validation (seeded),
            in [0, 1), leaving at least one sample to train on; or give
            ``validation_data=(X_val, y_val)`` (not both).
        l2: adds ``l2 * sum(p**2)`` to the training loss.
        progress: a tqdm bar with the live loss (default: only on a terminal).
        callback: called as ``callback(epoch, history)`` after each epoch;
            returning ``True`` stops training.
        compile: ``True`` traces the model once (:func:`autograd_lite.compile`)
            and replays it for every sample: NumPy batches when NumPy is
            installed, generated Python otherwise (or name one: ``"numpy"``,
            ``"python"``). The loss is still computed with ``Value``s on the
            model's outputs, so any loss works; the model's gradients come
            from the compiled program. Same results as eager training, to
            rounding.

    Returns:
        A :class:`History` with per-epoch loss/accuracy and ``stop_reason``.

    Raises:
        TypeError, ValueError: before training, for an argument or data that
            is not what is described above; the message names the argument
            (``X[3][1]``, ``batch_size``, ...) and the value, and the model is
            left exactly as it was.
        NonFiniteError: (a ``FloatingPointError``) the moment a loss, a model
            output, a gradient or an updated weight is nan or inf, or an
            ``OverflowError`` or ``ZeroDivisionError`` stops a forward or
            backward pass. It names the epoch, the step and the first sample
            at fault, and the model is put back to the weights it had at the
            end of the last complete epoch (its starting weights if the first
            epoch failed), the optimizer to its state then; ``error.history``
            holds the complete epochs, with ``stop_reason == "nonfinite"``.
    """
    settings = _settings(
        loss, epochs, max_iter, tol, patience, min_delta, batch_size, shuffle, l2, progress, callback
    )
    _check_training_options(validation_split, validation_data, seed, optimizer, lr)
    loss_name = loss if isinstance(loss, str) else None
    X_all, y_all = _checked_data(model, X, y, loss_name)
    if validation_data is not None:
        validation_data = _checked_data(
            model, *validation_data, loss_name, x_name="validation_data[0]", y_name="validation_data[1]"
        )
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    data = split(X_all, y_all, float(validation_split), validation_data, rng)
    params = model.parameters()
    problem = _weight_problem(params, "is")
    if problem is not None:
        raise ValueError(f"fit: the model is not finite before training: {problem}")
    step = _compiled_step(model, data.X[0], params, compile) if compile else None
    opt = optimizer if optimizer is not None else SGD(params, lr=lr)
    return Run(model, params, opt, settings, data, rng, step).train()


def _settings(
    loss: str | LossFn, epochs: Any, max_iter: Any, tol: Any, patience: Any, min_delta: Any, batch_size: Any,
    shuffle: bool, l2: Any, progress: bool | None, callback: Any,
) -> Settings:  # fmt: skip
    """``fit``'s settings, each checked: an error names the argument and the value."""
    if tol is not None and (not _is_number(tol) or math.isnan(tol)):
        raise (TypeError if not _is_number(tol) else ValueError)(
            f"fit: tol must be a number or None, got {_describe(tol)}"
        )
    if callback is not None and not callable(callback):
        raise TypeError(
            f"fit: callback must be a function (epoch, history) -> bool, got {_describe(callback)}"
        )
    loss_fn, correct = _resolve_loss(loss)
    return Settings(
        loss_fn=loss_fn,
        correct=correct,
        epochs=_check_count("epochs", epochs),  # type: ignore[arg-type]
        max_iter=_check_count("max_iter", max_iter, optional=True, what=" (no cap)"),
        tol=tol,
        patience=_check_count("patience", patience, optional=True, what=" (no early stopping)"),
        min_delta=_check_real("min_delta", min_delta, low=0.0, low_ok=True),
        batch_size=_check_count("batch_size", batch_size, optional=True, what=" (all samples in one batch)"),
        shuffle=shuffle,
        l2=_check_real("l2", l2, low=0.0, low_ok=True),
        progress=progress,
        callback=callback,
    )


def _check_training_options(
    validation_split: Any, validation_data: Any, seed: Any, optimizer: Any, lr: Any
) -> None:
    """The validation data, the seed and the optimizer (or the learning rate of the default one)."""
    _check_real("validation_split", validation_split, low=0.0, low_ok=True, high=1.0)
    if validation_split and validation_data is not None:
        raise ValueError("fit: give validation_split or validation_data, not both")
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2
    ):
        raise TypeError(
            f"fit: validation_data must be a pair (X_val, y_val), got {_describe(validation_data)}"
        )
    if not (isinstance(seed, random.Random) or _is_int(seed)):
        raise TypeError(f"fit: seed must be an int or a random.Random, got {_describe(seed)}")
    if optimizer is None:
        _check_lr(lr, "fit")
    elif not all(callable(getattr(optimizer, name, None)) for name in ("zero_grad", "step", "current_lr")):
        raise TypeError(f"fit: optimizer must be an Optimizer (SGD, Adam, ...), got {_describe(optimizer)}")
