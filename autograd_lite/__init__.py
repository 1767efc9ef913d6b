"""autograd_lite: a scalar reverse-mode automatic differentiation engine.

Build expressions out of :class:`Value`, call ``backward()``, read ``.grad``.
Importing this package is light: graphviz, NumPy, matplotlib and ipywidgets
load only when a feature that needs them is used.
"""

from __future__ import annotations

from typing import Any

from autograd_lite.custom import CustomOp, custom_op
from autograd_lite.engine import (
    Value,
    apply,
    enable_grad,
    is_grad_enabled,
    local_derivatives,
    no_grad,
    topological_order,
)
from autograd_lite.functional import grad, hessian, jacobian, jvp
from autograd_lite.ops import Domain, Op

__version__ = "0.1.0"

__all__ = [
    "CustomOp",
    "Domain",
    "Op",
    "Value",
    "__version__",
    "apply",
    "custom_op",
    "enable_grad",
    "grad",
    "hessian",
    "jacobian",
    "jvp",
    "is_grad_enabled",
    "local_derivatives",
    "no_grad",
    "topological_order",
    # loaded on first use (see __getattr__ below)
    "backward_steps",
    "forward_steps",
    "gradient_terms",
    "update_steps",
    "draw_dot",
    "draw_graph",
    "explore",
    "export_steps_html",
    "export_steps_animation",
    "save_graph",
    "gradcheck",
    "gradgradcheck",
    "check_grads",
    "GradcheckError",
    "GuardError",
    "RetraceWarning",
    "detect_anomaly",
]
# `compile` is loaded on first use too (autograd_lite.compile), but kept out of
# __all__ so that `from autograd_lite import *` never shadows the builtin.

# Names whose modules load on first use, so `import autograd_lite` stays light
# (viz needs graphviz, explore needs ipywidgets): name -> module.
_LAZY = {
    "draw_graph": "autograd_lite.viz",
    "draw_dot": "autograd_lite.viz",
    "save_graph": "autograd_lite.viz",
    "backward_steps": "autograd_lite.stepper",
    "forward_steps": "autograd_lite.stepper",
    "gradient_terms": "autograd_lite.stepper",
    "update_steps": "autograd_lite.stepper",
    "explore": "autograd_lite.stepper",
    "export_steps_html": "autograd_lite.stepper",
    "export_steps_animation": "autograd_lite.animation",
    "gradcheck": "autograd_lite.testing",
    "gradgradcheck": "autograd_lite.testing",
    "check_grads": "autograd_lite.testing",
    "GradcheckError": "autograd_lite.testing",
    "compile": "autograd_lite.compiler",
    "detect_anomaly": "autograd_lite.anomaly",
    "GuardError": "autograd_lite.compiler",
    "RetraceWarning": "autograd_lite.compiler",
}


def __getattr__(name: str) -> Any:
    """Import a lazily exported name (``autograd_lite.draw_graph``) on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autograd_lite' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
