"""micrograd 0.1.0's ``Value``, node for node, on autograd_lite (with the lecture's extras).

Every op builds the node micrograd's ``engine.py`` builds, from the same
expression: ``a - b`` is ``a + (-b)``, ``-b`` is ``b * -1``, ``a / b`` is
``a * b**-1``, ``2 + a`` is ``a + 2`` (micrograd's ``__radd__``), a number
becomes a leaf ``Value``. A node has micrograd's attributes:

* ``_prev``: the *set* of its inputs (``(x * x)._prev == {x}``). Unlike
  micrograd's plain ``set``, whose order follows memory addresses and so
  changes from run to run, it iterates in the order the inputs were given;
  so ``backward()``'s order (micrograd's, below) is the same on every run.
* ``_op``: micrograd's plain ``str`` (``'+'``, ``'*'``, ``'**-1'``, ``'ReLU'``,
  the lecture's ``'tanh'`` and ``'exp'``).
* ``_backward()``: ``child.grad += d(self)/d(child) * self.grad`` for each
  input, with the rule of autograd_lite's op table (:mod:`autograd_lite.ops`),
  so no rule is written twice. A node may be given its own ``_backward``
  closure, as in the lecture; ``Value(data, _children, _op)`` without one
  passes nothing on (micrograd's ``lambda: None``).
* ``label`` (the lecture's), attributes of one's own (``p.m = 0``) and weak
  references (``weakref.ref(v)``).

``backward()`` is micrograd's: a depth-first topological order over
``_prev`` (without recursion here, so deep graphs work; the same order),
``self.grad = 1.0``, then every node's ``_backward()`` from the output back.
As in micrograd it does not reset the grads of interior nodes: build a new
graph for every pass (as training loops do) or zero them yourself.

Differences from micrograd, all on bad input or in the types: numbers are
stored as floats (``Value(2).data == 2.0``, grads start at ``0.0``); a
non-number operand or exponent is a ``TypeError`` naming it (micrograd
fails later, or with an ``AssertionError``); domain errors (``0 ** -1``,
``(-8) ** 0.5``) are autograd_lite's clear errors; a ``_backward`` that
raises during ``backward()`` leaves every ``.grad`` as it was before the
call. Beyond micrograd, autograd_lite's functions (``log sqrt sin cos
sigmoid softplus leaky_relu abs``) make twin nodes too.

A twin ``Value`` is an :class:`autograd_lite.Value`, so ``draw_graph``,
``backward_steps``, ``grad``, ``gradcheck`` and ``compile`` take its graphs.
Those tools read a twin node's local derivatives by probing its
``_backward()`` (its ``_op`` is a plain string, its ``_prev`` a set), and
``compile`` uses the op of the table each node was made with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

from autograd_lite import engine as _engine
from autograd_lite.ops import (
    ABS,
    ADD,
    COS,
    DOT,
    EXP,
    LOG,
    MUL,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SQRT,
    SUM,
    TANH,
    Op,
    leaky_relu,
    pow_number,
)

__all__ = ["Value"]

Number = Union[int, float]
Operand = Union[_engine.Value, int, float]

_new = object.__new__


class _Prev(set):
    """micrograd's ``_prev``, a ``set`` of a node's inputs, that iterates in the order they were given.

    Equal to (and usable as) the plain set micrograd has: ``{x}`` for ``x * x``.
    Elements added later (``add``, ``update``, ``|=``) come last. It can also be
    indexed and sliced in that order (``_prev[0]``), as the tuple ``_prev`` of
    autograd_lite's own nodes, which its tools read.
    """

    __slots__ = ("_order",)

    def __init__(self, children: Iterable[Any] = ()) -> None:
        order = list(dict.fromkeys(children))
        super().__init__(order)
        self._order = order

    def __iter__(self) -> Iterator[Any]:
        return iter(self._order)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self._order)

    def __getitem__(self, index: Any) -> Any:
        """The inputs in order, indexed or sliced like autograd_lite's tuple ``_prev``."""
        return self._order[index]

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self._order)) + "}" if self._order else "set()"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self._order),))

    def add(self, element: Any) -> None:
        if element not in self:
            set.add(self, element)
            self._order.append(element)

    def update(self, *others: Iterable[Any]) -> None:
        for other in others:
            for element in other:
                self.add(element)

    def __ior__(self, other: Any) -> Any:  # type: ignore[misc]
        if not isinstance(other, (set, frozenset)):
            return NotImplemented
        self.update(other)
        return self

    def _resync(self) -> None:
        """The order after a removal: what is left, in its order."""
        self._order = [x for x in self._order if set.__contains__(self, x)]


