"""One rule, many interpretations: the small vocabulary that every op is written in.

An op's forward and its derivative rule ``derivative(out, *inputs)`` are
ordinary Python functions written with operators (``+ - * / **``, unary
``-``, ``abs``, comparisons ``< <= > >=``) and the functions of this module:
:func:`exp`, :func:`log`, :func:`log1p`, :func:`sin`, :func:`cos`,
:func:`tanh`, :func:`sqrt`, :func:`sigmoid`, :func:`divide`, :func:`power`,
:func:`maximum` (of any number of inputs) and :func:`where` (``where(cond, a,
b)``, the branch: ``a`` where ``cond`` holds, else ``b``). Each of them
dispatches on what it is given:

* a number: ``math`` (with clear errors naming the op and the number);
* a ``Value``: its method of the same name, so the result is graph
  (higher-order derivatives);
* a NumPy array: NumPy's function (whole batches at once);
* a :class:`Sym`, a symbol: an expression tree. Evaluating a rule on
  symbols once gives the rule itself as data, from which this module writes
  source code for every interpretation (floats, ``Value``s, NumPy arrays,
  inline lines of generated programs) and the formula text a person reads
  (``1 - o**2``). ``where`` becomes a real branch there (``a if cond else
  b``), so the branch not taken is never evaluated on numbers.

A rule that uses anything else (``math.exp``, a Python ``if`` on its
inputs) cannot be evaluated on symbols; it still works on numbers and
``Value``s (:func:`symbolic` returns ``None`` for it and the backends call
it as it is), but has no generated code and no formula.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any, Callable, Protocol, TypeVar, Union, cast, overload

__all__ = [
    "SymbolicError",
    "Sym",
    "cos",
    "divide",
    "exp",
    "formula",
    "log",
    "log1p",
    "maximum",
    "power",
    "sigmoid",
    "sin",
    "source",
    "sqrt",
    "symbolic",
    "tanh",
    "where",
]

# ----------------------------------------------------------------------------
# The primitives on numbers: each error names the function and the number.


def _exp_number(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: exp({x!r}) overflows a float (x > 709.78)") from None


def _log_number(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log: log({x!r}) is undefined; log needs a positive number")
    return math.log(x)


def _sqrt_number(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: sqrt({x!r}) is undefined; sqrt needs a number >= 0")
    return math.sqrt(x)


def _sin_number(x: float) -> float:
    # IEEE 754 (and NumPy, PyTorch): sin(+-inf) is nan; math.sin raises ValueError instead.
    return math.sin(x) if -math.inf < x < math.inf else math.nan


def _cos_number(x: float) -> float:
    return math.cos(x) if -math.inf < x < math.inf else math.nan


def _sigmoid_number(x: float) -> float:
    # Stable both ways: never exponentiate a large positive number.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _divide_number(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError(f"/: division by zero ({a!r} / {b!r})")
    return a / b


def _power_number(x: float, k: float) -> float:
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"**: 0 ** {_shown(k)} is undefined (zero to a negative power)")
    if x < 0 and not float(k).is_integer():
        raise ValueError(f"**: {x!r} ** {_shown(k)} is not a real number (negative base, fractional power)")
    try:
        return float(x**k)
    except OverflowError:
        raise OverflowError(f"**: {x!r} ** {_shown(k)} overflows a float") from None


def _shown(k: float) -> str:
    """An exponent as people write it: 2 for 2.0."""
    return repr(int(k)) if float(k).is_integer() and abs(k) < 2**53 else repr(k)


def _maximum_number(*xs: float) -> float:
    if not xs:
        raise ValueError("maximum: needs at least one number")
    if any(x != x for x in xs):  # nan is the largest, as NumPy's and PyTorch's max say
        return math.nan
    return float(max(xs))


NUMBER_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": _exp_number,
    "log": _log_number,
    "log1p": math.log1p,
    "sin": _sin_number,
    "cos": _cos_number,
    "tanh": math.tanh,
    "sqrt": _sqrt_number,
    "sigmoid": _sigmoid_number,
    "divide": _divide_number,
    "power": _power_number,
    "maximum": _maximum_number,
}
"""Each function of the vocabulary on numbers (floats, ints, NumPy scalars)."""


def _numpy_functions() -> dict[str, Callable[..., Any]]:
    """Each function of the vocabulary on NumPy arrays (NumPy is imported only here)."""
    import numpy as np

    def stable_sigmoid(x: Any) -> Any:
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    return {
        "exp": np.exp,
        "log": np.log,
        "log1p": np.log1p,
        "sin": np.sin,
        "cos": np.cos,
        "tanh": np.tanh,
        "sqrt": np.sqrt,
        "sigmoid": stable_sigmoid,
        "divide": np.divide,
        "power": np.power,
        "maximum": lambda *xs: functools.reduce(np.maximum, xs),
        "where": np.where,
    }


_NUMPY: dict[str, Callable[..., Any]] = {}


def numpy_functions() -> dict[str, Callable[..., Any]]:
    """The vocabulary on NumPy arrays, built on first use."""
    if not _NUMPY:
        _NUMPY.update(_numpy_functions())
    return _NUMPY


def _torch_functions() -> dict[str, Callable[..., Any]]:
    """Each function of the vocabulary on PyTorch tensors (PyTorch is imported only here)."""
    import torch

    def where(cond: Any, a: Any, b: Any) -> Any:
        if cond.__class__ is bool:  # a condition on constants only
            return a if cond else b
        if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
            # two numbers: a float64 tensor, not torch's default float32
            a = torch.tensor(float(a), dtype=torch.float64, device=cond.device)
        return torch.where(cond, a, b)

    def maximum(*xs: Any) -> Any:  # nan-propagating, as NumPy's
        like = next(x for x in xs if isinstance(x, torch.Tensor))
        as_tensor = lambda x: x if isinstance(x, torch.Tensor) else torch.full_like(like, float(x))
        return functools.reduce(torch.maximum, [as_tensor(x) for x in xs])

    return {
        "exp": torch.exp,
        "log": torch.log,
        "log1p": torch.log1p,
        "sin": torch.sin,
        "cos": torch.cos,
        "tanh": torch.tanh,
        "sqrt": torch.sqrt,
        "sigmoid": torch.sigmoid,  # computed without overflow, as the number version
        "divide": lambda a, b: a / b,
        "power": lambda x, k: x**k,
        "maximum": maximum,
        "where": where,
    }


_TORCH: dict[str, Callable[..., Any]] = {}


def torch_functions() -> dict[str, Callable[..., Any]]:
    """The vocabulary on PyTorch tensors (the ``torch`` compile backend), built on first use.

    The same functions as on NumPy arrays, elementwise: a rule's source in the
    ``"array"`` style (:func:`source`) runs on tensors in this namespace.
    """
    if not _TORCH:
        _TORCH.update(_torch_functions())
    return _TORCH


def _is_array(x: Any) -> bool:
    return type(x).__module__ == "numpy" and getattr(x, "ndim", 0) > 0


def _call(name: str, *args: Any) -> Any:
    """Apply the vocabulary function ``name`` to whatever ``args`` are."""
    x = args[0]
    cls = x.__class__
    if cls is float or cls is int:
        if len(args) == 1 or all(a.__class__ in (float, int) for a in args):
            return NUMBER_FUNCTIONS[name](*args)
    for a in args:
        if isinstance(a, Sym):
            return Sym(name, tuple(_sym(b) for b in args))
    if any(_is_array(a) for a in args):
        return numpy_functions()[name](*args)
    method = getattr(x, name, None)  # a Value (or a tensor type with the same methods)
    if method is not None and len(args) == 1:
        return method()
    if all(isinstance(a, numbers.Real) for a in args):  # NumPy scalars, Fractions, bools
        return NUMBER_FUNCTIONS[name](*[float(a) for a in args])
    if name == "divide":
        return args[0] / args[1]
    if name == "power":
        return args[0] ** args[1]
    raise TypeError(f"{name}: cannot apply it to {type(x).__name__} {x!r}")


_Same = TypeVar("_Same")


class Elementwise(Protocol):
    """The type of :func:`exp`, :func:`sin`, ...: a float gives a float, anything else its own type.

    A ``Value`` gives a ``Value``, a :class:`Sym` a ``Sym``, a NumPy array an
    array: what a derivative rule written with them returns for its inputs.
    """

    @overload
    def __call__(self, x: float, /) -> float: ...
    @overload
    def __call__(self, x: _Same, /) -> _Same: ...


def _elementwise(function: Callable[[Any], Any]) -> Elementwise:
    """``function`` itself, typed as :class:`Elementwise`."""
    return cast(Elementwise, function)


@_elementwise
def exp(x: Any) -> Any:
    """e**x."""
    return _exp_number(x) if x.__class__ is float else _call("exp", x)


@_elementwise
def log(x: Any) -> Any:
    """Natural logarithm (x > 0)."""
    return _log_number(x) if x.__class__ is float else _call("log", x)


@_elementwise
def log1p(x: Any) -> Any:
    """log(1 + x), accurate for small x."""
    return math.log1p(x) if x.__class__ is float else _call("log1p", x)


@_elementwise
def sin(x: Any) -> Any:
    """Sine."""
    return _sin_number(x) if x.__class__ is float else _call("sin", x)


@_elementwise
def cos(x: Any) -> Any:
    """Cosine."""
    return _cos_number(x) if x.__class__ is float else _call("cos", x)


@_elementwise
def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return math.tanh(x) if x.__class__ is float else _call("tanh", x)


@_elementwise
def sqrt(x: Any) -> Any:
    """Square root (x >= 0)."""
    return _sqrt_number(x) if x.__class__ is float else _call("sqrt", x)


@_elementwise
def sigmoid(x: Any) -> Any:
    """Logistic sigmoid 1 / (1 + e**-x), computed without overflow."""
    return _sigmoid_number(x) if x.__class__ is float else _call("sigmoid", x)


def divide(a: Any, b: Any) -> Any:
    """a / b; on numbers, a ``ZeroDivisionError`` naming them when b = 0."""
    if a.__class__ is float and b.__class__ is float:
        return _divide_number(a, b)
    return _call("divide", a, b)


def power(x: Any, k: Any) -> Any:
    """x ** k; on numbers, clear errors for 0 ** negative and negative ** fractional."""
    if x.__class__ is float and (k.__class__ is float or k.__class__ is int):
        return _power_number(x, k)
    return _call("power", x, k)


def maximum(*xs: Any) -> Any:
    """The largest of ``xs`` (elementwise on arrays); nan if any is nan."""
    if not xs:
        raise ValueError("maximum: needs at least one number")
    return _call("maximum", *xs)


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` holds, else ``b`` (elementwise on arrays).

    On numbers and ``Value``s both branches have already been computed by
    the time ``where`` is called; in a rule evaluated on symbols (what the
    engine does with every op's rule) only the branch taken is computed.
    """
    if isinstance(cond, Sym):
        return Sym("where", (cond, _sym(a), _sym(b)))
    if cond.__class__ is bool:
        return a if cond else b
    if _is_array(cond) or _is_array(a) or _is_array(b):
        return numpy_functions()["where"](cond, a, b)
    return a if cond else b


