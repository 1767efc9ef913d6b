"""The parts of the training loop behind :func:`autograd_lite.train.fit`, one job each.

* :mod:`~autograd_lite.training.checks`: the input, checked before anything changes;
* :mod:`~autograd_lite.training.objectives`: the losses known by name, and accuracy;
* :mod:`~autograd_lite.training.run`: the loop, batching, stopping rules, checkpoints;
* :mod:`~autograd_lite.training.faults`: watching for numbers that are not finite;
* :mod:`~autograd_lite.training.progress`: the progress bar, wherever a person is watching;
* :mod:`~autograd_lite.training.compiled`: training on a compiled model;
* :mod:`~autograd_lite.training.record`: ``History`` and ``NonFiniteError``.
"""

from __future__ import annotations
