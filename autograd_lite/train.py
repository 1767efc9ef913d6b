"""The training loop: forward, loss, backward, update, until it is time to stop.

``fit`` repeats gradient descent over the data until one of these happens,
and says which in ``History.stop_reason``:

* ``"tol"``: the (training, or validation if there is one) loss is at most ``tol``;
* ``"max_iter"``: ``max_iter`` optimizer steps were taken;
* ``"epochs"``: ``epochs`` passes over the data were made;
* ``"patience"``: the monitored loss has not improved for ``patience`` epochs
  (the best weights seen are restored);
* ``"callback"``: the per-epoch callback returned ``True``;
* ``"interrupted"``: Ctrl-C; the model keeps the weights of the last complete step.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from autograd_lite import losses
from autograd_lite.engine import Value, no_grad
from autograd_lite.nn import Module
from autograd_lite.optim import SGD, Optimizer

__all__ = ["LOSSES", "History", "evaluate", "fit", "predict"]

LossFn = Callable[[list[Any], list[Any]], Value]
LOSSES: dict[str, LossFn] = {
    "mse": losses.mean_squared_error,
    "hinge": losses.max_margin,
    "max_margin": losses.max_margin,
    "bce": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
}


def _correct_hinge(pred: Any, label: Any) -> bool:
    return (pred.data > 0) == (label > 0)


def _correct_bce(pred: Any, label: Any) -> bool:
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


@dataclass
class History:
    """What ``fit`` did, epoch by epoch, and why it stopped.

    ``seconds`` is the time training took; ``compile_seconds`` the part of it
    spent tracing and compiling the model (``None`` unless ``compile=``).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stop_reason: str = ""
    iterations: int = 0
    best_epoch: int | None = None
    seconds: float = 0.0
    compile_seconds: float | None = None

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def plot(self, ax: Any = None, path: Any = None) -> Any:
        """Plot the loss curves (and accuracy, if measured) with matplotlib.

        Draws on ``ax`` if given (else a new figure); saves to ``path`` if
        given. Returns the axes.
        """
        import matplotlib

        if ax is None and path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        epochs = range(1, self.epochs + 1)
        ax.plot(epochs, self.loss, label="training loss")
        if self.val_loss:
            ax.plot(epochs, self.val_loss, label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"training stopped: {self.stop_reason}")
        handles, labels = ax.get_legend_handles_labels()
        if self.accuracy:
            twin = ax.twinx()
            twin.plot(epochs, self.accuracy, color="tab:green", alpha=0.5, label="training accuracy")
            if self.val_accuracy:
                twin.plot(epochs, self.val_accuracy, color="tab:red", alpha=0.5, label="validation accuracy")
            twin.set_ylabel("accuracy")
            twin.set_ylim(0, 1.05)
            more_handles, more_labels = twin.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        ax.legend(handles, labels, loc="center right")
        if path is not None:
            ax.figure.savefig(path, dpi=100, bbox_inches="tight")
        return ax


def _resolve_loss(loss: str | LossFn) -> tuple[LossFn, Callable[[Any, Any], bool] | None]:
    if callable(loss):
        return loss, None
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or pass a function")
    return LOSSES[loss], ACCURACY.get(loss)


def predict(model: Callable[[Any], Any], X: Sequence[Any]) -> list[Any]:
    """The model's outputs for every sample, without recording a graph."""
    with no_grad():
        return [model(x) for x in X]


def evaluate(
    model: Callable[[Any], Any], X: Sequence[Any], y: Sequence[Any], loss: str | LossFn = "mse"
) -> tuple[float, float | None]:
    """(mean loss, accuracy or ``None``) of ``model`` on ``(X, y)``, without a graph."""
    loss_fn, correct = _resolve_loss(loss)
    preds = predict(model, X)
    with no_grad():
        value = loss_fn(preds, list(y)).data
    acc = sum(correct(p, t) for p, t in zip(preds, y)) / len(y) if correct else None
    return value, acc


def _batches(n: int, batch_size: int | None, rng: random.Random | None) -> list[list[int]]:
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = batch_size or n
    return [order[i : i + size] for i in range(0, n, size)]


def _progress(enabled: bool | None, total: int) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", leave=True)


class _CompiledStep:
    """The model compiled: its outputs on a batch as leaf Values, then the chain rule into its parameters."""

    def __init__(self, model: Any, example: Any, params: list[Value], backend: str) -> None:
        from autograd_lite.compiler import compile as compile_fn

        self.compiled = compile_fn(model, (example,), params=params)
        self.backend = backend

    def forward(self, inputs: list[Any]) -> list[Any]:
        outputs = self.compiled.forward_batch(inputs, backend=self.backend)
        if hasattr(outputs, "tolist"):  # an array backend's outputs
            outputs = outputs.tolist()
        return [_leaves(o) for o in outputs]

    def backward(self, inputs: list[Any], preds: list[Any]) -> None:
        seeds = [_grads(p) for p in preds]  # d loss / d output, from the loss's own backward()
        self.compiled.batch(inputs, grad_outputs=seeds, backend=self.backend)


def _leaves(output: Any) -> Any:
    return [_leaves(o) for o in output] if isinstance(output, list) else Value(output)


def _grads(pred: Any) -> Any:
    return [_grads(p) for p in pred] if isinstance(pred, list) else pred.grad


