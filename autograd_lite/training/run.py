"""One training run: the loop over epochs and batches, the stopping rules, and the checkpoints.

:func:`autograd_lite.train.fit` checks its input, then hands a :class:`Settings`
and the data to a :class:`Run`, which trains:

* the loop (:meth:`Run.train`, :meth:`Run.epoch`, :meth:`Run.step`):
  forward, loss, backward, update, batch after batch;
* the stopping rules (:meth:`Run.stop_reason`): ``tol``, ``max_iter``,
  ``patience`` (restoring the best weights), the callback; else ``epochs``;
* checkpoints (:class:`Checkpoint`): the weights and optimizer state each
  epoch starts with, put back when a number stops being finite
  (:meth:`Run.fail`, which names the epoch, step and sample at fault).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from autograd_lite import losses
from autograd_lite.engine import Value, no_grad
from autograd_lite.optim import Optimizer
from autograd_lite.training.checks import _short
from autograd_lite.training.compiled import _CompiledStep
from autograd_lite.training.faults import _grad_problem, _value_problem, _weight_problem
from autograd_lite.training.objectives import LossFn
from autograd_lite.training.progress import progress_bar, show_epoch
from autograd_lite.training.record import History, NonFiniteError


@dataclass(frozen=True)
class Settings:
    """``fit``'s arguments, checked."""

    loss_fn: LossFn
    correct: Callable[[Any, Any], bool] | None
    epochs: int
    max_iter: int | None
    tol: float | None
    patience: int | None
    min_delta: float
    batch_size: int | None
    shuffle: bool
    l2: float
    progress: bool | None
    callback: Callable[[int, History], Any] | None


@dataclass
class Data:
    """The training samples, the validation samples, and where each came from in ``X``."""

    X: list[Any]
    y: list[Any]
    X_all: list[Any]
    y_all: list[Any]
    train_index: list[int]
    validation: tuple[list[Any], list[Any]] | None
    val_index: list[int] | None


def split(
    X_all: list[Any],
    y_all: list[Any],
    validation_split: float,
    validation_data: tuple[list[Any], list[Any]] | None,
    rng: random.Random,
) -> Data:
    """Hold out ``validation_split`` of the samples (seeded), or take ``validation_data`` as given."""
    n = len(X_all)
    train_index, val_index = list(range(n)), None
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
    X, y = [X_all[i] for i in train_index], [y_all[i] for i in train_index]
    return Data(X, y, X_all, y_all, train_index, validation_data, val_index)


def batches(n: int, batch_size: int | None, rng: random.Random | None) -> list[list[int]]:
    """The indices ``0..n-1`` in batches of ``batch_size`` (all in one when ``None``), shuffled by ``rng``."""
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = batch_size or n
    return [order[i : i + size] for i in range(0, n, size)]


def evaluate_on(
    model: Any, X: list[Any], y: list[Any], loss_fn: LossFn, correct: Callable[[Any, Any], bool] | None
) -> tuple[float, float | None]:
    """(mean loss, accuracy or ``None``) of ``model`` on checked data, without a graph."""
    with no_grad():
        preds = [model(x) for x in X]
        value = loss_fn(preds, y).data
    acc = sum(correct(p, t) for p, t in zip(preds, y)) / len(y) if correct else None
    return value, acc


@dataclass
class Checkpoint:
    """What an epoch starts with, to go back to: weights, optimizer state, the history's counts."""

    weights: list[float]
    optimizer: dict[str, Any] | None
    iterations: int
    lr_count: int

    @classmethod
    def take(cls, params: list[Value], opt: Any, history: History) -> Checkpoint:
        state = opt.state_dict() if isinstance(opt, Optimizer) else None
        return cls([p.data for p in params], state, history.iterations, len(history.lr))

    def restore(self, params: list[Value], opt: Any, history: History) -> None:
        for p, value in zip(params, self.weights):
            p.data = value
        if self.optimizer is not None:  # SGD's momentum, Adam's moments and step count
            for name, value in self.optimizer.items():
                setattr(opt, name, value)
        history.iterations = self.iterations
        del history.lr[self.lr_count :]


