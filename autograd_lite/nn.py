"""Neural networks out of ``Value``s: neurons, layers, MLPs and a recurrent cell.

A neuron computes ``activation(w1*x1 + ... + wn*xn + b)``. By default the
weighted sum is one ``Value.dot`` node (fused: small, readable, fast graphs);
``fused=False`` builds micrograd's chain of ``*`` and ``+`` nodes instead, for
lessons that want to see every edge. Defaults match micrograd:
``MLP(2, [16, 16, 1])`` has ReLU hidden layers, a linear output, and returns
a single ``Value`` when there is one output; ``nonlin=`` is accepted.

Every parameter is labelled with its dotted name (``layers.0.neurons.3.w.1``),
the name ``named_parameters()``, ``state_dict()`` and graph pictures use.

Example:
    >>> from autograd_lite.nn import MLP
    >>> model = MLP(2, [4, 1], seed=0)
    >>> len(model.parameters())
    17
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Union

from autograd_lite.engine import Value, _is_real
from autograd_lite.graph_model import hidden_state_label

__all__ = ["MLP", "RNN", "Layer", "Module", "Neuron", "RNNCell", "Seed", "from_torch"]

Seed = Union[int, random.Random, None]
Activation = Union[str, Callable[[Value], Value]]
Input = Sequence[Union[Value, float]]

if TYPE_CHECKING:  # a TypeVar default (PEP 696): typing has it from Python 3.13, mypy reads it anywhere
    from typing_extensions import TypeVar

    Output = TypeVar("Output", bound=Union[Value, list[Value]], default=Any)
else:
    Output = typing.TypeVar("Output")

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,
    "softplus": Value.softplus,
    "linear": lambda v: v,
}
INITS = ("uniform", "xavier", "he")
FILE_FORMAT = "autograd_lite.state_dict"
FILE_VERSION = 1


def _rng(seed: Seed) -> Any:
    """A random source: a ``random.Random`` for a seed, the global one for ``None``.

    ``None`` uses the ``random`` module itself, as micrograd does, so that
    ``random.seed(1337)`` followed by ``MLP(...)`` gives micrograd's weights.
    """
    if seed is None or seed is random:
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")


def _activation_name(
    activation: Activation | bool | None, nonlin: Activation | bool | None, default: str
) -> Activation:
    """The activation chosen by ``activation`` or micrograd's ``nonlin`` (at most one of them).

    Either may be micrograd's bool (``True`` is ReLU, ``False`` linear), a name
    of :data:`ACTIVATIONS` or a function of a ``Value``; ``None`` is ``default``.
    """
    if nonlin is not None:  # micrograd's keyword
        if activation is not None:
            raise TypeError("give either activation= or micrograd's nonlin=, not both")
        activation = nonlin
    if activation is None:
        return default
    if activation is True or activation is False:
        return "relu" if activation else "linear"
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation
    elif callable(activation):
        return activation
    raise ValueError(
        f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}, "
        "True/False (micrograd's nonlin: ReLU/linear) or a function of a Value"
    )


class _LabelsParameters(type):
    """Labels a module's parameters with their dotted names once it is built.

    The outermost module is constructed last, so its names win: a neuron on
    its own labels ``w.0``; inside an MLP the same weight becomes
    ``layers.0.neurons.3.w.0``. A label the user set is kept.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        module = super().__call__(*args, **kwargs)
        for name, p in module.named_parameters():
            if not p.label or name.endswith("." + p.label) or name == p.label:
                p.label = name
        return module


