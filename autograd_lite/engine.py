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

import numbers
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Union

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


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, operations compute values but record no graph.

    Results are leaves (no ``_prev``), so nothing is kept alive for a
    backward pass. Local to the current thread (or ``contextvars`` context):
    another thread's graph is never affected. Usable as a decorator too.
    """
    token = _GRAD_ENABLED.set(False)
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


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
        return data  # type: ignore[return-value]
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
        v.label = ""
        return v
    if isinstance(x, Value):
        return x
    if _is_real(x):
        return _constant(float(x))  # type: ignore[arg-type]
    raise TypeError(f"{op}: cannot combine a Value with {_describe(x)}; use a number or a Value")


# ----------------------------------------------------------------------------
# Making nodes. The hot path: one object, its children tuple, nothing else.

_new = object.__new__


def _leaf(data: float, label: str = "") -> Value:
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = label
    return v


def _constant(data: float) -> Value:
    v = _new(_Constant)
    v.data = data
    v.grad = 0.0
    v.label = ""
    return v


def _node(data: float, children: tuple[Value, ...], op: Op) -> Value:
    v: Any
    if _grad_enabled():
        v = _new(_Node)
        v._prev = children
        v._op = op
    elif _TRACER.get() is None:  # no_grad(): a leaf that remembers nothing
        v = _new(Value)
    else:  # no_grad() while compiling: a leaf that remembers how to recompute itself
        v = _new(_Detached)
        v._source = (children, op)
    v.data = data
    v.grad = 0.0
    v.label = ""
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
    Always test with ``isinstance(x, Value)``.
    """

    __slots__ = ("data", "grad", "label")

    data: float
    grad: float
    label: str
    _prev: tuple[Value, ...] = ()
    _op: str = ""

    def __init__(self, data: Number, label: str = "") -> None:
        if label.__class__ is not str:
            raise TypeError(f"Value() label must be a str, got {_describe(label)}")
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label

    # -- arithmetic: a = self, b = other; each docstring states d/da, d/db --

    def __add__(self, other: Operand) -> Value:
        """a + b; d/da = 1, d/db = 1."""
        # The hot path, written out: a float constant and the node made here, not in
        # _coerce() and _node() (two calls fewer per operation; same objects).
        if other.__class__ is float:
            c = _new(_Constant)
            c.data = other
            c.grad = 0.0
            c.label = ""
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, ADD)
        if not _grad_enabled():
            return _node(self.data + other.data, (self, other), ADD)  # type: ignore[union-attr]
        v = _new(_Node)
        v.data = self.data + other.data  # type: ignore[union-attr]
        v.grad = 0.0
        v.label = ""
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
            c.label = ""
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, SUB)
        if not _grad_enabled():
            return _node(self.data - other.data, (self, other), SUB)  # type: ignore[union-attr]
        v = _new(_Node)
        v.data = self.data - other.data  # type: ignore[union-attr]
        v.grad = 0.0
        v.label = ""
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
            c.label = ""
            other = c
        elif not isinstance(other, Value):
            other = _coerce(other, MUL)
        if not _grad_enabled():
            return _node(self.data * other.data, (self, other), MUL)  # type: ignore[union-attr]
        v = _new(_Node)
        v.data = self.data * other.data  # type: ignore[union-attr]
        v.grad = 0.0
        v.label = ""
        v._prev = (self, other)
        v._op = MUL
        return v

    def __rmul__(self, other: Operand) -> Value:
        return _coerce(other, MUL) * self

    def __truediv__(self, other: Operand) -> Value:
        """a / b; d/da = 1/b, d/db = -a/b**2. ``ZeroDivisionError`` for b = 0."""
        if not isinstance(other, Value):
            other = _coerce(other, DIV)
        return _node(DIV.forward(self.data, other.data), (self, other), DIV)  # type: ignore[union-attr]

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
        op = pow_number(other)  # type: ignore[arg-type]
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
        """max(a, 0); d/da = 1 if a > 0 else 0 (0 at the kink a = 0)."""
        if not _grad_enabled():
            return _node(RELU.forward(self.data), (self,), RELU)
        a = self.data
        v = _new(_Node)  # written out, as in __add__; the forward is RELU.forward's
        v.data = a if a > 0 else 0.0
        v.grad = 0.0
        v.label = ""
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
        return _node(DOT.forward(*[c.data for c in kids]), kids, DOT)  # type: ignore[union-attr]

    # -- comparisons: by data, returning bool ----------------------------------

    def __lt__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data < other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, "<", other, result)  # type: ignore[union-attr]
        return result

    def __le__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data <= other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, "<=", other, result)  # type: ignore[union-attr]
        return result

    def __gt__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data > other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, ">", other, result)  # type: ignore[union-attr]
        return result

    def __ge__(self, other: Operand) -> bool:
        other_data = _data_of(other)
        if other_data is None:
            return NotImplemented
        result = self.data >= other_data
        if _TRACER.get() is not None:
            _TRACER.get().guard(self, ">=", other, result)  # type: ignore[union-attr]
        return result

    # __eq__ and __hash__ stay object's: by identity.

    # -- the backward pass ----------------------------------------------------

    def backward(self) -> None:
        """Fill in ``.grad`` of every node that ``self`` depends on.

        Seeds d(self)/d(self) = 1, then visits interior nodes in reverse
        topological order, adding ``local derivative * node.grad`` to each
        child. Leaves accumulate across calls (zero them between steps, as in
        PyTorch); interior grads are recomputed from zero on every call.
        """
        order = _interior_postorder(self)  # also zeroes interior grads
        if not order:  # self is a leaf
            self.grad += 1.0
            return
        self.grad = 1.0
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

    def _backward(self) -> None:
        """One chain-rule step, as in micrograd: ``child.grad += d(self)/d(child) * self.grad``.

        Calling it node by node from the output, in reverse topological order
        and after setting ``output.grad = 1.0``, gives what ``backward()``
        gives. A leaf's ``_backward()`` does nothing.
        """
        if not self._prev:
            return
        g = self.grad
        for child, local in zip(self._prev, local_derivatives(self)):
            child.grad += g * local

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


