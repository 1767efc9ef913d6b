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
import numbers
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from autograd_lite import losses
from autograd_lite._optional import optional_dependency
from autograd_lite.engine import Value, no_grad
from autograd_lite.nn import MLP, Layer, Module, Neuron
from autograd_lite.optim import SGD, Optimizer, _check_lr

__all__ = ["LOSSES", "History", "NonFiniteError", "evaluate", "fit", "predict"]

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


class NonFiniteError(FloatingPointError):
    """``fit`` met a loss, output, gradient or weight that is not finite (nan or inf).

    Attributes:
        epoch: the epoch it happened in, counted from 0 (as the callback's).
        step: the optimizer step it happened at (for the validation loss,
            the step after which it was measured), counted from 0.
        sample: the index in ``X`` (or in the validation data, when
            ``validation`` is true) of the first sample found at fault on its
            own, or ``None`` when no single sample is (an update that
            overflowed, a sum of finite losses that did).
        validation: whether it was the validation loss.
        history: the :class:`History` of the complete epochs, with
            ``stop_reason == "nonfinite"``; the model holds the weights it had
            at the end of the last of them (or its starting weights).
    """

    def __init__(
        self, message: str, *, epoch: int, step: int, sample: int | None, validation: bool, history: History
    ) -> None:
        super().__init__(message)
        self.epoch, self.step, self.sample = epoch, step, sample
        self.validation, self.history = validation, history


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
        with optional_dependency("matplotlib", "History.plot"):
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


# -- checking the input, before anything changes ------------------------------------


