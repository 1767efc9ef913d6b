"""Expressions typed as text, turned into ``Value`` graphs safely; the ``graph`` command.

``autograd-lite graph "tanh(x*w + b)" x=0.5 w=-1.2 b=2 -o graph.svg`` prints
the value and each variable's gradient, writes the graph picture, and with
``--steps steps.html`` the step-by-step walkthrough of the backward pass.

The expression is parsed with Python's :mod:`ast` and checked against a
whitelist, never given to ``eval``: numbers, variables, ``+ - * / **``, unary
minus (and plus), parentheses, and calls of the engine's one-input functions
(:data:`FUNCTIONS`). Anything else (an attribute, an unknown function, a
lambda, a comprehension, a string, a keyword argument) is rejected with an
:class:`ExpressionError` whose message points at the offending part::

    tanh(os.system('ls'))
         ^^^^^^^^^
    attribute access (os.system) is not allowed; ...

Example:
    >>> from autograd_lite.expression import evaluate_expression
    >>> out, leaves = evaluate_expression("x * w + 1", {"x": 2.0, "w": 3.0})
    >>> out.data, leaves["x"].grad
    (7.0, 3.0)
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from autograd_lite.engine import Value

__all__ = [
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "add_graph_command",
    "evaluate_expression",
    "parse_assignments",
    "parse_expression",
    "run_graph_command",
]

FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "softplus": Value.softplus,
    "exp": Value.exp,
    "log": Value.log,
    "sqrt": Value.sqrt,
    "sin": Value.sin,
    "cos": Value.cos,
    "abs": Value.__abs__,
}
"""The functions an expression may call, each with one argument."""

MAX_LENGTH = 10_000
"""Longer expressions are refused (the parser's own limits come after)."""

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}
_OPERATOR_NAMES = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}  # fmt: skip
_DESCRIPTIONS = {
    "Attribute": "attribute access",
    "Subscript": "indexing",
    "Lambda": "a lambda",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a comprehension",
    "Compare": "a comparison",
    "BoolOp": "and/or",
    "IfExp": "a conditional expression",
    "List": "a list",
    "Tuple": "a tuple",
    "Dict": "a dict",
    "Set": "a set",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "Starred": "unpacking with *",
    "NamedExpr": "assignment (:=)",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "Slice": "a slice",
}