class _Node(Value):
    """A Value made by an op: it also holds the op's inputs and the op."""

    __slots__ = ("_prev", "_op")


class _Constant(Value):
    """A leaf made from a number in an expression (the ``2`` of ``2 * x``).

    Exactly a leaf ``Value``; its own class only tells the compiler
    (:mod:`autograd_lite.compiler`) that the number is part of the program,
    not a parameter to read on every replay.
    """

    __slots__ = ()


class _Detached(Value):
    """A leaf cut from the graph while compiling (``detach()``, ``no_grad()``).

    Gradients stop here, as at any leaf, but the compiler recomputes its data
    on replay from ``_source``: ``(inputs, op)``, or ``((value,), None)`` for
    a copy of ``value``.
    """

    __slots__ = ("_source",)

    _source: tuple[tuple[Value, ...], Any]


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
    ds = op.derivative(node.data, *[k.data for k in kids])  # type: ignore[attr-defined]
    return (ds,) if op.arity == 1 else tuple(ds)  # type: ignore[attr-defined]


def _interior_postorder(root: Value) -> list[Value]:
    """Interior nodes reachable from ``root``, every node after its children.

    Iterative depth-first search (no recursion limit). Each interior node's
    grad is reset to 0.0 as it is listed, ready for a fresh backward pass.
    """
    order: list[Value] = []
    if not root._prev:
        return order
    state: dict[Value, bool] = {}  # False: children being visited; True: listed
    stack = [root]
    push, pop, get = stack.append, stack.pop, state.get
    append = order.append
    while stack:
        v = pop()
        s = get(v)
        if s is None:  # first visit: come back to v after its children
            state[v] = False
            push(v)
            for c in v._prev:
                if c._prev and c not in state:
                    push(c)
        elif s is False:  # all children listed: list v
            state[v] = True
            v.grad = 0.0
            append(v)
    return order


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
