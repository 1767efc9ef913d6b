"""Optimizers: gradient descent, ``weight = weight - learning_rate * gradient``, and friends.

A learning rate is a number or a schedule: a function of the step number
(0 for the first step) returning the rate, e.g. ``lambda k: 1.0 - 0.9 * k / 100``.
Call ``zero_grad()`` before each backward pass and ``step()`` after it.

Every setting is checked when the optimizer is made (a learning rate must be a
finite positive number, momentum and betas in [0, 1), ...), with an error
naming the setting and the value. A step is all or nothing: every new weight
and every new moment is computed first, then all are assigned, so an error or
a Ctrl-C (``KeyboardInterrupt``) during ``step()`` leaves the parameters, the
optimizer's state (momentum, Adam's moments) and its step count as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Callable, Union

from autograd_lite.engine import Value, _is_real

__all__ = ["SGD", "Adam", "LearningRate", "Optimizer"]

LearningRate = Union[float, Callable[[int], float]]


def _real(x: object) -> bool:
    return _is_real(x) and not isinstance(x, bool)


def _finite(x: object) -> bool:
    try:
        return _real(x) and math.isfinite(float(x))  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float
        return False


def _check_lr(lr: object, owner: str) -> None:
    """Refuse a learning rate that is neither a finite positive number nor a schedule."""
    if callable(lr):
        return
    if not _real(lr):
        raise TypeError(
            f"{owner}: lr must be a positive number or a schedule lr(step), "
            f"got {lr!r} (a {type(lr).__name__})"
        )
    if not (_finite(lr) and float(lr) > 0):  # type: ignore[arg-type]
        why = " (not finite)" if _real(lr) and float(lr) > 0 else ""  # type: ignore[arg-type]
        raise ValueError(f"{owner}: lr must be a positive number or a schedule lr(step), got {lr!r}{why}")


class Optimizer:
    """Holds parameters and a learning rate (number or schedule); counts steps.

    A subclass computes a step in ``_compute(lr)``, which returns the new
    parameter values and the new state (lists named by ``state_names``)
    without changing anything; ``step()`` then assigns them all at once.
    """

    state_names: tuple[str, ...] = ()

    def __init__(self, parameters: Iterable[Value], lr: LearningRate) -> None:
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        bad = [p for p in self.parameters if not isinstance(p, Value)]
        if bad:
            raise TypeError(f"{type(self).__name__}: parameters must be Values, got {type(bad[0]).__name__}")
        _check_lr(lr, type(self).__name__)
        self.lr = float(lr) if not callable(lr) else lr
        self.steps = 0

    def current_lr(self) -> float:
        """The learning rate for the next step.

        A schedule's value must be a finite number >= 0 (0 is allowed, as at
        the end of a decay); anything else is a ``ValueError`` naming the step.
        """
        if not callable(self.lr):
            return float(self.lr)
        value = self.lr(self.steps)
        if not (_finite(value) and float(value) >= 0):
            raise ValueError(
                f"{type(self).__name__}: the learning-rate schedule gave {value!r} at step {self.steps}; "
                "it must return a finite number >= 0"
            )
        return float(value)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0."""
        for p in self.parameters:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its grad, all or nothing.

        A frozen parameter (``p.requires_grad = False``) is skipped, as in
        PyTorch: its value and its optimizer state stay as they are.
        """
        steps = self.steps
        self._update(self.current_lr())
        if self.steps == steps:  # a subclass's own _update that does not count its steps
            self.steps += 1

    def _update(self, lr: float) -> None:
        new_data, new_state = self._compute(lr)
        self._commit(new_data, new_state)

    def _compute(self, lr: float) -> tuple[list[float], dict[str, list[float]]]:
        raise NotImplementedError

    def _commit(self, new_data: list[float], new_state: dict[str, list[float]]) -> None:
        """Assign new values, state and step count together; on any interruption put all back."""
        params = self.parameters
        new_data = [float(v) for v in new_data]  # Python floats, whatever the grads were (np.float32, ...)
        new_state = {name: [float(v) for v in values] for name, values in new_state.items()}
        old_data = [p.data for p in params]
        old_state = {name: getattr(self, name) for name in new_state}
        old_steps = self.steps
        _keep_frozen(params, new_data, old_data, new_state, old_state)
        try:
            for name, values in new_state.items():
                setattr(self, name, values)
            self.steps = old_steps + 1
            for p, value in zip(params, new_data):
                p.data = value
        except BaseException:
            for p, value in zip(params, old_data):
                p.data = value
            for name, values in old_state.items():
                setattr(self, name, values)
            self.steps = old_steps
            raise

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state: the step count and copies of its per-parameter lists."""
        state: dict[str, Any] = {"steps": self.steps}
        for name in self.state_names:
            state[name] = list(getattr(self, name))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict()``, all or nothing (checked first, then assigned)."""
        owner = type(self).__name__
        expected = {"steps", *self.state_names}
        if not isinstance(state, dict) or set(state) != expected:
            raise ValueError(f"{owner}: a state must have the keys {sorted(expected)}")
        steps = state["steps"]
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"{owner}: steps must be an int >= 0, got {steps!r}")
        lists = {}
        for name in self.state_names:
            values = list(state[name])
            if len(values) != len(self.parameters) or not all(_finite(v) for v in values):
                raise ValueError(f"{owner}: {name} must be {len(self.parameters)} finite numbers")
            lists[name] = [float(v) for v in values]
        for name, values in lists.items():
            setattr(self, name, values)
        self.steps = steps


def _fraction(x: object, owner: str, name: str) -> float:
    """A setting in [0, 1): momentum, a beta."""
    if not (_finite(x) and 0 <= float(x) < 1):  # type: ignore[arg-type]
        raise ValueError(f"{owner}: {name} must be a number in [0, 1), got {x!r}")
    return float(x)  # type: ignore[arg-type]


def _non_negative(x: object, owner: str, name: str) -> float:
    if not (_finite(x) and float(x) >= 0):  # type: ignore[arg-type]
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {x!r}")
    return float(x)  # type: ignore[arg-type]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay (PyTorch's form).

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v.
    With momentum 0 this is plain ``p = p - lr * grad``.
    """

    state_names = ("velocity",)

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: LearningRate = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        self.momentum = _fraction(momentum, "SGD", "momentum")
        self.weight_decay = _non_negative(weight_decay, "SGD", "weight_decay")
        self.velocity = [0.0] * len(self.parameters)

    def _compute(self, lr: float) -> tuple[list[float], dict[str, list[float]]]:
        mu, wd = self.momentum, self.weight_decay
        params = self.parameters
        if not mu:
            return [p.data - lr * (p.grad + wd * p.data) for p in params], {}
        velocity = [mu * v + (p.grad + wd * p.data) for v, p in zip(self.velocity, params)]
        return [p.data - lr * v for p, v in zip(params, velocity)], {"velocity": velocity}


