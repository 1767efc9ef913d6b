"""autograd_lite: a scalar reverse-mode automatic differentiation engine.

Build expressions out of :class:`Value`, call ``backward()``, read ``.grad``.
Importing this package is light: graphviz, NumPy, matplotlib and ipywidgets
load only when a feature that needs them is used.
"""

from __future__ import annotations

from autograd_lite.engine import (
    Value,
    apply,
    enable_grad,
    is_grad_enabled,
    local_derivatives,
    no_grad,
    topological_order,
)
from autograd_lite.ops import Domain, Op

__version__ = "0.1.0"

__all__ = [
    "Domain",
    "Op",
    "Value",
    "__version__",
    "apply",
    "enable_grad",
    "is_grad_enabled",
    "local_derivatives",
    "no_grad",
    "topological_order",
]
