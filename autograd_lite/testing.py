"""Prove derivatives right: finite differences, ``gradcheck``, ``gradgradcheck`` and Hypothesis strategies.

The check is the oldest one in the book. A derivative is a limit,

    df/dx_i = lim (f(x + h e_i) - f(x - h e_i)) / 2h   as h -> 0,

so with a small ``h`` the *central difference* on the right estimates it to
within ``O(h**2)`` (plus rounding, ``O(machine epsilon * |f| / h)``).
:func:`gradcheck` compares that estimate with what reverse mode gives,
for every input, and raises :class:`GradcheckError` with a table of the
inputs that disagree. :func:`gradgradcheck` does the same one order up: the
Hessian from differentiating the gradient graph
(:func:`autograd_lite.grad` with ``create_graph=True``) against central
differences of the gradient.

Where ``f`` is not differentiable (``relu`` or ``abs`` at 0, any op's
declared ``Domain.kinks``) the difference quotient straddles a corner and
disagrees with any one-sided derivative. ``gradcheck`` notices that the
finite-difference step crossed a kink and raises :class:`KinkError` (the
point, not the derivative, is the problem); :func:`find_kinks` lets a
property test skip such points.

For property tests, :func:`values`, :func:`expressions` and :func:`mlps` are
Hypothesis strategies (Hypothesis is imported only when you call them):

    >>> from hypothesis import given                      # doctest: +SKIP
    >>> @given(x=values(-3, 3), y=values(-3, 3))          # doctest: +SKIP
    ... def test_my_function(x, y):
    ...     assert gradcheck(my_function, [x, y])
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Union

from autograd_lite.engine import Value, _is_real, apply, enable_grad, no_grad, topological_order
from autograd_lite.functional import _grad_or_zero, jvp
from autograd_lite.ops import (
    ADD,
    BUILTIN_OPS,
    DIV,
    MUL,
    NEG,
    POW,
    SUB,
    VARIADIC,
    Domain,
    Op,
    leaky_relu,
    pow_number,
)

if TYPE_CHECKING:  # Hypothesis is a test-time dependency: imported lazily below
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "DEFAULT_EXPRESSION_OPS",
    "Expression",
    "GradcheckError",
    "Kink",
    "KinkError",
    "Mismatch",
    "Network",
    "analytic_grad",
    "check_grads",
    "expressions",
    "find_kinks",
    "gradcheck",
    "gradgradcheck",
    "mlps",
    "numerical_derivative",
    "numerical_grad",
    "step_size",
    "values",
]

Input = Union[float, int, Value]


# ----------------------------------------------------------------------------
# Finite differences


def step_size(x: float, eps: float) -> float:
    """The finite-difference step at ``x``: ``eps`` scaled by ``max(1, |x|)``."""
    return eps * max(1.0, abs(x))


def _as_values(inputs: Sequence[Input], who: str) -> list[Value]:
    """The inputs as Values: Values as given, numbers as fresh leaves."""
    if isinstance(inputs, (Value, str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(
            f"{who}: inputs must be a list of numbers or Values, got {type(inputs).__name__} {inputs!r}; "
            "wrap a single input in a list: [x]"
        )
    if not inputs:
        raise ValueError(f"{who}: inputs is empty; give the point to check at, e.g. [0.5, -1.0]")
    out = []
    for i, v in enumerate(inputs):
        if isinstance(v, Value):
            out.append(v)
        elif _is_real(v):
            out.append(Value(float(v)))
        else:
            raise TypeError(f"{who}: inputs[{i}] must be a number or a Value, got {type(v).__name__} {v!r}")
        if not math.isfinite(out[-1].data):
            raise ValueError(
                f"{who}: inputs[{i}] is {out[-1].data!r}; derivatives are checked at finite points"
            )
    return out


def _call(f: Callable[..., Any], args: Sequence[Value], who: str) -> Value:
    out = f(*args)
    if not isinstance(out, Value):
        raise TypeError(
            f"{who}: f must return a Value built from its inputs, got {type(out).__name__} {out!r}"
            + (" (return the Value itself, not .data or .item())" if _is_real(out) else "")
        )
    return out


def _at(f: Callable[..., Any], args: Sequence[Value], i: int, x: float, who: str) -> Value:
    """f with input ``i`` moved to ``x`` (in place, restored afterwards)."""
    old = args[i].data
    args[i].data = x
    try:
        with no_grad():
            return _call(f, args, who)
    except (ArithmeticError, ValueError) as err:
        raise ValueError(
            f"{who}: f failed at input {i} = {x!r} (a finite-difference step from {old!r}): {err}; "
            "the point is too close to the edge of f's domain, or use a smaller eps"
        ) from err
    finally:
        args[i].data = old


def _central_differences(
    f: Callable[..., Any], args: Sequence[Value], eps: float, who: str
) -> tuple[list[float], list[float]]:
    """The central differences for every input, and a bound of each one's rounding error."""
    grads, rounding = [], []
    for i, v in enumerate(args):
        x = v.data
        h = step_size(x, eps)
        up, down = x + h, x - h
        f_up, f_down = _at(f, args, i, up, who).data, _at(f, args, i, down, who).data
        grads.append((f_up - f_down) / (up - down))
        rounding.append(_rounding_error(f_up, f_down, up - down))
    return grads, rounding