class ExpressionError(ValueError):
    """A bad expression or variable value; the message says what and where.

    Attributes:
        reason: what is wrong, without the pointer.
        expression: the expression text (``None`` for a bad variable value).
        start, end: the offending part, as character offsets into ``expression``.
    """

    def __init__(
        self,
        reason: str,
        expression: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        self.reason, self.expression, self.start, self.end = reason, expression, start, end
        message = reason
        if expression is not None and start is not None:
            width = max(1, (end if end is not None else start + 1) - start)
            message = f"{reason}\n  {expression}\n  {' ' * start}{'^' * width}"
        super().__init__(message)


def _span(text: str, node: ast.AST) -> tuple[int | None, int | None]:
    """Character offsets of ``node`` in a one-line ``text`` (ast gives UTF-8 byte offsets)."""
    encoded = text.encode("utf-8")
    start = getattr(node, "col_offset", None)
    end = getattr(node, "end_col_offset", None)
    to_chars = lambda offset: len(encoded[:offset].decode("utf-8", errors="ignore"))
    return (to_chars(start) if start is not None else None, to_chars(end) if end is not None else None)


def _source(text: str, node: ast.AST) -> str:
    start, end = _span(text, node)
    return text[start:end] if start is not None else type(node).__name__


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, syntax tree, and variable names in order of appearance."""

    text: str
    tree: ast.Expression
    variables: tuple[str, ...]

    def error(self, reason: str, node: ast.AST) -> ExpressionError:
        """An :class:`ExpressionError` pointing at ``node``."""
        start, end = _span(self.text, node)
        return ExpressionError(reason, self.text, start, end)

    def evaluate(self, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
        """Build the graph: one labelled leaf ``Value`` per variable, then the expression.

        Args:
            values: a number for every variable.

        Returns:
            ``(output, leaves)``: the output ``Value`` (a constant ``Value`` for
            an expression without variables) and the variables' leaves by name.

        Raises:
            ExpressionError: a variable has no value, or an op fails (``log``
                of a negative number, division by zero), pointing at it.
        """
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise ExpressionError(
                f"no value for variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                f"pass {' '.join(name + '=<number>' for name in missing)}"
            )
        leaves = {name: Value(values[name], label=name) for name in self.variables}
        results: dict[int, Any] = {}
        stack: list[tuple[ast.AST, bool]] = [(self.tree.body, False)]
        while stack:  # post-order without recursion: a long chain a+a+...+a is fine
            node, ready = stack.pop()
            if not ready:
                stack.append((node, True))
                stack.extend((child, False) for child in _operands(node))
                continue
            try:
                results[id(node)] = self._apply(node, leaves, results)
            except (ValueError, ZeroDivisionError, OverflowError, TypeError) as error:
                if isinstance(error, ExpressionError):
                    raise
                raise self.error(str(error), node) from None
        out = results[id(self.tree.body)]
        return (out if isinstance(out, Value) else Value(out)), leaves

    def _apply(self, node: ast.AST, leaves: Mapping[str, Value], results: Mapping[int, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]  # checked: int or float
        if isinstance(node, ast.Name):
            return leaves[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](results[id(node.left)], results[id(node.right)])
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](results[id(node.operand)])
        if isinstance(node, ast.Call):
            argument = results[id(node.args[0])]
            function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
            return function(argument if isinstance(argument, Value) else Value(argument))
        raise self.error(f"cannot evaluate {type(node).__name__}", node)  # unreachable after checking


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.right, node.left]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _check(expression: Expression, node: ast.AST) -> None:
    """Raise an :class:`ExpressionError` if ``node`` itself is outside the whitelist."""
    text = expression.text
    if isinstance(node, (ast.Expression, ast.Load)) or type(node) in _BINARY or type(node) in _UNARY:
        return
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else f"{value!r}"
            raise expression.error(f"{kind} is not allowed; only numbers, variables and functions", node)
        if (isinstance(value, int) and value.bit_length() > 1000) or not math.isfinite(value):
            raise expression.error("this number is too large for a float", node)
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise expression.error(f"{node.id} is a function: call it, as in {node.id}(x)", node)
        return
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        name = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
        raise expression.error(f"the operator {name} is not allowed; use + - * / **", node)
    if isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
        name = _OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
        raise expression.error(f"the operator {name} is not allowed; use unary minus", node)
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise expression.error(
                f"only the functions {', '.join(FUNCTIONS)} may be called, not {_source(text, func)}", func
            )
        if func.id not in FUNCTIONS:
            raise expression.error(f"unknown function {func.id!r}; available: {', '.join(FUNCTIONS)}", func)
        if node.keywords:
            raise expression.error(f"{func.id}() takes no keyword arguments", node.keywords[0])
        if len(node.args) != 1:
            raise expression.error(f"{func.id}() takes exactly one argument, got {len(node.args)}", node)
        return
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return
    kind = _DESCRIPTIONS.get(type(node).__name__, type(node).__name__)
    raise expression.error(
        f"{kind} ({_source(text, node)}) is not allowed; use numbers, variables, + - * / **, "
        f"unary minus and the functions {', '.join(FUNCTIONS)}",
        node,
    )


def _syntax_error_span(error: SyntaxError, text: str) -> tuple[int, int | None]:
    """Where the parser found ``error``: ``(start, end)`` columns of ``text``, 0-based, ``end`` exclusive.

    The parser's column is 1-based, and 0 (or, before Python 3.10, "unexpected
    EOF") means "at the end" (e.g. ``"x +"``). Before 3.10 there is no
    ``end_offset``; the word at ``start`` is taken instead (``import`` in
    ``"import os"``), as 3.10+ reports it.
    """
    offset = error.offset or 0
    at_end = offset < 1 or "EOF" in (error.msg or "")
    start = len(text.rstrip()) if at_end else offset - 1
    end_offset = getattr(error, "end_offset", None)
    if end_offset is None and not at_end:
        word = re.match(r"\w+", text[start:])
        end_offset = start + 1 + len(word.group()) if word else None
    end = end_offset - 1 if end_offset and end_offset - 1 > start else None
    return start, end


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; nothing is evaluated.

    Raises:
        ExpressionError: a syntax error or anything outside the whitelist,
            with a pointer at the offending part.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, got {type(text).__name__}")
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be on one line")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        start, end = _syntax_error_span(error, text)
        raise ExpressionError(f"not a valid expression: {error.msg}", text, start, end) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply to parse") from None
    expression = Expression(text, tree, ())
    first_use: dict[str, int] = {}
    called: set[int] = set()  # the Name of a call's function is checked by the call
    for node in ast.walk(tree):  # breadth first: the outermost offending part is reported
        if id(node) in called:
            continue
        _check(expression, node)
        if isinstance(node, ast.Call):
            called.add(id(node.func))
        elif isinstance(node, ast.Name):
            first_use[node.id] = min(node.col_offset, first_use.get(node.id, node.col_offset))
    return Expression(text, tree, tuple(sorted(first_use, key=first_use.__getitem__)))


def parse_assignments(items: Sequence[str]) -> dict[str, float]:
    """``["x=0.5", "w=-1.2"]`` as ``{"x": 0.5, "w": -1.2}``.

    Raises:
        ExpressionError: naming the variable whose value is missing, not a
            number, or not finite, or the item that is not ``name=number``.
    """
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"expected a variable value as name=number (like x=0.5), got {item!r}")
        if name in values:
            raise ExpressionError(f"variable {name} is given twice")
        if not raw:
            raise ExpressionError(f"variable {name} has no value: write {name}=<number>")
        try:
            number = float(raw)
        except ValueError:
            raise ExpressionError(f"variable {name}: {raw!r} is not a number") from None
        if not math.isfinite(number):
            raise ExpressionError(f"variable {name}: {raw!r} is not a finite number")
        values[name] = number
    return values


def evaluate_expression(text: str, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Parse, check and evaluate ``text`` at ``values``; then run ``backward()``.

    Returns:
        ``(output, leaves)`` as :meth:`Expression.evaluate`, with gradients
        filled in (``leaves[name].grad`` is d output / d name).

    Raises:
        ExpressionError: a bad expression, a missing variable, a value for a
            variable the expression does not have, or a failing op.
    """
    expression = parse_expression(text)
    unused = [name for name in values if name not in expression.variables]
    if unused:
        raise ExpressionError(
            f"value given for {', '.join(unused)}, but the expression has no such variable "
            f"(its variables: {', '.join(expression.variables) or 'none'})"
        )
    out, leaves = expression.evaluate(values)
    out.backward()
    return out, leaves


# ----------------------------------------------------------------------------
# The command line.


def add_graph_command(commands: Any) -> None:
    """Register ``graph`` on the CLI's subparsers (``argparse`` ``add_subparsers()`` result)."""
    parser = commands.add_parser(
        "graph",
        help="evaluate an expression, print its gradients, draw its graph",
        description=(
            "Evaluate an expression of variables, print its value and the gradient with respect to "
            "each variable, and draw its computation graph. Example: "
            'autograd-lite graph "tanh(x*w + b)" x=0.5 w=-1.2 b=2 -o graph.svg --steps steps.html. '
            f"Allowed: numbers, variables, + - * / **, unary minus, and {', '.join(FUNCTIONS)}. "
            'Put -- before an expression that starts with "-".'
        ),
    )
    parser.add_argument("expression", help='the expression, e.g. "tanh(x*w + b)" (quote it)')
    parser.add_argument("values", nargs="*", metavar="name=number", help="a value for each variable")
    parser.add_argument("-o", "--output", help="write the graph picture here (.svg, .png, .pdf, or .dot)")
    parser.add_argument("--steps", help="write a step-by-step backward-pass walkthrough here (.html)")
    parser.add_argument("--rankdir", default="LR", choices=("LR", "RL", "TB", "BT"), help="layout direction")
    parser.set_defaults(run=run_graph_command)


def _fail(message: str) -> int:
    print(f"autograd-lite graph: error: {message}", file=sys.stderr)
    return 2


def run_graph_command(args: argparse.Namespace) -> int:
    """The ``graph`` command: print the value and gradients, write the requested files.

    Returns the exit status: 0 on success, 2 for a bad expression or value,
    1 when a picture cannot be rendered (Graphviz missing).
    """
    try:
        values = parse_assignments(args.values)
        out, leaves = evaluate_expression(args.expression, values)
    except ExpressionError as error:
        return _fail(str(error))
    print(f"{args.expression} = {out.data:.6g}")
    for name, leaf in leaves.items():
        print(f"  d/d{name} = {leaf.grad:.6g}")
    from autograd_lite.viz import DotNotFoundError

    try:
        written = _write_files(out, args)
    except ValueError as error:
        return _fail(str(error))
    except DotNotFoundError as error:
        print(f"autograd-lite graph: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def _write_files(out: Value, args: argparse.Namespace) -> list[str]:
    written: list[str] = []
    if args.output:
        from autograd_lite.viz import save_graph

        written.append(str(save_graph(out, args.output, rankdir=args.rankdir)))
    if args.steps:
        from autograd_lite.stepper import export_steps_html

        title = f"Stepping through backprop: {args.expression}"
        written.append(str(export_steps_html(out, args.steps, title=title, rankdir=args.rankdir)))
    return written
