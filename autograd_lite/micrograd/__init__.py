"""An exact twin of micrograd 0.1.0 (``engine.Value``, ``nn.Neuron/Layer/MLP``) on autograd_lite.

Change ``micrograd`` to ``autograd_lite.micrograd`` in the imports and
micrograd's code, and the code of Karpathy's lecture (``label=``, ``exp()``,
``tanh()``, ops of one's own with a ``_backward`` closure), builds exactly
micrograd's graphs: ``a - b`` is ``a + (-b)`` with ``-b`` as ``b * -1``,
``a / b`` is ``a * b**-1``, a neuron is a chain of ``*`` and ``+``; ``_prev``
is a set and ``_op`` micrograd's plain string. So the pictures and the order
of the backward steps are micrograd's, while every autograd_lite tool
(``draw_graph``, ``backward_steps``, ``gradcheck``, ``grad``, ``compile``)
works on those graphs: a twin ``Value`` is an ``autograd_lite.Value``.

Use ``autograd_lite.Value`` and ``autograd_lite.nn`` for everything else:
their fused nodes (``'-'``, ``'/'``, one ``dot`` per neuron) make smaller
graphs and a faster ``backward()``. This package is imported only when asked
for (``import autograd_lite`` does not load it).

Example:
    >>> from autograd_lite.micrograd.engine import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a - b
    >>> c._op, [v._op for v in c._prev]
    ('+', ['', '*'])
"""

from __future__ import annotations

from autograd_lite.micrograd import engine, nn
from autograd_lite.micrograd.engine import Value
from autograd_lite.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value", "engine", "nn"]