class Run:
    """Training ``model`` on ``data`` with ``opt`` as ``settings`` say; :meth:`train` does it."""

    def __init__(
        self, model: Any, params: list[Value], opt: Any, settings: Settings, data: Data,
        rng: random.Random, step: _CompiledStep | None,
    ) -> None:  # fmt: skip
        self.model, self.params, self.opt, self.settings, self.data = model, params, opt, settings, data
        self.rng, self.compiled = rng, step
        self.history = History()
        self.best_loss, self.waited = float("inf"), 0
        self.best_state: list[float] | None = None  # the weights to restore when patience runs out
        self.checkpoint = Checkpoint.take(params, opt, self.history)
        self.stepping = False  # an update under way
        self.before_step: list[float] | None = None  # the weights before it

    # -- the loop --

    def train(self) -> History:
        """Every epoch until a stopping rule says so; Ctrl-C keeps the last complete step's weights."""
        started = time.perf_counter()
        bar = progress_bar(self.settings.progress, self.settings.epochs)
        try:
            for epoch in range(self.settings.epochs):
                monitored = self.epoch(epoch)
                show_epoch(bar, self.history)
                reason = self.stop_reason(epoch, monitored)
                if reason is not None:
                    self.history.stop_reason = reason
                    break
            else:
                self.history.stop_reason = "epochs"
        except KeyboardInterrupt:
            if self.stepping and self.before_step is not None:  # interrupted halfway through an update
                for p, value in zip(self.params, self.before_step):
                    p.data = value
            self.history.stop_reason = "interrupted"
        finally:
            if bar is not None:
                bar.close()
            self.history.seconds = time.perf_counter() - started
            if self.compiled is not None:
                self.history.compile_seconds = self.compiled.compiled.compile_seconds
        return self.history

    def epoch(self, epoch: int) -> float:
        """One pass over the training data, then the validation loss; returns the loss to monitor."""
        s, data = self.settings, self.data
        total, n_correct, seen = 0.0, 0, 0
        self.checkpoint = Checkpoint.take(self.params, self.opt, self.history)
        for batch in batches(len(data.X), s.batch_size, self.rng if s.shuffle else None):
            targets = [data.y[i] for i in batch]
            preds, batch_loss = self.step(epoch, batch)
            total += batch_loss.data * len(batch)
            seen += len(batch)
            if s.correct:
                n_correct += sum(s.correct(p, t) for p, t in zip(preds, targets))
            if s.max_iter is not None and self.history.iterations >= s.max_iter:
                break
        validation = self.validate(epoch) if data.validation is not None else None
        self.history.loss.append(total / seen)  # recorded once the epoch is complete, validation too
        if s.correct:
            self.history.accuracy.append(n_correct / seen)
        if validation is None:
            return total / seen
        val_loss, val_acc = validation
        self.history.val_loss.append(val_loss)
        if val_acc is not None:
            self.history.val_accuracy.append(val_acc)
        return val_loss

    def step(self, epoch: int, batch: list[int]) -> tuple[list[Any], Value]:
        """Forward, loss, backward and the optimizer's update on one batch, each checked for nan and inf."""
        inputs = [self.data.X[i] for i in batch]
        targets = [self.data.y[i] for i in batch]
        try:
            preds, batch_loss = self.forward(inputs, targets)
            problem = _value_problem(batch_loss, preds, "batch loss")
            if problem is None:
                self.backward(inputs, preds, batch_loss)
                problem = _grad_problem(self.params)
        except ArithmeticError as error:  # e.g. OverflowError from exp or ** in a pass
            self.fail(epoch, f"{type(error).__name__} ({error})", "step", batch, error)
        if problem is not None:
            self.fail(epoch, problem, "step", batch)
        self.before_step, self.stepping = [p.data for p in self.params], True
        self.history.lr.append(self.opt.current_lr())
        self.opt.step()
        self.stepping = False
        problem = _weight_problem(self.params)
        if problem is not None:
            self.fail(
                epoch, f"the update with lr={self.history.lr[-1]!r} overflowed: {problem}", "update", batch
            )
        self.history.iterations += 1
        return preds, batch_loss

    def forward(self, inputs: list[Any], targets: list[Any]) -> tuple[list[Any], Value]:
        step = self.compiled
        preds = step.forward(inputs) if step is not None else [self.model(x) for x in inputs]
        batch_loss = self.settings.loss_fn(preds, targets)
        if self.settings.l2:
            batch_loss = batch_loss + losses.l2_penalty(self.params, self.settings.l2)
        return preds, batch_loss

    def backward(self, inputs: list[Any], preds: list[Any], batch_loss: Value) -> None:
        self.opt.zero_grad()
        batch_loss.backward()
        if self.compiled is not None:
            self.compiled.backward(inputs, preds)

    def validate(self, epoch: int) -> tuple[float, float | None]:
        """The validation loss (which must be finite) and accuracy after an epoch."""
        s, data = self.settings, self.data
        assert data.validation is not None
        try:
            val_loss, val_acc = evaluate_on(self.model, *data.validation, s.loss_fn, s.correct)
        except ArithmeticError as error:
            self.fail(
                epoch, f"{type(error).__name__} ({error}) in the validation loss", "validation", [], error
            )
        if not math.isfinite(val_loss):
            self.fail(epoch, f"the validation loss is {val_loss!r}", "validation", [])
        return val_loss, val_acc

    # -- the stopping rules --

    def stop_reason(self, epoch: int, monitored: float) -> str | None:
        """Why to stop after ``epoch`` (tol, max_iter, patience, callback), or ``None`` to go on."""
        s, history = self.settings, self.history
        if monitored < self.best_loss - s.min_delta:
            self.best_loss, self.waited, history.best_epoch = monitored, 0, epoch
            if s.patience is not None:
                # The training loss was measured on the way through the epoch, on the weights it
                # started with (exactly so for full batches); the validation loss after it.
                at_start = self.data.validation is None
                self.best_state = self.checkpoint.weights if at_start else [p.data for p in self.params]
        else:
            self.waited += 1
        if s.tol is not None and monitored <= s.tol:
            return "tol"
        if s.max_iter is not None and history.iterations >= s.max_iter:
            return "max_iter"
        if s.patience is not None and self.waited >= s.patience:
            if self.best_state is not None:
                for p, value in zip(self.params, self.best_state):
                    p.data = value
            return "patience"
        if s.callback is not None and s.callback(epoch, history) is True:
            return "callback"
        return None

    # -- when a number is not finite --

    def fail(
        self, epoch: int, problem: str, kind: str, batch: list[int], cause: BaseException | None = None
    ) -> None:
        """Name the epoch, step and sample, put the weights back to the epoch's start, and raise.

        ``kind`` is ``"step"`` (a forward or backward pass of ``batch``),
        ``"update"`` (the optimizer's step after ``batch``) or ``"validation"``.
        """
        k = self.history.iterations
        where = f"in epoch {epoch} (counting from 0), at step {k}"
        if kind == "step":
            sample, detail = self.locate_in_batch(batch, problem)
        elif kind == "update":
            sample, detail = None, f" (the batch starts at X[{self.data.train_index[batch[0]]}])"
        else:
            k -= 1  # after the epoch's last step
            where = f"after epoch {epoch} (counting from 0), step {k}"
            sample, detail = self.locate_in_validation(problem)
        self.checkpoint.restore(self.params, self.opt, self.history)
        self.history.stop_reason = "nonfinite"
        kept = f"the end of epoch {epoch - 1}" if epoch else "the start of training"
        raise NonFiniteError(
            f"fit: {problem} {where}{detail}. The model is back to its weights at {kept}; "
            "a smaller learning rate, or a look at the data, may help.",
            epoch=epoch, step=k, sample=sample, validation=kind == "validation", history=self.history,
        ) from cause  # fmt: skip

    def locate_in_batch(self, batch: list[int], problem: str) -> tuple[int | None, str]:
        """The first sample of ``batch`` at fault on its own (its index in X), and the words for it."""
        data = self.data
        at, why = self.first_at_fault(batch)
        if at is None:
            first = data.train_index[batch[0]]
            return None, f"; no sample of the batch (which starts at X[{first}]) is at fault on its own"
        sample = data.train_index[at]
        there = "" if why == problem else f"; on its own: {why}"
        return sample, (
            f"; the first sample at fault is X[{sample}] = {_short(data.X_all[sample])}, "
            f"y[{sample}] = {_short(data.y_all[sample])}{there}"
        )

    def first_at_fault(self, batch: list[int]) -> tuple[int | None, str | None]:
        """The first training sample of ``batch`` whose own loss, output or gradient is not finite."""
        saved = [p.grad for p in self.params]

        def problem_of(i: int) -> str | None:
            inputs, targets = [self.data.X[i]], [self.data.y[i]]
            preds, sample_loss = self.forward(inputs, targets)
            problem = _value_problem(sample_loss, preds)
            if problem is None:
                self.backward(inputs, preds, sample_loss)
                problem = _grad_problem(self.params)
            return problem

        try:
            return _first_problem(batch, problem_of)
        finally:
            for p, g in zip(self.params, saved):
                p.grad = g

    def locate_in_validation(self, problem: str) -> tuple[int | None, str]:
        """The first validation sample at fault on its own, and the words for it."""
        data = self.data
        assert data.validation is not None
        at, why = _first_validation_fault(self.model, data.validation, self.settings.loss_fn)
        if at is None:
            return None, ""
        sample = data.val_index[at] if data.val_index is not None else at
        name = f"X[{sample}]" if data.val_index is not None else f"validation_data[0][{at}]"
        there = "" if why == problem else f"; on its own: {why}"
        return (
            sample,
            f"; the first validation sample at fault is {name} = {_short(data.validation[0][at])}{there}",
        )


def _first_validation_fault(
    model: Any, validation: tuple[Sequence[Any], Sequence[Any]], loss_fn: LossFn
) -> tuple[int | None, str | None]:
    xs, targets = validation

    def problem_of(j: int) -> str | None:
        with no_grad():
            pred = model(xs[j])
            return _value_problem(loss_fn([pred], [targets[j]]), [pred])

    return _first_problem(range(min(len(xs), len(targets))), problem_of)


def _first_problem(
    samples: Iterable[int], problem_of: Callable[[int], str | None]
) -> tuple[int | None, str | None]:
    """The first sample whose ``problem_of`` is not None, and that problem.

    An ``ArithmeticError`` is the sample's problem; any other error (a loss
    that wants whole batches) passes the sample over.
    """
    for i in samples:
        try:
            problem = problem_of(i)
        except ArithmeticError as error:
            problem = f"{type(error).__name__}: {error}"
        except Exception:
            continue
        if problem is not None:
            return i, problem
    return None, None
