"""``to_torch`` and ``from_torch``: an ``MLP`` or ``RNN`` as a ``torch.nn.Module``, same weights, and back.

See :mod:`autograd_lite.interop.layout` for where each parameter goes.
"""

from __future__ import annotations

from typing import Any, Callable

from autograd_lite._optional import optional_dependency

with optional_dependency("torch", "to_torch and from_torch"):
    import torch
    from torch import nn

from autograd_lite.interop.layout import (
    RNN_ACTIVATIONS,
    Dense,
    dense_layers,
    describe,
    load_tensors,
    tensors,
)
from autograd_lite.nn import MLP, RNN, Module

__all__ = ["SOFTPLUS_THRESHOLD", "TorchRNN", "from_torch", "to_torch", "torch_layers", "torch_tensors"]

SOFTPLUS_THRESHOLD = 40.0
"""``nn.Softplus(threshold=40)``: linear above 40, where ``log1p(exp(x))`` equals ``x`` in float64
(PyTorch's default, 20, differs from the exact softplus by up to ``exp(-20)``, about 2e-9)."""

LEAKY_SLOPE = 0.01  # Value.leaky_relu's default slope, the "leaky_relu" activation


def activation_module(label: str) -> nn.Module | None:
    """The PyTorch module of an activation (``None`` for ``"linear"``)."""
    modules: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
        "softplus": lambda: nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD),
    }
    return modules[label]() if label in modules else None


def activation_label(module: nn.Module, where: str) -> str:
    """The autograd_lite activation of a PyTorch activation module; a clear error if it has none."""
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.LeakyReLU) and module.negative_slope == LEAKY_SLOPE:
        return "leaky_relu"
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return "softplus"
    raise ValueError(
        f"from_torch: {where} is {module!r}, which has no autograd_lite twin; an MLP is made of "
        f"Linear layers (with a bias) each followed by one of ReLU, Tanh, Sigmoid, "
        f"LeakyReLU({LEAKY_SLOPE}), Softplus(beta=1) or nothing"
    )


class TorchRNN(nn.Module):
    """autograd_lite's :class:`~autograd_lite.nn.RNN` in PyTorch: ``nn.RNN`` and a ``Linear`` readout.

    ``forward(xs, h0=None)``: ``xs`` is ``(batch, steps, nin)`` (or ``(steps,
    nin)`` for one sequence), ``h0`` the first hidden state (zeros by default,
    as in autograd_lite); returns one output per step, ``(batch, steps, nout)``.
    """

    def __init__(
        self,
        nin: int,
        nhidden: int,
        nout: int = 1,
        activation: str = "tanh",
        output_activation: str = "linear",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        self.cell = nn.RNN(nin, nhidden, nonlinearity=activation, batch_first=True, dtype=dtype)
        self.readout = nn.Linear(nhidden, nout, dtype=dtype)
        self.output_activation = activation_module(output_activation) or nn.Identity()

    def forward(self, xs: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        hs, _ = self.cell(xs, None if h0 is None else h0.unsqueeze(0))
        return self.output_activation(self.readout(hs))


def _check_dtype(dtype: Any) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"to_torch: dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}"
        )
    return dtype


def to_torch(model: Module, dtype: torch.dtype = torch.float64) -> nn.Module:
    """The model as a ``torch.nn.Module`` holding the same weights (see :mod:`~autograd_lite.interop.layout`).

    Args:
        model: an :class:`~autograd_lite.nn.MLP` (gives an ``nn.Sequential``)
            or :class:`~autograd_lite.nn.RNN` (gives a :class:`TorchRNN`).
        dtype: the parameters' dtype; ``float64`` (the default) gives the
            model's numbers to rounding, ``float32`` to about 1e-7.

    Raises:
        TypeError: another kind of module, or a dtype that is not a float.
        ValueError: an activation without a PyTorch twin (a custom function),
            or a layer whose neurons have different activations.
    """
    dtype = _check_dtype(dtype)
    layers = dense_layers(model)
    if isinstance(model, MLP):
        modules: list[nn.Module] = []
        for d in layers:
            modules.append(nn.Linear(d.nin, d.nout, dtype=dtype))
            act = activation_module(d.activation)
            modules += [act] if act is not None else []
        module: nn.Module = nn.Sequential(*modules)
    else:
        cell, readout = layers
        module = TorchRNN(cell.nin, cell.nout, readout.nout, cell.activation, readout.activation, dtype)
    values = tensors(model)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(values[name], dtype=torch.float64))
    return module


# ----------------------------------------------------------------------------
# Back again: what a PyTorch module holds, in autograd_lite's order.


