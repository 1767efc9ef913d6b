"""``detect_anomaly()``: stop at the op that first makes a nan or an inf.

Inside ``with detect_anomaly():`` every op records the line of user code
that made its node, and

* in the forward pass, an op whose result is nan or +-inf raises
  ``FloatingPointError`` at once, naming the op, the node (its label, or the
  op applied to its inputs), its inputs and that line;
* in ``backward()``, the first chain-rule term that turns a finite gradient
  into nan or +-inf raises ``FloatingPointError`` naming the node whose rule
  made it, the input it flowed into, and the line that made the node; every
  ``.grad`` is put back as it was before the call (``backward()`` is all or
  nothing).

As PyTorch's ``torch.autograd.detect_anomaly()``: for debugging (every op
pays for finding its line), and global to the process while any block is
open (blocks nest). With it off, nothing is checked and nothing costs: the
checks are put in place when the first block opens and taken out when the
last one closes. ``backward()`` is checked when it runs inside a block; a
node's line is known when the node was made inside one.

Not checked: ``functional.grad`` (and so ``jacobian``, ``hessian``),
compiled functions (``compile``), the data of a node made with
``Value(data, _children, _op)`` (the lecture's way) and what a hook returns
(the next chain-rule step that uses it is blamed). Their results are as with
the block closed: nan and inf go through, as IEEE says.

Example:
    >>> from autograd_lite import Value, detect_anomaly
    >>> x = Value(1e308, label="x")
    >>> with detect_anomaly():
    ...     y = x * 10.0  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    FloatingPointError: detect_anomaly: op '*' made inf in the forward pass at node (x*10.0), ...
"""

from __future__ import annotations

import functools
import linecache
import math
import threading
import weakref
from typing import Any, Callable

from autograd_lite import engine
from autograd_lite._callers import user_frame
from autograd_lite.engine import Value
from autograd_lite.ops import Op

__all__ = ["detect_anomaly", "origin_of"]

# The methods that make nodes (each op's own, and _node(), which apply() and the rest use).
_OP_METHODS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__pow__", "__rpow__", "__neg__", "__abs__", "relu", "leaky_relu", "tanh",
    "sigmoid", "softplus", "exp", "log", "sqrt", "sin", "cos", "sum", "dot",
)  # fmt: skip

_ORIGINS: weakref.WeakKeyDictionary[Value, str] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_OPEN = [0]  # blocks open
_SAVED: dict[str, Any] = {}  # what the checks replaced, to put back


class detect_anomaly:
    """Within this block, the first nan or inf an op makes, forward or backward, raises.

    ``FloatingPointError`` names the op, the node and the line of user code
    that made the node (see the module's docstring). Use as ``with
    detect_anomaly():`` or as a decorator (``@detect_anomaly()``).
    """

    def __enter__(self) -> detect_anomaly:
        with _LOCK:
            if _OPEN[0] == 0:
                _install()
            _OPEN[0] += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with _LOCK:
            _OPEN[0] -= 1
            if _OPEN[0] == 0:
                _uninstall()

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return func(*args, **kwargs)

        return checked


def origin_of(node: Value) -> str | None:
    """Where ``node`` was made (``file:line in function: source``), if made inside ``detect_anomaly()``."""
    return _ORIGINS.get(node)


def _install() -> None:
    for name in _OP_METHODS:
        method = Value.__dict__[name]
        _SAVED[name] = method
        if isinstance(method, staticmethod):
            setattr(Value, name, staticmethod(_watched(method.__func__)))
        else:
            setattr(Value, name, _watched(method))
    _SAVED["_node"] = engine._node
    engine._node = _watched(engine._node)
    engine._ANOMALY[0] = _check_backward_step
    engine._EXTRAS[0] = True  # so backward() asks _needs_general_pass, which sees _ANOMALY


def _uninstall() -> None:
    engine._ANOMALY[0] = None
    engine._node = _SAVED.pop("_node")
    for name in _OP_METHODS:
        setattr(Value, name, _SAVED.pop(name))


def _watched(make: Callable[..., Any]) -> Callable[..., Any]:
    """``make``, then the node it returns is given its line and checked for nan and inf."""

    @functools.wraps(make)
    def watched(*args: Any, **kwargs: Any) -> Any:
        out = make(*args, **kwargs)
        if isinstance(out, Value) and out._prev and out not in _ORIGINS:
            _ORIGINS[out] = _user_line()
            if not math.isfinite(out.data):
                raise FloatingPointError(_forward_message(out))
        return out

    return watched


def _check_backward_step(node: Value, before: list[float]) -> None:
    """After ``node``'s chain-rule step: raise if it turned a finite input gradient into nan/inf."""
    for child, old in zip(node._prev, before):
        if math.isfinite(old) and not math.isfinite(child.grad):
            raise FloatingPointError(
                f"detect_anomaly: the chain rule at node {_name(node)} (op {str(node._op)!r}) made "
                f"{_kind(child.grad)} in the gradient of its input {_name(child)} (data {child.data!r}) "
                f"in the backward pass, from the node's data {node.data!r} and upstream gradient "
                f"{node.grad!r}; the node was made at {_where(node)}"
            )


def _forward_message(out: Value) -> str:
    kids = out._prev
    message = (
        f"detect_anomaly: op {str(out._op)!r} made {_kind(out.data)} in the forward pass at node "
        f"{_name(out)}, from inputs ({', '.join(repr(k.data) for k in kids[:8])}); "
        f"made at {_where(out)}"
    )
    bad = [k for k in kids if not math.isfinite(k.data)]
    if bad:
        k = bad[0]
        message += f". Its input {_name(k)} was {_kind(k.data)} already"
        message += f", made at {_where(k)}" if k in _ORIGINS else " (a leaf: the number came in from outside)"
    return message


def _name(v: Value) -> str:
    if v.label:
        return repr(v.label)
    if not v._prev:
        return f"Value({v.data!r})"
    op: Any = v._op
    names = [k.label or repr(k.data) for k in v._prev[:8]]
    return op.display(names) if isinstance(op, Op) and len(v._prev) <= 8 else f"{op}(...)"


def _kind(x: float) -> str:
    return "nan" if math.isnan(x) else repr(x)


def _where(v: Value) -> str:
    return _ORIGINS.get(v) or "an unknown line (made outside detect_anomaly())"


def _user_line() -> str:
    """The innermost frame outside autograd_lite: ``file:line in function: source``."""
    frame, _ = user_frame()
    if frame is None:
        return "autograd_lite itself"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, line).strip()
    return f"{filename}:{line} in {frame.f_code.co_name}" + (f": {source}" if source else "")
