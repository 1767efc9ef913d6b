"""Custom ops: add your own differentiable function with a forward and a derivative rule.

In the spirit of ``torch.autograd.Function`` and HIPS autograd's ``defvjp``,
an op is two small functions:

* a **forward** on floats, ``forward(x, y, ...) -> float``;
* a **derivative rule** ``derivative(out, x, y, ...)`` giving the local
  derivative of the output with respect to each input: a single number for
  a one-input op, a sequence (one per input) for more. ``out`` is the op's
  output.

Example:
    >>> from autograd_lite import Value, custom_op
    >>> @custom_op
    ... def softsign(x: float) -> float:
    ...     return x / (1 + abs(x))
    >>> @softsign.defderivative
    ... def _(out, x):
    ...     return 1 / (1 + abs(x)) ** 2  # d/dx x/(1+|x|)
    >>> x = Value(1.0)
    >>> y = softsign(x)
    >>> y.backward()
    >>> y.data, x.grad
    (0.5, 0.25)

The node it makes is an ordinary graph node (its ``_op`` shows the op's
name), so ``backward()``, micrograd-style ``_backward()``, the graph
renderer, the stepper and :func:`autograd_lite.grad` all work with it.

**One rule for every way of running it.** Write the rule with operators
(``+ - * / **``, ``abs``, comparisons ``< <= > >=``) and the functions in this
module (:func:`exp`, :func:`log`, :func:`log1p`, :func:`sin`, :func:`cos`,
:func:`tanh`, :func:`sqrt`, :func:`sigmoid`, and :func:`where` for a branch:
``where(x > 0, 1.0, 0.0)``). Such a rule is evaluated once on symbols
(:mod:`autograd_lite.rules`) and from that one rule come the float version
``backward()`` uses, the ``Value`` version for ``grad(..., create_graph=True)``
(second and higher derivatives), forward mode (:func:`autograd_lite.jvp`),
compiled Python and NumPy batches, and its formula as text
(``my_op.op.formulas()``). A rule that branches with a Python ``if`` or calls
``math`` still works on floats, but compiled batches then call it one number
at a time, it has no formula, and ``math`` on a ``Value`` is a ``TypeError``.

A custom op cannot take the name of a built-in op (``"tanh"``, ``"**2"``):
that would be a different op showing the same symbol.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Callable, TypeVar, overload

from autograd_lite.engine import Value, _is_real, apply
from autograd_lite.ops import VARIADIC, Domain, Op, is_builtin_symbol
from autograd_lite.rules import Sym, cos, exp, log, log1p, sigmoid, sin, sqrt, tanh, where

__all__ = [
    "CustomOp", "cos", "custom_op", "exp", "log", "log1p", "sigmoid", "sin", "sqrt", "tanh", "where",
]  # fmt: skip

DEFAULT_DOMAIN = Domain(-10.0, 10.0)

_REGISTRY: dict[str, CustomOp] = {}

Rule = TypeVar("Rule", bound=Callable[..., Any])


class _CustomSymbol(Op):
    """The ``Op`` behind a custom op: pickles by name, through the registry."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_lookup, (str(self),))


def _lookup(name: str) -> Op:
    try:
        return _REGISTRY[name].op
    except KeyError:
        raise ValueError(f"unknown custom op {name!r}: define it (custom_op) before unpickling") from None


