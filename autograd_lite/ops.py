"""The op table: every differentiable operation, its forward and its derivative, once.

Each op is one entry of the same shape, in the spirit of HIPS autograd's
``defvjp``: a symbol (what a graph picture shows), a ``forward``, a
derivative rule giving the local derivative of the output with respect to
each input, and a ``domain`` from which tests may draw inputs. The engine
and every backend know nothing about individual ops; they only interpret
these rules.

A derivative rule is called as ``derivative(out, *inputs)`` where ``out`` is
the op's output. It returns one local derivative per input: a single number
for a one-input op, a sequence for more. Forwards and rules are written in
the small vocabulary of :mod:`autograd_lite.rules` (operators, ``exp log
sin cos tanh sqrt sigmoid``, ``where(cond, a, b)`` for branches), so one
rule serves every interpretation (see :class:`Op`): floats for
``backward()``, ``Value``s for higher-order derivatives, NumPy arrays for
batches, and symbols for generated code and for the formula shown to people.

Subgradients at kinks (documented choice, the same as PyTorch):

* ``relu`` at 0: 0.
* ``abs`` at 0: 0 (``sign(0) = 0``).
* ``leaky_relu`` at 0: the slope.
* ``x ** k`` at 0 for ``0 < k < 1`` and ``sqrt`` at 0: ``+inf``, the limit.

nan propagates (IEEE 754, as PyTorch): ``relu(nan)`` is nan. A ``where``
whose condition a nan fails takes its second branch, so rules test the
special case (``where(x <= 0, 0.0, x)``), leaving the formula, which gives
nan, for nan. At nan, ``relu'`` is 1, ``leaky_relu'`` the slope and
``abs'`` 0, as in PyTorch; every other derivative is nan.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Callable, NamedTuple

from autograd_lite import rules
from autograd_lite.rules import (
    cos,
    divide,
    exp,
    log,
    log1p,
    power,
    sigmoid,
    sin,
    sqrt,
    tanh,
    where,
)

__all__ = [
    "BUILTIN_OPS",
    "OP_FAMILIES",
    "VARIADIC",
    "Domain",
    "Op",
    "cos",
    "exp",
    "leaky_relu",
    "log",
    "pow_number",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "where",
]

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


def input_names(arity: int) -> list[str]:
    """The names a rule's inputs have in generated code: ``x0, x1, ...``."""
    return [f"x{i}" for i in range(arity)]