def _sequential_layers(module: nn.Module) -> list[tuple[nn.Linear, str]]:
    children = list(module.named_children()) if isinstance(module, nn.Sequential) else [("0", module)]
    layers: list[list[Any]] = []
    for name, child in children:
        where = f"module {name!r} of the Sequential"
        if isinstance(child, nn.Linear):
            if child.bias is None:
                raise ValueError(
                    f"from_torch: {where} is a Linear without a bias; every autograd_lite neuron has one"
                )
            layers.append([child, "linear"])
        elif not isinstance(child, nn.Identity):
            label = activation_label(child, where)
            if not layers or layers[-1][1] != "linear":
                raise ValueError(f"from_torch: {where} ({child!r}) does not follow a Linear layer")
            layers[-1][1] = label
    if not layers:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    for (a, _), (b, _) in zip(layers, layers[1:]):
        if a.out_features != b.in_features:
            raise ValueError(
                f"from_torch: {a!r} gives {a.out_features} numbers, the next {b!r} takes {b.in_features}"
            )
    return [(linear, label) for linear, label in layers]


def torch_layers(module: nn.Module) -> tuple[str, list[tuple[str, int, int, str]]]:
    """``("MLP" | "RNN", [(path, nin, nout, activation), ...])``: what ``module`` holds, checked."""
    if isinstance(module, TorchRNN):
        cell = module.cell
        if cell.num_layers != 1 or cell.bidirectional or not cell.bias or cell.proj_size:
            raise ValueError(
                "from_torch: the RNN must have one layer, one direction, biases and no projection"
            )
        out = activation_label(module.output_activation, "the readout's activation") if not isinstance(
            module.output_activation, nn.Identity) else "linear"  # fmt: skip
        return "RNN", [("cell", cell.input_size, cell.hidden_size, cell.nonlinearity),
                       ("readout", module.readout.in_features, module.readout.out_features, out)]  # fmt: skip
    if isinstance(module, (nn.Sequential, nn.Linear)):
        return "MLP", [(f"{i}", lin.in_features, lin.out_features, act)
                       for i, (lin, act) in enumerate(_sequential_layers(module))]  # fmt: skip
    raise TypeError(
        "from_torch understands an nn.Sequential of Linear layers and activations (or one Linear), "
        f"and the TorchRNN that RNN.to_torch() makes; got {type(module).__name__}"
    )


def torch_tensors(module: nn.Module, layers: list[Dense]) -> dict[str, torch.Tensor]:
    """``module``'s parameters under the names :func:`~autograd_lite.interop.layout.tensors` uses."""
    if isinstance(module, TorchRNN):
        return dict(module.named_parameters())
    found: dict[str, torch.Tensor] = {}
    for d, (linear, _) in zip(layers, _sequential_layers(module)):
        found[d.weight], found[d.bias] = linear.weight, linear.bias
    return found


def _empty_model(kind: str, shape: list[tuple[str, int, int, str]]) -> MLP[Any] | RNN:
    if kind == "RNN":
        (_, nin, nhidden, act), (_, _, nout, out_act) = shape
        if act not in RNN_ACTIVATIONS:
            raise ValueError(f"from_torch: the RNN's nonlinearity {act!r} is not one of {RNN_ACTIVATIONS}")
        return RNN(nin, nhidden, nout, act, out_act, seed=0)
    acts = [act for *_, act in shape]
    model: MLP[Any] = MLP(shape[0][1], [nout for _, _, nout, _ in shape], acts[0], acts[-1], seed=0)
    for layer, act in zip(model.layers, acts):  # each layer its own activation, as in the Sequential
        for neuron in layer.neurons:
            neuron.activation = act
    return model


def from_torch(module: nn.Module) -> MLP[Any] | RNN:
    """An autograd_lite model holding ``module``'s weights (as float64 numbers).

    Understands an ``nn.Sequential`` of ``Linear`` layers, each followed by
    nothing (a linear layer) or one of ``ReLU``, ``Tanh``, ``Sigmoid``,
    ``LeakyReLU(0.01)``, ``Softplus(beta=1)`` (``nn.Identity`` is skipped),
    which gives an :class:`~autograd_lite.nn.MLP` whose layers have those
    activations; a single ``Linear``; and the :class:`TorchRNN` that
    ``RNN.to_torch()`` makes, which gives an :class:`~autograd_lite.nn.RNN`
    (its two biases added into one). Anything else is a clear error naming
    the module.
    """
    kind, shape = torch_layers(module)
    model = _empty_model(kind, shape)
    given = torch_tensors(module, dense_layers(model))
    load_tensors(
        model, {k: v.detach().to("cpu", torch.float64).tolist() for k, v in given.items()}, "from_torch"
    )
    return model


def same_architecture(model: Module, module: nn.Module, where: str) -> list[Dense]:
    """The model's layers, after checking ``module`` has the same sizes and activations."""
    layers = dense_layers(model)
    kind, shape = torch_layers(module)
    ours = [(d.nin, d.nout, d.activation) for d in layers]
    theirs = [(nin, nout, act) for _, nin, nout, act in shape]
    if kind != type(model).__name__ or ours != theirs:
        shown = ", ".join(f"{nin} -> {nout} {act}" for nin, nout, act in theirs)
        raise ValueError(
            f"{where}: the PyTorch module ({kind}: {shown}) is not this {type(model).__name__} "
            f"({describe(layers)})"
        )
    return layers