def numerical_grad(f: Callable[..., Any], inputs: Sequence[Input], eps: float = 1e-6) -> list[float]:
    """Central-difference estimate of d f / d input_i for every input.

    Args:
        f: takes one ``Value`` per input and returns a ``Value``.
        inputs: the point, as numbers or ``Value``s. A ``Value`` is passed to
            ``f`` itself, with its ``.data`` moved by the step and restored
            afterwards, so ``f`` may also use it through a closure (a model's
            parameters, for example).
        eps: relative step; the step for input ``x`` is ``eps * max(1, |x|)``.

    Returns:
        One float per input: ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``.
    """
    return _central_differences(f, _as_values(inputs, "numerical_grad"), eps, "numerical_grad")[0]


RELATIVE_STEPS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
"""The steps :func:`numerical_derivative` tries, as fractions of ``min(|x|, 1)`` (of 1 at ``x = 0``)."""


def _difference_quotient(
    f: Callable[..., Any], args: Sequence[Value], i: int, h: float
) -> tuple[float, float]:
    """``(f(x + h) - f(x - h)) / 2h`` along input ``i``, and a bound of its rounding error."""
    x = args[i].data
    step = (x + h) - (x - h)
    if step == 0:  # h below the spacing of floats at x
        return math.nan, math.inf
    up, down = _at(f, args, i, x + h, "numerical_derivative"), _at(f, args, i, x - h, "numerical_derivative")
    return (up.data - down.data) / step, _rounding_error(up.data, down.data, step)


def _bounded_estimate(f: Callable[..., Any], args: Sequence[Value], i: int, h: float) -> tuple[float, float]:
    """The central difference with step ``h`` and a bound of its error (``inf`` when it has none)."""
    try:
        d1, r1 = _difference_quotient(f, args, i, h)
        d2, r2 = _difference_quotient(f, args, i, 2 * h)
    except ValueError:  # a step left f's domain or overflowed
        return math.nan, math.inf
    if not (math.isfinite(d1) and math.isfinite(d2)):
        return math.nan, math.inf
    # D(2h) - D(h) = 3 c h**2 + ... (Richardson): the truncation error c h**2 of D(h) is about a third
    # of it, give or take the rounding of both quotients; doubled for safety.
    # + the smallest normal float: below it (subnormals) precision is absolute, not relative
    return d1, 2 * (abs(d1 - d2) / 3 + (r1 + r2) / 3) + r1 + sys.float_info.min


def numerical_derivative(f: Callable[..., Any], inputs: Sequence[Input], i: int) -> tuple[float, float]:
    """``df/dx_i`` by central differences, and a bound of its error, at any scale of ``x_i`` and ``f``.

    Tries steps ``h = c * min(|x_i|, 1)`` for each ``c`` in :data:`RELATIVE_STEPS`
    (``h = c`` at ``x_i = 0``; at most 0.1, so ``sin`` at 600 is not sampled a period
    apart); for each, the error of ``D(h) = (f(x + h) - f(x - h)) / 2h`` is bounded by

        bound = 2 * (|D(h) - D(2h)| / 3 + (r(h) + r(2h)) / 3) + r(h)

    where ``|D(h) - D(2h)| / 3`` is Richardson's estimate of the truncation error
    ``c h**2`` (doubled for safety) and ``r`` the rounding bound of :func:`gradcheck`.
    Returns the estimate whose bound is least. Steps scaled by small ``|x_i|`` stay clear of 0
    (a kink, or the edge of a domain such as ``log``'s) and resolve derivatives at tiny
    ``|x_i|``; the least bound picks a large step where ``f`` is nearly flat (``exp(-30)``,
    ``sigmoid(25)``), a small one where it curves.

    Raises:
        ValueError: ``f`` fails or is not finite at every step.
    """
    args = _as_values(inputs, "numerical_derivative")
    x = args[i].data
    best = (math.nan, math.inf)
    for c in RELATIVE_STEPS:
        estimate = _bounded_estimate(f, args, i, c * (min(abs(x), 1.0) if x != 0 else 1.0))
        if estimate[1] < best[1]:
            best = estimate
    if not math.isfinite(best[1]):
        raise ValueError(f"numerical_derivative: f fails or is not finite at every step around x{i} = {x!r}")
    return best


def analytic_grad(f: Callable[..., Any], inputs: Sequence[Input]) -> tuple[float, list[float]]:
    """``f`` at ``inputs`` and its gradient by ``backward()`` (on fresh leaves)."""
    leaves = [Value(v.data if isinstance(v, Value) else float(v)) for v in inputs]
    out = _call(f, leaves, "analytic_grad")
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


_ROUNDING_SAFETY = 4.0
"""The safety factor of :func:`_rounding_error` (each ``f`` value may be a few roundings off)."""