class Op(str):
    """One differentiable operation, and every interpretation of its rule.

    An ``Op`` *is* the string shown as the node's ``_op`` (``"+"``,
    ``"tanh"``, ``"**2"``), so micrograd code that prints or compares
    ``_op`` keeps working. Backends find an op's behaviour through the op
    object itself, never through that text.

    Attributes:
        forward: ``forward(*inputs)``; on floats it raises a clear
            ``ValueError``/``ZeroDivisionError``/``OverflowError`` outside the
            op's domain.
        rule: the derivative rule as written, ``rule(out, *inputs)``.
        derivative: the rule on floats (what ``backward()`` calls), made
            from the rule on first use.
        rule_form: ``"dot"`` when a variadic op's rule is exactly dot's
            (``d/dw_i = x_i``, ``d/dx_i = w_i``, ``d/dbias = 1``), ``"sum"``
            when every derivative is 1, else ``None``: read off the rule on
            symbols, so that fast paths (one pass over a neuron's inputs, a
            matrix product) apply the rule exactly as written, and a changed
            rule is never skipped.
        forward_form: ``"dot"`` or ``"sum"`` when a variadic op's forward is
            exactly ``sum_i w_i * x_i (+ bias)`` or ``sum_i x_i``, else
            ``None``: read off the forward on symbols, so that generated code
            and fast paths write that sum only while it is the op's forward.
        arity: number of inputs, or :data:`VARIADIC`.
        domain: one :class:`Domain` per input (a variadic op gives one that
            serves every input).
        total: ``True`` when the forward and the derivative are defined for
            every finite input (no domain error, no ``OverflowError``: ``x**2``
            is not total, ``x * x`` is), so batched backends need not check them.
        family, parameter: for a member of a parametrised family
            (``"**k"``, ``"leaky_relu"``), the family's name and the member's
            parameter; ``None`` otherwise.
    """

    forward: Callable[..., Any]
    rule: Callable[..., Any]
    arity: int
    domain: tuple[Domain, ...]
    total: bool
    family: str | None
    parameter: float | None

    def __new__(
        cls,
        symbol: str,
        forward: Callable[..., Any],
        derivative: Callable[..., Any],
        arity: int,
        domain: tuple[Domain, ...],
        *,
        total: bool = False,
        family: str | None = None,
        parameter: float | None = None,
    ) -> Op:
        op = super().__new__(cls, symbol)
        op.forward = forward
        op.arity = arity
        op.domain = domain
        op.total = total
        op.family = family
        op.parameter = parameter
        op.set_rule(derivative)
        return op

    def set_rule(self, rule: Callable[..., Any]) -> None:
        """Replace the derivative rule; every interpretation is made anew from it."""
        self.rule = rule
        self._made: dict[Any, Any] = {}
        self.__dict__.pop("derivative", None)
        self.__dict__.pop("rule_form", None)
        self.__dict__.pop("forward_form", None)

    def __getattr__(self, name: str) -> Any:
        # made once, then ordinary attributes (read on the hot path of backward())
        made: Any
        if name == "derivative":
            made = self.interpretation("number")
        elif name == "rule_form":
            made = _form_of(self)
        elif name == "forward_form":
            made = _forward_form_of(self)
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.__dict__[name] = made
        return made

    # -- the rule as symbols, and what is made from it ----------------------------

    def _cached(self, key: Any, make: Callable[[], Any]) -> Any:
        made = self.__dict__["_made"]
        if key not in made:
            made[key] = make()
        return made[key]

    def _arity(self, n: int | None) -> int:
        if self.arity != VARIADIC:
            return self.arity
        if n is None:
            raise TypeError(f"{self}: a variadic op needs the number of inputs")
        return n

    def symbolic_rule(self, n: int | None = None) -> list[rules.Sym] | None:
        """The rule evaluated on symbols ``out, x0, x1, ...`` (``n`` inputs for a
        variadic op): one expression tree per input, or ``None`` if the rule
        cannot be evaluated on symbols (it uses ``if`` or ``math``)."""
        n = self._arity(n)

        def make() -> list[rules.Sym] | None:
            trees = rules.symbolic(lambda *s: self.rule(*s), ["out", *input_names(n)])
            if trees is not None and len(trees) != n:
                raise TypeError(
                    f"op {self}: the derivative rule must give one derivative per input ({n}), "
                    f"got {len(trees)}"
                )
            return trees

        return self._cached(("rule", n), make)

    def symbolic_forward(self, n: int | None = None) -> rules.Sym | None:
        """The forward evaluated on symbols ``x0, x1, ...``, or ``None``."""
        n = self._arity(n)

        def make() -> rules.Sym | None:
            trees = rules.symbolic(self.forward, input_names(n))
            return trees[0] if trees is not None and len(trees) == 1 else None

        return self._cached(("forward", n), make)

    def interpretation(self, kind: str, n: int | None = None) -> Callable[..., Any]:
        """The rule as a function of ``(out, *inputs)`` for ``kind``:

        ``"number"`` (floats), ``"value"`` (``Value``s: the derivative as
        graph) or ``"array"`` (NumPy arrays, elementwise). Made from the
        symbolic rule, where ``where`` only computes the branch it takes; a
        rule that has no symbolic form is used as it is (on arrays, one
        element at a time). A variadic op's rule is used as it is on numbers
        and ``Value``s; on arrays it is made for ``n`` inputs.
        """
        if kind not in _NAMESPACES:
            raise ValueError(f"interpretation: kind must be 'number', 'value' or 'array', got {kind!r}")
        if self.arity == VARIADIC and kind != "array":
            return self.rule
        count = self._arity(n)
        return self._cached(("interpretation", kind, count), lambda: _make_rule_function(self, kind, count))

    def forward_on_arrays(self, n: int | None = None) -> Callable[..., Any]:
        """The forward on NumPy arrays: from its symbolic form, else one element at a time."""
        return self._cached(("array forward", self._arity(n)), lambda: _make_array_forward(self, n))

    def formulas(self, inputs: Sequence[str] | None = None, out: str = "o") -> list[str]:
        """The local derivative for each input as text, e.g. ``["d tanh(n)/dn = 1 - o**2"]``.

        Args:
            inputs: the inputs' names (default ``x0, x1, ...``).
            out: the output's name.
        """
        n = len(inputs) if inputs is not None else self._arity(None)
        names = list(inputs) if inputs is not None else input_names(n)
        trees = self.symbolic_rule(n)
        shown = self.display(names)
        if trees is None:
            why = "no formula: its rule uses Python's if or math, not the vocabulary of autograd_lite.rules"
            return [f"d {shown}/d{x}: {why}" for x in names]
        rename = {"out": out, **dict(zip(input_names(n), names))}
        return [f"d {shown}/d{x} = {rules.formula(t, rename)}" for x, t in zip(names, trees)]

    def display(self, names: Sequence[str]) -> str:
        """The op applied to ``names``, as people write it: ``a*b``, ``tanh(n)``, ``x**3``."""
        if any(self is op for op in (ADD, SUB, MUL, DIV, POW)):
            return f"({names[0]}{self}{names[1]})"
        if self.family == "**k":
            return f"{names[0]}{self}"
        if self is NEG:
            return f"-{names[0]}"
        return f"{self}({', '.join(names)})"

    # -- text, pickling ------------------------------------------------------------

    def __repr__(self) -> str:
        """The plain string's repr, ``'+'``, as micrograd's ``_op`` (an Op is a ``str``)."""
        return str.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        if self.family is not None:
            return (OP_FAMILIES[self.family], (self.parameter,))
        return (_builtin, (_BUILTIN_NAMES[id(self)],))