# ----------------------------------------------------------------------------
# Symbols: a rule evaluated on them is an expression tree.


class SymbolicError(TypeError):
    """A rule did something that has no meaning on symbols (``if``, ``math.exp``)."""


Const = Union[int, float]

_BINARY = {"+", "-", "*", "/", "**"}
_COMPARE = {"<", "<=", ">", ">="}


class Sym:
    """A symbolic number: ``Sym("var", ("x",))``, ``Sym("const", (2.0,))``,
    or an operation (``"+"``, ``"*"``, ``"neg"``, ``"<"``, ``"where"``, a
    vocabulary function's name) on other ``Sym``s.

    Arithmetic, comparisons and the vocabulary functions build new nodes,
    folding numbers (``2 * 3`` is ``6``) and the identities ``1 * x = x``
    and ``x ** 1 = x``, which hold exactly in floating point.
    """

    __slots__ = ("kind", "args")

    def __init__(self, kind: str, args: tuple[Any, ...]) -> None:
        self.kind = kind
        self.args = args

    @staticmethod
    def var(name: str) -> Sym:
        return Sym("var", (name,))

    @property
    def key(self) -> tuple[Any, ...]:
        """A hashable description of the whole tree (equal trees, equal keys)."""
        if self.kind in ("var", "const"):
            return (self.kind, self.args[0])
        return (self.kind, *(a.key for a in self.args))

    def is_const(self, value: float | None = None) -> bool:
        return self.kind == "const" and (value is None or self.args[0] == value)

    # -- arithmetic ----------------------------------------------------------

    def _binary(self, kind: str, other: Any, reflected: bool = False) -> Sym:
        a, b = (_sym(other), self) if reflected else (self, _sym(other))
        if a.kind == "const" and b.kind == "const":
            try:
                return Sym("const", (_FOLD[kind](a.args[0], b.args[0]),))
            except (ArithmeticError, ValueError):
                pass
        if kind == "*" and a.is_const(1):
            return b
        if kind == "*" and a.is_const(-1):  # -1 * x is -x exactly
            return -b
        if kind in ("*", "/", "**") and b.is_const(1):
            return a
        return Sym(kind, (a, b))

    def __add__(self, other: Any) -> Sym:
        return self._binary("+", other)

    def __radd__(self, other: Any) -> Sym:
        return self._binary("+", other, True)

    def __sub__(self, other: Any) -> Sym:
        return self._binary("-", other)

    def __rsub__(self, other: Any) -> Sym:
        return self._binary("-", other, True)

    def __mul__(self, other: Any) -> Sym:
        return self._binary("*", other)

    def __rmul__(self, other: Any) -> Sym:
        return self._binary("*", other, True)

    def __truediv__(self, other: Any) -> Sym:
        return self._binary("/", other)

    def __rtruediv__(self, other: Any) -> Sym:
        return self._binary("/", other, True)

    def __pow__(self, other: Any) -> Sym:
        return self._binary("**", other)

    def __rpow__(self, other: Any) -> Sym:
        return self._binary("**", other, True)

    def __neg__(self) -> Sym:
        if self.kind == "const":
            return Sym("const", (-self.args[0],))
        return Sym("neg", (self,))

    def __pos__(self) -> Sym:
        return self

    def __abs__(self) -> Sym:
        return Sym("abs", (self,))

    # -- comparisons: conditions for where() ----------------------------------

    def __lt__(self, other: Any) -> Sym:
        return Sym("<", (self, _sym(other)))

    def __le__(self, other: Any) -> Sym:
        return Sym("<=", (self, _sym(other)))

    def __gt__(self, other: Any) -> Sym:
        return Sym(">", (self, _sym(other)))

    def __ge__(self, other: Any) -> Sym:
        return Sym(">=", (self, _sym(other)))

    __hash__ = object.__hash__

    # -- the vocabulary's functions, as methods (what _call looks up) ----------

    def exp(self) -> Sym:
        return Sym("exp", (self,))

    def log(self) -> Sym:
        return Sym("log", (self,))

    def log1p(self) -> Sym:
        return Sym("log1p", (self,))

    def sin(self) -> Sym:
        return Sym("sin", (self,))

    def cos(self) -> Sym:
        return Sym("cos", (self,))

    def tanh(self) -> Sym:
        return Sym("tanh", (self,))

    def sqrt(self) -> Sym:
        return Sym("sqrt", (self,))

    def sigmoid(self) -> Sym:
        return Sym("sigmoid", (self,))

    # -- what a rule must not do ------------------------------------------------

    def __bool__(self) -> bool:
        raise SymbolicError(
            "a rule branched with a Python `if` (or and/or/not) on its inputs; "
            "write where(cond, a, b) from autograd_lite.rules instead"
        )

    def __float__(self) -> float:
        raise SymbolicError(
            "a rule called a math function or float() on its input; use the functions of "
            "autograd_lite.rules (exp, log, sin, ...), which work on every kind of number"
        )

    __index__ = __int__ = __float__

    def __eq__(self, other: object) -> bool:
        raise SymbolicError("a rule compared with ==; compare with < <= > >= inside where()")

    def __repr__(self) -> str:
        return f"Sym({formula(self)})"