def _short(x: Any, limit: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(x: Any) -> str:
    return f"{_short(x)} (a {type(x).__name__})"


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_count(name: str, value: Any, *, optional: bool = False, what: str = "") -> int | None:
    """A whole number >= 1 (or ``None`` when ``optional``), else an error naming ``name``."""
    if value is None and optional:
        return None
    wanted = f"{name} must be a whole number >= 1{' or None' + what if optional else ''}"
    if not _is_int(value):
        raise TypeError(f"fit: {wanted}, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"fit: {wanted}, got {value!r}")
    return int(value)


def _check_real(name: str, value: Any, *, low: float, low_ok: bool, high: float | None = None) -> float:
    """A finite number in [low, high) (or (low, high) when not ``low_ok``), else an error naming ``name``."""
    bounds = f"{'>=' if low_ok else '>'} {low:g}" if high is None else f"in [{low:g}, {high:g})"
    if not _is_number(value):
        raise TypeError(f"fit: {name} must be a finite number {bounds}, got {_describe(value)}")
    number = float(value)
    if not (math.isfinite(number) and (number >= low if low_ok else number > low)) or (
        high is not None and number >= high
    ):
        raise ValueError(f"fit: {name} must be a finite number {bounds}, got {value!r}")
    return number


def _samples(name: str, data: Any, who: str = "fit") -> list[Any]:
    """``data`` as a list of samples: a list, a tuple, or a NumPy array (or a pandas object)."""
    if hasattr(data, "to_numpy") and not hasattr(data, "tolist"):  # a pandas DataFrame
        data = data.to_numpy()
    if hasattr(data, "dtype") and hasattr(data, "tolist") and hasattr(data, "ndim"):  # a NumPy array
        if data.ndim == 0:
            raise TypeError(
                f"{who}: {name} must be a list or an array of samples, got a 0-d array {_short(data)}"
            )
        if data.dtype.kind not in "biufO":
            raise TypeError(f"{who}: {name} must hold real numbers, got an array of dtype {data.dtype}")
        return list(data.tolist())
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Sequence):
        raise TypeError(f"{who}: {name} must be a list or a NumPy array of samples, got {_describe(data)}")
    return list(data)


def _plain(item: Any, where: str, who: str = "fit") -> Any:
    """A sample or target as plain Python: nested lists of finite ints and floats (or Values).

    NumPy arrays and scalars become lists and Python numbers. Anything else,
    or a number that is not finite, is an error naming where it is (``X[3][1]``).
    Walks with an explicit stack: any depth of nesting is fine.
    """
    root: list[Any] = [None]
    stack: list[tuple[list[Any], int, Any, str]] = [(root, 0, item, where)]
    while stack:
        out, key, x, at = stack.pop()
        if isinstance(x, Value):
            if not math.isfinite(x.data):
                raise ValueError(f"{who}: {at} is {x!r}, not finite; fix or drop the sample")
            out[key] = x
            continue
        if hasattr(x, "dtype") and hasattr(x, "tolist"):  # a NumPy array or scalar
            if x.dtype.kind not in "biufO":
                raise TypeError(f"{who}: {at} must hold real numbers, got dtype {x.dtype}")
            x = x.tolist()
        if isinstance(x, (list, tuple)):
            new: list[Any] = [None] * len(x)
            out[key] = new
            stack.extend((new, j, x[j], f"{at}[{j}]") for j in reversed(range(len(x))))
            continue
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{who}: {at} must be a number or a list of numbers, got {_describe(x)}")
        try:
            finite = math.isfinite(x)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise ValueError(f"{who}: {at} is {_short(x)}, not a finite number; fix or drop the sample")
        out[key] = x
    return root[0]


def _sizes(model: Any) -> tuple[int, int] | None:
    """(inputs, outputs) of a model whose sizes are known: an MLP, a Layer or a Neuron."""
    try:
        if isinstance(model, MLP):
            return len(model.layers[0].neurons[0].w), len(model.layers[-1].neurons)
        if isinstance(model, Layer):
            return len(model.neurons[0].w), len(model.neurons)
        if isinstance(model, Neuron):
            return len(model.w), 1
    except (AttributeError, IndexError, TypeError):
        pass
    return None


def _check_sample(x: Any, where: str, model: Any, nin: int, who: str = "fit") -> None:
    name = type(model).__name__
    if not isinstance(x, list):
        raise ValueError(
            f"{who}: {where} is one number, but the {name} takes {nin} inputs per sample: "
            f"give one list of {nin} numbers per sample (2-D X)"
        )
    if len(x) != nin:
        raise ValueError(f"{who}: {where} has {len(x)} numbers, but the {name} takes {nin} inputs")
    for j, v in enumerate(x):
        if isinstance(v, list):
            raise ValueError(f"{who}: {where}[{j}] is a list, but the {name} takes numbers")


def _label(t: Any) -> Any:
    return t.data if isinstance(t, Value) else t


def _check_target(
    t: Any, where: str, loss: str | None, model: Any, nout: int | None, who: str = "fit"
) -> Any:
    """One target, checked for a built-in loss (and the model's outputs, when known)."""
    if loss is None:
        return t
    name = type(model).__name__
    if loss == "cross_entropy":
        if isinstance(t, list) and len(t) == 1:  # a column of labels, (n, 1)
            t = t[0]
        label = _label(t)
        if isinstance(t, list) or not (float(label).is_integer() and label >= 0):
            raise ValueError(
                f"{who}: loss='cross_entropy' wants one class index (0, 1, 2, ...) per sample, "
                f"{where} is {_short(t)}"
            )
        if nout is not None and label >= nout:
            raise ValueError(
                f"{who}: {where} = {label!r} is not a class of the {name}'s {nout} outputs (0..{nout - 1})"
            )
        return int(label)
    row = t if isinstance(t, list) else [t]
    for j, v in enumerate(row):
        at = f"{where}[{j}]" if isinstance(t, list) else where
        if isinstance(v, list):
            raise ValueError(
                f"{who}: {at} is a list; a target is a number or a list of numbers (1-D or 2-D y)"
            )
        label = _label(v)
        if loss in ("hinge", "max_margin") and label not in (-1, 1):
            raise ValueError(f"{who}: loss={loss!r} wants labels -1 or +1, {at} is {label!r}")
        if loss == "bce" and not 0 <= label <= 1:
            raise ValueError(f"{who}: loss='bce' wants targets in [0, 1], {at} is {label!r}")
    if nout is not None and len(row) != nout:
        has = f"{len(row)} numbers" if isinstance(t, list) else "one number"
        raise ValueError(f"{who}: {where} is {has}, but the {name} gives {nout} outputs")
    return t


def _checked_data(
    model: Any, X: Any, y: Any, loss: str | None, x_name: str = "X", y_name: str = "y", who: str = "fit"
) -> tuple[list[Any], list[Any]]:
    """X and y as lists of plain samples and targets, checked, or an error naming what is wrong."""
    samples, targets = _samples(x_name, X, who), _samples(y_name, y, who)
    if len(samples) != len(targets):
        raise ValueError(
            f"{who}: {len(samples)} samples but {len(targets)} targets "
            f"({x_name} has {len(samples)}, {y_name} has {len(targets)})"
        )
    if not samples:
        what = "training data" if who == "fit" and x_name == "X" else "samples"
        raise ValueError(f"{who}: no {what}: {x_name} and {y_name} are empty")
    samples = [_plain(x, f"{x_name}[{i}]", who) for i, x in enumerate(samples)]
    targets = [_plain(t, f"{y_name}[{i}]", who) for i, t in enumerate(targets)]
    sizes = _sizes(model)
    if sizes is not None:
        for i, x in enumerate(samples):
            _check_sample(x, f"{x_name}[{i}]", model, sizes[0], who)
    nout = sizes[1] if sizes is not None else None
    targets = [_check_target(t, f"{y_name}[{i}]", loss, model, nout, who) for i, t in enumerate(targets)]
    return samples, targets


def _resolve_loss(loss: str | LossFn) -> tuple[LossFn, Callable[[Any, Any], bool] | None]:
    if callable(loss):
        return loss, None
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or pass a function")
    loss_fn = _elementwise(LOSSES[loss]) if loss in ELEMENTWISE else LOSSES[loss]
    return loss_fn, ACCURACY.get(loss)


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
    return _evaluate(model, X, y, loss_fn, correct)


def _evaluate(
    model: Any,
    X: list[Any],
    y: list[Any],
    loss_fn: LossFn,
    correct: Callable[[Any, Any], bool] | None,
) -> tuple[float, float | None]:
    with no_grad():
        preds = [model(x) for x in X]
        value = loss_fn(preds, y).data
    acc = sum(correct(p, t) for p, t in zip(preds, y)) / len(y) if correct else None
    return value, acc


def _batches(n: int, batch_size: int | None, rng: random.Random | None) -> list[list[int]]:
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = batch_size or n
    return [order[i : i + size] for i in range(0, n, size)]


# -- watching for numbers that are not finite ----------------------------------------


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
        X, y: samples and targets: lists or NumPy arrays (any real dtype;
            NumPy numbers become Python floats and ints). A sample is a number
            or a (nested) list of numbers; a target is a number or a list of
            numbers (1-D or 2-D ``y``); with several outputs per sample,
            ``"mse"``, ``"hinge"`` and ``"bce"`` average over every output.
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
    epochs = _check_count("epochs", epochs)  # type: ignore[assignment]
    max_iter = _check_count("max_iter", max_iter, optional=True, what=" (no cap)")
    patience = _check_count("patience", patience, optional=True, what=" (no early stopping)")
    batch_size = _check_count("batch_size", batch_size, optional=True, what=" (all samples in one batch)")
    if tol is not None:
        if not _is_number(tol) or math.isnan(tol):
            raise (TypeError if not _is_number(tol) else ValueError)(
                f"fit: tol must be a number or None, got {_describe(tol)}"
            )
    min_delta = _check_real("min_delta", min_delta, low=0.0, low_ok=True)
    l2 = _check_real("l2", l2, low=0.0, low_ok=True)
    validation_split = _check_real("validation_split", validation_split, low=0.0, low_ok=True, high=1.0)
    if validation_split and validation_data is not None:
        raise ValueError("fit: give validation_split or validation_data, not both")
    if not (isinstance(seed, random.Random) or _is_int(seed)):
        raise TypeError(f"fit: seed must be an int or a random.Random, got {_describe(seed)}")
    if callback is not None and not callable(callback):
        raise TypeError(
            f"fit: callback must be a function (epoch, history) -> bool, got {_describe(callback)}"
        )
    if optimizer is None:
        _check_lr(lr, "fit")
    elif not all(callable(getattr(optimizer, name, None)) for name in ("zero_grad", "step", "current_lr")):
        raise TypeError(f"fit: optimizer must be an Optimizer (SGD, Adam, ...), got {_describe(optimizer)}")
    loss_fn, correct = _resolve_loss(loss)
    loss_name = loss if isinstance(loss, str) else None
    X_all, y_all = _checked_data(model, X, y, loss_name)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError(
                f"fit: validation_data must be a pair (X_val, y_val), got {_describe(validation_data)}"
            )
        validation_data = _checked_data(
            model, *validation_data, loss_name, x_name="validation_data[0]", y_name="validation_data[1]"
        )
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    n = len(X_all)
    train_index = list(range(n))  # where each training sample is in X
    val_index: list[int] | None = None  # where each validation sample is in X, for a split
    if validation_split:
        n_val = max(1, round(validation_split * n))
        if n_val >= n:
            raise ValueError(
                f"fit: validation_split={validation_split!r} holds out {n_val} of the {n} samples, "
                "leaving none to train on"
            )
        order = list(range(n))
        rng.shuffle(order)
        val_index, train_index = order[:n_val], order[n_val:]
        validation_data = ([X_all[i] for i in val_index], [y_all[i] for i in val_index])
    X_train, y_train = [X_all[i] for i in train_index], [y_all[i] for i in train_index]

    started = time.perf_counter()
    params = model.parameters()
    problem = _weight_problem(params, "is")
    if problem is not None:
        raise ValueError(f"fit: the model is not finite before training: {problem}")
    step = _compiled_step(model, X_train[0], params, compile) if compile else None
    opt = optimizer if optimizer is not None else SGD(params, lr=lr)
    history = History()
    best_loss, best_state, waited = float("inf"), None, 0
    bar = _progress(progress, epochs)
    stepping, before_step = False, None

    def forward(inputs: list[Any], targets: list[Any]) -> tuple[list[Any], Value]:
        preds = step.forward(inputs) if step is not None else [model(x) for x in inputs]
        batch_loss = loss_fn(preds, targets)
        if l2:
            batch_loss = batch_loss + losses.l2_penalty(params, l2)
        return preds, batch_loss

    def backward(inputs: list[Any], preds: list[Any], batch_loss: Value) -> None:
        opt.zero_grad()
        batch_loss.backward()
        if step is not None:
            step.backward(inputs, preds)

    def first_at_fault(batch: list[int]) -> tuple[int | None, str | None]:
        """The first training sample of ``batch`` whose own loss, output or gradient is not finite."""
        saved = [p.grad for p in params]
        try:
            for i in batch:
                try:
                    preds, sample_loss = forward([X_train[i]], [y_train[i]])
                    problem = _value_problem(sample_loss, preds)
                    if problem is None:
                        backward([X_train[i]], preds, sample_loss)
                        problem = _grad_problem(params)
                except ArithmeticError as error:
                    problem = f"{type(error).__name__}: {error}"
                except Exception:  # a loss that wants whole batches: look no further
                    continue
                if problem is not None:
                    return i, problem
            return None, None
        finally:
            for p, g in zip(params, saved):
                p.grad = g

    def stop(
        epoch: int, problem: str, kind: str, batch: list[int], cause: BaseException | None = None
    ) -> None:
        """Name the epoch, step and sample, put the weights back to the epoch's start, and raise.

        ``kind`` is ``"step"`` (a forward or backward pass of ``batch``),
        ``"update"`` (the optimizer's step after ``batch``) or ``"validation"``.
        """
        k = history.iterations
        sample: int | None = None
        where = f"in epoch {epoch} (counting from 0), at step {k}"
        if kind == "step":  # find the first sample at fault on its own
            at, why = first_at_fault(batch)
            if at is not None:
                sample = train_index[at]
                there = "" if why == problem else f"; on its own: {why}"
                detail = (
                    f"; the first sample at fault is X[{sample}] = {_short(X_all[sample])}, "
                    f"y[{sample}] = {_short(y_all[sample])}{there}"
                )
            else:
                first = train_index[batch[0]]
                detail = f"; no sample of the batch (which starts at X[{first}]) is at fault on its own"
        elif kind == "update":
            detail = f" (the batch starts at X[{train_index[batch[0]]}])"
        else:
            k -= 1  # after the epoch's last step
            where = f"after epoch {epoch} (counting from 0), step {k}"
            at, why = first_at_fault_in_validation()
            detail = ""
            if at is not None:
                assert validation_data is not None
                sample = val_index[at] if val_index is not None else at
                name = f"X[{sample}]" if val_index is not None else f"validation_data[0][{at}]"
                there = "" if why == problem else f"; on its own: {why}"
                shown = _short(validation_data[0][at])
                detail = f"; the first validation sample at fault is {name} = {shown}{there}"
        for p, value in zip(params, at_start):
            p.data = value
        if opt_start is not None:  # SGD's momentum, Adam's moments and step count, as the epoch began
            for name, value in opt_start.items():
                setattr(opt, name, value)
        history.iterations = iterations_at_start
        del history.lr[lr_count_at_start:]
        history.stop_reason = "nonfinite"
        kept = f"the end of epoch {epoch - 1}" if epoch else "the start of training"
        raise NonFiniteError(
            f"fit: {problem} {where}{detail}. The model is back to its weights at {kept}; "
            "a smaller learning rate, or a look at the data, may help.",
            epoch=epoch,
            step=k,
            sample=sample,
            validation=kind == "validation",
            history=history,
        ) from cause

    def first_at_fault_in_validation() -> tuple[int | None, str | None]:
        assert validation_data is not None
        for j, (x, t) in enumerate(zip(*validation_data)):
            try:
                with no_grad():
                    pred = model(x)
                    problem = _value_problem(loss_fn([pred], [t]), [pred])
            except ArithmeticError as error:
                problem = f"{type(error).__name__}: {error}"
            except Exception:  # a loss that wants whole batches: look no further
                continue
            if problem is not None:
                return j, problem
        return None, None

    at_start: list[float] = []
    opt_start: dict[str, Any] | None = None
    iterations_at_start = lr_count_at_start = 0
    try:
        for epoch in range(epochs):
            total, n_correct, seen = 0.0, 0, 0
            at_start = [p.data for p in params]
            opt_start = opt.state_dict() if isinstance(opt, Optimizer) else None
            iterations_at_start, lr_count_at_start = history.iterations, len(history.lr)
            for batch in _batches(len(X_train), batch_size, rng if shuffle else None):
                inputs = [X_train[i] for i in batch]
                targets = [y_train[i] for i in batch]
                try:
                    preds, batch_loss = forward(inputs, targets)
                    problem = _value_problem(batch_loss, preds, "batch loss")
                    if problem is None:
                        backward(inputs, preds, batch_loss)
                        problem = _grad_problem(params)
                except ArithmeticError as error:  # e.g. OverflowError from exp or ** in a pass
                    stop(epoch, f"{type(error).__name__} ({error})", "step", batch, error)
                if problem is not None:
                    stop(epoch, problem, "step", batch)
                before_step, stepping = [p.data for p in params], True
                history.lr.append(opt.current_lr())
                opt.step()
                stepping = False
                problem = _weight_problem(params)
                if problem is not None:
                    stop(
                        epoch, f"the update with lr={history.lr[-1]!r} overflowed: {problem}", "update", batch
                    )
                history.iterations += 1
                total += batch_loss.data * len(batch)
                seen += len(batch)
                if correct:
                    n_correct += sum(correct(p, t) for p, t in zip(preds, targets))
                if max_iter is not None and history.iterations >= max_iter:
                    break
            monitored = total / seen
            if validation_data is not None:
                try:
                    val_loss, val_acc = _evaluate(model, *validation_data, loss_fn, correct)
                except ArithmeticError as error:
                    stop(
                        epoch,
                        f"{type(error).__name__} ({error}) in the validation loss",
                        "validation",
                        [],
                        error,
                    )
                if not math.isfinite(val_loss):
                    stop(epoch, f"the validation loss is {val_loss!r}", "validation", [])
                monitored = val_loss
            history.loss.append(total / seen)
            if correct:
                history.accuracy.append(n_correct / seen)
            if validation_data is not None:
                history.val_loss.append(val_loss)
                if val_acc is not None:
                    history.val_accuracy.append(val_acc)
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
