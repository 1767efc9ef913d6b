"""Weights to and from ``.safetensors`` files (NumPy only, no PyTorch needed).

The file holds the tensors of :func:`~autograd_lite.interop.to_torch`'s
module, float64, by their PyTorch names (``0.weight``, ``cell.weight_ih_l0``,
...), so ``torch_model.load_state_dict(safetensors.torch.load_file(path))``
reads it, as do JAX and NumPy (``safetensors.numpy.load_file``). Its metadata
records ``format`` (``autograd_lite``), ``model`` (``MLP`` or ``RNN``) and
``architecture`` (``2 -> 16 relu, ...``). Safetensors files hold only numbers:
loading one runs no code.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

from autograd_lite.interop.layout import dense_layers, describe, load_tensors, tensors
from autograd_lite.nn import Module

__all__ = ["load_safetensors", "save_safetensors"]

FORMAT = "autograd_lite"


def _safetensors_numpy() -> Any:
    try:
        import numpy as np
        from safetensors import numpy as st_numpy
    except ImportError as error:
        raise ImportError(
            f"safetensors files need the safetensors and numpy packages ({error}): "
            "pip install 'autograd-lite[interop]'"
        ) from None
    return np, st_numpy


def save_safetensors(model: Module, path: str | os.PathLike[str]) -> None:
    """Write the model's weights to ``path`` as a safetensors file, atomically.

    A model with a parameter that is not finite is refused with a
    ``ValueError`` and nothing is written (an existing file is left as it was),
    as :meth:`Module.save <autograd_lite.nn.Module.save>` does.
    """
    np, st_numpy = _safetensors_numpy()
    path = Path(path)
    layers = dense_layers(model)
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in tensors(model).items()}
    bad = [name for name, p in model.named_parameters() if not math.isfinite(p.data)]
    if bad:
        raise ValueError(
            f"{path}: not saved: parameters not finite ({', '.join(bad[:3])}); nothing was written"
        )
    metadata = {"format": FORMAT, "model": type(model).__name__, "architecture": describe(layers)}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        st_numpy.save_file(arrays, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    _, st_numpy = _safetensors_numpy()
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
        return st_numpy.load_file(str(path)), metadata
    except (OSError, FileNotFoundError):
        raise
    except Exception as error:  # safetensors' own SafetensorError for a file that is not one
        raise ValueError(f"{path}: not a safetensors file ({error})") from None


def load_safetensors(model: Module, path: str | os.PathLike[str]) -> None:
    """Set the model's weights from a safetensors file, all or nothing.

    Reads files written by :func:`save_safetensors` and by PyTorch
    (``safetensors.torch.save_file(torch_model.state_dict(), path)``, any
    float dtype). A ``ValueError`` starting with the path names what does not
    fit (another model class or architecture in the metadata, missing,
    unexpected or misshapen tensors, numbers that are not finite); the model
    is then unchanged.
    """
    path = Path(path)
    arrays, metadata = _read(path)
    own = type(model).__name__
    if metadata.get("format") == FORMAT:
        if metadata.get("model") != own:
            raise ValueError(f"{path}: the file holds a {metadata.get('model')}, this is a {own}")
        ours = describe(dense_layers(model))
        if metadata.get("architecture") != ours:
            raise ValueError(
                f"{path}: the file's {own} is {metadata.get('architecture')}; this {own} is {ours}"
            )
    load_tensors(model, {name: a.astype("float64") for name, a in arrays.items()}, str(path))
