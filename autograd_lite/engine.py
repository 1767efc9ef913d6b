"""``Value``: a number that remembers how it was made, and ``backward()``.

Every arithmetic operation on ``Value``s records one node: its output
``data``, its inputs ``_prev`` and its op ``_op`` (an entry of the op table in
:mod:`autograd_lite.ops`). ``backward()`` then walks that graph from the
output back to the inputs in reverse topological order and applies the chain
rule, ``child.grad += d(node)/d(child) * node.grad``, with an explicit stack
(no recursion, so a graph a million nodes deep is fine).

Written to be read next to micrograd's ``engine.py``, and to be fast: nodes
have ``__slots__``, hold no closures (so a graph has no reference cycles and
is freed the moment it is dropped), and ``backward()`` looks each node's rule
up in the op table instead of calling a per-node function.

Example:
    >>> from autograd_lite import Value
    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad  # d/dx (x**2 + 3x) = 2x + 3
    7.0
"""

from __future__ import annotations

import copy
import functools
import numbers
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, SupportsIndex, Union

from autograd_lite.ops import (
    ABS,
    ADD,
    COS,
    DIV,
    DOT,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SQRT,
    SUB,
    SUM,
    TANH,
    VARIADIC,
    Op,
    leaky_relu,
    pow_number,
)

__all__ = [
    "RemovableHandle",
    "Value",
    "apply",
    "enable_grad",
    "is_grad_enabled",
    "local_derivatives",
    "no_grad",
    "topological_order",
]

Number = Union[int, float]
Operand = Union["Value", int, float]

# ----------------------------------------------------------------------------
# Grad mode: like PyTorch's, local to the thread or async task that set it.

_GRAD_ENABLED: ContextVar[bool] = ContextVar("autograd_lite_grad_enabled", default=True)
_grad_enabled = _GRAD_ENABLED.get