_FOLD: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def _sym(x: Any) -> Sym:
    if isinstance(x, Sym):
        return x
    if x.__class__ is bool or not isinstance(x, numbers.Real):
        raise SymbolicError(f"a rule used {type(x).__name__} {x!r} where a number was expected")
    return Sym("const", (x,))


def symbolic(fn: Callable[..., Any], names: Sequence[str]) -> list[Sym] | None:
    """``fn`` evaluated on one symbol per name: its result as a list of trees.

    A single result is a list of one. ``None`` when ``fn`` cannot be
    evaluated on symbols (it branches with ``if`` on its inputs, calls
    ``math``, or returns something that is not a number).
    """
    try:
        result = fn(*[Sym.var(n) for n in names])
        items = list(result) if isinstance(result, (list, tuple)) else [result]
        return [_sym(item) for item in items]
    except (SymbolicError, RecursionError, TypeError, AttributeError):
        return None  # e.g. math.exp(symbol), `if symbol`, another op applied to a symbol, symbol.detach()


# ----------------------------------------------------------------------------
# Trees to text: Python source (several styles) and formulas for people.

_PRECEDENCE = {
    "where": 0,
    "<": 1,
    "<=": 1,
    ">": 1,
    ">=": 1,
    "+": 2,
    "-": 2,
    "*": 3,
    "/": 3,
    "neg": 4,
    "**": 5,
}
_ATOM = 6