def _rounding_error(f_up: float, f_down: float, step: float) -> float:
    """A bound of the rounding error of the difference quotient ``(f_up - f_down) / step``.

    Each of ``f_up = f(x + h)`` and ``f_down = f(x - h)`` is computed in
    floating point, so each is off by about ``machine_epsilon * |f|``; their
    difference is then off by up to ``machine_epsilon * (|f_up| + |f_down|)``,
    and dividing by the step ``2h`` (``step``, the exact difference of the two
    points) carries that over to the quotient:

        rounding = 4 * machine_epsilon * (|f_up| + |f_down|) / step

    with the safety factor 4 (``_ROUNDING_SAFETY``) for the few roundings each value of ``f``
    goes through. It grows with ``|f|`` and shrinks with the step: at
    ``f = 100``, ``x = 1`` and the default ``eps = 1e-6`` (``step = 2e-6``)
    it is ``4 * 2.2e-16 * 200 / 2e-6``, about ``9e-8``, far below any error
    worth reporting, so a large ``f`` cannot hide a wrong derivative.

    Near zero the relative rounding has a floor: a result below the
    smallest normal number (2.2e-308) is off by up to one unit of the
    smallest subnormal, 5e-324, however small it is, and a product that
    underflows to 0 loses that much. So each value of ``f`` is also allowed
    ``_ROUNDING_SAFETY`` such units, ``8 * 5e-324 / step`` in the quotient:
    about 4e-311 at the default step, and felt only at steps near 1e-300,
    where the derivatives checked are that small too.
    """
    if step == 0:
        return math.inf
    relative = sys.float_info.epsilon * (abs(f_up) + abs(f_down))
    return _ROUNDING_SAFETY * (relative + 2 * _SMALLEST_SUBNORMAL) / abs(step)


_SMALLEST_SUBNORMAL = 5e-324


def _within(analytic: float, numeric: float, atol: float, rtol: float, rounding: float = 0.0) -> bool:
    """``|analytic - numeric| <= atol + rtol * |numeric| + rounding``; NaN never agrees, inf only itself."""
    if math.isnan(analytic) or math.isnan(numeric):
        return False
    if math.isinf(analytic) or math.isinf(numeric):
        return analytic == numeric
    return abs(analytic - numeric) <= atol + rtol * abs(numeric) + rounding


def close(
    analytic: float, numeric: float, scale: float, rtol: float = 1e-4, atol: float = 1e-6, eps: float = 1e-6
) -> bool:
    """Whether a derivative agrees with its finite-difference estimate.

    ``|analytic - numeric| <= atol + rtol * |numeric| + rounding``: tolerances
    on the derivative itself, as PyTorch's gradcheck, plus a bound of the
    rounding error of the estimate. ``scale`` is ``f`` at the point and
    ``eps`` the relative step :func:`numerical_grad` used; since its step
    ``h = eps * max(1, |x|)`` is at least ``eps``,
    ``rounding = 4 * machine_epsilon * |scale| / eps`` (the bound
    :func:`gradcheck` uses, with ``f(x +- h) ~ scale`` and ``h = eps``) is the
    largest the rounding can be. It is about ``9e-8`` at ``f = 100``: a large ``f`` widens the
    tolerance only by what rounding can really cost.
    """
    return _within(analytic, numeric, atol, rtol, _rounding_error(scale, scale, 2 * eps))


# ----------------------------------------------------------------------------
# Kinks


class Kink(NamedTuple):
    """A non-differentiable point that a finite-difference step crossed.

    ``op`` is the op (``"ReLU"``, ``"abs"``), ``at`` the op's kink (0 for
    ``relu``), ``value`` what the op's input was at the checked point, and
    ``input`` the index of the checked input whose step crossed it.
    """

    input: int
    op: str
    at: float
    value: float

    def __str__(self) -> str:
        return f"{self.op} at its kink {self.at:g} (its input is {self.value:.3g} here)"


def _kink_sides(out: Value) -> list[tuple[str, float, float, int]]:
    """(op, kink, input value, side) for every op input in the graph that has kinks."""
    sides = []
    for node in topological_order(out):
        op, kids = node._op, node._prev
        lower = getattr(node, "_lowered", None)  # the micrograd twin's nodes: their op of the table
        if not isinstance(op, Op) and lower is not None and lower() is not None:
            op, kids = lower()
        domains = getattr(op, "domain", None)
        if not kids or not domains:
            continue
        for j, child in enumerate(kids):
            domain = domains[0] if len(domains) == 1 else domains[min(j, len(domains) - 1)]
            for k in domain.kinks:
                d = child.data - k
                sides.append((str(op), k, child.data, (d > 0) - (d < 0)))
    return sides


def _graph_for_kinks(f: Callable[..., Any], args: Sequence[Value], order: int) -> Value:
    out = _call(f, args, "gradcheck")
    if order == 1:
        return out
    first = _grad_or_zero(out, list(args), create_graph=True)
    return Value.sum([out, *first])  # the forward graph and the gradient's