class no_grad:
    """Within this block, operations compute values but record no graph.

    Results are leaves (no ``_prev``) that remember they were made here:
    ``backward()`` on one raises (as PyTorch's "element 0 of tensors does not
    require grad"), and nothing is kept alive for a backward pass. Local to
    the current thread (or ``contextvars`` context): another thread's graph
    is never affected. Three spellings, as in PyTorch: ``with no_grad():``,
    ``@no_grad()`` and a bare ``@no_grad``.
    """

    def __new__(cls, func: Any = None) -> Any:
        if func is None:
            return super().__new__(cls)
        if not callable(func):
            raise TypeError(f"no_grad() takes no argument (or a function to decorate), got {_describe(func)}")
        return super().__new__(cls)(func)  # the bare @no_grad: the decorated function

    def __init__(self, func: Any = None) -> None:
        self._tokens: list[Any] = []

    def __enter__(self) -> None:
        self._tokens.append(_GRAD_ENABLED.set(False))

    def __exit__(self, *exc: object) -> None:
        _GRAD_ENABLED.reset(self._tokens.pop())

    def __call__(self, func: Any) -> Any:
        """Use as a decorator: ``func`` runs with no graph recorded."""

        @functools.wraps(func)
        def without_grad(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return without_grad


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record graphs again inside a ``no_grad()`` block."""
    token = _GRAD_ENABLED.set(True)
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


def is_grad_enabled() -> bool:
    """Whether operations in the current thread/context record a graph."""
    return _grad_enabled()


# Compiling (autograd_lite.compiler) sets a tracer that records comparisons
# (guards) and detached values; None the rest of the time.

_TRACER: ContextVar[Any] = ContextVar("autograd_lite_tracer", default=None)

# ----------------------------------------------------------------------------
# Checking what users pass in.


def _is_real(x: object) -> bool:
    """A real number: int, float, bool, Fraction, or a NumPy real scalar."""
    if isinstance(x, numbers.Real):
        return True
    kind = getattr(getattr(x, "dtype", None), "kind", None)  # NumPy scalars
    return kind is not None and kind in "biuf" and getattr(x, "ndim", None) == 0


def _describe(x: object) -> str:
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (a {type(x).__name__})"


def _as_float(data: object) -> float:
    if data.__class__ is float:
        return data
    if isinstance(data, Value):
        raise TypeError(
            f"Value() takes a real number, got a Value {data!r}; "
            "use the Value itself, or value.data / value.detach()"
        )
    if _is_real(data):
        return float(data)  # type: ignore[arg-type]
    raise TypeError(f"Value() takes a real number (int, float, bool or NumPy scalar), got {_describe(data)}")


def _coerce(x: object, op: str) -> Value:
    """An operand as a Value: Values as they are, numbers as constant leaves."""
    cls = x.__class__
    if cls is float or cls is int:  # the common case, a constant in an expression: one call less
        v = _new(_Constant)
        v.data = x if cls is float else float(x)  # type: ignore[arg-type,assignment]
        v.grad = 0.0
        return v
    if isinstance(x, Value):
        return x
    if _is_real(x):
        return _constant(float(x))  # type: ignore[arg-type]
    raise TypeError(f"{op}: cannot combine a Value with {_describe(x)}; use a number or a Value")


# ----------------------------------------------------------------------------
# Making nodes. The hot path: one object, its children tuple, nothing else.

_new = object.__new__

# Labels live in a table beside the nodes: most nodes have none, and a slot for one
# would cost every node 8 bytes. Keyed by identity (id), as Values are, whatever a
# subclass's __eq__ says; each entry is a weak reference to its Value that holds the
# text and takes the entry out when the Value is freed, so a label keeps nothing alive.


class _Label(weakref.ref):
    __slots__ = ("key", "text")

    key: int
    text: str


def _label_freed(entry: _Label) -> None:
    _LABELS.pop(entry.key, None)


_LABELS: dict[int, _Label] = {}


def _set_label(v: Value, text: str) -> None:
    entry = _LABELS.get(id(v))
    if entry is None:
        entry = _LABELS[id(v)] = _Label(v, _label_freed)
        entry.key = id(v)
    entry.text = text


def _leaf(data: float, label: str = "") -> Value:
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    if label:
        _set_label(v, label)
    return v


def _constant(data: float) -> Value:
    v = _new(_Constant)
    v.data = data
    v.grad = 0.0
    return v


def _node(data: float, children: tuple[Value, ...], op: Op) -> Value:
    v: Any
    if _grad_enabled():
        v = _new(_Node)
        v._prev = children
        v._op = op
    elif _TRACER.get() is None:  # no_grad(): a leaf that only remembers it was made there
        v = _new(_Untracked)
        _EXTRAS[0] = True  # used in a graph later, it gets no gradient: backward() must look
    else:  # no_grad() while compiling: a leaf that remembers how to recompute itself
        v = _new(_Detached)
        v._source = (children, op)
    v.data = data
    v.grad = 0.0
    return v


def apply(op: Op, *operands: Operand) -> Value:
    """Apply any op of the table (or a custom one) to Values or numbers."""
    if op.arity != VARIADIC and len(operands) != op.arity:
        raise TypeError(f"{op}: takes {op.arity} input(s), got {len(operands)}")
    children = tuple(_coerce(x, op) for x in operands)
    out = op.forward(*[c.data for c in children])
    if out.__class__ is not float:
        out = _as_float(out)
    return _node(out, children, op)


class Value:
    """A scalar that records the operations applied to it.

    Attributes:
        data: the number (a ``float``).
        grad: d(root)/d(self) after ``root.backward()`` (a ``float``, 0.0 at first).
        label: an optional name, shown in graph pictures.
        _prev: the inputs of the op that made this value (``()`` for a leaf).
        _op: that op (a ``str``: ``"+"``, ``"tanh"``, ...; ``""`` for a leaf).

    Equality and hashing are by identity (Values live in sets and dicts);
    ``< <= > >=`` compare ``data`` and return ``bool``.

    A value made by an op is an instance of a private subclass that adds the
    ``_prev`` and ``_op`` slots; a leaf (an input, a weight, a constant) has
    them as class attributes (``()`` and ``""``) and so costs 16 bytes less.
    Always test with ``isinstance(x, Value)``. Values take weak references
    (``weakref.ref(v)``); labels live in a table beside the nodes, so a node
    costs no byte for a label it does not have.
    """

    __slots__ = ("data", "grad", "__weakref__")

    data: float
    grad: float
    _prev: tuple[Value, ...] = ()
    _op: str = ""
    _requires_grad: bool = True

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        """A leaf; or, given ``_children`` or ``_op`` (micrograd's lecture), a node of one's own."""
        if label.__class__ is not str:
            raise TypeError(f"Value() label must be a str, got {_describe(label)}")
        self.data = data if data.__class__ is float else _as_float(data)
        self.grad = 0.0
        if _children or _op:
            _make_lecture_node(self, _children, _op, label)
        elif label:
            _set_label(self, label)

    @property
    def label(self) -> str:
        """An optional name, shown in graph pictures (``""`` when it has none)."""
        entry = _LABELS.get(id(self))
        return "" if entry is None else entry.text

    @label.setter
    def label(self, text: str) -> None:
        if text.__class__ is not str:
            raise TypeError(f"label must be a str, got {_describe(text)}")
        if text:
            _set_label(self, text)
        else:
            _LABELS.pop(id(self), None)

    # -- arithmetic: a = self, b = other; each docstring states d/da, d/db --

    def __add__(self, other: Operand) -> Value:
        """a + b; d/da = 1, d/db = 1."""
        # The hot path, written out: a float constant and the node made here, not in
        # _coerce() and _node() (two calls fewer per operation; same objects).
        if other.__class__ is float:
            c = _new(_Constant)
            c.data = other
            c.grad = 0.0
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, ADD)
        if not _grad_enabled():
            return _node(self.data + other.data, (self, other), ADD)
        v = _new(_Node)
        v.data = self.data + other.data
        v.grad = 0.0
        v._prev = (self, other)
        v._op = ADD
        return v

    def __radd__(self, other: Operand) -> Value:
        return _coerce(other, ADD) + self

    def __sub__(self, other: Operand) -> Value:
        """a - b; d/da = 1, d/db = -1."""
        # The hot path, written out: a float constant and the node made here, not in
        # _coerce() and _node() (two calls fewer per operation; same objects).
        if other.__class__ is float:
            c = _new(_Constant)
            c.data = other
            c.grad = 0.0
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, SUB)
        if not _grad_enabled():
            return _node(self.data - other.data, (self, other), SUB)
        v = _new(_Node)
        v.data = self.data - other.data
        v.grad = 0.0
        v._prev = (self, other)
        v._op = SUB
        return v

    def __rsub__(self, other: Operand) -> Value:
        return _coerce(other, SUB) - self

    def __mul__(self, other: Operand) -> Value:
        """a * b; d/da = b, d/db = a."""
        # The hot path, written out: a float constant and the node made here, not in
        # _coerce() and _node() (two calls fewer per operation; same objects).
        if other.__class__ is float:
            c = _new(_Constant)
            c.data = other
            c.grad = 0.0
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, MUL)
        if not _grad_enabled():
            return _node(self.data * other.data, (self, other), MUL)
        v = _new(_Node)
        v.data = self.data * other.data
        v.grad = 0.0
        v._prev = (self, other)
        v._op = MUL
        return v

    def __rmul__(self, other: Operand) -> Value:
        return _coerce(other, MUL) * self

    def __truediv__(self, other: Operand) -> Value:
        """a / b; d/da = 1/b, d/db = -a/b**2. ``ZeroDivisionError`` for b = 0."""
        if not isinstance(other, Value):
            other = _coerce(other, DIV)
        return _node(DIV.forward(self.data, other.data), (self, other), DIV)

    def __rtruediv__(self, other: Operand) -> Value:
        return _coerce(other, DIV) / self

    def __pow__(self, other: Operand) -> Value:
        """a ** b.

        With a number ``k``: one input, op ``"**k"``; d/da = k * a**(k-1).
        With a Value ``b``: d/da = b * a**(b-1), d/db = a**b * log(a) (a > 0).
        """
        if isinstance(other, Value):
            return _node(POW.forward(self.data, other.data), (self, other), POW)
        if not _is_real(other):
            raise TypeError(f"**: the exponent must be a number or a Value, got {_describe(other)}")
        op = pow_number(other)
        return _node(op.forward(self.data), (self,), op)

    def __rpow__(self, other: Operand) -> Value:
        return _coerce(other, POW) ** self

    def __neg__(self) -> Value:
        """-a; d/da = -1."""
        return _node(-self.data, (self,), NEG)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        """|a|; d/da = sign(a), with the subgradient 0 at a = 0."""
        return _node(abs(self.data), (self,), ABS)

    # -- functions -----------------------------------------------------------

    def relu(self) -> Value:
        """max(a, 0); d/da = 0 if a <= 0 else 1 (0 at the kink a = 0); relu(nan) is nan."""
        if not _grad_enabled():
            return _node(RELU.forward(self.data), (self,), RELU)
        a = self.data
        v = _new(_Node)  # written out, as in __add__; the forward is RELU.forward's
        v.data = 0.0 if a <= 0 else a
        v.grad = 0.0
        v._prev = (self,)
        v._op = RELU
        return v

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """a if a > 0 else slope * a; d/da = 1 if a > 0 else slope (slope at 0)."""
        op = leaky_relu(float(slope))
        return _node(op.forward(self.data), (self,), op)

    def tanh(self) -> Value:
        """tanh(a); d/da = 1 - tanh(a)**2."""
        return _node(TANH.forward(self.data), (self,), TANH)

    def sigmoid(self) -> Value:
        """1 / (1 + e**-a), computed stably; d/da = sigmoid(a) * (1 - sigmoid(a))."""
        return _node(SIGMOID.forward(self.data), (self,), SIGMOID)

    def softplus(self) -> Value:
        """log(1 + e**a), computed stably; d/da = sigmoid(a)."""
        return _node(SOFTPLUS.forward(self.data), (self,), SOFTPLUS)

    def exp(self) -> Value:
        """e**a; d/da = e**a. ``OverflowError`` past a = 709.78."""
        return _node(EXP.forward(self.data), (self,), EXP)

    def log(self) -> Value:
        """Natural log; d/da = 1/a. ``ValueError`` for a <= 0."""
        return _node(LOG.forward(self.data), (self,), LOG)

    def sqrt(self) -> Value:
        """Square root; d/da = 1 / (2 sqrt(a)) (+inf at 0). ``ValueError`` for a < 0."""
        return _node(SQRT.forward(self.data), (self,), SQRT)

    def sin(self) -> Value:
        """sin(a); d/da = cos(a)."""
        return _node(SIN.forward(self.data), (self,), SIN)

    def cos(self) -> Value:
        """cos(a); d/da = -sin(a)."""
        return _node(COS.forward(self.data), (self,), COS)

    # -- n-ary ops: one node, many children ----------------------------------

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node for x1 + x2 + ... + xn; d/dxi = 1.

        Unlike Python's ``sum()``, which chains n binary ``+`` nodes, this is a
        single node with n children: a smaller graph and a faster backward.
        An empty sum is a leaf ``Value(0.0)``.
        """
        children = tuple(v if isinstance(v, Value) else _coerce(v, SUM) for v in values)
        if not children:
            return _constant(0.0)
        return _node(SUM.forward(*[c.data for c in children]), children, SUM)

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand], bias: Operand | None = None) -> Value:
        """One node for w1*x1 + ... + wn*xn (+ bias); d/dwi = xi, d/dxi = wi, d/dbias = 1.

        Its children are ``(*ws, *xs)`` then ``bias`` if given. A neuron is
        this node plus its activation.
        """
        if len(ws) != len(xs):
            raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs; they must match")
        children = [v if isinstance(v, Value) else _coerce(v, DOT) for v in ws]
        children += [v if isinstance(v, Value) else _coerce(v, DOT) for v in xs]
        if bias is not None:
            children.append(bias if isinstance(bias, Value) else _coerce(bias, DOT))
        kids = tuple(children)
        return _node(DOT.forward(*[c.data for c in kids]), kids, DOT)

    # -- comparisons: by data, returning bool ----------------------------------

    def __lt__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data < other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, "<", other, result)
        return result

    def __le__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data <= other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, "<=", other, result)
        return result

    def __gt__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data > other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, ">", other, result)
        return result

    def __ge__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data >= other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, ">=", other, result)
        return result

    # __eq__ and __hash__ stay object's: by identity.

    # -- the backward pass ----------------------------------------------------

    def backward(self, gradient: Number = 1.0) -> None:
        """Fill in ``.grad`` of every node that ``self`` depends on.

        Seeds d(self)/d(self) = ``gradient`` (1 by default; PyTorch's
        ``backward(gradient=...)``, so every grad is scaled by it), then visits
        interior nodes in reverse topological order, adding
        ``local derivative * node.grad`` to each child. Leaves accumulate
        across calls (zero them between steps, as in PyTorch); interior grads
        are recomputed from zero on every call.

        A leaf's ``backward()`` adds ``gradient`` to its own grad (as
        micrograd). A value computed under ``no_grad()`` records no graph, and
        its ``backward()`` raises ``RuntimeError`` (as PyTorch's "element 0 of
        tensors does not require grad"). Frozen leaves
        (``requires_grad = False``) keep their grad; hooks
        (:meth:`register_hook`) see each gradient when it is final.

        All or nothing: if anything raises on the way (a derivative that
        overflows, such as ``x ** -1.5`` at ``x = 1e-200``; a custom rule's
        error; Ctrl-C), every ``.grad`` is put back as it was before the call
        (a zero grad as ``0.0``), and the error is raised again as an
        exception of the same type whose message names the node, its op and
        the numbers (its data, its inputs', the upstream gradient), chained to
        the original (``KeyboardInterrupt`` as it is).
        """
        if gradient.__class__ is not float:
            gradient = _seed(gradient)
        order, before = _walk(self)  # also zeroes interior grads
        if not order:  # self is a leaf
            _leaf_backward(self, gradient)
            return
        self.grad = gradient
        if _EXTRAS[0] and _needs_general_pass(order):  # hooks, frozen leaves, closures
            _backward_with_extras(self, order, before)
            return
        node = self
        try:
            for node in reversed(order):
                op = node._op
                g = node.grad
                kids = node._prev
                arity = op.arity  # type: ignore[attr-defined]
                if arity == 1:
                    x = kids[0]
                    x.grad += g * op.derivative(node.data, x.data)  # type: ignore[attr-defined]
                elif arity == 2:
                    a, b = kids
                    da, db = op.derivative(node.data, a.data, b.data)  # type: ignore[attr-defined]
                    a.grad += g * da
                    b.grad += g * db
                elif op.rule_form == "dot":  # type: ignore[attr-defined]
                    _dot_backward(kids, g)
                else:
                    ds = op.derivative(node.data, *[k.data for k in kids])  # type: ignore[attr-defined]
                    for k, d in zip(kids, ds):
                        k.grad += g * d
        except BaseException as error:  # all or nothing: every .grad put back, then a clear error
            if isinstance(error, Exception) and not isinstance(node._op, Op):
                # A node with its own _backward (the micrograd twin's, under an autograd_lite
                # node): start again with the general pass, which calls it.
                _put_back(order, node, before)
                order, before = _walk(self)
                self.grad = gradient
                _backward_with_extras(self, order, before)
                return
            failure = _chain_rule_error("backward()", node, node.grad, error)
            _put_back(order, node, before)
            if failure is error:
                raise
            raise failure from error

    def _backward(self) -> None:
        """One chain-rule step, as in micrograd: ``child.grad += d(self)/d(child) * self.grad``.

        Calling it node by node from the output, in reverse topological order
        and after setting ``output.grad = 1.0``, gives what ``backward()``
        gives. A leaf's ``_backward()`` does nothing.
        """
        if not self._prev or not isinstance(self._op, Op):  # micrograd's default: pass nothing on
            return
        g = self.grad
        for child, local in zip(self._prev, local_derivatives(self)):
            child.grad += g * local

    # -- PyTorch's autograd habits ----------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether ``backward()`` gives this value a gradient.

        True for every value, as in micrograd (every leaf is a parameter),
        except a leaf frozen with ``v.requires_grad = False`` (its grad stays
        as it is; optimizers skip it) and a value made under ``no_grad()``.
        Only a leaf's flag can be changed, as in PyTorch.
        """
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag.__class__ is not bool:
            raise TypeError(f"requires_grad must be True or False, got {_describe(flag)}")
        if flag == self._requires_grad:
            return
        if self._prev:
            raise RuntimeError(
                f"requires_grad of {self!r}: only a leaf's flag can be changed (as in PyTorch); "
                "this value was made by an op. Use .detach() for a leaf copy"
            )
        cls = self.__class__
        if cls is not Value and cls is not _Frozen and cls is not _Untracked:
            raise TypeError(f"requires_grad cannot be changed on a {cls.__name__} (only on a leaf Value)")
        _EXTRAS[0] = True
        self.__class__ = Value if flag else _Frozen  # same layout: no byte more

    def requires_grad_(self, requires_grad: bool = True) -> Value:
        """Set :attr:`requires_grad` and return ``self``, as PyTorch's ``Tensor.requires_grad_``."""
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook: Callable[[float], Any]) -> RemovableHandle:
        """Call ``hook(g)`` with this value's gradient g = d(root)/d(self) during ``backward()``.

        Called when g is final (every use of the value done), before it goes
        on to the value's inputs; a number returned replaces g (for the value's
        ``.grad`` and everything below it), ``None`` keeps it. On a leaf the
        hook sees this pass's gradient, not the accumulated ``.grad``. As in
        PyTorch; returns a handle whose ``remove()`` takes the hook off.
        ``functional.grad`` does not run hooks. The hook (and so the value)
        is kept alive until removed.
        """
        if not callable(hook):
            raise TypeError(f"register_hook takes a function of the gradient, got {_describe(hook)}")
        if not self._requires_grad:
            raise RuntimeError(
                f"register_hook on {self!r}: it does not require grad, so no hook would ever run"
            )
        _EXTRAS[0] = True
        _HOOKS.setdefault(self, []).append(hook)
        return RemovableHandle(self, hook)

    def retain_grad(self) -> Value:
        """Does nothing and returns ``self``: autograd_lite keeps every interior node's ``.grad``
        after ``backward()`` already (PyTorch keeps only leaves' unless asked)."""
        return self

    # -- odds and ends ---------------------------------------------------------

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut off from this graph."""
        if _TRACER.get() is None:
            return _leaf(self.data, self.label)
        d: _Detached = _new(_Detached)  # while compiling: remember the source, to recompute on replay
        d.data, d.grad, d.label = self.data, 0.0, self.label
        d._source = ((self,), None)
        return d

    def __float__(self) -> float:
        # Python's math functions (math.exp, math.log, ...) call float() on their
        # argument: the number would leave the graph and its gradient be dropped
        # without a word (micrograd raises here too). Reading it is .data / .item().
        raise TypeError(
            f"float() of a Value ({self!r}): math functions and float() would read its number "
            "out of the graph and drop it, so gradients would silently be wrong. To stay in "
            "the graph use the Value's method (x.exp(), x.log(), x.sin(), x.tanh(), x ** k, ...); "
            "to read the number on purpose use x.data or x.item()"
        )

    def item(self) -> float:
        """The number this Value holds, ``self.data``, as PyTorch's ``Tensor.item()``.

        Reading it leaves the graph: what is computed from the float is a
        constant to ``backward()``. ``float(v)`` (and so ``math.exp(v)``) is a
        ``TypeError`` to keep that from happening by accident.
        """
        return self.data

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def _repr_html_(self) -> str:
        """In Jupyter: a card with label, data, grad and op, and the graph when it is small."""
        from autograd_lite.display import value_card

        return value_card(self)

    # -- copying and pickling: without recursion, for graphs of any depth -----

    def __copy__(self) -> Value:
        """``copy.copy``: a new node of the same kind with the same data, grad and
        label, sharing this one's inputs and op (only the node is new)."""
        return _shallow_copy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """``copy.deepcopy``: a copy of the whole graph below this value, made
        with an explicit stack; see :func:`_deep_copy`."""
        return _deep_copy(self, memo)

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """How ``pickle`` saves a Value, at a constant depth whatever the graph's;
        see :func:`_reduce_value`."""
        return _reduce_value(self, protocol)