class _Printer:
    """Writes a tree as text.

    ``names`` maps variables to text; ``style`` is ``"python"`` (source to
    run on numbers or ``Value``s: functions are ``_name(...)``, ``where`` a
    conditional expression), ``"array"`` (source to run on arrays: ``where``
    is ``_where(c, a, b)``) or ``"formula"`` (for people: ``exp(x)``,
    ``x*x`` as ``x**2``, ``1.0`` as ``1``).
    """

    def __init__(self, names: dict[str, str], style: str) -> None:
        self.names = names
        self.style = style

    def text(self, e: Sym) -> tuple[str, int]:
        kind, args = e.kind, e.args
        if kind == "var":
            return self.names.get(args[0], args[0]), _ATOM
        if kind == "const":
            return self.number(args[0])
        if kind in _BINARY:
            return self.binary(kind, args[0], args[1])
        if kind in _COMPARE:
            return self.infix(f" {kind} ", _PRECEDENCE[kind], args[0], args[1])
        if kind == "neg":
            inner, p = self.text(args[0])
            return f"-{self.wrap(inner, p, 5)}", _PRECEDENCE["neg"]
        if kind == "where":
            return self.where(*args)
        call = ", ".join(self.text(a)[0] for a in args)
        if kind == "abs":
            return f"abs({call})", _ATOM
        return (f"{kind}({call})" if self.style == "formula" else f"_{kind}({call})"), _ATOM

    def number(self, x: Const) -> tuple[str, int]:
        if isinstance(x, float) and not math.isfinite(x):
            word = "inf" if self.style == "formula" else "_inf"
            if math.isnan(x):
                return ("nan" if self.style == "formula" else "_nan"), _ATOM
            return (word, _ATOM) if x > 0 else (f"-{word}", _PRECEDENCE["neg"])
        text = repr(x)
        if self.style == "formula" and isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
            text = str(int(x))
        return text, (_PRECEDENCE["neg"] if x < 0 or text.startswith("-") else _ATOM)

    @staticmethod
    def wrap(text: str, precedence: int, needed: int) -> str:
        return text if precedence >= needed else f"({text})"

    def infix(self, sep: str, p: int, a: Sym, b: Sym, right_assoc: bool = False) -> tuple[str, int]:
        left, lp = self.text(a)
        right, rp = self.text(b)
        left = self.wrap(left, lp, p + 1 if right_assoc else p)
        right = self.wrap(right, rp, p if right_assoc else p + 1)
        return f"{left}{sep}{right}", p

    def binary(self, kind: str, a: Sym, b: Sym) -> tuple[str, int]:
        p = _PRECEDENCE[kind]
        if self.style == "formula":
            if kind == "*" and a.key == b.key:
                return self.infix("**", 5, a, Sym("const", (2,)), right_assoc=True)
            sep = {"+": " + ", "-": " - "}.get(kind, kind)
        else:
            sep = f" {kind} "
        return self.infix(sep, p, a, b, right_assoc=kind == "**")

    def where(self, cond: Sym, a: Sym, b: Sym) -> tuple[str, int]:
        c, x, y = self.text(cond)[0], self.text(a), self.text(b)
        if self.style == "array":
            return f"_where({c}, {x[0]}, {y[0]})", _ATOM
        return f"{self.wrap(x[0], x[1], 1)} if {c} else {y[0]}", _PRECEDENCE["where"]


def source(expr: Sym, names: dict[str, str] | None = None, style: str = "python") -> str:
    """The tree as Python source: ``style="python"`` for numbers and ``Value``s
    (``where`` a conditional expression, functions ``_exp(...)``), ``"array"``
    for arrays (``_where(...)``). ``names`` renames variables."""
    return _Printer(names or {}, style).text(expr)[0]


def formula(expr: Sym, names: dict[str, str] | None = None) -> str:
    """The tree as a formula for people: ``1 - o**2``, ``1 if x > 0 else 0``."""
    return _Printer(names or {}, "formula").text(expr)[0]


def precedence(expr: Sym, style: str = "python") -> int:
    """How tightly the source of ``expr`` binds (to decide on parentheses around it)."""
    return _Printer({}, style).text(expr)[1]