def find_kinks(
    f: Callable[..., Any], inputs: Sequence[Input], eps: float = 1e-6, order: int = 1
) -> list[Kink]:
    """The kinks that the finite-difference steps of :func:`gradcheck` cross.

    For each input ``i`` the graph of ``f`` is built at ``x - h e_i``, ``x``
    and ``x + h e_i``; a kink of an op (``Domain.kinks``: ``relu`` and
    ``abs`` at 0, ...) whose input sits on the kink at ``x`` or changes side
    between the three points makes the central difference meaningless there.

    Args:
        f: as for :func:`gradcheck`.
        inputs: as for :func:`gradcheck`.
        eps: as for :func:`gradcheck`.
        order: 1 for the graph of ``f``; 2 also scans the graph of its
            gradient (what :func:`gradgradcheck` differentiates).

    Returns:
        One :class:`Kink` per crossing (empty when ``f`` is smooth there).
    """
    args = _as_values(inputs, "find_kinks")
    with enable_grad():
        center = _kink_sides(_graph_for_kinks(f, args, order))
        kinks = []
        for i, v in enumerate(args):
            x = v.data
            h = step_size(x, eps)
            sides = []
            for shifted in (x - h, x + h):
                v.data = shifted
                try:
                    sides.append(_kink_sides(_graph_for_kinks(f, args, order)))
                except (ArithmeticError, ValueError):
                    sides.append([])
                finally:
                    v.data = x
            for n, (op, k, value, side) in enumerate(center):
                others = [s[n][3] for s in sides if n < len(s)]
                if side == 0 or any(o != side for o in others):
                    kinks.append(Kink(i, op, k, value))
    return kinks


# ----------------------------------------------------------------------------
# gradcheck and gradgradcheck


class Mismatch(NamedTuple):
    """One derivative that disagrees with its finite-difference estimate."""

    name: str
    at: float
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    note: str = ""


class GradcheckError(AssertionError):
    """Derivatives disagree with finite differences.

    The message is a table of every disagreeing derivative (analytic,
    numeric, absolute and relative error); ``mismatches`` holds the rows.
    """

    def __init__(self, message: str, mismatches: Sequence[Mismatch]) -> None:
        super().__init__(message)
        self.mismatches = list(mismatches)


class KinkError(GradcheckError):
    """Every disagreement is at a point where ``f`` is not differentiable.

    Not a wrong derivative: the finite-difference step crossed a kink
    (``relu``/``abs`` at 0, ...). ``kinks`` lists them; in a property test,
    skip such points (``assume(not find_kinks(f, xs))``).
    """

    def __init__(self, message: str, mismatches: Sequence[Mismatch], kinks: Sequence[Kink]) -> None:
        super().__init__(message, mismatches)
        self.kinks = list(kinks)


def _input_names(f: Callable[..., Any], args: Sequence[Value]) -> list[str]:
    """Labels of the inputs if they have them, else f's parameter names, else x0, x1, ..."""
    params: list[str] = []
    try:
        sig = inspect.signature(f).parameters.values()
        if all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig):
            params = [p.name for p in sig]
    except (TypeError, ValueError):
        pass
    if len(params) != len(args):
        params = [f"x{i}" for i in range(len(args))]
    return [v.label or p for v, p in zip(args, params)]


def _mismatch(name: str, at: float, a: float, n: float, note: str = "") -> Mismatch:
    err = abs(a - n)
    size = max(abs(a), abs(n))
    rel = err / size if size > 0 and math.isfinite(size) else (0.0 if err == 0 else math.inf)
    return Mismatch(name, at, a, n, err, rel, note)


def _table(rows: Sequence[Mismatch]) -> str:
    header = ("derivative", "at", "analytic", "numeric", "abs error", "rel error", "note")
    cells = [header] + [
        (
            r.name,
            f"{r.at:.6g}",
            f"{r.analytic:.8g}",
            f"{r.numeric:.8g}",
            f"{r.abs_error:.3g}",
            f"{r.rel_error:.3g}",
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(row[c]) for row in cells) for c in range(len(header))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells
    )


def _report(
    who: str,
    rows: list[Mismatch],
    total: int,
    kinks: list[Kink],
    columns: Callable[[Mismatch], int],
    settings: str,
) -> None:
    """Raise GradcheckError/KinkError for ``rows`` (marking those at a kink); nothing if none."""
    if not rows:
        return
    by_input: dict[int, list[Kink]] = {}
    for k in kinks:
        by_input.setdefault(k.input, []).append(k)
    marked = [
        r._replace(note=f"kink: {by_input[columns(r)][0]}") if columns(r) in by_input else r for r in rows
    ]
    if all(columns(r) in by_input for r in rows):
        raise KinkError(
            f"{who}: not differentiable here, not a wrong derivative: the finite-difference step crosses "
            f"a kink, so the difference quotient averages two one-sided slopes ({settings})\n"
            + _table(marked),
            marked,
            kinks,
        )
    raise GradcheckError(
        f"{who}: {len(rows)} of {total} derivatives disagree with finite differences ({settings})\n"
        + _table(marked),
        marked,
    )


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Input],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    relative: bool = False,
) -> bool:
    """Check reverse-mode gradients of ``f`` against central differences.

    For each input ``x_i`` the analytic ``df/dx_i`` (from
    :func:`autograd_lite.grad`, so no ``.grad`` is touched) must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric| + rounding`` where
    ``numeric = (f(x + h e_i) - f(x - h e_i)) / 2h``,
    ``h = eps * max(1, |x_i|)``, and ``rounding`` bounds the rounding error
    of that quotient: each value of ``f`` is off by a few
    ``machine_epsilon * |f|``, so

        rounding = 4 * machine_epsilon * (|f(x + h e_i)| + |f(x - h e_i)|) / 2h

    (about ``9e-8`` at ``f = 100``, ``x_i = 1``, ``eps = 1e-6``). The
    tolerances are on the derivatives, as in PyTorch's gradcheck: a large
    ``|f|`` does not widen them beyond what rounding can cost, so it cannot
    hide a wrong derivative.

    Args:
        f: takes one ``Value`` per input and returns a ``Value``.
        inputs: the point, as numbers or ``Value``s (a ``Value`` is passed to
            ``f`` itself and its ``.data`` moved and restored, so ``f`` may
            use it through a closure, e.g. a model's parameters).
        eps: relative finite-difference step.
        atol: absolute tolerance on each derivative.
        rtol: relative tolerance on each derivative.
        relative: check each derivative to ``rtol`` of itself however small it
            is: ``|analytic - numeric| <= rtol * |numeric| + bound``, with no
            ``atol``, where ``numeric, bound`` are :func:`numerical_derivative`'s
            (steps scaled by ``|x_i|``, the one with the least error bound).
            ``atol`` would hide a wrong derivative of ``exp`` at ``x < -20``
            (``e**-20 = 2e-9``); ``bound`` only allows what finite
            differences cannot resolve (``eps`` is not used).

    Returns:
        ``True`` when every derivative agrees.

    Raises:
        GradcheckError: some derivatives disagree; the message is a table of
            them (analytic, numeric, absolute and relative error).
        KinkError: every disagreement is explained by a kink that the step
            crossed (a :class:`GradcheckError` too).
        TypeError, ValueError: ``f`` does not return a ``Value``, the inputs
            are not numbers/Values, or ``f`` fails near the point.
    """
    args = _as_values(inputs, "gradcheck")
    return _check_first_order(f, args, "rev", "gradcheck", eps, atol, rtol, relative)


