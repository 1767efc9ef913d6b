"""The op table: every differentiable operation, its forward and its derivative.

Each op is one entry of the same shape, in the spirit of HIPS autograd's
``defvjp``: a symbol (what a graph picture shows), a ``forward`` on floats,
a ``derivative`` rule giving the local derivative of the output with respect
to each input, and a ``domain`` from which tests may draw inputs. The engine
knows nothing about individual ops; it only applies these rules.

A derivative rule is called as ``derivative(out, *inputs)`` where ``out`` is
the op's output. It returns one local derivative per input: a single number
for a one-input op, a sequence for more. Rules are written with operators
and with the functions :func:`exp`, :func:`log`, :func:`sin`, ... below,
which work on floats *and* on ``Value``s, so the same rule gives numbers for
the ordinary ``backward()`` and graph-connected ``Value``s for higher-order
derivatives. Inside a rule, compare only with ``<`` and ``>`` (which compare
``.data`` on a ``Value``), never with ``==``, which is identity on a ``Value``.

Subgradients at kinks (documented choice, the same as PyTorch):

* ``relu`` at 0: 0.
* ``abs`` at 0: 0 (``sign(0) = 0``).
* ``leaky_relu`` at 0: the slope.
* ``x ** k`` at 0 for ``0 < k < 1`` and ``sqrt`` at 0: ``+inf``, the limit.
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache
from typing import Any, Callable, NamedTuple

VARIADIC = -1
"""The arity of an op that takes any number of inputs (``sum``, ``dot``)."""


class Domain(NamedTuple):
    """Where an op's input may be drawn from for derivative tests.

    ``low``/``high`` bound the input; ``kinks`` are points where the op is
    not differentiable, which tests keep away from; ``integer`` asks for
    whole numbers (a negative base of ``**`` only has real powers then).
    """

    low: float
    high: float
    kinks: tuple[float, ...] = ()
    integer: bool = False


class Op(str):
    """One differentiable operation.

    An ``Op`` *is* the string shown as the node's ``_op`` (``"+"``,
    ``"tanh"``, ``"**2"``), so micrograd code that prints or compares
    ``_op`` keeps working, and it carries the op's rules as attributes.

    Attributes:
        forward: ``forward(*inputs: float) -> float``; raises a clear
            ``ValueError``/``ZeroDivisionError``/``OverflowError`` outside the
            op's domain.
        derivative: ``derivative(out, *inputs)``; one local derivative
            ``d out / d input`` per input (a number for one input, a sequence
            for more). Works on floats and on ``Value``s.
        arity: number of inputs, or :data:`VARIADIC`.
        domain: one :class:`Domain` per input (a variadic op gives one that
            serves every input).
    """

    forward: Callable[..., float]
    derivative: Callable[..., Any]
    arity: int
    domain: tuple[Domain, ...]

    def __new__(
        cls,
        symbol: str,
        forward: Callable[..., float],
        derivative: Callable[..., Any],
        arity: int,
        domain: tuple[Domain, ...],
    ) -> Op:
        op = super().__new__(cls, symbol)
        op.forward = forward
        op.derivative = derivative
        op.arity = arity
        op.domain = domain
        return op

    def __repr__(self) -> str:
        return f"Op({str.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_op_by_symbol, (str(self),))


# ----------------------------------------------------------------------------
# Functions usable inside derivative rules: floats go to ``math``, anything
# else (a ``Value``) to its method of the same name.


def exp(x: Any) -> Any:
    """e**x, for a float or a Value."""
    return math.exp(x) if x.__class__ is float else x.exp()


def log(x: Any) -> Any:
    """Natural logarithm, for a float or a Value."""
    return math.log(x) if x.__class__ is float else x.log()


def sin(x: Any) -> Any:
    """Sine, for a float or a Value."""
    return math.sin(x) if x.__class__ is float else x.sin()


def cos(x: Any) -> Any:
    """Cosine, for a float or a Value."""
    return math.cos(x) if x.__class__ is float else x.cos()


def sigmoid(x: Any) -> Any:
    """Logistic sigmoid 1 / (1 + e**-x), for a float or a Value."""
    return _sigmoid(x) if x.__class__ is float else x.sigmoid()


# ----------------------------------------------------------------------------
# Forwards that need a domain check or a numerically stable form. Each error
# names the op and the number.


def _div(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError(f"/: division by zero ({a!r} / {b!r})")
    return a / b


def _pow(a: float, b: float) -> float:
    """a ** b with a Value exponent: defined for a > 0 (and 0 ** positive)."""
    if a < 0:
        raise ValueError(
            f"**: base {a!r} is negative; a Value exponent needs a base > 0 "
            "(d/db a**b = a**b * log(a)); use a number exponent instead"
        )
    if a == 0 and b <= 0:
        raise ZeroDivisionError(f"**: 0 ** {b!r} is undefined (zero to a non-positive power)")
    try:
        return a**b
    except OverflowError:
        raise OverflowError(f"**: {a!r} ** {b!r} overflows a float") from None


def _pow_number(x: float, k: float) -> float:
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"**: 0 ** {k!r} is undefined (zero to a negative power)")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"**: {x!r} ** {k!r} is not a real number (negative base, fractional power)")
    try:
        return float(x**k)
    except OverflowError:
        raise OverflowError(f"**: {x!r} ** {k!r} overflows a float") from None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) overflows a float (x > 709.78)") from None


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs a positive number")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a number >= 0")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Stable both ways: never exponentiate a large positive number.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow at +-1000.
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-abs(x)))


def _relu(x: float) -> float:
    return x if x > 0 else 0.0


def _sum(*xs: float) -> float:
    return sum(xs)


def _dot(*args: float) -> float:
    n = len(args) // 2
    total = sum(map(operator.mul, args[:n], args[n : 2 * n]))
    return total + args[-1] if len(args) % 2 else total


def _dot_derivative(out: Any, *args: Any) -> list[Any]:
    # d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1
    n = len(args) // 2
    ws, xs = list(args[:n]), list(args[n : 2 * n])
    return xs + ws + [1.0] if len(args) % 2 else xs + ws


def _pow_derivative(out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    # d/da a**b = b * a**(b-1), d/db a**b = a**b * log(a). The forward allows
    # a = 0 only with b > 0; there the limits are used (d/db -> 0).
    if a > 0:
        return b * a ** (b - 1), out * log(a)
    return (math.inf if b < 1 else b * a ** (b - 1)), 0.0


def _powk_derivative(k: float) -> Callable[[Any, Any], Any]:
    def derivative(out: Any, x: Any) -> Any:
        # d/dx x**k = k * x**(k-1); at x = 0 with k < 1 the power would divide
        # by zero, so give its limit: 0 for k = 0, +inf for 0 < k < 1.
        if k >= 1 or x > 0 or x < 0:
            return k * x ** (k - 1)
        return 0.0 if k == 0 else math.inf

    return derivative


# ----------------------------------------------------------------------------
# The table. One entry per op: symbol, forward, derivative, arity, domain.

ANY = Domain(-10.0, 10.0)
POSITIVE = Domain(1e-2, 10.0)

ADD = Op("+", operator.add, lambda out, a, b: (1.0, 1.0), 2, (ANY, ANY))
SUB = Op("-", operator.sub, lambda out, a, b: (1.0, -1.0), 2, (ANY, ANY))
MUL = Op("*", operator.mul, lambda out, a, b: (b, a), 2, (ANY, ANY))
DIV = Op("/", _div, lambda out, a, b: (1 / b, -out / b), 2, (ANY, Domain(0.1, 10.0)))
POW = Op("**", _pow, _pow_derivative, 2, (Domain(0.1, 5.0), Domain(-3.0, 3.0)))
NEG = Op("neg", operator.neg, lambda out, x: -1.0, 1, (ANY,))
ABS = Op("abs", abs, lambda out, x: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0), 1,
         (Domain(-10.0, 10.0, kinks=(0.0,)),))  # fmt: skip
RELU = Op("ReLU", _relu, lambda out, x: 1.0 if x > 0 else 0.0, 1,
          (Domain(-10.0, 10.0, kinks=(0.0,)),))  # fmt: skip
TANH = Op("tanh", math.tanh, lambda out, x: 1 - out * out, 1, (ANY,))
SIGMOID = Op("sigmoid", _sigmoid, lambda out, x: out * (1 - out), 1, (ANY,))
SOFTPLUS = Op("softplus", _softplus, lambda out, x: sigmoid(x), 1, (ANY,))
EXP = Op("exp", _exp, lambda out, x: out, 1, (ANY,))
LOG = Op("log", _log, lambda out, x: 1 / x, 1, (POSITIVE,))
SQRT = Op("sqrt", _sqrt, lambda out, x: 0.5 / out if out > 0 else math.inf, 1, (POSITIVE,))
SIN = Op("sin", math.sin, lambda out, x: cos(x), 1, (ANY,))
COS = Op("cos", math.cos, lambda out, x: -sin(x), 1, (ANY,))
SUM = Op("sum", _sum, lambda out, *xs: [1.0] * len(xs), VARIADIC, (ANY,))
DOT = Op("dot", _dot, _dot_derivative, VARIADIC, (ANY,))


@lru_cache(maxsize=1024)
def pow_number(k: float) -> Op:
    """The op ``x ** k`` for a fixed number ``k`` (micrograd's ``'**2'``)."""
    shown = int(k) if float(k).is_integer() and abs(k) < 2**53 else k
    return Op(f"**{shown}", lambda x: _pow_number(x, k), _powk_derivative(k), 1,
              (Domain(-5.0, 5.0, kinks=(0.0,)) if float(k).is_integer() else POSITIVE,))  # fmt: skip


@lru_cache(maxsize=1024)
def leaky_relu(slope: float) -> Op:
    """The op ``x if x > 0 else slope * x``; its derivative is 1 or ``slope``."""
    return Op(f"LeakyReLU({slope!r})", lambda x: x if x > 0 else slope * x,
              lambda out, x: 1.0 if x > 0 else slope, 1,
              (Domain(-10.0, 10.0, kinks=(0.0,)),))  # fmt: skip


BUILTIN_OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, NEG, ABS, RELU, TANH, SIGMOID, SOFTPLUS,
    EXP, LOG, SQRT, SIN, COS, SUM, DOT,
)  # fmt: skip
"""Every fixed op. Parametrised families (:func:`pow_number`,
:func:`leaky_relu`) make one op per parameter; tests draw from them too."""

OP_FAMILIES: dict[str, Callable[[float], Op]] = {"**k": pow_number, "leaky_relu": leaky_relu}
"""Parametrised ops, by name, each a function from its parameter to an op."""


def _op_by_symbol(symbol: str) -> Op:
    for op in BUILTIN_OPS:
        if op == symbol:
            return op
    if symbol.startswith("**"):
        return pow_number(float(symbol[2:]))
    if symbol.startswith("LeakyReLU("):
        return leaky_relu(float(symbol[len("LeakyReLU(") : -1]))
    raise ValueError(f"unknown op {symbol!r}")