def _compiled_step(model: Any, example: Any, params: list[Value], how: bool | str) -> _CompiledStep:
    if how is True:
        try:
            import numpy  # noqa: F401

            how = "numpy"
        except ImportError:
            how = "python"
    from autograd_lite.compiler.backend import backend_names

    names = sorted(backend_names())
    if how not in names:
        known = (
            ", ".join(repr(n) for n in names[:-1]) + " or " + repr(names[-1])
            if len(names) > 1
            else repr(names[0])
        )
        raise ValueError(f"fit: compile must be True, False, {known}, got {how!r}")
    return _CompiledStep(model, example, params, str(how))


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
        X, y: samples and targets.
        loss: ``"mse"``, ``"hinge"`` (labels -1/+1), ``"bce"`` (logits, labels
            0/1), ``"cross_entropy"`` (class scores, integer labels), or a
            function ``(predictions, targets) -> Value``.
        optimizer: defaults to ``SGD(model.parameters(), lr=lr)``.
        epochs: passes over the data; ``max_iter``: cap on optimizer steps.
        tol: stop once the monitored loss is at most this.
        patience: stop when the monitored loss (validation if there is any,
            else training) has not improved by more than ``min_delta`` for
            this many epochs, restoring the best weights: those the best
            epoch started with when monitoring the training loss (which is
            measured during the epoch), those it ended with when monitoring
            the validation loss (measured after it).
        batch_size: samples per step (default: all of them); batches are
            shuffled with ``seed`` when ``shuffle`` is true.
        validation_split: fraction of (X, y) held out for validation (seeded),
            or give ``validation_data=(X_val, y_val)``.
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
    """
    if len(X) != len(y):
        raise ValueError(f"fit: {len(X)} samples but {len(y)} targets")
    if not X:
        raise ValueError("fit: no training data")
    if epochs < 1 or (max_iter is not None and max_iter < 1):
        raise ValueError("fit: epochs and max_iter must be at least 1")
    if patience is not None and patience < 1:
        raise ValueError(f"fit: patience must be at least 1 epoch, got {patience}")
    loss_fn, correct = _resolve_loss(loss)
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    X_train, y_train = list(X), list(y)
    if validation_data is None and validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must be between 0 and 1, got {validation_split}")
        order = list(range(len(X_train)))
        rng.shuffle(order)
        n_val = max(1, round(validation_split * len(order)))
        val_idx, train_idx = order[:n_val], order[n_val:]
        validation_data = ([X_train[i] for i in val_idx], [y_train[i] for i in val_idx])
        X_train, y_train = [X_train[i] for i in train_idx], [y_train[i] for i in train_idx]

    started = time.perf_counter()
    params = model.parameters()
    step = _compiled_step(model, X_train[0], params, compile) if compile else None
    opt = optimizer if optimizer is not None else SGD(params, lr=lr)
    history = History()
    best_loss, best_state, waited = float("inf"), None, 0
    bar = _progress(progress, epochs)
    stepping, before_step = False, None
    try:
        for epoch in range(epochs):
            total, n_correct, seen = 0.0, 0, 0
            at_start = [p.data for p in params] if patience is not None else None
            for batch in _batches(len(X_train), batch_size, rng if shuffle else None):
                inputs = [X_train[i] for i in batch]
                targets = [y_train[i] for i in batch]
                preds = step.forward(inputs) if step is not None else [model(x) for x in inputs]
                batch_loss = loss_fn(preds, targets)
                if l2:
                    batch_loss = batch_loss + losses.l2_penalty(params, l2)
                opt.zero_grad()
                batch_loss.backward()
                if step is not None:
                    step.backward(inputs, preds)
                before_step, stepping = [p.data for p in params], True
                history.lr.append(opt.current_lr())
                opt.step()
                stepping = False
                history.iterations += 1
                total += batch_loss.data * len(batch)
                seen += len(batch)
                if correct:
                    n_correct += sum(correct(p, t) for p, t in zip(preds, targets))
                if max_iter is not None and history.iterations >= max_iter:
                    break
            history.loss.append(total / seen)
            if correct:
                history.accuracy.append(n_correct / seen)
            monitored = history.loss[-1]
            if validation_data is not None:
                val_loss, val_acc = evaluate(model, *validation_data, loss=loss)
                history.val_loss.append(val_loss)
                if val_acc is not None:
                    history.val_accuracy.append(val_acc)
                monitored = val_loss
            if bar is not None:
                bar.update(1)
                shown = {"loss": f"{history.loss[-1]:.4g}"}
                if history.val_loss:
                    shown["val_loss"] = f"{history.val_loss[-1]:.4g}"
                if history.accuracy:
                    shown["acc"] = f"{history.accuracy[-1]:.3f}"
                bar.set_postfix(shown)

            if monitored < best_loss - min_delta:
                best_loss, waited, history.best_epoch = monitored, 0, epoch
                if patience is not None:
                    # The training loss was measured on the way through the epoch, on the weights
                    # it started with (exactly so for full batches); validation loss after it.
                    best_state = at_start if validation_data is None else [p.data for p in params]
            else:
                waited += 1
            if tol is not None and monitored <= tol:
                history.stop_reason = "tol"
                break
            if max_iter is not None and history.iterations >= max_iter:
                history.stop_reason = "max_iter"
                break
            if patience is not None and waited >= patience:
                if best_state is not None:
                    for p, value in zip(params, best_state):
                        p.data = value
                history.stop_reason = "patience"
                break
            if callback is not None and callback(epoch, history) is True:
                history.stop_reason = "callback"
                break
        else:
            history.stop_reason = "epochs"
    except KeyboardInterrupt:
        if stepping and before_step is not None:  # interrupted halfway through an update
            for p, value in zip(params, before_step):
                p.data = value
        history.stop_reason = "interrupted"
    finally:
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - started
        if step is not None:
            history.compile_seconds = step.compiled.compile_seconds
    return history