def _removing(name: str) -> Any:
    base = getattr(set, name)

    def method(self: _Prev, *args: Any) -> Any:
        result = base(self, *args)
        self._resync()
        return result

    method.__name__ = name
    return method


for _name in (
    "discard",
    "remove",
    "pop",
    "clear",
    "difference_update",
    "intersection_update",
    "__iand__",
    "__isub__",
):
    setattr(_Prev, _name, _removing(_name))


def _symmetric_update(self: _Prev, other: Iterable[Any]) -> None:
    other = list(dict.fromkeys(other))
    gone = [x for x in other if x in self]
    for x in gone:
        self.discard(x)
    self.update(x for x in other if x not in gone)


_Prev.symmetric_difference_update = _symmetric_update  # type: ignore[method-assign,assignment]


def _ixor(self: _Prev, other: Any) -> Any:
    if not isinstance(other, (set, frozenset)):
        return NotImplemented
    _symmetric_update(self, other)
    return self


_Prev.__ixor__ = _ixor  # type: ignore[method-assign,assignment]


def _describe(x: object) -> str:
    text = repr(x)
    return f"{text[:57] + '...' if len(text) > 60 else text} (a {type(x).__name__})"


def _number(x: object, who: str) -> float:
    """``x`` as a float, or a ``TypeError`` saying what ``who`` was given."""
    if x.__class__ is float:
        return x
    if not isinstance(x, _engine.Value) and _engine._is_real(x):
        return float(x)  # type: ignore[arg-type]
    raise TypeError(f"{who} takes a real number (int, float, bool or NumPy scalar), got {_describe(x)}")


def _operand(x: object, op: str) -> _engine.Value:
    """An operand as micrograd takes it: a Value as it is, a number as a new leaf ``Value(x)``."""
    if isinstance(x, _engine.Value):
        return x
    return _leaf(_number(x, f"{op!r}: a Value combines with a number or a Value; it"))


def _leaf(data: float) -> Value:
    v: Value = _new(Value)
    v.data, v.grad, v.label = data, 0.0, ""
    v._prev, v._op, v._rule, v._args = _Prev(), "", None, ()
    return v


def _apply(rule: Op, op: str, *args: _engine.Value) -> Value:
    """The node micrograd makes for ``op`` on ``args``; its forward and derivative are ``rule``'s."""
    v: Value = _new(Value)
    out = rule.forward(*[a.data for a in args])
    v.data = out if out.__class__ is float else _engine._as_float(out)
    v.grad, v.label = 0.0, ""
    v._prev, v._op, v._rule, v._args = _Prev(args), op, rule, args
    return v


