"""``to_onnx``: a model as an ONNX file through ``torch.onnx``, and ``check_onnx``: run it with onnxruntime.

The file takes ``x`` (``(batch, nin)`` for an MLP, ``(batch, steps, nin)``
for an RNN; batch and steps of any size) and gives ``y`` (``(batch, nout)``,
``(batch, steps, nout)``), in float64 by default. onnxruntime has no float64
kernels for ``LeakyRelu``, ``Softplus`` and ``RNN``, so the exported graph
writes them with ops it has (``Where``, ``Exp``, ``Log``; the RNN as a loop
over the steps, ``torch.jit.script``); the numbers are the same. The export
uses ``torch.onnx``'s TorchScript exporter (``dynamo=False``: a second,
where the dynamo exporter takes tens of seconds for the same graph).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from autograd_lite._optional import optional_dependency

with optional_dependency("torch", "to_onnx"):
    import torch
    from torch import nn

from autograd_lite.interop.compare import NotSameError, difference
from autograd_lite.interop.torch_models import LEAKY_SLOPE, SOFTPLUS_THRESHOLD, TorchRNN, to_torch
from autograd_lite.nn import MLP, RNN, Module

__all__ = ["check_onnx", "to_onnx"]


class WhereLeakyReLU(nn.Module):
    """``x if x > 0 else 0.01 * x``, as ``Where`` (onnxruntime has no float64 LeakyRelu)."""

    def __init__(self) -> None:
        super().__init__()
        self.slope = LEAKY_SLOPE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, x, self.slope * x)


class WhereSoftplus(nn.Module):
    """``log(1 + exp(x))``, ``x`` above 40, as ``Where`` (onnxruntime has no float64 Softplus)."""

    def __init__(self) -> None:
        super().__init__()
        self.threshold = SOFTPLUS_THRESHOLD

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > self.threshold, x, torch.log1p(torch.exp(x)))


def _for_onnx(module: nn.Module) -> nn.Module:
    """An activation module onnxruntime runs in float64."""
    if isinstance(module, nn.LeakyReLU):
        return WhereLeakyReLU()
    if isinstance(module, nn.Softplus):
        return WhereSoftplus()
    return module


class LoopRNN(nn.Module):
    """A :class:`TorchRNN` as a loop over the steps (scripted, so any number of steps is exported)."""

    def __init__(self, rnn: TorchRNN) -> None:
        super().__init__()
        cell = rnn.cell
        self.w_ih, self.w_hh = cell.get_parameter("weight_ih_l0"), cell.get_parameter("weight_hh_l0")
        bias = cell.get_parameter("bias_ih_l0") + cell.get_parameter("bias_hh_l0")
        self.bias = nn.Parameter(bias.detach())
        self.relu = cell.nonlinearity == "relu"
        self.readout = rnn.readout
        self.output_activation = _for_onnx(rnn.output_activation)

    def forward(self, xs: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(xs.shape[0], self.w_hh.shape[0], dtype=xs.dtype)
        outs = []
        for t in range(xs.shape[1]):
            z = xs[:, t] @ self.w_ih.T + h @ self.w_hh.T + self.bias
            h = torch.relu(z) if self.relu else torch.tanh(z)
            outs.append(self.output_activation(self.readout(h)))
        return torch.stack(outs, 1)


def _onnx_module(
    model: Module, dtype: torch.dtype
) -> tuple[nn.Module, torch.Tensor, dict[str, dict[int, str]]]:
    module = to_torch(model, dtype)
    if isinstance(module, TorchRNN):
        example = torch.zeros(1, 2, module.cell.input_size, dtype=dtype)
        axes = {0: "batch", 1: "steps"}
        with warnings.catch_warnings():  # torch.jit.script is deprecated, and the way to export a loop
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(LoopRNN(module))
        return scripted, example, {"x": axes, "y": axes}
    layers = list(module.children())  # an MLP's nn.Sequential: Linear, activation, Linear, ...
    first = layers[0]
    assert isinstance(first, nn.Linear)
    onnx_ready = nn.Sequential(*[_for_onnx(m) for m in layers])
    example = torch.zeros(1, first.in_features, dtype=dtype)
    return onnx_ready, example, {"x": {0: "batch"}, "y": {0: "batch"}}


def to_onnx(model: Module, path: str | os.PathLike[str], dtype: torch.dtype = torch.float64) -> Path:
    """Export the model to an ONNX file at ``path`` (input ``x``, output ``y``); returns the path.

    Raises what :func:`~autograd_lite.interop.to_torch` raises for a model
    that cannot be exported; then no file is written.
    """
    module, example, axes = _onnx_module(model, dtype)
    path = Path(path)
    with warnings.catch_warnings():  # the TorchScript exporter's notice that dynamo is the default now
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes=axes, dynamo=False)  # fmt: skip
    return path


def _model_outputs(model: MLP | RNN, rows: list[Any]) -> list[list[float]]:
    from autograd_lite.engine import no_grad
    from autograd_lite.interop.compare import _flat

    with no_grad():
        return [[v.data for v in _flat(model(x))] for x in rows]


def check_onnx(model: MLP | RNN, path: str | os.PathLike[str], inputs: Any, tol: float = 1e-12) -> float:
    """Run the ONNX file with onnxruntime on ``inputs`` and compare with the model's outputs.

    Returns the largest :func:`~autograd_lite.interop.compare.difference`;
    raises :class:`~autograd_lite.interop.compare.NotSameError` above ``tol``.
    """
    try:
        import numpy as np
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"check_onnx needs onnxruntime ({error}): pip install 'autograd-lite[onnx]'"
        ) from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.asarray(inputs, dtype=np.float64 if "double" in session.get_inputs()[0].type else np.float32)
    if isinstance(model, RNN) and x.ndim == 2:
        x = x[..., None]
    got = session.run(None, {"x": x})[0].reshape(len(x), -1).tolist()
    expected = _model_outputs(model, np.asarray(inputs, dtype=np.float64).tolist())
    worst = max(difference(a, b) for row, erow in zip(got, expected) for a, b in zip(row, erow))
    if worst > tol:
        raise NotSameError(f"{path}: onnxruntime's outputs differ from the model's by {worst:.3g} > {tol:g}")
    return worst