class Module(metaclass=_LabelsParameters):
    """Base class: finds parameters in attributes, names them, saves and loads them.

    Parameters are the ``Value`` attributes of a module, lists of ``Value``s,
    and those of its sub-modules (attributes or lists of modules), in the
    order the attributes were set.
    """

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """``(dotted name, parameter)`` pairs, e.g. ``("layers.0.neurons.1.w.0", w)``."""
        for attr, item in vars(self).items():
            if attr.startswith("_"):
                continue
            name = f"{prefix}{attr}"
            if isinstance(item, Value):
                yield name, item
            elif isinstance(item, Module):
                yield from item.named_parameters(name + ".")
            elif isinstance(item, (list, tuple)):
                for i, element in enumerate(item):
                    if isinstance(element, Value):
                        yield f"{name}.{i}", element
                    elif isinstance(element, Module):
                        yield from element.named_parameters(f"{name}.{i}.")

    def parameters(self) -> list[Value]:
        """Every parameter, in a fixed order (micrograd's: weights, then bias).

        The order of :meth:`named_parameters`, found by the same walk without
        making the names (training loops call this every step).
        """
        found: list[Value] = []
        self._collect_parameters(found)
        return found

    def _collect_parameters(self, found: list[Value]) -> None:
        for attr, item in vars(self).items():
            if attr.startswith("_"):
                continue
            if isinstance(item, Value):
                found.append(item)
            elif isinstance(item, Module):
                item._collect_parameters(found)
            elif isinstance(item, (list, tuple)):
                for element in item:
                    if isinstance(element, Value):
                        found.append(element)
                    elif isinstance(element, Module):
                        element._collect_parameters(found)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (do this before each backward pass)."""
        for p in self.parameters():
            p.grad = 0.0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze (``True``) every parameter; returns ``self``, as PyTorch's.

        A frozen parameter gets no gradient from ``backward()`` (its ``.grad``
        stays as it is) and optimizers skip it.
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def state_dict(self) -> dict[str, float]:
        """Parameter values by dotted name: a plain, JSON-ready ``dict``."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set parameters from ``state_dict()`` output, all or nothing.

        Raises ``ValueError`` naming what is missing, unexpected or not a
        finite number; the model is then left exactly as it was (all checks
        happen before the first parameter changes, and an interruption while
        assigning, such as Ctrl-C, puts back the values already assigned).
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict takes a dict of name -> number, got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        wrong = [name for name in params if name in state and not _is_plain_number(state[name])]
        problems = []
        if missing:
            problems.append(f"missing {_names(missing)}")
        if unexpected:
            problems.append(f"unexpected {_names(unexpected)}")
        if wrong:
            shown = ", ".join(f"{n}={_short(state[n])}" for n in wrong[:3])
            problems.append(f"not a finite number: {shown}")
        if problems:
            raise ValueError(
                f"state does not match this {type(self).__name__} ({len(params)} parameters): "
                + "; ".join(problems)
            )
        new = [(p, float(state[name])) for name, p in params.items()]
        old = [(p, p.data) for p in params.values()]
        try:
            for p, value in new:
                p.data = value
        except BaseException:  # e.g. Ctrl-C halfway: put every parameter back
            for p, value in old:
                p.data = value
            raise

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to ``path`` as JSON, atomically.

        The file records the format, its ``version`` (1), the ``model``'s class
        name, its ``architecture`` (every layer's sizes and activation) and the
        ``parameters`` by dotted name. It is written to a temporary file beside
        ``path`` and renamed over it, so an interrupted save never leaves a
        half-written file. A model with a parameter that is not finite (nan or
        inf) is refused with a ``ValueError`` naming the parameters, and
        nothing is written: an existing file at ``path`` is left as it was.
        """
        path = Path(path)
        state = self.state_dict()
        bad = [name for name, value in state.items() if not math.isfinite(value)]
        if bad:
            shown = ", ".join(f"{name}={state[name]!r}" for name in bad[:3])
            raise ValueError(
                f"{path}: not saved: {len(bad)} of this {type(self).__name__}'s {len(state)} parameters "
                f"{'is' if len(bad) == 1 else 'are'} not finite ({shown}{', ...' if len(bad) > 3 else ''}); "
                "nothing was written"
            )
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "model": type(self).__name__,
            "architecture": _architecture(self),
            "parameters": state,
        }
        text = json.dumps(document, indent=1, allow_nan=False)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameters saved by ``save()``, all or nothing.

        Every bad file raises a ``ValueError`` that starts with the file's
        path and says what is wrong: not UTF-8 text (a binary file), not
        JSON, JSON nested too deeply, not an autograd_lite state file, a
        ``version`` other than 1, a ``model`` of another class, an
        ``architecture`` with other sizes or activations than this model's,
        or parameters whose names don't match or whose values are not finite
        numbers (a 5,000-digit number is read as infinite, and so refused).
        A file without ``version``, ``model`` or ``architecture`` (written by
        hand, or by an older ``save()``) is checked by its parameter names
        and values only. A failed load changes no parameter; a file that
        cannot be read at all raises the ``OSError``, which names it.
        """
        path = Path(path)
        document = _read_state_file(path)
        version = document.get("version", FILE_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version != FILE_VERSION:
            raise ValueError(
                f"{path}: file format version {_short(version)}; "
                f"this autograd_lite reads version {FILE_VERSION}"
            )
        own = type(self).__name__
        model = document.get("model", own)
        if model != own:
            shown = model[:60] if isinstance(model, str) else _short(model)
            raise ValueError(
                f"{path}: the file holds a model of class {shown}, this is a model of class {own}"
            )
        if "architecture" in document:
            _check_architecture(path, document["architecture"], self)
        parameters = document.get("parameters")
        if not isinstance(parameters, dict):
            raise ValueError(f'{path}: has no "parameters" object')
        try:
            self.load_state_dict(parameters)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.parameters())} parameters)"