def _arity_of(forward: Callable[..., Any]) -> int:
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        raise TypeError(f"custom_op: cannot read the inputs of {forward!r}; pass arity=") from None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return VARIADIC
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class CustomOp:
    """A user-defined op: call it on ``Value``s or numbers to make a graph node.

    Made by :func:`custom_op`. Attributes:

    Attributes:
        name: the symbol shown as the node's ``_op`` (and in graph pictures).
        op: the :class:`~autograd_lite.ops.Op` entry (forward, derivative,
            arity, domain) that nodes carry; strategies and table-walking
            tests take it like any built-in op.
        forward: the forward function on floats.
        arity: the number of inputs (or ``VARIADIC``).
        domain: one :class:`~autograd_lite.ops.Domain` per input, where tests
            and :func:`autograd_lite.testing.expressions` may draw inputs.
    """

    def __init__(
        self,
        forward: Callable[..., float],
        derivative: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        arity: int | None = None,
        domain: Domain | Sequence[Domain] | None = None,
    ) -> None:
        if not callable(forward):
            raise TypeError(f"custom_op: forward must be a function, got {type(forward).__name__}")
        self.name = name if name is not None else getattr(forward, "__name__", "custom")
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"custom_op: name must be a non-empty str, got {self.name!r}")
        if is_builtin_symbol(self.name):
            raise ValueError(
                f"custom_op: the name {self.name!r} is a built-in op's symbol; give your op a name of "
                "its own (name=...), so that it is never mistaken for the built-in one"
            )
        self.arity = _arity_of(forward) if arity is None else arity
        if self.arity == 0 or self.arity < VARIADIC:
            raise ValueError(
                f"custom_op {self.name!r}: an op needs at least one input, got arity {self.arity}"
            )
        if domain is None:
            domains: tuple[Domain, ...] = (DEFAULT_DOMAIN,) * (1 if self.arity == VARIADIC else self.arity)
        elif isinstance(domain, Domain):
            domains = (domain,) * (1 if self.arity == VARIADIC else self.arity)
        else:
            domains = tuple(domain)
        expected = 1 if self.arity == VARIADIC else self.arity
        if len(domains) != expected or not all(isinstance(d, Domain) for d in domains):
            raise ValueError(
                f"custom_op {self.name!r}: give one Domain per input ({expected}), got {domain!r}"
            )
        self.domain = domains
        self.forward = forward
        self._rule: Callable[..., Any] | None = None
        self.op: Op = _CustomSymbol(self.name, self._forward, self._derivative, self.arity, domains)
        if derivative is not None:
            self.defderivative(derivative)
        _REGISTRY[self.name] = self  # a redefinition (a re-run notebook cell) replaces the old one
        self.__doc__ = getattr(forward, "__doc__", None)
        self.__wrapped__ = forward

    def defderivative(self, rule: Rule) -> Rule:
        """Set the derivative rule (usable as a decorator); returns ``rule``.

        ``rule(out, *inputs)`` returns ``d out / d input`` for each input: one
        number for a one-input op, a sequence of them otherwise. It is called
        with floats by ``backward()`` and with ``Value``s for higher-order
        derivatives; see the module docstring.
        """
        if not callable(rule):
            raise TypeError(f"custom_op {self.name!r}: the derivative rule must be a function, got {rule!r}")
        self._rule = rule
        self.op.set_rule(self._derivative)  # every interpretation is made anew from the new rule
        return rule

    @property
    def derivative(self) -> Callable[..., Any] | None:
        """The derivative rule, or ``None`` while it is not defined."""
        return self._rule

    def __call__(self, *inputs: Value | float) -> Value:
        """Apply the op to ``Value``s or numbers; returns the output ``Value``."""
        return apply(self.op, *inputs)

    def __repr__(self) -> str:
        return f"CustomOp({self.name!r}, arity={self.arity})"

    # -- what the Op entry calls -------------------------------------------

    def _forward(self, *xs: float) -> float:
        out = self.forward(*xs)
        if out.__class__ is float or isinstance(out, Sym):  # a number, or the forward on symbols
            return out
        if isinstance(out, Value) or not _is_real(out):
            raise TypeError(
                f"custom op {self.name!r}: forward must return a number, got {type(out).__name__} {out!r}"
            )
        return float(out)

    def _derivative(self, out: Any, *xs: Any) -> Any:
        rule = self._rule
        if rule is None:
            raise NotImplementedError(
                f"custom op {self.name!r} has no derivative rule; define one with "
                f"@{self.name}.defderivative or custom_op(..., derivative=...)"
            )
        ds = rule(out, *xs)
        if self.arity == 1:
            if isinstance(ds, (list, tuple)):
                if len(ds) != 1:
                    raise TypeError(
                        f"custom op {self.name!r}: the derivative rule of a one-input op must return "
                        f"one number, got {len(ds)}: {ds!r}"
                    )
                return ds[0]
            return ds
        if not isinstance(ds, (list, tuple)) or len(ds) != len(xs):
            raise TypeError(
                f"custom op {self.name!r}: the derivative rule must return one derivative per input "
                f"({len(xs)}), got {ds!r}"
            )
        return ds


Forward = Callable[..., float]


@overload
def custom_op(
    forward: Forward,
    /,
    *,
    derivative: Callable[..., Any] | None = None,
    name: str | None = None,
    arity: int | None = None,
    domain: Domain | Sequence[Domain] | None = None,
) -> CustomOp: ...


@overload
def custom_op(
    forward: None = None,
    /,
    *,
    derivative: Callable[..., Any] | None = None,
    name: str | None = None,
    arity: int | None = None,
    domain: Domain | Sequence[Domain] | None = None,
) -> Callable[[Forward], CustomOp]: ...


def custom_op(
    forward: Forward | None = None,
    /,
    *,
    derivative: Callable[..., Any] | None = None,
    name: str | None = None,
    arity: int | None = None,
    domain: Domain | Sequence[Domain] | None = None,
) -> CustomOp | Callable[[Forward], CustomOp]:
    """Make a differentiable op from a forward on floats and a derivative rule.

    Usable three ways::

        @custom_op                     # then @softsign.defderivative
        def softsign(x): ...

        @custom_op(derivative=lambda out, x: 1 - out * out, domain=Domain(-3, 3))
        def my_tanh(x): ...

        cube = custom_op(lambda x: x**3, derivative=lambda out, x: 3 * x * x, name="cube")

    Args:
        forward: ``forward(*inputs: float) -> float``. Its number of
            positional parameters is the op's arity (``*args``: any number).
        derivative: ``derivative(out, *inputs)``, the local derivative of the
            output with respect to each input (see the module docstring).
        name: the symbol shown in graphs; defaults to the function's name.
        arity: number of inputs, if it cannot be read from ``forward``.
        domain: a :class:`~autograd_lite.ops.Domain` (for every input) or one
            per input: where tests draw inputs, and which points are kinks.
            Defaults to ``Domain(-10, 10)``.

    Returns:
        A :class:`CustomOp` (or, without ``forward``, a decorator making one).
    """
    if forward is None:
        return lambda f: CustomOp(f, derivative, name=name, arity=arity, domain=domain)
    return CustomOp(forward, derivative, name=name, arity=arity, domain=domain)