class _Node(Value):
    """A Value made by an op: it also holds the op's inputs and the op."""

    __slots__ = ("_prev", "_op")


class _Custom(Value):
    """A node made as in micrograd's lecture, ``Value(data, _children, _op)``.

    It may be given its own ``_backward`` closure (which ``backward()`` then
    calls node by node) and attributes of one's own (``out._vis_color =
    ...``). ``_op`` is the string given (micrograd's), or an op of the table,
    whose rule is then used when no closure is set.

    Same layout as a leaf (a leaf becomes one in ``Value.__init__``, so making
    a leaf costs no check more): its ``grad`` slot holds a dict of its fields
    (grad, label, ``_prev``, ``_op``, ``_backward`` and one's own), which the
    properties below read. The dict is reached through a slot, so the cycle a
    closure makes (``out -> _backward -> out``) is freed by the collector.
    """

    __slots__ = ()

    grad = property(
        lambda self: _fields(self)["grad"],
        lambda self, g: _fields(self).__setitem__("grad", g),
        doc="d(root)/d(self) after ``root.backward()``.",
    )
    _prev = property(
        lambda self: _fields(self)["_prev"],
        lambda self, kids: _fields(self).__setitem__("_prev", tuple(kids)),
        doc="The children given, a tuple.",
    )
    _op = property(
        lambda self: _fields(self)["_op"],
        lambda self, op: _fields(self).__setitem__("_op", op),
        doc="The op given: micrograd's string.",
    )

    @property
    def label(self) -> str:
        return _fields(self)["label"]

    @label.setter
    def label(self, text: str) -> None:
        if text.__class__ is not str:
            raise TypeError(f"label must be a str, got {_describe(text)}")
        _fields(self)["label"] = text

    @property
    def _backward(self) -> Callable[[], None]:
        """Its own closure once assigned; until then micrograd's default (nothing passed on)."""
        own = _fields(self).get("_backward")
        return own if own is not None else functools.partial(Value._backward, self)

    @_backward.setter
    def _backward(self, closure: Callable[[], None]) -> None:
        _fields(self)["_backward"] = closure

    @_backward.deleter
    def _backward(self) -> None:
        _fields(self).pop("_backward", None)  # micrograd's default again

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        """Its fields: so ``vars(node)`` shows them, as for micrograd's Values."""
        return _fields(self)

    def __getattr__(self, name: str) -> Any:  # only for attributes of one's own
        try:
            return _fields(self)[name]
        except KeyError:
            raise AttributeError(f"{self!r} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__class__":
            raise TypeError(f"the class of a node of one's own ({self!r}) cannot be changed")
        if name == "data" or hasattr(getattr(_Custom, name, None), "__set__"):  # data, grad, label, ...
            object.__setattr__(self, name, value)
        else:
            _fields(self)[name] = value

    def __delattr__(self, name: str) -> None:
        if name == "_backward":
            object.__delattr__(self, name)
        elif name in _LECTURE_OWN or name not in _fields(self):
            raise AttributeError(f"cannot delete {name!r} of {self!r}")
        else:
            del _fields(self)[name]


_GRAD_SLOT = Value.__dict__["grad"]
_LECTURE_OWN = frozenset(("data", "grad", "label", "_prev", "_op", "_backward", "__class__"))


def _fields(v: Value) -> dict[str, Any]:
    return _GRAD_SLOT.__get__(v, Value)


def _make_lecture_node(v: Value, children: Iterable[Value], op: str, label: str) -> None:
    """Turn the new leaf ``v`` into a node of one's own (a ``_Custom``) with these fields."""
    if v.__class__ is not Value:
        raise TypeError(f"{type(v).__name__}(): _children and _op are for Value itself (micrograd's)")
    if isinstance(children, str) or not isinstance(children, Iterable):
        raise TypeError(f"Value(): _children is micrograd's tuple of input Values, got {_describe(children)}")
    kids = tuple(children)
    for i, k in enumerate(kids):
        if not isinstance(k, Value):
            raise TypeError(f"Value(): _children[{i}] must be a Value, got {_describe(k)}")
    if not isinstance(op, str):
        raise TypeError(f"Value(): _op must be a str (micrograd's op name), got {_describe(op)}")
    _GRAD_SLOT.__set__(v, {"grad": 0.0, "label": label, "_prev": kids, "_op": op})
    v.__class__ = _Custom
    _EXTRAS[0] = True  # backward() calls such nodes' own _backward(): see _needs_general_pass


def _rebuild_lecture_node(data: float, fields: dict[str, Any]) -> Value:
    """A node of one's own with these fields (a copy of the dict): for copy and pickle."""
    v = _new(_Custom)
    _DATA_SLOT.__set__(v, data)
    _GRAD_SLOT.__set__(v, dict(fields))
    _EXTRAS[0] = True  # (unpickled in a fresh process: backward() must look for its closure)
    return v


_DATA_SLOT = Value.__dict__["data"]


class _Constant(Value):
    """A leaf made from a number in an expression (the ``2`` of ``2 * x``).

    Exactly a leaf ``Value``; its own class only tells the compiler
    (:mod:`autograd_lite.compiler`) that the number is part of the program,
    not a parameter to read on every replay.
    """

    __slots__ = ()


class _Frozen(Value):
    """A leaf with ``requires_grad = False``: backward() leaves its grad as it is.

    Made by switching a leaf's class (``v.requires_grad = False``), so it costs
    no byte; ``v.requires_grad = True`` switches it back.
    """

    __slots__ = ()
    _requires_grad = False


class _Untracked(Value):
    """A value computed under ``no_grad()``: a leaf, whose ``backward()`` raises."""

    __slots__ = ()
    _requires_grad = False


class _Detached(Value):
    """A leaf cut from the graph while compiling (``detach()``, ``no_grad()``).

    Gradients stop here, as at any leaf, but the compiler recomputes its data
    on replay from ``_source``: ``(inputs, op)``, or ``((value,), None)`` for
    a copy of ``value``.
    """

    __slots__ = ("_source",)

    _source: tuple[tuple[Value, ...], Any]


# ----------------------------------------------------------------------------
# PyTorch's extras: frozen leaves, hooks, and values made under no_grad().
#
# None of them costs the common case anything: a frozen leaf or a value made
# under no_grad() is a leaf of its own class (no extra bytes), hooks live in a
# dict outside the nodes, and backward() tests one flag per call (_EXTRAS:
# set for good once a hook is registered, a leaf frozen or a node of one's
# own made). Only when it is set does backward() look through the graph it
# is given (_needs_general_pass) to choose the general pass below over its
# fast loop: a graph without such things keeps the fast loop.

_EXTRAS = [False]
# While detect_anomaly() is on: its check of each chain-rule step (autograd_lite.anomaly).
_ANOMALY: list[Callable[[Value, list[float]], None] | None] = [None]
_HOOKS: dict[Value, list[Callable[[float], Any]]] = {}


def _seed(gradient: object) -> float:
    if isinstance(gradient, Value) or not _is_real(gradient):
        raise TypeError(f"backward(gradient=...) takes a real number (the seed), got {_describe(gradient)}")
    return float(gradient)  # type: ignore[arg-type]


def _no_graph_error(v: Value) -> RuntimeError:
    if v.__class__ is _Untracked:
        why = (
            "it was computed under no_grad(), which records no graph; compute it outside "
            "no_grad() (or inside enable_grad()) to differentiate it"
        )
    else:
        why = "it is a frozen leaf (requires_grad=False); set v.requires_grad = True to give it a gradient"
    return RuntimeError(f"backward() on {v!r}: this value does not require grad and has no graph: {why}")


def _leaf_backward(v: Value, gradient: float) -> None:
    """backward() on a leaf: its grad += gradient (through its hooks), as micrograd."""
    if not v._requires_grad:
        raise _no_graph_error(v)
    if v in _HOOKS:
        gradient = _run_hooks(v, gradient)
    v.grad += gradient


def _run_hooks(v: Value, g: float) -> float:
    """``g`` passed through ``v``'s hooks in the order registered; a hook's non-None result replaces it."""
    for hook in list(_HOOKS.get(v, ())):
        out = hook(g)
        if out is not None:
            if isinstance(out, Value) or not _is_real(out):
                raise TypeError(f"a hook on {v!r} returned {_describe(out)}; it must return a number or None")
            g = float(out)
    return g


def _needs_general_pass(order: list[Value]) -> bool:
    """Whether this graph has a hook, a frozen leaf or a lecture node (its own ``_backward``).

    (A node whose ``_op`` is a plain string, such as the micrograd twin's, needs
    no look: the fast loop stops at it and starts again with the general pass.)

    Asked only once something of the kind exists in the process (``_EXTRAS``):
    one look at each node and each leaf, so a graph without them keeps the
    fast loop, whatever other graphs hold.
    """
    if _ANOMALY[0] is not None:
        return True
    hooks = _HOOKS
    for node in order:
        if node.__class__ is _Custom or node in hooks:
            return True
        for c in node._prev:
            if not c._requires_grad or c in hooks:
                return True
    return False


def _backward_with_extras(root: Value, order: list[Value], before: dict[Value, Any]) -> None:
    """backward()'s pass when hooks or frozen leaves may be in the graph.

    Node by node with ``_backward()``; a node's hooks run as soon as its grad
    is final (when it is reached, every node using it done). A hooked or
    frozen leaf's grad is set aside and set to 0 first, so its fresh
    gradient is what is summed: a hook sees that and the leaf gets
    ``before + hook(fresh)``; a frozen leaf gets its old grad back.
    """
    special = {
        c: c.grad for n in order for c in n._prev if not c._prev and (c in _HOOKS or not c._requires_grad)
    }
    for leaf in special:
        leaf.grad = 0.0
    node = root
    check = _ANOMALY[0]
    try:
        for node in reversed(order):
            if node in _HOOKS:
                node.grad = _run_hooks(node, node.grad)
            if check is None:
                node._backward()
            else:
                kids_grads = [k.grad for k in node._prev]
                node._backward()
                check(node, kids_grads)
        node = order[0]
        for leaf, old in special.items():
            leaf.grad = old + _run_hooks(leaf, leaf.grad) if leaf._requires_grad else old
    except BaseException as error:
        failure = _chain_rule_error("backward()", node, node.grad, error)
        _put_back(order, order[0], before)
        for leaf, old in special.items():
            leaf.grad = old
        if failure is error:
            raise
        raise failure from error


class RemovableHandle:
    """What :meth:`Value.register_hook` returns: ``handle.remove()`` takes the hook off."""

    def __init__(self, value: Value, hook: Callable[[float], Any]) -> None:
        self._value, self._hook = value, hook

    def remove(self) -> None:
        hooks = _HOOKS.get(self._value)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                del _HOOKS[self._value]


def _probe(node: Value) -> tuple[float, ...]:
    """d(node)/d(child) for a node with its own ``_backward`` closure, read by calling it.

    Every child's grad set to 0 and the node's to 1, the closure called, the
    children's grads read, and every grad put back (also if it raises).
    """
    kids = node._prev
    saved = [(v, v.grad) for v in (node, *kids)]
    try:
        for k in kids:
            k.grad = 0.0
        node.grad = 1.0
        node._backward()
        found: dict[Value, float] = {k: k.grad for k in kids}  # a child used twice: its total, once
    finally:
        for v, g in reversed(saved):
            v.grad = g
    seen: set[Value] = set()
    out = []
    for k in kids:
        out.append(0.0 if k in seen else found[k])
        seen.add(k)
    return tuple(out)


def _dot_backward(kids: tuple[Value, ...], g: float) -> None:
    """dot's rule (d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1) applied in one pass over a neuron's inputs.

    Used only while DOT's rule is exactly that (``Op.rule_form``): the same
    products, added in the same order, as the general path, without building
    the list of derivatives.
    """
    n = len(kids) >> 1
    ws, xs = kids[:n], kids[n : n + n]
    # In _prev's order, as the general path and backward_steps() add them (a value used twice
    # in one neuron gets its terms in the same order, so the same float sum).
    for w, x in zip(ws, xs):
        w.grad += g * x.data
    for w, x in zip(ws, xs):
        x.grad += g * w.data
    if len(kids) & 1:
        kids[-1].grad += g


def _data_of(x: object) -> float | None:
    if isinstance(x, Value):
        return x.data
    if _is_real(x):
        return float(x)  # type: ignore[arg-type]
    return None


def local_derivatives(node: Value) -> tuple[Any, ...]:
    """d(node)/d(child) for each child of ``node``, in the order of ``_prev``.

    Floats, from the node's op rule evaluated at the node's data.
    """
    kids = node._prev
    if not kids:
        return ()
    op = node._op
    if not isinstance(op, Op):  # a node of one's own: probe its _backward closure
        return _probe(node)
    ds = op.derivative(node.data, *[k.data for k in kids])
    return (ds,) if op.arity == 1 else tuple(ds)


def _interior_postorder(root: Value) -> list[Value]:
    """Interior nodes reachable from ``root``, every node after its children.

    Iterative depth-first search (no recursion limit). Each interior node's
    grad is reset to 0.0 as it is listed, ready for a fresh backward pass.
    """
    return _walk(root)[0]


_UNSEEN = object()
_VISITING = object()


def _walk(root: Value) -> tuple[list[Value], dict[Value, Any]]:
    """:func:`_interior_postorder`, and what it takes to undo a backward pass.

    The dict holds every interior node's grad before it was reset, and the
    grad of every leaf below ``root`` whose grad is not zero (so a leaf not in
    it had a zero grad): read on the way, at the cost of one test per leaf,
    never copied.
    """
    order: list[Value] = []
    if not root._prev:
        return order, {}
    state: dict[Value, Any] = {}  # interior: _VISITING, then its grad before; leaf: its nonzero grad
    stack = [root]
    push, pop, get = stack.append, stack.pop, state.get
    append = order.append
    unseen, visiting = _UNSEEN, _VISITING
    while stack:
        v = pop()
        s = get(v, unseen)
        if s is unseen:  # first visit: come back to v after its children
            state[v] = visiting
            push(v)
            for c in v._prev:
                if c._prev:
                    if c not in state:
                        push(c)
                elif c.grad:
                    state[c] = c.grad
        elif s is visiting:  # all children listed: list v
            state[v] = v.grad
            v.grad = 0.0
            append(v)
    return order, state


def _put_back(order: list[Value], failed: Value, before: dict[Value, Any]) -> None:
    """Every grad as it was before a backward pass over ``order`` that stopped at ``failed``.

    The nodes from ``failed`` on (in ``order``) are those whose terms were
    added: their leaves get their grad from ``before`` back, or 0.0 (a grad
    of ``None``, which ``+=`` refused, stays); every interior node gets its own.
    """
    start = order.index(failed)
    for node in order[start:]:
        for c in node._prev:
            if not c._prev:
                if c in before:
                    c.grad = before[c]
                elif c.grad is not None:
                    c.grad = 0.0
    for node in order:
        node.grad = before[node]


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _chain_rule_error(
    where: str, node: Value, upstream: Any, error: BaseException, upstream_name: str = "upstream gradient"
) -> BaseException:
    """``error``, raised while applying the chain rule at ``node``, with a message that says where.

    The same exception type, its message naming the node (its label, or the
    op applied to its inputs), the op and the numbers: the node's data, its
    inputs' data and the upstream gradient. ``error`` itself when it is not
    an ``Exception`` (Ctrl-C) or its type cannot be made from a message.
    """
    if not isinstance(error, Exception):
        return error
    op: Any = node._op
    kids = tuple(node._prev)  # (a set, for the micrograd twin's nodes)
    names = [k.label or _short(k.data) for k in kids[:8]]
    shown = node.label or (op.display(names) if isinstance(op, Op) and len(kids) <= 8 else f"{op}(...)")
    inputs = ", ".join(_short(k.data) for k in kids[:8])
    if len(kids) > 8:
        inputs += f", ... ({len(kids)} inputs)"
    if isinstance(upstream, (list, tuple)):
        up = "(" + ", ".join(_short(u.data if isinstance(u, Value) else u) for u in upstream[:8]) + ")"
    else:
        up = _short(upstream.data if isinstance(upstream, Value) else upstream)
    message = (
        f"{where}: the chain rule failed at node {shown} (op {str(op)!r}): {type(error).__name__}: {error}. "
        f"Node data {node.data!r}, inputs ({inputs}), {upstream_name} {up}"
    )
    if where == "backward()":
        message += "; every .grad is as it was before the call"
    try:
        return type(error)(message)
    except Exception:  # an exception type that needs more than a message
        return error


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root`` (leaves too), each after its children.

    ``reversed(topological_order(root))`` is the order in which ``backward()``
    visits nodes. Iterative: safe for graphs of any depth.
    """
    order: list[Value] = []
    state: dict[Value, bool] = {}
    stack = [root]
    while stack:
        v = stack.pop()
        s = state.get(v)
        if s is None:
            state[v] = False
            stack.append(v)
            stack.extend(c for c in reversed(v._prev) if c not in state)
        elif s is False:
            state[v] = True
            order.append(v)
    return order


# ----------------------------------------------------------------------------
# Copying and pickling, for graphs of any depth.
#
# By default both copy.deepcopy and pickle recurse through an object's
# attributes, one level of the C stack per node: a graph fails past a few
# hundred nodes deep. Here neither recurses, and both keep what the graph is:
# a node used twice is one object in the copy; ops are the same Op objects
# (they pickle by reference); data, grad, label, the class of every node
# (leaf, constant, node, detached) and a detached value's _source are kept.
# Values of classes other than these four (a user's subclass) are copied and
# pickled the default way.
#
# deepcopy (_deep_copy): one walk with an explicit stack; a node is copied
# once all its inputs are, and each copy goes into copy's ``memo``. So Values
# already copied with the same memo are reused: copy.deepcopy([a, b]) where
# b uses a gives a b whose input is the copied a, and
# copy.deepcopy(graph, {id(w): w}) copies a graph but shares the weight w.
#
# pickle (_reduce_value): every Value pickles as itself, made on loading by
# one call from its class, data, grad, label, and for a node its inputs and
# op; so pickle's memo makes a Value reached twice (as a root, inside a list,
# inside another's graph) one object after loading. Pickle saves a node's
# inputs before the node, and by default that is the recursion: a chain is
# saved from its top, one level deeper per node. So a node's arguments hold,
# ahead of its inputs, a _Below object, which pickle reduces when it gets
# there: its __reduce__ lists every interior node below (in topological
# order, inputs before the nodes that use them) that is not saved yet. When
# pickle saves that list, each node's inputs are saved already (pickle's memo
# has them), so the depth pickle reaches is a constant. On loading the list
# is read, making the nodes in that order, and dropped.
#
# Nodes are listed once per pickle: a registry (_Listed) holds those already
# listed, so that pickling several Values of one graph, or a list of every
# step of a chain, costs their union and not the sum of their graphs. A
# registry lives as long as the pickle being written: a node's arguments also
# hold _PICKLE_STARTS, ahead of _Below, whose __reduce__ pickle calls the
# first time it meets it in a pickle (then its memo answers); that call
# starts a new registry, which pickle's memo then keeps alive. The thread
# holds it only by a weak reference, so nothing stays alive after the pickle.
# Whatever a registry holds, the pickle is right (a node's inputs are always
# in its arguments); the registry only decides how deep pickle goes.

_LEAF_CLASSES: frozenset[type] = frozenset((Value, _Constant, _Frozen, _Untracked))
_OWN_CLASSES: frozenset[type] = _LEAF_CLASSES | {_Node, _Detached}  # not _Custom: by its __reduce_ex__


def _shallow_copy(v: Value) -> Value:
    cls = v.__class__
    if cls not in _OWN_CLASSES:  # a user's subclass: copy's default way
        return copy._reconstruct(v, None, *_reduce_value(v, 4))  # type: ignore[attr-defined]
    c: Any = _new(cls)
    c.data, c.grad, c.label = v.data, v.grad, v.label
    if cls is _Node:
        c._prev, c._op = v._prev, v._op
    elif cls is _Detached:
        c._source = v._source  # type: ignore[attr-defined]
    return c


def _deep_copy(root: Value, memo: dict[int, Any]) -> Value:
    """The graph below ``root``, copied node by node with an explicit stack.

    A node is copied once all its inputs (``_prev``, or a detached value's
    ``_source`` inputs) have a copy in ``memo``; every copy is put there, and
    the originals are kept alive with the memo, as :mod:`copy` does.
    """
    if root.__class__ not in _OWN_CLASSES:  # a user's subclass: copy's default way
        return copy._reconstruct(root, memo, *_reduce_value(root, 4))  # type: ignore[attr-defined]
    copied: list[Value] = []
    stack = [root]
    while stack:
        v: Any = stack[-1]
        if id(v) in memo:
            stack.pop()
            continue
        cls = v.__class__
        if cls is _Node:
            inputs = v._prev
        elif cls is _Detached:
            inputs = v._source[0]
        elif cls in _LEAF_CLASSES:
            inputs = ()
        else:  # a user's subclass inside the graph
            stack.pop()
            copy.deepcopy(v, memo)
            continue
        missing = [x for x in inputs if id(x) not in memo]
        if missing:  # copy them first, then come back to v
            missing.reverse()
            stack += missing
            continue
        stack.pop()
        c = _new(cls)
        c.data, c.grad, c.label = v.data, v.grad, v.label
        if cls is _Node:
            c._prev = tuple([memo[id(x)] for x in inputs])
            c._op = v._op
        elif cls is _Detached:
            c._source = (tuple([memo[id(x)] for x in inputs]), v._source[1])
        memo[id(v)] = c
        copied.append(v)
    memo.setdefault(id(memo), []).extend(copied)
    return memo[id(root)]


def _reduce_value(v: Value, protocol: SupportsIndex) -> str | tuple[Any, ...]:
    cls = v.__class__
    if cls is _Node:
        inputs, op = v._prev, v._op
    elif cls is _Detached:
        inputs, op = v._source  # type: ignore[attr-defined]
    elif cls in _LEAF_CLASSES:
        return (_unpickle_leaf, (cls, v.data, v.grad, v.label))
    elif cls is _Custom:
        return (_rebuild_lecture_node, (v.data, _fields(v)))
    else:
        return _with_label(object.__reduce_ex__(v, protocol), v)  # a user's subclass: the default way
    return (_unpickle_node, (cls, v.data, v.grad, v.label, _PICKLE_STARTS, _Below(v), inputs, op))


def _with_label(reduced: Any, v: Value) -> Any:
    """A default ``__reduce_ex__`` result with ``v``'s label put among its slots' state
    (labels live outside the object, so the default way would drop it)."""
    label = v.label
    if not label or not isinstance(reduced, tuple) or len(reduced) < 3 or not isinstance(reduced[2], tuple):
        return reduced
    own, slots = reduced[2]
    return (*reduced[:2], (own, {**(slots or {}), "label": label}), *reduced[3:])


def _unpickle_leaf(cls: type, data: float, grad: float, label: str) -> Value:
    if cls not in _LEAF_CLASSES:
        raise ValueError(f"unpickling a Value: {cls!r} is not a leaf class of autograd_lite")
    v: Any = _new(cls)
    v.data, v.grad, v.label = data, grad, label
    if not v._requires_grad:  # a frozen leaf or a no_grad() result, unpickled in a fresh process
        _EXTRAS[0] = True
    return v


def _unpickle_node(
    cls: type, data: float, grad: float, label: str, _starts: None, _below: None, inputs: Any, op: Any
) -> Value:
    v: Any = _new(cls)
    if cls is _Node:
        v._prev, v._op = inputs, op
    elif cls is _Detached:
        v._source = (inputs, op)
    else:
        raise ValueError(f"unpickling a Value: {cls!r} is not a node class of autograd_lite")
    v.data, v.grad, v.label = data, grad, label
    return v


def _unpickle_nothing(*_: Any) -> None:
    """What the helpers below load as: nothing (a list of nodes is made, then dropped)."""
    return None


class _Listed(set):
    """The interior nodes already listed in the pickle being written (see _Below)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle_nothing, ())