class Value(_engine.Value):
    """micrograd's ``Value(data, _children=(), _op='')``, and the lecture's ``label=''``.

    Attributes:
        data: the number (a float).
        grad: d(root)/d(self) after ``root.backward()`` (0.0 at first).
        label: a name shown in graph pictures (the lecture's).
        _prev: the set of this node's inputs (empty for a leaf), iterated in
            the order they were given.
        _op: micrograd's string for the op that made it (``''`` for a leaf).

    Each op's docstring gives the node micrograd builds and its derivative.
    """

    __slots__ = ("_prev", "_op", "_rule", "_args", "__dict__")  # weak references: autograd_lite.Value's slot

    _prev: _Prev  # type: ignore[assignment]
    _op: str
    _rule: Op | None
    _args: tuple[_engine.Value, ...]

    def __init__(
        self, data: Number, _children: Iterable[_engine.Value] = (), _op: str = "", label: str = ""
    ) -> None:
        if isinstance(_children, (str, bytes)) or not isinstance(_children, Iterable):
            raise TypeError(f"Value(): _children is a tuple of input Values, got {_describe(_children)}")
        kids = tuple(_children)
        for i, k in enumerate(kids):
            if not isinstance(k, _engine.Value):
                raise TypeError(f"Value(): _children[{i}] must be a Value, got {_describe(k)}")
        if not isinstance(_op, str):
            raise TypeError(f"Value(): _op must be a str (micrograd's op name), got {_describe(_op)}")
        if not isinstance(label, str):
            raise TypeError(f"Value(): label must be a str, got {_describe(label)}")
        self.data = _number(data, "Value()")
        self.grad = 0.0
        self.label = label
        self._prev, self._op, self._rule, self._args = _Prev(kids), _op, None, kids

    # -- micrograd's ops, as micrograd writes them: a = self, b = other --

    def __add__(self, other: Operand) -> Value:
        """Node ``'+'`` with ``_prev`` {a, b}; d/da = 1, d/db = 1."""
        return _apply(ADD, "+", self, _operand(other, "+"))

    def __mul__(self, other: Operand) -> Value:
        """Node ``'*'`` with ``_prev`` {a, b}; d/da = b, d/db = a."""
        return _apply(MUL, "*", self, _operand(other, "*"))

    def __pow__(self, other: Number) -> Value:  # type: ignore[override]
        """Node ``f'**{k}'`` (micrograd's text: ``'**2'``, ``'**2.0'``, ``'**-1'``); d/da = k * a**(k-1)."""
        if not isinstance(other, (int, float)):
            raise TypeError(
                f"**: micrograd's Value takes an int or float exponent, got {_describe(other)} "
                "(autograd_lite.Value also takes a Value)"
            )
        return _apply(pow_number(other), f"**{other}", self)

    def relu(self) -> Value:
        """Node ``'ReLU'``: max(a, 0); d/da = 1 if a > 0 else 0."""
        return _apply(RELU, "ReLU", self)

    def __neg__(self) -> Value:  # -self
        """``a * -1``: a ``'*'`` node with a leaf -1."""
        return self * -1

    def __radd__(self, other: Operand) -> Value:  # other + self
        """``a + other``: micrograd puts ``self`` first."""
        return self + other

    def __sub__(self, other: Operand) -> Value:  # self - other
        """``a + (-other)``: ``'+'`` of a and ``other * -1`` (or of the number ``-other``)."""
        if not isinstance(other, _engine.Value):
            other = _number_operand(other, "-")
        return self + (-other)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        """``(-a) + other``."""
        return other + (-self)

    def __rmul__(self, other: Operand) -> Value:  # other * self
        """``a * other``: micrograd puts ``self`` first."""
        return self * other

    def __truediv__(self, other: Operand) -> Value:  # self / other
        """``a * other**-1``: a ``'**-1'`` node (or the number ``other**-1``), then ``'*'``."""
        if not isinstance(other, _engine.Value):
            other = _number_operand(other, "/")
        return self * other**-1

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        """``a**-1 * other``."""
        return other * self**-1

    def __rpow__(self, other: Operand) -> Value:
        raise TypeError(
            f"**: micrograd's Value cannot be an exponent ({_describe(other)} ** {self!r}); "
            "autograd_lite.Value takes a Value exponent"
        )

    # -- the lecture's --

    def tanh(self) -> Value:
        """Node ``'tanh'``; d/da = 1 - tanh(a)**2."""
        return _apply(TANH, "tanh", self)

    def exp(self) -> Value:
        """Node ``'exp'``; d/da = e**a."""
        return _apply(EXP, "exp", self)

    # -- autograd_lite's other functions, as twin nodes named by the op table --

    def log(self) -> Value:
        """Node ``'log'``; d/da = 1/a."""
        return _apply(LOG, str(LOG), self)

    def sqrt(self) -> Value:
        """Node ``'sqrt'``; d/da = 1 / (2 sqrt(a))."""
        return _apply(SQRT, str(SQRT), self)

    def sin(self) -> Value:
        """Node ``'sin'``; d/da = cos(a)."""
        return _apply(SIN, str(SIN), self)

    def cos(self) -> Value:
        """Node ``'cos'``; d/da = -sin(a)."""
        return _apply(COS, str(COS), self)

    def sigmoid(self) -> Value:
        """Node ``'sigmoid'``; d/da = sigmoid(a) * (1 - sigmoid(a))."""
        return _apply(SIGMOID, str(SIGMOID), self)

    def softplus(self) -> Value:
        """Node ``'softplus'``: log(1 + e**a); d/da = sigmoid(a)."""
        return _apply(SOFTPLUS, str(SOFTPLUS), self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """Node ``'LeakyReLU(slope)'``; d/da = 1 if a > 0 else slope."""
        op = leaky_relu(slope)
        return _apply(op, str(op), self)

    def __abs__(self) -> Value:
        """Node ``'abs'``; d/da = sign(a) (0 at 0)."""
        return _apply(ABS, str(ABS), self)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node ``'sum'`` of all ``values`` (Python's ``sum()`` gives micrograd's chain of ``'+'``)."""
        args = tuple(_operand(v, "sum") for v in values)
        return _apply(SUM, str(SUM), *args) if args else _leaf(0.0)

    @staticmethod
    def dot(ws: Sequence[Operand], xs: Sequence[Operand], bias: Operand | None = None) -> Value:
        """One node ``'dot'``: w1*x1 + ... + wn*xn (+ bias); inputs ``(*ws, *xs, bias)``."""
        if len(ws) != len(xs):
            raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs; they must match")
        args = [_operand(v, "dot") for v in (*ws, *xs)] + ([] if bias is None else [_operand(bias, "dot")])
        return _apply(DOT, str(DOT), *args)

    # -- the backward pass: micrograd's --

    def _backward(self) -> None:
        """One chain-rule step: ``child.grad += d(self)/d(child) * self.grad`` for each input.

        The op table's rule of the op this node was made with; nothing for a
        leaf or a node made with ``Value(data, _children, _op)`` (micrograd's
        default), unless it was given a ``_backward`` of its own.
        """
        rule = self._rule
        if rule is None:
            return
        g, args = self.grad, self._args
        if rule.arity == 1:
            x = args[0]
            x.grad += rule.derivative(self.data, x.data) * g
            return
        for x, d in zip(args, rule.derivative(self.data, *[a.data for a in args])):
            x.grad += d * g

    def backward(self, gradient: Number = 1.0) -> None:
        """micrograd's ``backward()``: every node's ``_backward()``, from ``self`` back.

        Orders the graph depth first over ``_prev`` (each node after its
        inputs), sets ``self.grad = gradient`` (micrograd's 1), then calls
        ``_backward()`` on each node in the reverse of that order. Interior
        grads are not reset first (micrograd's behaviour). If a ``_backward``
        raises, every ``.grad`` is put back and the error names the node.
        """
        seed = _number(gradient, "backward(gradient=...)")
        topo = _topological_order(self)
        before = [v.grad for v in topo]
        self.grad = seed
        node: _engine.Value = self
        try:
            for node in reversed(topo):
                node._backward()
        except BaseException as error:
            for v, g in zip(topo, before):
                v.grad = g
            failure = _engine._chain_rule_error("backward()", node, node.grad, error)
            if failure is error:
                raise
            raise failure from error

    def _backward_order(self) -> list[_engine.Value]:
        """The interior nodes in the order ``backward()`` orders them (each after its inputs)."""
        return [v for v in _topological_order(self) if v._prev]

    def _lowered(self) -> tuple[Op, tuple[_engine.Value, ...]] | None:
        """For ``compile``: the table's op this node was made with and its inputs in order,
        or ``None`` for a node of one's own (its own ``_backward``, or none)."""
        if self._rule is None or "_backward" in self.__dict__:
            return None
        return self._rule, self._args

    # -- odds and ends --

    def detach(self) -> Value:
        """A new leaf with the same data and label."""
        return Value(self.data, label=self.label)

    def register_hook(self, hook: Any) -> Any:
        """Not supported: the twin's ``backward()`` is micrograd's, which runs no hooks."""
        raise TypeError(
            "register_hook: the micrograd twin's backward() is micrograd's and runs no hooks; "
            "use autograd_lite.Value for hooks"
        )

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    _repr_html_ = None  # type: ignore[assignment]  # Jupyter shows micrograd's repr


def _number_operand(x: object, op: str) -> float:
    return _number(x, f"{op!r}: a Value combines with a number or a Value; it")


def _topological_order(root: _engine.Value) -> list[_engine.Value]:
    """micrograd's ``build_topo``: depth first over ``_prev``, each node after its inputs.

    The same order as micrograd's recursive function, with an explicit stack
    of iterators (no recursion limit).
    """
    topo: list[_engine.Value] = []
    visited = {root}
    stack = [(root, iter(root._prev))]
    while stack:
        v, inputs = stack[-1]
        for child in inputs:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
                break
        else:
            stack.pop()
            topo.append(v)
    return topo
