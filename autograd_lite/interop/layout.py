"""Where each parameter of an ``MLP`` or ``RNN`` goes among PyTorch's tensors (no PyTorch needed here).

The tensors are those of the module :func:`~autograd_lite.interop.to_torch`
makes, by their PyTorch names:

* ``MLP``: an ``nn.Sequential`` of ``Linear`` layers, each followed by its
  activation module (none for a linear layer). Layer ``i`` is the
  Sequential's module ``s`` (``s`` counts the modules before it: ``0, 2,
  4`` for ReLU layers): ``layers.i.neurons.j.w.k`` is ``s.weight[j, k]``,
  ``layers.i.neurons.j.b`` is ``s.bias[j]``.
* ``RNN``: ``cell`` is a one-layer ``nn.RNN`` (``batch_first``) and
  ``readout`` a ``Linear``: ``cell.units.neurons.j.w.k`` is
  ``cell.weight_ih_l0[j, k]`` for the ``nin`` inputs and
  ``cell.weight_hh_l0[j, k - nin]`` for the hidden state;
  ``cell.units.neurons.j.b`` is ``cell.bias_ih_l0[j]`` (PyTorch has a second
  bias, ``cell.bias_hh_l0``: zero on export, added to the first on import);
  ``readout.neurons.j.w.k`` is ``readout.weight[j, k]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeVar

from autograd_lite.engine import Value
from autograd_lite.nn import MLP, RNN, Layer, Module, _activation_label

T = TypeVar("T")

__all__ = ["SUPPORTED_ACTIVATIONS", "Dense", "describe", "dense_layers", "load_tensors", "tensors"]

SUPPORTED_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "softplus", "linear")
"""The activations that have a PyTorch twin (``leaky_relu`` with autograd_lite's slope, 0.01)."""

RNN_ACTIVATIONS = ("tanh", "relu")  # what nn.RNN's nonlinearity can be


class Dense(NamedTuple):
    """One layer of neurons: its path in the model, sizes, activation, and its tensors' names."""

    path: str
    layer: Layer
    nin: int
    nout: int
    activation: str
    weight: str
    bias: str


def _activation(layer: Layer, path: str, model: Module) -> str:
    labels = {_activation_label(n.activation) for n in layer.neurons}
    if len(labels) > 1:
        raise ValueError(
            f"{type(model).__name__} layer {path}: its neurons have different activations {sorted(labels)}; "
            "a PyTorch layer has one"
        )
    (label,) = labels
    if label not in SUPPORTED_ACTIVATIONS:
        raise ValueError(
            f"{type(model).__name__} layer {path}: activation {label!r} has no PyTorch twin; "
            f"exportable activations are {', '.join(SUPPORTED_ACTIVATIONS)}"
        )
    return label


def _layer(path: str, layer: Layer, model: Module, weight: str, bias: str) -> Dense:
    nin = len(layer.neurons[0].w)
    return Dense(path, layer, nin, len(layer.neurons), _activation(layer, path, model), weight, bias)


def dense_layers(model: Module) -> list[Dense]:
    """The model's layers in order, with their tensors' names; a clear error for what cannot be exported.

    For an ``RNN`` the cell's layer comes first (its weight is named
    ``cell.weight_ih_l0``; it also owns ``cell.weight_hh_l0``).
    """
    if isinstance(model, MLP):
        layers, s = [], 0
        for i, layer in enumerate(model.layers):
            dense = _layer(f"layers.{i}", layer, model, f"{s}.weight", f"{s}.bias")
            layers.append(dense)
            s += 1 if dense.activation == "linear" else 2
        return layers
    if isinstance(model, RNN):
        cell = _layer("cell.units", model.cell.units, model, "cell.weight_ih_l0", "cell.bias_ih_l0")
        if cell.activation not in RNN_ACTIVATIONS:
            raise ValueError(
                f"RNN cell: activation {cell.activation!r} has no PyTorch twin; "
                f"torch.nn.RNN's nonlinearity is 'tanh' or 'relu'"
            )
        readout = _layer("readout", model.readout, model, "readout.weight", "readout.bias")
        return [cell._replace(nin=model.cell.nin), readout]
    raise TypeError(
        f"PyTorch export takes an MLP or an RNN, got {type(model).__name__}; "
        "wrap a Layer in an MLP (MLP(nin, [nout]) has one)"
    )


def describe(layers: list[Dense]) -> str:
    """``2 -> 16 relu, 16 -> 1 linear``."""
    return ", ".join(f"{d.nin} -> {d.nout} {d.activation}" for d in layers)


def tensors(model: Module) -> dict[str, list[Any]]:
    """The model's parameters as PyTorch's tensors (nested lists of floats), by PyTorch name."""
    out: dict[str, list[Any]] = {}
    for d in dense_layers(model):
        rows = [[w.data for w in n.w] for n in d.layer.neurons]
        bias = [n.b.data for n in d.layer.neurons]
        if d.weight == "cell.weight_ih_l0":
            out[d.weight] = [row[: d.nin] for row in rows]
            out["cell.weight_hh_l0"] = [row[d.nin :] for row in rows]
            out[d.bias] = bias
            out["cell.bias_hh_l0"] = [0.0] * len(bias)
        else:
            out[d.weight], out[d.bias] = rows, bias
    return out


def _shape(x: Any) -> tuple[int, ...]:
    shape = getattr(x, "shape", None)
    if shape is not None:
        return tuple(int(n) for n in shape)
    return (len(x), *_shape(x[0])) if isinstance(x, (list, tuple)) and x else ((0,) if x == [] else ())


def _as_lists(x: Any) -> Any:
    return x.tolist() if hasattr(x, "tolist") else x


def load_tensors(model: Module, given: Mapping[str, Any], where: str = "load") -> None:
    """Set the model's parameters from PyTorch-named tensors (arrays or nested lists), all or nothing.

    A ``ValueError`` starting with ``where`` names the missing, unexpected or
    misshapen tensors, or the parameters that would not be finite.
    """
    expected = {name: _shape(t) for name, t in tensors(model).items()}
    missing = [n for n in expected if n not in given]
    unexpected = [n for n in given if n not in expected]
    shapes = [f"{n} {_shape(given[n])} (expected {expected[n]})" for n in expected
              if n in given and _shape(given[n]) != expected[n]]  # fmt: skip
    kinds = (("missing", missing), ("unexpected", unexpected), ("wrong shape:", shapes))
    problems = [f"{what} {', '.join(names)}" for what, names in kinds if names]
    if problems:
        raise ValueError(
            f"{where}: the tensors do not fit this {type(model).__name__}: {'; '.join(problems)}"
        )
    lists = {name: _as_lists(t) for name, t in given.items()}
    state: dict[str, float] = {}
    for d in dense_layers(model):
        weight, bias = lists[d.weight], lists[d.bias]
        if d.weight == "cell.weight_ih_l0":
            weight = [a + b for a, b in zip(weight, lists["cell.weight_hh_l0"])]
            bias = [a + b for a, b in zip(bias, lists["cell.bias_hh_l0"])]
        for j in range(d.nout):
            for k, w in enumerate(weight[j]):
                state[f"{d.path}.neurons.{j}.w.{k}"] = w
            state[f"{d.path}.neurons.{j}.b"] = bias[j]
    bad = [name for name, x in state.items() if not math.isfinite(x)]
    if bad:
        raise ValueError(f"{where}: not finite: {', '.join(f'{n}={state[n]!r}' for n in bad[:3])}")
    model.load_state_dict(state)


def parameter_of(model: Module) -> dict[int, str]:
    """Each parameter's dotted name, by ``id`` of its ``Value``."""
    return {id(p): name for name, p in model.named_parameters()}


def grads_as_tensors(model: Module, grads: Mapping[Value, T]) -> dict[str, list[Any]]:
    """Gradients (or anything else, by parameter) laid out as :func:`tensors` lays out values.

    ``cell.bias_hh_l0`` gets the gradients of ``cell.bias_ih_l0``: the same bias in the same sum.
    """
    out: dict[str, list[Any]] = {}
    for d in dense_layers(model):
        rows = [[grads[w] for w in n.w] for n in d.layer.neurons]
        bias = [grads[n.b] for n in d.layer.neurons]
        if d.weight == "cell.weight_ih_l0":
            out[d.weight] = [row[: d.nin] for row in rows]
            out["cell.weight_hh_l0"] = [row[d.nin :] for row in rows]
            out[d.bias] = out["cell.bias_hh_l0"] = bias
        else:
            out[d.weight], out[d.bias] = rows, bias
    return out


def names_as_tensors(model: Module) -> dict[str, list[Any]]:
    """Each tensor element's autograd_lite name, laid out as :func:`tensors` (for error messages)."""
    return grads_as_tensors(model, {p: name for name, p in model.named_parameters()})