def _make_rule_function(op: Op, kind: str, n: int) -> Callable[..., Any]:
    """Source code for the rule on ``kind`` (from its symbolic form), compiled once."""
    trees = op.symbolic_rule(n)
    if trees is None:
        return op.rule if kind != "array" else _elementwise(op.rule, n + 1)
    style = "array" if kind == "array" else "python"
    body = [rules.source(t, style=style) for t in trees]
    returned = body[0] if op.arity == 1 else f"({', '.join(body)},)"
    params = ", ".join(["out", *input_names(n)])
    return _compile(f"def rule({params}):\n    return {returned}\n", _NAMESPACES[kind](), f"{op} rule")


def _var(i: int) -> tuple[Any, ...]:
    return ("var", f"x{i}")


_FORMS: dict[str, dict[int, list[tuple[Any, ...]]]] = {
    # form: {number of inputs: the rule's trees (as keys) for that many}
    "dot": {
        2: [_var(1), _var(0)],  # dot(w0, x0): d/dw0 = x0, d/dx0 = w0
        3: [_var(1), _var(0), ("const", 1.0)],  # with a bias: d/dbias = 1
        4: [_var(2), _var(3), _var(0), _var(1)],  # dot(w0, w1, x0, x1)
    },
    "sum": {2: [("const", 1.0), ("const", 1.0)], 3: [("const", 1.0)] * 3},
}


def _form_of(op: Op) -> str | None:
    """The fast form a variadic op's rule has exactly (see :attr:`Op.rule_form`), if any."""
    if op.arity != VARIADIC:
        return None
    for form, expected in _FORMS.items():
        if all([t.key for t in op.symbolic_rule(n) or ()] == keys for n, keys in expected.items()):
            return form
    return None


def _forward_form_of(op: Op) -> str | None:
    """``"dot"``/``"sum"`` when a variadic op's forward is exactly :func:`_dot`/:func:`_sum` (on symbols)."""
    if op.arity != VARIADIC:
        return None
    for form, reference in (("dot", _dot), ("sum", _sum)):
        for n in (2, 3, 4):
            got, expected = op.symbolic_forward(n), rules.symbolic(reference, input_names(n))
            if got is None or expected is None or [got.key] != [t.key for t in expected]:
                break
        else:
            return form
    return None


def _make_array_forward(op: Op, n: int | None) -> Callable[..., Any]:
    count = op._arity(n)
    tree = op.symbolic_forward(count)
    if tree is None:
        return _elementwise(op.forward, count)
    params = ", ".join(input_names(count))
    text = f"def forward({params}):\n    return {rules.source(tree, style='array')}\n"
    return _compile(text, _NAMESPACES["array"](), f"{op} forward")


def _compile(text: str, namespace: dict[str, Any], what: str) -> Callable[..., Any]:
    code = compile(text, f"<autograd_lite: {what}>", "exec")
    exec(code, namespace)  # source written by rules.source from the op's own rule, never user text
    fn = next(v for k, v in namespace.items() if k in ("rule", "forward"))
    fn.__source__ = text
    return fn


