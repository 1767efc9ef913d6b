"""micrograd 0.1.0's ``nn``: ``Module``, ``Neuron``, ``Layer``, ``MLP``, on the twin ``Value``.

The same classes, the same graphs: a neuron is micrograd's
``sum((wi*xi for wi, xi in zip(self.w, x)), self.b)``, a chain of ``'*'``
and ``'+'`` nodes starting from the bias, then ``'ReLU'`` if ``nonlin``.
Weights are drawn with ``random.uniform(-1, 1)`` in micrograd's order, so
``random.seed(1337)`` gives micrograd's model. Differences, on bad input
only: ``nin`` must be a whole number >= 0, and a neuron given a list of
inputs of the wrong length raises ``ValueError`` (micrograd's ``zip``
silently drops the extra ones).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Union

from autograd_lite.micrograd.engine import Value, _describe

__all__ = ["MLP", "Layer", "Module", "Neuron"]

Input = Union[Value, float, int]


class Module:
    """micrograd's base class: ``parameters()`` and ``zero_grad()``."""

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable Values (none here)."""
        return []


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {_describe(n)}")
    return n


class Neuron(Module):
    """``relu(w . x + b)`` (``nonlin=True``) or ``w . x + b``, as micrograd's chain of nodes."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(_count(nin, "Neuron(nin)"))]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Input]) -> Value:
        """``b + w1*x1 + ... + wn*xn`` (Python's ``sum`` from ``b``), then ``relu()`` if ``nonlin``."""
        if hasattr(x, "__len__") and len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons of ``nin`` inputs each; one output is returned as a Value, more as a list."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(_count(nout, "Layer(nout)"))]

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nin, *nouts``: ReLU neurons, and linear ones in the last layer."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sz = [nin, *nouts]
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Input]) -> Any:
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