def _is_plain_number(x: object) -> bool:
    if not _is_real(x) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float
        return False


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _short(x: object, limit: int = 60) -> str:
    """``repr(x)``, cut to ``limit`` characters (a file may hold anything)."""
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10**limit:
        return f"<an integer of {len(str(abs(x)))} digits>"
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(f"the key {_short(key)} appears twice in one object")
        document[key] = value
    return document


def _parse_int(digits: str) -> int | float:
    # Python refuses to turn more than 4,300 digits into an int; past float's range
    # (309 digits) a number is read as a float, that is +-inf, which load() refuses.
    return int(digits) if len(digits) <= 300 else float(digits)


def _read_state_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or a ``ValueError`` naming the file and what is wrong."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not a text file (byte 0x{raw[error.start]:02x} at offset {error.start} is not UTF-8); "
            "an autograd_lite state file is JSON, as written by Module.save()"
        ) from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=_parse_int)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON file ({error})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be an autograd_lite state file") from None
    except ValueError as error:
        raise ValueError(f"{path}: not a JSON file autograd_lite can read ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise ValueError(f'{path}: not an autograd_lite state file (no "format": "{FILE_FORMAT}")')
    return document


def _activation_label(activation: Activation) -> str:
    if isinstance(activation, str):
        return activation
    for name, function in ACTIVATIONS.items():  # Value.tanh given as a function is "tanh"
        if activation is function:
            return name
    return "custom:" + getattr(activation, "__qualname__", type(activation).__name__)


def _architecture(module: Module) -> dict[str, Any]:
    """What ``save()`` records of a model's shape: each layer of neurons, its sizes and activation.

    A layer is a :class:`Layer`, or a :class:`Neuron` outside one, found in the
    order of :meth:`Module.named_parameters`, with its dotted path.
    """
    layers: list[dict[str, Any]] = []
    stack: list[tuple[str, Module]] = [("", module)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Layer):
            labels = [_activation_label(n.activation) for n in item.neurons]
            activation: Any = labels[0] if len(set(labels)) == 1 else labels
            nin = len(item.neurons[0].w)
            layers.append({"path": path, "nin": nin, "nout": len(item.neurons), "activation": activation})
            continue
        if isinstance(item, Neuron):
            layers.append(
                {
                    "path": path,
                    "nin": len(item.w),
                    "nout": 1,
                    "activation": _activation_label(item.activation),
                }
            )
            continue
        children: list[tuple[str, Module]] = []
        prefix = path + "." if path else ""
        for attr, value in vars(item).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, Module):
                children.append((prefix + attr, value))
            elif isinstance(value, (list, tuple)):
                children += [(f"{prefix}{attr}.{i}", v) for i, v in enumerate(value) if isinstance(v, Module)]
        stack.extend(reversed(children))
    return {"layers": layers}


def _describe_layers(layers: list[Any]) -> str:
    def one(layer: Any) -> str:
        if not isinstance(layer, dict):
            return _short(layer)
        activation = layer.get("activation")
        shown = activation if isinstance(activation, str) else "mixed activations"
        return f"{layer.get('path')}: {layer.get('nin')} -> {layer.get('nout')} {shown}"

    text = "; ".join(one(layer) for layer in layers[:6])
    return text + (f"; and {len(layers) - 6} more layers" if len(layers) > 6 else "")