def _elementwise(fn: Callable[..., Any], arity: int) -> Callable[..., Any]:
    """``fn`` on floats, applied one element at a time to arrays (for rules without a symbolic form)."""
    import numpy as np

    def apply(*arrays: Any) -> Any:
        shape = np.broadcast(*arrays).shape
        flat = [np.broadcast_to(a, shape).ravel().tolist() for a in arrays]
        results = [fn(*xs) for xs in zip(*flat)]
        if results and isinstance(results[0], (list, tuple)):
            return [np.array(col, dtype=float).reshape(shape) for col in zip(*results)]
        return np.array(results, dtype=float).reshape(shape)

    return apply


def _number_namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {f"_{name}": fn for name, fn in rules.NUMBER_FUNCTIONS.items()}
    return {**ns, "_inf": math.inf, "_nan": math.nan}


def _value_namespace() -> dict[str, Any]:
    names = ("exp", "log", "log1p", "sin", "cos", "tanh", "sqrt", "sigmoid", "divide", "power")
    return {**{f"_{n}": getattr(rules, n) for n in names}, "_inf": math.inf, "_nan": math.nan}


def _array_namespace() -> dict[str, Any]:
    ns = {f"_{name}": fn for name, fn in rules.numpy_functions().items()}
    return {**ns, "_inf": math.inf, "_nan": math.nan}


_NAMESPACES: dict[str, Callable[[], dict[str, Any]]] = {
    "number": _number_namespace,
    "value": _value_namespace,
    "array": _array_namespace,
}


# ----------------------------------------------------------------------------
# Forwards that are more than one function of the vocabulary.


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


def _softplus(x: Any) -> Any:
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow at +-1000.
    return where(x > 0, x, 0.0) + log1p(exp(-abs(x)))


def _relu(x: Any) -> Any:
    # NOTE: the test is x <= 0 so that nan takes the other branch: relu(nan) = nan.
    return where(x <= 0, 0.0, x)


def _sum(*xs: Any) -> Any:
    return sum(xs)


def _dot(*args: Any) -> Any:
    n = len(args) // 2
    total = sum(map(operator.mul, args[:n], args[n : 2 * n]))
    return total + args[-1] if len(args) % 2 else total


# ----------------------------------------------------------------------------
# Derivative rules that are more than one line.


def _dot_derivative(out: Any, *args: Any) -> list[Any]:
    # d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1
    n = len(args) // 2
    ws, xs = list(args[:n]), list(args[n : 2 * n])
    return xs + ws + [1.0] if len(args) % 2 else xs + ws


