"""``autograd_lite.compile``: trace a function once, then replay it without building a graph.

The package, by layer (each imports only the ones above it):

* :mod:`~autograd_lite.compiler.trace`: record a function as a
  :class:`~autograd_lite.compiler.trace.Program` with guards; flatten and
  check arguments (:class:`~autograd_lite.compiler.trace.Signature`).
* :mod:`~autograd_lite.compiler.backend`: the backend interface
  (:class:`~autograd_lite.compiler.backend.Backend`) and the registry of
  backends by name, each imported on first use.
* :mod:`~autograd_lite.compiler.python_backend` (generated straight-line
  Python) and :mod:`~autograd_lite.compiler.numpy_backend` (NumPy, a whole
  batch level by level): the backends. They never import ``core``.
* :mod:`~autograd_lite.compiler.core`: :func:`compile` and
  :class:`CompiledFunction`: retracing, the replay of samples a backend could
  not do, and the gradient merge, once for every backend.

Importing this package does not import NumPy.
"""

from __future__ import annotations

from autograd_lite.compiler.backend import Backend, backend_names, get_backend
from autograd_lite.compiler.core import (
    BatchResult,
    CompiledFunction,
    Gradients,
    GuardError,
    RetraceWarning,
    TraceError,
    compile,
)
from autograd_lite.compiler.trace import Program

__all__ = [
    "Backend",
    "BatchResult",
    "CompiledFunction",
    "GuardError",
    "Gradients",
    "Program",
    "RetraceWarning",
    "TraceError",
    "backend_names",
    "compile",
    "get_backend",
]
