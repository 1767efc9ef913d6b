"""Checking ``fit``'s input before anything changes: each error names the argument and the value."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from autograd_lite.engine import Value
from autograd_lite.nn import MLP, Layer, Neuron


def _short(x: Any, limit: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(x: Any) -> str:
    return f"{_short(x)} (a {type(x).__name__})"


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_count(name: str, value: Any, *, optional: bool = False, what: str = "") -> int | None:
    """A whole number >= 1 (or ``None`` when ``optional``), else an error naming ``name``."""
    if value is None and optional:
        return None
    wanted = f"{name} must be a whole number >= 1{' or None' + what if optional else ''}"
    if not _is_int(value):
        raise TypeError(f"fit: {wanted}, got {_describe(value)}")
    if value < 1:
        raise ValueError(f"fit: {wanted}, got {value!r}")
    return int(value)


def _check_real(name: str, value: Any, *, low: float, low_ok: bool, high: float | None = None) -> float:
    """A finite number in [low, high) (or (low, high) when not ``low_ok``), else an error naming ``name``."""
    bounds = f"{'>=' if low_ok else '>'} {low:g}" if high is None else f"in [{low:g}, {high:g})"
    if not _is_number(value):
        raise TypeError(f"fit: {name} must be a finite number {bounds}, got {_describe(value)}")
    number = float(value)
    if not (math.isfinite(number) and (number >= low if low_ok else number > low)) or (
        high is not None and number >= high
    ):
        raise ValueError(f"fit: {name} must be a finite number {bounds}, got {value!r}")
    return number


def _samples(name: str, data: Any, who: str = "fit") -> list[Any]:
    """``data`` as a list of samples: a list, a tuple, or a NumPy array (or a pandas object)."""
    if hasattr(data, "to_numpy") and not hasattr(data, "tolist"):  # a pandas DataFrame
        data = data.to_numpy()
    if hasattr(data, "dtype") and hasattr(data, "tolist") and hasattr(data, "ndim"):  # a NumPy array
        if data.ndim == 0:
            raise TypeError(
                f"{who}: {name} must be a list or an array of samples, got a 0-d array {_short(data)}"
            )
        if data.dtype.kind not in "biufO":
            raise TypeError(f"{who}: {name} must hold real numbers, got an array of dtype {data.dtype}")
        return list(data.tolist())
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Sequence):
        raise TypeError(f"{who}: {name} must be a list or a NumPy array of samples, got {_describe(data)}")
    return list(data)


def _plain(item: Any, where: str, who: str = "fit") -> Any:
    """A sample or target as plain Python: nested lists of finite ints and floats (or Values).

    NumPy arrays and scalars become lists and Python numbers. Anything else,
    or a number that is not finite, is an error naming where it is (``X[3][1]``).
    Walks with an explicit stack: any depth of nesting is fine.
    """
    root: list[Any] = [None]
    stack: list[tuple[list[Any], int, Any, str]] = [(root, 0, item, where)]
    while stack:
        out, key, x, at = stack.pop()
        if isinstance(x, Value):
            if not math.isfinite(x.data):
                raise ValueError(f"{who}: {at} is {x!r}, not finite; fix or drop the sample")
            out[key] = x
            continue
        if hasattr(x, "dtype") and hasattr(x, "tolist"):  # a NumPy array or scalar
            if x.dtype.kind not in "biufO":
                raise TypeError(f"{who}: {at} must hold real numbers, got dtype {x.dtype}")
            x = x.tolist()
        if isinstance(x, (list, tuple)):
            new: list[Any] = [None] * len(x)
            out[key] = new
            stack.extend((new, j, x[j], f"{at}[{j}]") for j in reversed(range(len(x))))
            continue
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{who}: {at} must be a number or a list of numbers, got {_describe(x)}")
        try:
            finite = math.isfinite(x)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise ValueError(f"{who}: {at} is {_short(x)}, not a finite number; fix or drop the sample")
        out[key] = x
    return root[0]


def _sizes(model: Any) -> tuple[int, int] | None:
    """(inputs, outputs) of a model whose sizes are known: an MLP, a Layer or a Neuron."""
    try:
        if isinstance(model, MLP):
            return len(model.layers[0].neurons[0].w), len(model.layers[-1].neurons)
        if isinstance(model, Layer):
            return len(model.neurons[0].w), len(model.neurons)
        if isinstance(model, Neuron):
            return len(model.w), 1
    except (AttributeError, IndexError, TypeError):
        pass
    return None


def _check_sample(x: Any, where: str, model: Any, nin: int, who: str = "fit") -> None:
    name = type(model).__name__
    if not isinstance(x, list):
        raise ValueError(
            f"{who}: {where} is one number, but the {name} takes {nin} inputs per sample: "
            f"give one list of {nin} numbers per sample (2-D X)"
        )
    if len(x) != nin:
        raise ValueError(f"{who}: {where} has {len(x)} numbers, but the {name} takes {nin} inputs")
    for j, v in enumerate(x):
        if isinstance(v, list):
            raise ValueError(f"{who}: {where}[{j}] is a list, but the {name} takes numbers")


def _label(t: Any) -> Any:
    return t.data if isinstance(t, Value) else t


def _check_target(
    t: Any, where: str, loss: str | None, model: Any, nout: int | None, who: str = "fit"
) -> Any:
    """One target, checked for a built-in loss (and the model's outputs, when known)."""
    if loss is None:
        return t
    name = type(model).__name__
    if loss == "cross_entropy":
        if isinstance(t, list) and len(t) == 1:  # a column of labels, (n, 1)
            t = t[0]
        label = _label(t)
        if isinstance(t, list) or not (float(label).is_integer() and label >= 0):
            raise ValueError(
                f"{who}: loss='cross_entropy' wants one class index (0, 1, 2, ...) per sample, "
                f"{where} is {_short(t)}"
            )
        if nout is not None and label >= nout:
            raise ValueError(
                f"{who}: {where} = {label!r} is not a class of the {name}'s {nout} outputs (0..{nout - 1})"
            )
        return int(label)
    row = t if isinstance(t, list) else [t]
    for j, v in enumerate(row):
        at = f"{where}[{j}]" if isinstance(t, list) else where
        if isinstance(v, list):
            raise ValueError(
                f"{who}: {at} is a list; a target is a number or a list of numbers (1-D or 2-D y)"
            )
        label = _label(v)
        if loss in ("hinge", "max_margin") and label not in (-1, 1):
            raise ValueError(f"{who}: loss={loss!r} wants labels -1 or +1, {at} is {label!r}")
        if loss == "bce" and not 0 <= label <= 1:
            raise ValueError(f"{who}: loss='bce' wants targets in [0, 1], {at} is {label!r}")
    if nout is not None and len(row) != nout:
        has = f"{len(row)} numbers" if isinstance(t, list) else "one number"
        raise ValueError(f"{who}: {where} is {has}, but the {name} gives {nout} outputs")
    return t


def _checked_data(
    model: Any, X: Any, y: Any, loss: str | None, x_name: str = "X", y_name: str = "y", who: str = "fit"
) -> tuple[list[Any], list[Any]]:
    """X and y as lists of plain samples and targets, checked, or an error naming what is wrong."""
    samples, targets = _samples(x_name, X, who), _samples(y_name, y, who)
    if len(samples) != len(targets):
        raise ValueError(
            f"{who}: {len(samples)} samples but {len(targets)} targets "
            f"({x_name} has {len(samples)}, {y_name} has {len(targets)})"
        )
    if not samples:
        what = "training data" if who == "fit" and x_name == "X" else "samples"
        raise ValueError(f"{who}: no {what}: {x_name} and {y_name} are empty")
    samples = [_plain(x, f"{x_name}[{i}]", who) for i, x in enumerate(samples)]
    targets = [_plain(t, f"{y_name}[{i}]", who) for i, t in enumerate(targets)]
    sizes = _sizes(model)
    if sizes is not None:
        for i, x in enumerate(samples):
            _check_sample(x, f"{x_name}[{i}]", model, sizes[0], who)
    nout = sizes[1] if sizes is not None else None
    targets = [_check_target(t, f"{y_name}[{i}]", loss, model, nout, who) for i, t in enumerate(targets)]
    return samples, targets