_this_thread = threading.local()  # .registries: weak references to the registries of pickles being written


def _current_registry() -> _Listed | None:
    """The registry of the pickle being written in this thread (the newest alive: a pickle
    written while writing another is done before it), or None for a pickler without a memo."""
    registries = getattr(_this_thread, "registries", None)
    while registries:
        listed = registries[-1]()
        if listed is not None:
            return listed
        registries.pop()
    return None


class _PickleStarts:
    """Reduced once per pickle (pickle's memo answers after that): starts its registry."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        listed = _Listed()
        registries = [r for r in getattr(_this_thread, "registries", ()) if r() is not None]
        registries.append(weakref.ref(listed))
        _this_thread.registries = registries
        return (_unpickle_nothing, (listed,))  # so pickle's memo keeps ``listed`` alive


_PICKLE_STARTS = _PickleStarts()


class _Below:
    """Saved ahead of a node's inputs: the interior nodes below it not saved yet, in order."""

    __slots__ = ("node",)

    def __init__(self, node: Value) -> None:
        self.node = node

    def __reduce__(self) -> tuple[Any, ...]:
        v = self.node
        listed = _current_registry()
        if listed is None or v in listed:
            # Listed already: every node below is saved before v. Or a pickler without a
            # memo (Pickler.fast), which saves an object again each time it meets it: a list
            # would save each node twice; the inputs alone, as by default, save it once.
            return (_unpickle_nothing, ())
        return (_unpickle_nothing, (_list_below(v, listed),))


def _inputs(v: Any) -> tuple[Value, ...]:
    cls = v.__class__
    if cls is _Node:
        return v._prev
    if cls is _Detached:
        return v._source[0]
    return ()


def _list_below(root: Value, listed: set[Value]) -> list[Value]:
    """The interior nodes below ``root`` not yet in ``listed``, each after its
    inputs, found with an explicit stack; they and ``root`` join ``listed``."""
    order: list[Value] = []
    stack = [x for x in reversed(_inputs(root)) if (x.__class__ is _Node or x.__class__ is _Detached)]
    while stack:
        v = stack[-1]
        if v in listed:
            stack.pop()
            continue
        missing = [
            x for x in _inputs(v) if (x.__class__ is _Node or x.__class__ is _Detached) and x not in listed
        ]
        if missing:  # list them first, then come back to v
            missing.reverse()
            stack += missing
            continue
        stack.pop()
        listed.add(v)
        order.append(v)
    listed.add(root)
    return order