class Adam(Optimizer):
    """Adam (Kingma and Ba), as in PyTorch.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2;
    p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps),
    with g = grad + weight_decay * p.
    """

    state_names = ("m", "v")

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: LearningRate = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair of numbers in [0, 1), got {betas!r}")
        self.betas = (_fraction(betas[0], "Adam", "betas[0]"), _fraction(betas[1], "Adam", "betas[1]"))
        if not (_finite(eps) and float(eps) > 0):
            raise ValueError(f"Adam: eps must be a finite number > 0, got {eps!r}")
        self.eps = float(eps)
        self.weight_decay = _non_negative(weight_decay, "Adam", "weight_decay")
        self.m = [0.0] * len(self.parameters)
        self.v = [0.0] * len(self.parameters)

    def _compute(self, lr: float) -> tuple[list[float], dict[str, list[float]]]:
        b1, b2 = self.betas
        t = self.steps + 1
        c1, c2 = 1 - b1**t, 1 - b2**t
        eps, wd, params = self.eps, self.weight_decay, self.parameters
        grads = [p.grad + wd * p.data for p in params]
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(self.m, grads)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(self.v, grads)]
        data = [p.data - lr * (mi / c1) / (math.sqrt(vi / c2) + eps) for p, mi, vi in zip(params, m, v)]
        return data, {"m": m, "v": v}


def _keep_frozen(
    params: list[Value],
    new_data: list[float],
    old_data: list[float],
    new_state: dict[str, list[float]],
    old_state: dict[str, Any],
) -> None:
    """In ``new_data`` and ``new_state``, every frozen parameter's old value and state (in place)."""
    for i, p in enumerate(params):
        if not p.requires_grad:
            new_data[i] = old_data[i]
            for name, values in new_state.items():
                old = old_state[name]
                if isinstance(old, list) and len(old) == len(values):
                    values[i] = old[i]