def _check_first_order(
    f: Callable[..., Any],
    args: list[Value],
    mode: str,
    who: str,
    eps: float,
    atol: float,
    rtol: float,
    relative: bool = False,
) -> bool:
    """Every ``df/dx_i`` by reverse (``"rev"``) or forward mode (``"fwd"``) against central differences
    (relative: against :func:`numerical_derivative`, with no ``atol``)."""
    names = _input_names(f, args)
    with enable_grad():
        if mode == "rev":
            analytic = _grad_or_zero(_call(f, args, who), args)
        else:  # one forward pass along each input's axis
            axes = [[1.0 if j == i else 0.0 for j in range(len(args))] for i in range(len(args))]
            analytic = [_checked_jvp(f, args, axis, who) for axis in axes]
    if relative:
        atol = 0.0
        numeric, rounding = map(list, zip(*[numerical_derivative(f, args, i) for i in range(len(args))]))
    else:
        numeric, rounding = _central_differences(f, args, eps, who)
    rows = [
        _mismatch(f"df/d{names[i]}", args[i].data, a, n, "" if mode == "rev" else "forward mode")
        for i, (a, n, r) in enumerate(zip(analytic, numeric, rounding))
        if not _within(a, n, atol, rtol, r)
    ]
    if rows:
        index = {f"df/d{name}": i for i, name in enumerate(names)}
        kinks = find_kinks(f, args, eps)
        settings = f"relative, rtol={rtol:g}" if relative else _settings(eps, atol, rtol)
        _report(who, rows, len(args), kinks, lambda r: index[r.name], settings)
    return True


def _checked_jvp(f: Callable[..., Any], args: list[Value], axis: list[float], who: str) -> float:
    tangent = jvp(lambda *xs: _call(f, xs, who), args, axis)[1]
    return tangent