def _check_architecture(path: Path, architecture: Any, module: Module) -> None:
    """Refuse a file whose layers differ from ``module``'s in sizes or activations."""
    layers = architecture.get("layers") if isinstance(architecture, dict) else None
    if not isinstance(layers, list):
        raise ValueError(f'{path}: "architecture" is not what Module.save() writes (no list of "layers")')
    own = _architecture(module)["layers"]
    if layers == own:
        return
    name = type(module).__name__
    for i, (theirs, ours) in enumerate(zip(layers, own)):
        if theirs != ours:
            if isinstance(theirs, dict) and theirs.get("path") == ours["path"]:
                diffs = [
                    f"{key} {_short(theirs.get(key))} in the file, {_short(ours[key])} here"
                    for key in ("nin", "nout", "activation")
                    if theirs.get(key) != ours[key]
                ]
                where = f"layer {ours['path'] or i}: " + ", ".join(diffs)
            else:
                where = (
                    f"layer {i} is {_describe_layers([theirs])} in the file, {_describe_layers([ours])} here"
                )
            break
    else:
        where = f"{len(layers)} layers in the file, {len(own)} here"
    raise ValueError(
        f"{path}: the file's {name} has another architecture ({where}); "
        f"the file's: {_describe_layers(layers)}; this {name}'s: {_describe_layers(own)}"
    )


def _initial_weight(rng: Any, init: str, nin: int, fan_out: int) -> float:
    if init == "uniform":  # micrograd's
        return rng.uniform(-1, 1)
    if init == "xavier":  # Glorot: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
        bound = math.sqrt(6.0 / (nin + fan_out))
        return rng.uniform(-bound, bound)
    if init == "he":  # He/Kaiming: N(0, 2 / fan_in), for ReLU layers
        return rng.gauss(0.0, math.sqrt(2.0 / nin))
    raise ValueError(f"unknown init {init!r}; choose one of {INITS}")


class Neuron(Module):
    """``activation(w . x + b)`` with ``nin`` weights and a bias.

    Args:
        nin: number of inputs.
        activation: ``"relu"`` (default, as micrograd), ``"tanh"``,
            ``"sigmoid"``, ``"leaky_relu"``, ``"softplus"``, ``"linear"``, a
            function of a ``Value``, or micrograd's bool (so ``Neuron(2, False)``
            is micrograd's linear neuron). Any other name is a ``ValueError``.
        nonlin: micrograd's keyword: ``True`` is ReLU, ``False`` linear; an
            activation name or function is accepted too (``nonlin="tanh"``).
            Read back as the bool :attr:`nonlin`.
        fused: one ``dot`` node for ``w . x + b`` (default), or micrograd's
            expanded chain of ``*`` and ``+`` nodes.
        init: ``"uniform"`` (micrograd's U(-1, 1)), ``"xavier"`` or ``"he"``.
        seed: an int, a ``random.Random``, or ``None`` for the global
            ``random`` module (micrograd's behaviour). The bias starts at 0.
    """

    def __init__(
        self,
        nin: int,
        activation: Activation | bool | None = None,
        *,
        nonlin: Activation | bool | None = None,
        fused: bool = True,
        init: str = "uniform",
        seed: Seed = None,
        fan_out: int = 1,
    ) -> None:
        if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
            raise ValueError(f"Neuron needs at least one input, got nin={nin!r}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {INITS}")
        rng = _rng(seed)
        self.activation = _activation_name(activation, nonlin, "relu")
        self.fused = fused
        self.w = [Value(_initial_weight(rng, init, nin, fan_out)) for _ in range(nin)]
        self.b = Value(0.0)

    def __call__(self, x: Input) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        if self.fused:
            act = Value.dot(self.w, x, self.b)
        else:
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        f = self.activation
        return ACTIVATIONS[f](act) if isinstance(f, str) else f(act)

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: ``False`` for a linear neuron, ``True`` for any other activation.

        Setting it sets :attr:`activation` as micrograd's constructor does:
        ``True`` is ReLU, ``False`` linear.
        """
        return self.activation != "linear"

    @nonlin.setter
    def nonlin(self, flag: bool) -> None:
        if flag is not True and flag is not False:
            raise TypeError(
                f"nonlin must be True (ReLU) or False (linear), got {flag!r}; set .activation instead"
            )
        self.activation = "relu" if flag else "linear"

    def __repr__(self) -> str:
        name = self.activation if isinstance(self.activation, str) else "custom"
        return f"{name.capitalize() if name != 'relu' else 'ReLU'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons over the same ``nin`` inputs.

    Returns a list of ``nout`` Values, or a single ``Value`` when ``nout`` is 1
    (as micrograd). Keyword arguments are passed to every :class:`Neuron`.
    """

    def __init__(
        self, nin: int, nout: int, activation: Activation | bool | None = None, **kwargs: Any
    ) -> None:
        if not isinstance(nout, int) or isinstance(nout, bool) or nout < 1:
            raise ValueError(f"Layer needs at least one neuron, got nout={nout!r}")
        rng = _rng(kwargs.pop("seed", None))
        self.neurons = [Neuron(nin, activation, seed=rng, fan_out=nout, **kwargs) for _ in range(nout)]

    def __call__(self, x: Input) -> Value | list[Value]:
        x = [v if isinstance(v, Value) else Value(v) for v in x]  # one constant node per input, shared
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class _Exportable:
    """What an :class:`MLP` and an :class:`RNN` can do with PyTorch, safetensors and ONNX
    (:mod:`autograd_lite.interop`, which loads PyTorch only when needed)."""

    def to_torch(self, dtype: Any = None) -> Any:
        """This model as a ``torch.nn.Module`` with the same weights, float64 unless ``dtype`` is given.

        An ``MLP`` becomes an ``nn.Sequential`` of ``Linear`` layers and the same
        activations, an ``RNN`` a :class:`~autograd_lite.interop.TorchRNN`. See
        :func:`autograd_lite.interop.to_torch`.
        """
        from autograd_lite import interop

        return interop.to_torch(self, dtype)  # type: ignore[arg-type]

    def to_onnx(self, path: str | os.PathLike[str], dtype: Any = None) -> Path:
        """Export to an ONNX file through ``torch.onnx`` (see :func:`autograd_lite.interop.to_onnx`)."""
        from autograd_lite import interop

        return interop.to_onnx(self, path, dtype)  # type: ignore[arg-type]

    def save_safetensors(self, path: str | os.PathLike[str]) -> None:
        """Write the weights as a safetensors file PyTorch reads (:func:`.interop.save_safetensors`)."""
        from autograd_lite import interop

        interop.save_safetensors(self, path)  # type: ignore[arg-type]

    def load_safetensors(self, path: str | os.PathLike[str]) -> None:
        """Load weights from a safetensors file, all or nothing (:func:`.interop.load_safetensors`)."""
        from autograd_lite import interop

        interop.load_safetensors(self, path)  # type: ignore[arg-type]