def _pow_derivative(out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    # d/da a**b = b * a**(b-1), d/db a**b = a**b * log(a). The forward allows
    # a = 0 only with b > 0; there the limits are used (d/db -> 0, d/da -> inf for b < 1).
    # Tested as a <= 0 so that a nan base takes the formulas and gives nan.
    da = where(a <= 0, where(b < 1, math.inf, b * a ** (b - 1)), b * a ** (b - 1))
    return da, where(a <= 0, 0.0, out * log(a))


def _powk_derivative(k: float) -> Callable[[Any, Any], Any]:
    def derivative(out: Any, x: Any) -> Any:
        # d/dx x**k = k * x**(k-1). At x = 0 with 0 < k < 1 the power would divide
        # by zero: there the limit +inf is used; x**0 is 1 everywhere.
        if k == 0:
            return 0.0
        if 0 < k < 1:  # tested as x <= 0 so that nan gives nan
            return where(x <= 0, math.inf, k * x ** (k - 1))
        return k * x ** (k - 1)

    return derivative


# ----------------------------------------------------------------------------
# The table. One entry per op: symbol, forward, derivative rule, arity, domain.

ANY = Domain(-10.0, 10.0)
POSITIVE = Domain(1e-2, 10.0)
KINK_AT_0 = Domain(-10.0, 10.0, kinks=(0.0,))

ADD = Op("+", operator.add, lambda out, a, b: (1.0, 1.0), 2, (ANY, ANY), total=True)
SUB = Op("-", operator.sub, lambda out, a, b: (1.0, -1.0), 2, (ANY, ANY), total=True)
MUL = Op("*", operator.mul, lambda out, a, b: (b, a), 2, (ANY, ANY), total=True)
DIV = Op("/", divide, lambda out, a, b: (1 / b, -out / b), 2, (ANY, Domain(0.1, 10.0)))
POW = Op("**", _pow, _pow_derivative, 2, (Domain(0.1, 5.0), Domain(-3.0, 3.0)))
NEG = Op("neg", operator.neg, lambda out, x: -1.0, 1, (ANY,), total=True)
ABS = Op("abs", abs, lambda out, x: where(x > 0, 1.0, where(x < 0, -1.0, 0.0)), 1, (KINK_AT_0,), total=True)
RELU = Op("ReLU", _relu, lambda out, x: where(x <= 0, 0.0, 1.0), 1, (KINK_AT_0,), total=True)
TANH = Op("tanh", tanh, lambda out, x: 1 - out * out, 1, (ANY,), total=True)
SIGMOID = Op("sigmoid", sigmoid, lambda out, x: out * (1 - out), 1, (ANY,), total=True)
SOFTPLUS = Op("softplus", _softplus, lambda out, x: sigmoid(x), 1, (ANY,), total=True)
EXP = Op("exp", exp, lambda out, x: out, 1, (ANY,))
LOG = Op("log", log, lambda out, x: 1 / x, 1, (POSITIVE,))
SQRT = Op("sqrt", sqrt, lambda out, x: where(out <= 0, math.inf, 0.5 / out), 1, (POSITIVE,))
SIN = Op("sin", sin, lambda out, x: cos(x), 1, (ANY,), total=True)
COS = Op("cos", cos, lambda out, x: -sin(x), 1, (ANY,), total=True)
SUM = Op("sum", _sum, lambda out, *xs: [1.0] * len(xs), VARIADIC, (ANY,), total=True)
DOT = Op("dot", _dot, _dot_derivative, VARIADIC, (ANY,), total=True)


def _family_parameter(x: Any, what: str) -> float:
    """A family's parameter as a Python float: 0.5, ``np.float32(0.5)``, ``Fraction(1, 2)``
    and ``True`` all name one op, which computes in float64."""
    if x.__class__ is float:
        return x
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(f"{what}: {x!r} is too large for a float") from None
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a real number, got {x!r} (a {type(x).__name__})") from None


def pow_number(k: float) -> Op:
    """The op ``x ** k`` for a fixed number ``k`` (micrograd's ``'**2'``).

    ``k`` is taken as a Python float, so ``x ** 2``, ``x ** np.float32(2)`` and
    ``x ** 2.0`` share one op, which computes in float64.
    """
    return _pow_number(_family_parameter(k, "**: the exponent"))


@lru_cache(maxsize=1024)
def _pow_number(k: float) -> Op:
    integer = k.is_integer()
    shown = int(k) if integer and abs(k) < 2**53 else k
    domain = Domain(-5.0, 5.0, kinks=(0.0,)) if integer else POSITIVE
    return Op(f"**{shown}", lambda x: power(x, k), _powk_derivative(k), 1, (domain,),
              total=integer and 0 <= k <= 1, family="**k", parameter=k)  # fmt: skip


def leaky_relu(slope: float) -> Op:
    """The op ``x if x > 0 else slope * x``; its derivative is 1 or ``slope``.

    ``slope`` is taken as a Python float (one op per value, computing in float64).
    """
    return _leaky_relu(_family_parameter(slope, "leaky_relu: the slope"))


@lru_cache(maxsize=1024)
def _leaky_relu(slope: float) -> Op:
    return Op(f"LeakyReLU({slope!r})", lambda x: where(x > 0, x, slope * x),
              lambda out, x: where(x > 0, 1.0, slope), 1, (KINK_AT_0,),
              total=True, family="leaky_relu", parameter=slope)  # fmt: skip


BUILTIN_OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, NEG, ABS, RELU, TANH, SIGMOID, SOFTPLUS,
    EXP, LOG, SQRT, SIN, COS, SUM, DOT,
)  # fmt: skip
"""Every fixed op. Parametrised families (:func:`pow_number`,
:func:`leaky_relu`) make one op per parameter; tests draw from them too."""

OP_FAMILIES: dict[str, Callable[[float], Op]] = {"**k": pow_number, "leaky_relu": leaky_relu}
"""Parametrised ops, by name, each a function from its parameter to an op."""

_BUILTIN_NAMES = {id(op): name for name, op in list(globals().items()) if isinstance(op, Op)}


def _builtin(name: str) -> Op:
    """A built-in op by its name in this module (how ops are unpickled)."""
    op = globals().get(name)
    if not isinstance(op, Op) or op not in BUILTIN_OPS:
        raise ValueError(f"unknown op {name!r}")
    return op


def is_builtin_symbol(symbol: str) -> bool:
    """Whether ``symbol`` is what a built-in op (or a family member) shows as its ``_op``."""
    return any(symbol == str(op) for op in BUILTIN_OPS) or symbol.startswith(("**", "LeakyReLU("))