def _settings(eps: float, atol: float, rtol: float) -> str:
    return f"eps={eps:g}, atol={atol:g}, rtol={rtol:g}"


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Input],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check second derivatives of ``f`` against central differences of its gradient.

    The analytic Hessian ``H[i][j] = d/dx_j (df/dx_i)`` comes from
    differentiating the gradient graph (``grad(..., create_graph=True)``,
    then ``grad`` again); the numeric one is
    ``(g_i(x + h e_j) - g_i(x - h e_j)) / 2h`` with ``g`` the reverse-mode
    gradient. Each entry must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric| + rounding`` with, as in
    :func:`gradcheck` but for the gradient's values,
    ``rounding = 4 * machine_epsilon * (|g_i(x + h e_j)| + |g_i(x - h e_j)|) / 2h``.
    It also checks that the graph-connected gradient has the same values as
    the float one (one derivative rule serves both, so they must agree to
    ``atol + rtol * |g_i|``).

    Args and raises: as for :func:`gradcheck`; rows are named
    ``d2f/dx_i dx_j``.

    Returns:
        ``True`` when every second derivative agrees.
    """
    args = _as_values(inputs, "gradgradcheck")
    names = _input_names(f, args)
    n = len(args)
    with enable_grad():
        out = _call(f, args, "gradgradcheck")
        first = _grad_or_zero(out, args, create_graph=True)
        plain = _grad_or_zero(out, args)
        analytic = [_grad_or_zero(g, args) for g in first]
    rows: list[Mismatch] = []
    columns: dict[str, int] = {}
    for i in range(n):
        if not _within(first[i].data, plain[i], atol, rtol):
            name = f"df/d{names[i]}"
            rows.append(_mismatch(name, args[i].data, first[i].data, plain[i], "create_graph=True differs"))
            columns[name] = -1
    for j in range(n):
        x = args[j].data
        h = step_size(x, eps)
        up, down = x + h, x - h
        ups, downs = _gradient_at(f, args, j, up), _gradient_at(f, args, j, down)
        for i in range(n):
            numeric = (ups[i] - downs[i]) / (up - down)
            rounding = _rounding_error(ups[i], downs[i], up - down)
            if not _within(analytic[i][j], numeric, atol, rtol, rounding):
                name = f"d2f/d{names[i]} d{names[j]}"
                rows.append(_mismatch(name, x, analytic[i][j], numeric))
                columns[name] = j
    if rows:
        kinks = find_kinks(f, args, eps, order=2)
        _report(
            "gradgradcheck", rows, n + n * n, kinks, lambda r: columns[r.name], _settings(eps, atol, rtol)
        )
    return True


def _gradient_at(f: Callable[..., Any], args: Sequence[Value], j: int, x: float) -> list[float]:
    old = args[j].data
    args[j].data = x
    try:
        with enable_grad():
            return _grad_or_zero(_call(f, args, "gradgradcheck"), list(args))
    except (ArithmeticError, ValueError) as err:
        raise ValueError(
            f"gradgradcheck: f failed at input {j} = {x!r} (a finite-difference step from {old!r}): "
            f"{err}; the point is too close to the edge of f's domain, or use a smaller eps"
        ) from err
    finally:
        args[j].data = old


# ----------------------------------------------------------------------------
# Hypothesis strategies (Hypothesis is imported when one is called)


def _hypothesis() -> Any:
    from autograd_lite._optional import optional_dependency

    with optional_dependency("hypothesis", "the strategies in autograd_lite.testing"):
        from hypothesis import strategies
    return strategies


def values(
    low: float = -10.0,
    high: float = 10.0,
    *,
    domain: Domain | None = None,
    avoid: Sequence[float] = (),
    margin: float = 1e-2,
) -> SearchStrategy[float]:
    """A strategy for finite floats in ``[low, high]``, kept ``margin`` away from ``avoid``.

    Args:
        low: the interval's lower end (ignored when ``domain`` is given).
        high: its upper end (ignored when ``domain`` is given).
        domain: an op's :class:`~autograd_lite.ops.Domain` (``op.domain[0]``):
            draw within it, shrunk by ``margin`` at both ends, away from its
            kinks, whole numbers if it says ``integer``.
        avoid: points to stay ``margin`` away from (kinks, poles).
        margin: how far to stay from ``avoid`` (and a domain's ends).
    """
    st = _hypothesis()
    kinks = tuple(avoid)
    if domain is not None:
        low, high, kinks = domain.low, domain.high, kinks + tuple(domain.kinks)
        if high - low > 4 * margin:
            low, high = low + margin, high - margin
        if domain.integer:
            ints = st.integers(math.ceil(low), math.floor(high)).map(float)
            return ints.filter(lambda x: all(abs(x - k) >= margin for k in kinks))
    if not low < high:
        raise ValueError(f"values: low ({low!r}) must be below high ({high!r})")
    floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kinks:
        floats = floats.filter(lambda x: all(abs(x - k) >= margin for k in kinks))
    return floats


_INFIX = {ADD: "+", SUB: "-", MUL: "*", DIV: "/", POW: "**"}

DEFAULT_EXPRESSION_OPS: tuple[Op, ...] = (
    *BUILTIN_OPS,
    pow_number(2),
    pow_number(3),
    pow_number(-1),
    pow_number(0.5),
    leaky_relu(0.1),
)
"""What :func:`expressions` draws from by default: every built-in op and a few
members of each family (``x**2``, ``x**3``, ``x**-1``, ``x**0.5``, ``leaky_relu(0.1)``)."""


@dataclass(frozen=True, repr=False)
class Expression:
    """A random expression program: call it with one ``Value`` per variable.

    Steps apply ops to earlier results (the variables or other steps), so a
    result used by several later steps is a shared subexpression. The output
    is the sum of every result no later step uses (or that result alone).

    Attributes:
        names: the variables' names.
        point: where the expression was drawn; every op's inputs are inside
            its domain there (``gradcheck(expr, expr.point)``).
        steps: ``(op, argument indices)``; indices count the variables first.
        output: the indices summed into the output.
    """

    names: tuple[str, ...]
    point: tuple[float, ...]
    steps: tuple[tuple[Op, tuple[int, ...]], ...]
    output: tuple[int, ...]

    def __call__(self, *inputs: Value | float) -> Value:
        """Build the expression's graph on ``inputs`` (one per variable)."""
        if len(inputs) != len(self.names):
            raise TypeError(f"this expression takes {len(self.names)} inputs {self.names}, got {len(inputs)}")
        nodes: list[Any] = list(inputs)
        for op, refs in self.steps:
            nodes.append(apply(op, *[nodes[r] for r in refs]))
        if len(self.output) == 1:
            out = nodes[self.output[0]]
            return out if isinstance(out, Value) else Value(out)
        return Value.sum([nodes[r] for r in self.output])

    @property
    def ops(self) -> tuple[Op, ...]:
        """The ops the expression uses, in order of first use."""
        return tuple(dict.fromkeys(op for op, _ in self.steps))

    def __str__(self) -> str:
        refs = list(self.names) + [f"t{k}" for k in range(len(self.steps))]
        lines = []
        for k, (op, args) in enumerate(self.steps):
            a = [refs[r] for r in args]
            if op in _INFIX:
                text = f" {_INFIX[op]} ".join(a)
            elif op == NEG:
                text = f"-{a[0]}"
            elif getattr(op, "family", None) == "**k":
                text = f"{a[0]}{op}"
            else:
                text = f"{op}({', '.join(a)})"
            lines.append(f"t{k} = {text}")
        out = " + ".join(refs[r] for r in self.output)
        return "; ".join([*lines, f"return {out}"])

    def __repr__(self) -> str:
        at = ", ".join(f"{n}={x!r}" for n, x in zip(self.names, self.point))
        return f"Expression({at}: {self})"


def _inside(x: float, domain: Domain, margin: float) -> bool:
    low, high = domain.low, domain.high
    if high - low > 4 * margin:
        low, high = low + margin, high - margin
    if not low <= x <= high:
        return False
    if domain.integer and not float(x).is_integer():
        return False
    return all(abs(x - k) >= margin for k in domain.kinks)


def _as_op(op: Any) -> Op:
    inner = getattr(op, "op", op)  # a CustomOp carries its Op
    if not isinstance(inner, Op):
        raise TypeError(f"expressions: ops must be Ops or custom ops, got {type(op).__name__} {op!r}")
    return inner


def expressions(
    variables: int | Sequence[str] | Mapping[str, float | SearchStrategy[float]] = 2,
    *,
    ops: Sequence[Any] | None = None,
    min_steps: int = 1,
    max_steps: int = 8,
    max_arguments: int = 4,
    margin: float = 1e-2,
    bound: float = 1e4,
) -> SearchStrategy[Expression]:
    """A strategy for random expression graphs over the given variables.

    Draws a point first, then a program step by step; each step picks an op
    whose every input can be fed, *at that point*, from the variables and
    earlier results inside the op's domain (``margin`` inside its ends, and
    ``margin`` away from its kinks), so every drawn expression is defined and
    differentiable at its point and a little around it (finite differences
    are valid there). Any earlier result may be used again: shared
    subexpressions. A step whose result would exceed ``bound`` in size is
    dropped.

    Args:
        variables: how many (named ``x0, x1, ...``), their names, or a
            mapping from name to a fixed value or a strategy for it. Drawn
            values default to ``values(-3, 3)``.
        ops: ops to draw from (``Op``s from :mod:`autograd_lite.ops` or
            custom ops); default :data:`DEFAULT_EXPRESSION_OPS`.
        min_steps: the fewest steps to try.
        max_steps: the most steps to try.
        max_arguments: the most inputs a variadic op (``sum``, ``dot``) gets.
        margin: the distance kept from domain ends and kinks.
        bound: the largest size an intermediate result may have.

    Returns:
        A strategy of :class:`Expression` (call it with ``Value``s; its
        ``point`` is where it was drawn).
    """
    st = _hypothesis()
    if isinstance(variables, int):
        if variables < 1:
            raise ValueError(f"expressions: need at least one variable, got {variables}")
        spec: dict[str, Any] = {f"x{i}": None for i in range(variables)}
    elif isinstance(variables, Mapping):
        spec = dict(variables)
    elif isinstance(variables, Sequence) and not isinstance(variables, str):
        spec = {str(name): None for name in variables}
    else:
        raise TypeError(f"expressions: variables must be a count, names or a mapping, got {variables!r}")
    if not spec:
        raise ValueError("expressions: need at least one variable")
    table = tuple(_as_op(op) for op in (DEFAULT_EXPRESSION_OPS if ops is None else ops))
    if not table:
        raise ValueError("expressions: ops is empty")
    if not 0 <= min_steps <= max_steps:
        raise ValueError(f"expressions: need 0 <= min_steps <= max_steps, got {min_steps}, {max_steps}")
    point_strategies = [
        values(-3.0, 3.0) if s is None else (st.just(float(s)) if _is_real(s) else s) for s in spec.values()
    ]

    @st.composite
    def draw_expression(draw: Any) -> Expression:
        point = tuple(float(draw(s)) for s in point_strategies)
        data = list(point)
        steps: list[tuple[Op, tuple[int, ...]]] = []
        for _ in range(draw(st.integers(min_steps, max_steps))):
            options = []
            for op in table:
                if op.arity == VARIADIC:
                    fits = [[r for r, x in enumerate(data) if _inside(x, op.domain[0], margin)]]
                else:
                    fits = [[r for r, x in enumerate(data) if _inside(x, d, margin)] for d in op.domain]
                if all(fits):
                    options.append((op, fits))
            if not options:
                break
            op, fits = draw(st.sampled_from(options))
            if op.arity == VARIADIC:
                refs = tuple(draw(st.lists(st.sampled_from(fits[0]), min_size=1, max_size=max_arguments)))
            else:
                refs = tuple(draw(st.sampled_from(candidates)) for candidates in fits)
            try:
                result = float(op.forward(*[data[r] for r in refs]))
            except (ArithmeticError, ValueError):
                continue
            if not math.isfinite(result) or abs(result) > bound:
                continue
            steps.append((op, refs))
            data.append(result)
        used = {r for _, refs in steps for r in refs}
        output = tuple(r for r in range(len(point), len(data)) if r not in used) or tuple(range(len(point)))
        return Expression(tuple(spec), point, tuple(steps), output)

    return draw_expression()


class Network(NamedTuple):
    """A drawn network and an input for it: ``model, x = network``."""

    model: Any
    inputs: list[float]


def mlps(
    *,
    max_inputs: int = 3,
    max_hidden_layers: int = 2,
    max_width: int = 4,
    outputs: int = 1,
    activations: Sequence[str] = ("tanh", "relu", "sigmoid", "softplus", "leaky_relu"),
    input_values: SearchStrategy[float] | None = None,
) -> SearchStrategy[Network]:
    """A strategy for small seeded MLPs with an input to run them on.

    Draws the number of inputs (1 to ``max_inputs``), up to
    ``max_hidden_layers`` hidden layers of 1 to ``max_width`` neurons, a
    hidden activation, a seed, and one input vector (``values(-2, 2)`` by
    default). The same draw always gives the same model.

    Returns:
        A strategy of :class:`Network` ``(model, inputs)``; the model is an
        :class:`autograd_lite.nn.MLP` with ``outputs`` outputs (a single
        ``Value`` for one).
    """
    st = _hypothesis()
    from autograd_lite.nn import MLP

    if max_inputs < 1 or max_width < 1 or max_hidden_layers < 0 or outputs < 1:
        raise ValueError("mlps: max_inputs, max_width and outputs must be >= 1, max_hidden_layers >= 0")
    xs = values(-2.0, 2.0) if input_values is None else input_values

    @st.composite
    def draw_network(draw: Any) -> Network:
        nin = draw(st.integers(1, max_inputs))
        hidden = draw(st.lists(st.integers(1, max_width), max_size=max_hidden_layers))
        activation = draw(st.sampled_from(list(activations)))
        seed = draw(st.integers(0, 2**32 - 1))
        model = MLP(nin, [*hidden, outputs], activation=activation, seed=seed)
        return Network(model, [draw(xs) for _ in range(nin)])

    return draw_network()


# ----------------------------------------------------------------------------
# Both modes, to any order


def check_grads(
    f: Callable[..., Any],
    inputs: Sequence[Input],
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 2,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check forward and reverse mode to ``order`` against finite differences, as JAX's ``check_grads``.

    Order 1: every first derivative ``df/dx_i``, by reverse mode
    (:func:`autograd_lite.grad`, ``"rev"``) and by forward mode
    (:func:`autograd_lite.jvp` along the axis of ``x_i``, ``"fwd"``), against
    central differences, with :func:`gradcheck`'s comparison and kink
    detection. Order ``k > 1``: the same check, to order ``k - 1``, of each
    derivative as a function of the point: ``x -> df/dx_i`` made by each mode
    with ``create_graph=True``. So ``order=2`` checks reverse over reverse,
    forward over reverse, reverse over forward and forward over forward.

    Args:
        f: takes one ``Value`` per input and returns a ``Value``.
        inputs: the point (numbers or ``Value``s, as for :func:`gradcheck`).
        modes: any of ``"fwd"`` and ``"rev"``.
        order: how many derivatives deep to check (1 or more).
        eps: as for :func:`gradcheck`.
        atol: as for :func:`gradcheck`.
        rtol: as for :func:`gradcheck`.

    Returns:
        ``True`` when every check passes.

    Raises:
        GradcheckError, KinkError: as :func:`gradcheck`; the message names
            the mode and the derivative checked.
    """
    if order < 1:
        raise ValueError(f"check_grads: order must be 1 or more, got {order!r}")
    unknown = [m for m in modes if m not in ("fwd", "rev")]
    if unknown or not modes:
        raise ValueError(f"check_grads: modes must be some of 'fwd' and 'rev', got {modes!r}")
    args = _as_values(inputs, "check_grads")
    for mode in modes:
        _check_first_order(f, args, mode, "check_grads" + ("" if mode == "rev" else " (forward mode)"),
                           eps, atol, rtol)  # fmt: skip
    if order > 1:
        for mode in modes:
            for i in range(len(args)):
                derivative = _derivative_function(f, mode, i, len(args))
                check_grads(derivative, args, modes, order - 1, eps=eps, atol=atol, rtol=rtol)
    return True


def _derivative_function(f: Callable[..., Any], mode: str, i: int, n: int) -> Callable[..., Value]:
    """``x -> df/dx_i`` as a graph-connected Value, made by reverse (``"rev"``) or forward mode."""
    axis = [1.0 if j == i else 0.0 for j in range(n)]

    def derivative(*xs: Value) -> Value:
        with enable_grad():  # finite differences call this under no_grad(): the graph is needed here
            if mode == "rev":
                return _grad_or_zero(_call(f, xs, "check_grads"), list(xs), create_graph=True)[i]
            return jvp(f, list(xs), axis, create_graph=True)[1]

    derivative.__name__ = f"d{getattr(f, '__name__', 'f')}_d{i}_{mode}"
    return derivative
