"""Optimizers: gradient descent, ``weight = weight - learning_rate * gradient``, and friends.

A learning rate is a number or a schedule: a function of the step number
(0 for the first step) returning the rate, e.g. ``lambda k: 1.0 - 0.9 * k / 100``.
Call ``zero_grad()`` before each backward pass and ``step()`` after it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Callable, Union

from autograd_lite.engine import Value

__all__ = ["SGD", "Adam", "LearningRate", "Optimizer"]

LearningRate = Union[float, Callable[[int], float]]


class Optimizer:
    """Holds parameters and a learning rate (number or schedule); counts steps."""

    def __init__(self, parameters: Iterable[Value], lr: LearningRate) -> None:
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        bad = [p for p in self.parameters if not isinstance(p, Value)]
        if bad:
            raise TypeError(f"{type(self).__name__}: parameters must be Values, got {type(bad[0]).__name__}")
        if not callable(lr) and not (isinstance(lr, (int, float)) and lr > 0):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number or a schedule, got {lr!r}")
        self.lr = lr
        self.steps = 0

    def current_lr(self) -> float:
        """The learning rate for the next step."""
        return float(self.lr(self.steps)) if callable(self.lr) else float(self.lr)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0."""
        for p in self.parameters:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its grad."""
        lr = self.current_lr()
        self._update(lr)
        self.steps += 1

    def _update(self, lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay (PyTorch's form).

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v.
    With momentum 0 this is plain ``p = p - lr * grad``.
    """

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: LearningRate = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [0.0] * len(self.parameters)

    def _update(self, lr: float) -> None:
        mu, wd, velocity = self.momentum, self.weight_decay, self.velocity
        for i, p in enumerate(self.parameters):
            g = p.grad + wd * p.data
            if mu:
                g = velocity[i] = mu * velocity[i] + g
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba), as in PyTorch.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g**2;
    p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps),
    with g = grad + weight_decay * p.
    """

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: LearningRate = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas!r}")
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [0.0] * len(self.parameters)
        self.v = [0.0] * len(self.parameters)

    def _update(self, lr: float) -> None:
        b1, b2 = self.betas
        t = self.steps + 1
        c1, c2 = 1 - b1**t, 1 - b2**t
        m, v, eps, wd = self.m, self.v, self.eps, self.weight_decay
        for i, p in enumerate(self.parameters):
            g = p.grad + wd * p.data
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p.data -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)