def from_torch(module: Any) -> MLP[Any] | RNN:
    """An :class:`MLP` or :class:`RNN` holding a PyTorch module's weights.

    Understands an ``nn.Sequential`` of ``Linear`` layers and activations
    (``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU(0.01)``, ``Softplus``), and
    the module ``RNN.to_torch()`` makes; anything else is a clear error. See
    :func:`autograd_lite.interop.from_torch`.
    """
    from autograd_lite import interop

    return interop.from_torch(module)


class MLP(_Exportable, Module, Generic[Output]):
    """A multi-layer perceptron: layers of sizes ``nouts`` over ``nin`` inputs.

    Hidden layers use ``activation`` (ReLU by default), the last layer
    ``output_activation`` (linear by default), as micrograd. micrograd's
    ``MLP(2, [16, 16, 1])`` has 337 parameters and returns one ``Value``.
    ``nonlin`` is another name for ``activation`` (micrograd's bool, a name
    such as ``"tanh"`` or a function): ``MLP(2, [2, 1], nonlin="tanh")`` has
    tanh hidden neurons; an unknown name is a ``ValueError``.

    Typing: ``model(x)`` is one ``Value`` when the last size is 1, else a
    list of them, which the sizes (numbers known when the program runs) say
    and a type checker cannot read. So ``MLP`` is generic in what it
    returns: ``MLP[Value]`` for one output, ``MLP[list[Value]]`` for several,
    stated where it is made (``model: MLP[Value] = MLP(2, [16, 16, 1])``);
    unstated, ``model(x)`` is ``Any``, as a PyTorch module's call is, so
    ``score: Value = model(x)`` type-checks as it runs.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: Activation | bool | None = None,
        output_activation: Activation | bool = "linear",
        *,
        nonlin: Activation | bool | None = None,
        seed: Seed = None,
        **kwargs: Any,
    ) -> None:
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts")
        hidden = _activation_name(activation, nonlin, "relu")
        rng = _rng(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                hidden if i < len(nouts) - 1 else output_activation,
                seed=rng,
                **kwargs,
            )
            for i in range(len(nouts))
        ]

    def __call__(self, x: Input) -> Output:
        out: Any = x
        for layer in self.layers:
            out = layer(out)
            if isinstance(out, Value):
                out = [out]
        return out[0] if len(out) == 1 else out  # a Value or a list, as the last size says

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


class RNNCell(Module):
    """One step of a recurrent network: ``h' = tanh(W_xh x + W_hh h + b)``.

    Each of the ``nhidden`` units is a neuron over the ``nin`` inputs followed
    by the ``nhidden`` previous hidden values; the same weights serve every
    time step, so unrolling a sequence and calling ``backward()`` *is*
    backpropagation through time.
    """

    def __init__(self, nin: int, nhidden: int, activation: Activation = "tanh", **kwargs: Any) -> None:
        self.nin, self.nhidden = nin, nhidden
        self.units = Layer(nin + nhidden, nhidden, activation, **kwargs)

    def __call__(self, x: Input | float, h: Sequence[Value | float] | None = None) -> list[Value]:
        xs = [x] if _is_real(x) or isinstance(x, Value) else list(x)  # type: ignore[arg-type]
        if len(xs) != self.nin:
            raise ValueError(f"RNNCell expects {self.nin} inputs per step, got {len(xs)}")
        hs = [0.0] * self.nhidden if h is None else list(h)
        if len(hs) != self.nhidden:
            raise ValueError(f"RNNCell expects a hidden state of {self.nhidden}, got {len(hs)}")
        out = self.units([*xs, *hs])
        return [out] if isinstance(out, Value) else out


class RNN(_Exportable, Module):
    """An RNN over a sequence: a shared :class:`RNNCell` and a linear readout.

    ``model(xs)`` returns one output per step (a ``Value`` when ``nout`` is 1).
    ``truncate_every=k`` detaches the hidden state every ``k`` steps:
    truncated backpropagation through time.
    """

    def __init__(
        self,
        nin: int,
        nhidden: int,
        nout: int = 1,
        activation: Activation = "tanh",
        output_activation: Activation = "linear",
        *,
        seed: Seed = None,
        **kwargs: Any,
    ) -> None:
        rng = _rng(seed)
        self.cell = RNNCell(nin, nhidden, activation, seed=rng, **kwargs)
        self.readout = Layer(nhidden, nout, output_activation, seed=rng, **kwargs)

    def unroll(
        self,
        xs: Sequence[Input | float],
        h0: Sequence[Value | float] | None = None,
        truncate_every: int | None = None,
    ) -> tuple[list[Any], list[list[Value]]]:
        """Run the sequence; return (outputs per step, hidden states per step).

        Unit ``j`` of the hidden state after step ``t`` (counting from 1:
        step ``t`` reads ``x_t`` and ``h_{t-1}``) is labelled ``h_t[j]``
        (``h_3[0]``), and unit ``k`` of its output ``y_t[k]``, so pictures
        of the unrolled graph
        (:func:`autograd_lite.viz.draw_graph`, the stepper) can group its
        values by time step: one box per step. Without ``h0`` the state
        starts at zeros labelled ``h_0[j]``.
        """
        if truncate_every is not None and truncate_every < 1:
            raise ValueError(f"truncate_every must be a positive number of steps, got {truncate_every}")
        if h0 is None:  # the zero state, as values the pictures can name
            h0 = [Value(0.0, label=hidden_state_label(0, j)) for j in range(self.cell.nhidden)]
        h: Sequence[Value | float] = h0
        outputs, hiddens = [], []
        for t, x in enumerate(xs):
            if truncate_every and t and t % truncate_every == 0:
                h = [v.detach() if isinstance(v, Value) else v for v in h]
            h = self.cell(x, h)
            for j, unit in enumerate(h):
                unit.label = hidden_state_label(t + 1, j)
            hiddens.append(h)
            out = self.readout(h)
            for k, unit in enumerate([out] if isinstance(out, Value) else out):
                unit.label = f"y_{t + 1}[{k}]"
            outputs.append(out)
        return outputs, hiddens

    def __call__(
        self,
        xs: Sequence[Input | float],
        h0: Sequence[Value | float] | None = None,
        truncate_every: int | None = None,
    ) -> list[Any]:
        return self.unroll(xs, h0, truncate_every)[0]
