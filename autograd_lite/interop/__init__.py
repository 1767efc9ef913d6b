"""Graduating to PyTorch: export a model with its numbers checked equal, save it, run it elsewhere.

* :func:`to_torch` / :func:`from_torch`: an :class:`~autograd_lite.nn.MLP`
  as an ``nn.Sequential`` of ``Linear`` layers and the same activations, an
  :class:`~autograd_lite.nn.RNN` as a :class:`TorchRNN` (``nn.RNN`` and a
  ``Linear`` readout); same weights, float64 by default
  (:mod:`~autograd_lite.interop.layout` says where each parameter goes).
  Also ``model.to_torch()`` and ``autograd_lite.nn.from_torch(module)``.
* :func:`assert_same`: the same outputs, loss and every parameter gradient
  in both, with the largest difference reported.
* :func:`save_safetensors` / :func:`load_safetensors`: weights in a
  safetensors file that PyTorch, JAX and NumPy read (no code is run on load).
* :func:`to_onnx` / :func:`check_onnx`: an ONNX file through ``torch.onnx``,
  run by onnxruntime and checked against the model.

Compiled programs run on PyTorch too: ``step.batch(X, Y, backend="torch",
device="cpu" | "cuda")`` (:mod:`autograd_lite.compiler.torch_backend`).

PyTorch is optional (``pip install 'autograd-lite[torch]'``; ``[interop]``
adds safetensors and the ONNX packages): it is imported when a function
here that needs it is first called.

Example:
    >>> from autograd_lite.nn import MLP
    >>> from autograd_lite.interop import assert_same
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> twin = model.to_torch()  # doctest: +SKIP
    >>> print(assert_same(model, twin, [[0.5, -1.0], [2.0, 0.3]]))  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograd_lite.interop.files import load_safetensors, save_safetensors
from autograd_lite.interop.layout import SUPPORTED_ACTIVATIONS

if TYPE_CHECKING:
    from autograd_lite.interop.compare import Comparison
    from autograd_lite.nn import MLP, RNN, Module

__all__ = [
    "SUPPORTED_ACTIVATIONS",
    "Comparison",
    "NotSameError",
    "TorchRNN",
    "assert_same",
    "check_onnx",
    "from_torch",
    "load_safetensors",
    "save_safetensors",
    "to_onnx",
    "to_torch",
]


def _torch_part(module: str) -> Any:
    import importlib

    try:
        importlib.import_module("torch")
    except ImportError:
        raise ImportError(
            "autograd_lite.interop needs PyTorch for this: pip install 'autograd-lite[torch]'"
        ) from None
    return importlib.import_module(f"autograd_lite.interop.{module}")


def to_torch(model: Module, dtype: Any = None) -> Any:
    """The model as a ``torch.nn.Module`` with the same weights (float64 unless ``dtype`` says otherwise).

    See :func:`autograd_lite.interop.torch_models.to_torch`.
    """
    part = _torch_part("torch_models")
    return part.to_torch(model) if dtype is None else part.to_torch(model, dtype)


def from_torch(module: Any) -> MLP[Any] | RNN:
    """An autograd_lite model with ``module``'s weights (:func:`.torch_models.from_torch`)."""
    return _torch_part("torch_models").from_torch(module)


def assert_same(
    model: MLP | RNN, torch_model: Any, inputs: Any, targets: Any = None, loss: Any = None, tol: float = 1e-12
) -> Comparison:
    """Outputs, loss and every gradient equal within ``tol`` (:func:`.compare.assert_same`)."""
    return _torch_part("compare").assert_same(model, torch_model, inputs, targets, loss, tol)


def to_onnx(model: Module, path: str | os.PathLike[str], dtype: Any = None) -> Path:
    """Export to ONNX. See :func:`autograd_lite.interop.onnx_export.to_onnx`."""
    part = _torch_part("onnx_export")
    return part.to_onnx(model, path) if dtype is None else part.to_onnx(model, path, dtype)


def check_onnx(model: MLP | RNN, path: str | os.PathLike[str], inputs: Any, tol: float = 1e-12) -> float:
    """onnxruntime's outputs against the model's. See :func:`autograd_lite.interop.onnx_export.check_onnx`."""
    return _torch_part("onnx_export").check_onnx(model, path, inputs, tol)


def __getattr__(name: str) -> Any:
    if name in ("Comparison", "NotSameError"):
        return getattr(_torch_part("compare"), name)
    if name == "TorchRNN":
        return _torch_part("torch_models").TorchRNN
    raise AttributeError(f"module 'autograd_lite.interop' has no attribute {name!r}")
