"""Step through the backward pass one chain-rule step at a time (and the forward pass and the update).

``backward()`` applies ``child.grad += d(node)/d(child) * node.grad`` once per
edge of the graph. :func:`backward_steps` does exactly the same, in exactly
the same order, but pauses after each edge and tells you what it did: a
:class:`Step` with the node, the child, the upstream gradient, the local
derivative and its formula from the op table, the contribution and the
child's gradient before and after it; ``step.explain()`` says it as one line
of the chain rule, with the running total of the child's gradient::

    dL/dw1 += dL/dn * dn/dw1 = 0.5 * (x1 = 2.0) = 1.0; w1.grad: 0.0 -> 1.0

:func:`gradient_terms` gives a value's whole gradient as the sum over the
nodes that use it, term by term; :func:`forward_steps` steps the forward pass
(``n = x*w = 0.5*(-1.2) = -0.6``), and :func:`update_steps` the gradient
descent update of each parameter (``w <- w - 0.1 * grad = ...``), applied
only when asked.

:func:`explore` puts the steps on the graph picture in Jupyter, and
:func:`export_steps_html` writes the same walkthrough as one self-contained
HTML file that any browser opens, with no Python and no network: one front
end (:mod:`autograd_lite.walkthrough`), the graph laid out once and every step
applied to it as data, so that models as large as ``MLP(2, [16, 16, 1])``
step smoothly.

Semantics (the same as ``backward()``): the walk first resets every interior
value's grad to 0 and seeds the root with 1; leaves *accumulate*, so stepping
over a graph whose leaves already hold gradients adds to them, as a second
``backward()`` would. Pass ``zero_grad=True`` to zero the leaves first.
:func:`explore` and :func:`export_steps_html` always show a walk from zero
leaf gradients and put every grad back as it was when they are done.

Example:
    >>> from autograd_lite import Value
    >>> from autograd_lite.stepper import backward_steps, forward_steps, update_steps
    >>> x, w = Value(2.0, label="x"), Value(0.5, label="w")
    >>> L = (x * w).tanh()
    >>> L.label = "L"
    >>> for step in forward_steps(L):
    ...     print(step.explain())
    v2 = x*w = 2.0*0.5 = 1.0
    L = tanh(v2) = tanh(1.0) = 0.761594
    >>> for step in backward_steps(L):
    ...     print(step.explain())
    dL/dv2 += dL/dL * dL/dv2 = 1.0 * (1 - L**2 = 0.419974) = 0.419974; v2.grad: 0.0 -> 0.419974
    dL/dx += dL/dv2 * dv2/dx = 0.419974 * (w = 0.5) = 0.209987; x.grad: 0.0 -> 0.209987
    dL/dw += dL/dv2 * dv2/dw = 0.419974 * (x = 2.0) = 0.839949; w.grad: 0.0 -> 0.839949
    >>> step = next(backward_steps(L))
    >>> step.formula
    'd tanh(v2)/dv2 = 1 - L**2'
    >>> (w_update,) = update_steps([w], lr=0.1)
    >>> print(w_update.explain())
    w <- w - 0.1 * grad = 0.5 - 0.1 * 0.839949 = 0.416005
    >>> w_update.apply()
    >>> w.data == 0.5 - 0.1 * w.grad
    True
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_lite.engine import (
    Value,
    _chain_rule_error,
    _put_back,
    _walk,
    local_derivatives,
    topological_order,
)

__all__ = [
    "DEFAULT_MAX_STEPS",
    "ForwardStep",
    "GradientSum",
    "Step",
    "UpdateStep",
    "backward_steps",
    "explore",
    "export_steps_html",
    "forward_steps",
    "gradient_sums",
    "gradient_terms",
    "local_formulas",
    "update_steps",
    "value_names",
]

DEFAULT_MAX_STEPS = 400
""":func:`export_steps_html` draws one picture per step; more steps than this is refused."""


def _number(x: float) -> str:
    """A short, exact-enough number: ``0.5``, ``2.0``, ``-0.000123``, ``1.5e+20``."""
    text = f"{x:.6g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def value_names(root: Value) -> dict[Value, str]:
    """A name for every value in ``root``'s graph, as the stepper shows it.

    A value's label if it has one; otherwise ``L`` for the root and ``v<i>``
    for the others, ``i`` being the value's position in
    ``topological_order(root)`` (which is also its SVG id in a picture).
    """
    names = {}
    for i, node in enumerate(topological_order(root)):
        names[node] = node.label or ("L" if node is root else f"v{i}")
    return names


@dataclass(frozen=True, eq=False)
class Step:
    """One chain-rule step of the backward pass: one edge, ``node -> child``.

    Attributes:
        index: 0 for the first step of the pass, then 1, 2, ...
        node: the value whose gradient flows back (its grad is final).
        child: the input of ``node`` that receives it.
        position: ``child``'s position in ``node._prev`` (an input used twice,
            as in ``x * x``, gets one step per position).
        upstream: ``dL/dnode``, the gradient of the root with respect to ``node``.
        local: ``dnode/dchild``, the local derivative from the op's rule.
        contribution: ``upstream * local``, what this step adds to ``child.grad``.
        grad_before: ``child.grad`` before the step (the running total so far).
        child_grad: ``child.grad`` after the step.
        root_name, node_name, child_name: names used by :meth:`explain`.
        formula: the local derivative's rule from the op table, written with
            the graph's names, e.g. ``"d tanh(n)/dn = 1 - o**2"`` for
            ``o = tanh(n)``; ``None`` when the op has no formula (an ``_op``
            that is a plain string, or a rule written with Python's ``if`` or
            ``math`` instead of :mod:`autograd_lite.rules`).
        rule: the right-hand side of ``formula`` (``"1 - o**2"``), or ``None``.
    """

    index: int
    node: Value
    child: Value
    position: int
    upstream: float
    local: float
    contribution: float
    grad_before: float
    child_grad: float
    root_name: str
    node_name: str
    child_name: str
    formula: str | None = None
    rule: str | None = None

    def chain(self) -> str:
        """This step's term of the chain rule, with its numbers.

        ``do/do * do/dn = 1.0 * (1 - o**2 = 0.216152) = 0.216152``: the
        upstream gradient times the local derivative (its rule, then its
        value; a rule that is a constant shows only its value) gives the
        contribution.
        """
        root, node, child = self.root_name, self.node_name, self.child_name
        local = _number(self.local)
        if self.rule is not None and not _is_number_text(self.rule):
            local = f"({self.rule} = {local})"
        return (
            f"d{root}/d{node} * d{node}/d{child} = "
            f"{_number(self.upstream)} * {local} = {_number(self.contribution)}"
        )

    def explain(self) -> str:
        """The step as one line: the chain rule with its rule and numbers, then the running total.

        ``do/dn += do/do * do/dn = 1.0 * (1 - o**2 = 0.216152) = 0.216152; n.grad: 0.0 -> 0.216152``

        An input used several times (``x*x + x``) gets one line per use, and
        each shows its own running total of ``x.grad``.
        """
        root, child = self.root_name, self.child_name
        return (
            f"d{root}/d{child} += {self.chain()}; "
            f"{child}.grad: {_number(self.grad_before)} -> {_number(self.child_grad)}"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the chain-rule line, then the rule, the upstream gradient and the running total."""
        import html

        rows = [
            ("rule", self.formula or "(no formula: a custom op without one)"),
            (f"d{self.root_name}/d{self.node_name}", _number(self.upstream)),
            ("local derivative", _number(self.local)),
            ("adds", _number(self.contribution)),
            (f"{self.child_name}.grad", f"{_number(self.grad_before)} -> {_number(self.child_grad)}"),
        ]
        table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in rows)  # fmt: skip
        line = html.escape(self.explain())
        return f"<div><b>Step {self.index}</b><pre>{line}</pre><table>{table}</table></div>"

    def parts(self) -> dict[str, Any]:
        """The step as plain data (names, text and numbers), e.g. for a front end or JSON.

        Keys: ``index``, ``root``, ``node``, ``child`` (names), ``position``,
        ``formula``, ``rule``, ``local``, ``upstream``, ``contribution``,
        ``before``, ``after`` (``child.grad`` around the step) and ``text``
        (:meth:`explain`).
        """
        return {
            "index": self.index,
            "root": self.root_name,
            "node": self.node_name,
            "child": self.child_name,
            "position": self.position,
            "formula": self.formula,
            "rule": self.rule,
            "local": self.local,
            "upstream": self.upstream,
            "contribution": self.contribution,
            "before": self.grad_before,
            "after": self.child_grad,
            "text": self.explain(),
        }

    def __repr__(self) -> str:
        return f"Step({self.index}: {self.explain()})"


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def local_formulas(node: Value, names: Mapping[Value, str]) -> list[tuple[str | None, str | None]]:
    """The local derivative rule of ``node`` for each input, as ``(formula, rule)`` text.

    ``formula`` is the op table's line (``"d tanh(n)/dn = 1 - o**2"``) and
    ``rule`` its right-hand side (``"1 - o**2"``), written with ``names`` (a
    name for ``node`` and each of its inputs, e.g. :func:`value_names`).
    Both are ``None`` for an input whose op has no formula: an ``_op`` that
    is a plain string (micrograd-style code), or a rule that uses Python's
    ``if`` or ``math``. A leaf has no inputs: ``[]``.
    """
    kids = node._prev
    if not kids:
        return []
    op = node._op
    formulas = getattr(op, "formulas", None)
    display = getattr(op, "display", None)
    if formulas is None or display is None:
        return [(None, None)] * len(kids)
    inputs = [names[kid] for kid in kids]
    shown = display(inputs)
    result: list[tuple[str | None, str | None]] = []
    for name, text in zip(inputs, formulas(inputs, out=names[node])):
        prefix = f"d {shown}/d{name} = "
        result.append((text, text[len(prefix) :]) if text.startswith(prefix) else (None, None))
    return result


def backward_steps(root: Value, *, zero_grad: bool = False) -> Iterator[Step]:
    """Run ``root.backward()`` one edge at a time, yielding a :class:`Step` per edge.

    The steps come in exactly the order ``backward()`` applies them: interior
    values from the root back (reverse topological order), and within a
    value its inputs in ``_prev`` order. Each step updates ``child.grad``
    before it is yielded, with the same arithmetic as ``backward()``, so once
    the generator is exhausted every grad is what ``backward()`` gives.

    Args:
        root: the output to differentiate.
        zero_grad: set the leaves' grads to 0 before starting. By default they
            accumulate, as with ``backward()``; interior grads always start
            from 0.

    Nothing happens until the first step is asked for; stopping early leaves
    the gradients part-way. A local derivative that raises (as in
    ``backward()``) puts every grad back as it was when the pass started and
    raises the same error as ``backward()`` does, naming the node, its op and
    the numbers.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: root must be a Value, got {type(root).__name__}")
    return _steps(root, zero_grad)


def _steps(root: Value, zero_grad: bool) -> Iterator[Step]:
    names = value_names(root)
    if zero_grad:
        for node in names:
            if not node._prev:
                node.grad = 0.0
    order, saved = _walk(root)  # also zeroes interior grads, as backward() does
    own_order = getattr(root, "_backward_order", None)
    if order and own_order is not None:  # the micrograd twin: micrograd's order of the same nodes
        order = own_order()
    if not order:  # a leaf: backward() adds 1 to it and there is no edge
        root.grad += 1.0
        return
    root.grad = 1.0
    root_name = names[root]
    index = 0
    for node in reversed(order):
        upstream = node.grad
        formulas = local_formulas(node, names)
        try:
            locals_ = local_derivatives(node)
        except Exception as error:  # as backward(): every .grad put back, and a clear error
            failure = _chain_rule_error("backward_steps()", node, upstream, error)
            _put_back(order, node, saved)
            if failure is error:
                raise
            raise failure from error
        for position, (child, local) in enumerate(zip(node._prev, locals_)):
            before = child.grad
            contribution = upstream * local
            child.grad = before + contribution
            formula, rule = formulas[position]
            yield Step(index, node, child, position, upstream, local, contribution, before, child.grad,
                       root_name, names[node], names[child], formula, rule)  # fmt: skip
            index += 1


# ----------------------------------------------------------------------------
# A value's whole gradient: the sum over its consumers, term by term.


@dataclass(frozen=True, eq=False)
class GradientSum:
    """The gradient of the root with respect to one value, as the sum of its terms.

    Each use of ``value`` as an input of a node (each position: ``x * x``
    uses ``x`` twice) contributes one term ``dL/dnode * dnode/dvalue``; the
    terms are the backward steps into ``value``, in the order ``backward()``
    adds them, so adding them up one after the other from 0 gives ``total``
    exactly.

    Attributes:
        value: the value whose gradient this is.
        name: its name (see :func:`value_names`); ``root_name`` the root's.
        terms: one :class:`Step` per use, each with its formula and numbers
            (``upstream * local = contribution``) and the running total.
        total: ``dL/dvalue``, what one ``backward()`` from zero grads leaves
            in ``value.grad``. For the root itself it is the seed, 1, and
            there are no terms.
    """

    value: Value
    name: str
    root_name: str
    terms: tuple[Step, ...]
    total: float

    def explain(self) -> str:
        """The sum in words and numbers: a first line with the total, then one line per term.

        Each term line is the term's chain rule and numbers
        (:meth:`Step.chain`) and, in brackets, its op's formula; see the
        example of :func:`gradient_terms`.
        """
        root, name = self.root_name, self.name
        if not self.terms:
            return f"d{root}/d{name} = {_number(self.total)}: the seed, where the backward pass starts"
        uses = "its 1 use" if len(self.terms) == 1 else f"its {len(self.terms)} uses"
        lines = [f"d{root}/d{name} = {_number(self.total)}, the sum over {uses}:"]
        for term in self.terms:
            lines.append(f"  {term.chain()}" + (f" ({term.formula})" if term.formula else ""))
        return "\n".join(lines)

    def parts(self) -> dict[str, Any]:
        """Plain data: ``value``, ``root`` (names), ``total``, ``terms`` (each
        :meth:`Step.parts`) and ``text`` (:meth:`explain`)."""
        return {
            "value": self.name,
            "root": self.root_name,
            "total": self.total,
            "terms": [term.parts() for term in self.terms],
            "text": self.explain(),
        }


def gradient_terms(root: Value, value: Value) -> GradientSum:
    """``dL/dvalue`` as the sum over the nodes that use ``value``, term by term.

    Args:
        root: the output ``L``.
        value: any value in ``root``'s graph (a leaf, an interior node, or
            ``root`` itself).

    Returns:
        A :class:`GradientSum`: the terms ``dL/dnode * dnode/dvalue``, one per
        use, with formulas and numbers, and their total, equal to
        ``value.grad`` after ``root.backward()`` from zero grads.

    The backward pass is run from zero grads and every grad is put back as
    it was. :func:`gradient_sums` gives every value's sum from one pass.

    Example:
        >>> from autograd_lite import Value
        >>> from autograd_lite.stepper import gradient_terms
        >>> x = Value(3.0, label="x")
        >>> L = x * x + x
        >>> L.label = "L"
        >>> print(gradient_terms(L, x).explain())
        dL/dx = 7.0, the sum over its 3 uses:
          dL/dL * dL/dx = 1.0 * 1.0 = 1.0 (d (v1+x)/dx = 1)
          dL/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0 (d (x*x)/dx = x)
          dL/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0 (d (x*x)/dx = x)
    """
    if not isinstance(value, Value):
        raise TypeError(f"gradient_terms: value must be a Value, got {type(value).__name__}")
    sums = gradient_sums(root)
    if value not in sums:
        raise ValueError(f"gradient_terms: {value!r} is not in the graph of {root!r}")
    return sums[value]


def gradient_sums(root: Value) -> dict[Value, GradientSum]:
    """:func:`gradient_terms` for every value of ``root``'s graph, from one backward pass.

    Keys in ``topological_order(root)``. Every grad is left as it was.
    """
    if not isinstance(root, Value):
        raise TypeError(f"gradient_sums: root must be a Value, got {type(root).__name__}")
    nodes = topological_order(root)
    saved = [(node, node.grad) for node in nodes]
    terms: dict[Value, list[Step]] = {node: [] for node in nodes}
    try:
        for node in nodes:
            node.grad = 0.0
        for step in backward_steps(root, zero_grad=True):
            terms[step.child].append(step)
        totals = {node: node.grad for node in nodes}
    finally:
        for node, grad in saved:
            node.grad = grad
    names = value_names(root)
    return {
        node: GradientSum(node, names[node], names[root], tuple(terms[node]), totals[node]) for node in nodes
    }


# ----------------------------------------------------------------------------
# The forward pass, one node at a time.


def _call_text(op: Any, args: list[str], numbers: bool = False) -> str:
    """``op`` applied to ``args`` as people write it: ``x*w``, ``tanh(n)``, ``x**2``.

    From the op's ``display``, without the brackets an infix op puts around
    itself; a plain-string ``_op`` (micrograd-style code) as micrograd writes
    it (``a*b``, ``a**2``, else ``op(a)``). With ``numbers``, negative numbers
    get brackets where the op is written infix (``(-2.0)**2``, ``0.5*(-1.2)``).
    """
    marks = [f"\x00{i}\x00" for i in range(len(args))]  # placeholders: no brackets, never in a display
    display = getattr(op, "display", None)
    if display is not None:
        template = display(marks)
    elif op in ("+", "-", "*", "/") and len(args) == 2:
        template = f"{marks[0]}{op}{marks[1]}"
    elif str(op).startswith("**") and len(args) == 1:
        template = f"{marks[0]}{op}"
    else:
        template = f"{op}({', '.join(marks)})"
    if _bracketed(template):
        template = template[1:-1]
    if numbers and not template.startswith(f"{op}("):
        args = [f"({a})" if a.startswith("-") else a for a in args]
    return re.sub("\x00(\\d+)\x00", lambda m: args[int(m.group(1))], template)


def _bracketed(text: str) -> bool:
    """Whether ``text`` is one pair of brackets around the rest: ``(a+b)``, not ``(a)+(b)``."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return False
    return True


@dataclass(frozen=True, eq=False)
class ForwardStep:
    """One node of the forward pass: its op applied to its inputs' data.

    Attributes:
        index: the step's position (0, 1, ...), interior nodes in topological order.
        node: the value computed.
        op: ``node._op``.
        inputs: ``node._prev``; ``input_data`` their data, ``input_names``
            their names.
        output: ``node.data``.
        name: the node's name (see :func:`value_names`).
    """

    index: int
    node: Value
    op: Any
    inputs: tuple[Value, ...]
    input_data: tuple[float, ...]
    output: float
    name: str
    input_names: tuple[str, ...]

    def expression(self) -> str:
        """The op applied to the inputs' names: ``x*w``, ``tanh(n)``."""
        return _call_text(self.op, list(self.input_names))

    def explain(self) -> str:
        """The step as one line: ``v2 = x*w = 0.5*(-1.2) = -0.6``, ``o = tanh(n) = tanh(1.4) = 0.885352``."""
        numbers = _call_text(self.op, [_number(x) for x in self.input_data], numbers=True)
        return f"{self.name} = {self.expression()} = {numbers} = {_number(self.output)}"

    def parts(self) -> dict[str, Any]:
        """Plain data: ``index``, ``node`` (name), ``op``, ``inputs`` (names), ``input_data``,
        ``output``, ``expression`` and ``text`` (:meth:`explain`)."""
        return {
            "index": self.index,
            "node": self.name,
            "op": str(self.op),
            "inputs": list(self.input_names),
            "input_data": list(self.input_data),
            "output": self.output,
            "expression": self.expression(),
            "text": self.explain(),
        }

    def __repr__(self) -> str:
        return f"ForwardStep({self.index}: {self.explain()})"


def forward_steps(root: Value) -> list[ForwardStep]:
    """The forward pass of ``root``'s graph, one :class:`ForwardStep` per interior node.

    In ``topological_order(root)`` (every node after its inputs, the root
    last), each with its op, inputs and output. The steps describe the data
    the graph holds; nothing is recomputed or changed. (A graph is computed
    when it is built: after an optimizer step its parameters hold new data
    but the old graph does not; build it again to see the new forward pass.)
    """
    if not isinstance(root, Value):
        raise TypeError(f"forward_steps: root must be a Value, got {type(root).__name__}")
    names = value_names(root)
    steps: list[ForwardStep] = []
    for node in topological_order(root):
        if node._prev:
            inputs = tuple(node._prev)
            steps.append(ForwardStep(len(steps), node, node._op, inputs, tuple(x.data for x in inputs),
                                     node.data, names[node], tuple(names[x] for x in inputs)))  # fmt: skip
    return steps


# ----------------------------------------------------------------------------
# The update: gradient descent, w <- w - lr * grad.


@dataclass(frozen=True, eq=False)
class UpdateStep:
    """The gradient-descent update of one parameter, ``w <- w - lr * grad``, not yet applied.

    Attributes:
        index: the parameter's position (0, 1, ...).
        param: the parameter.
        name: its name.
        lr: the learning rate.
        grad: ``param.grad`` when the step was made.
        before: ``param.data`` when the step was made.
        after: ``before - lr * grad``, what :meth:`apply` sets (and what
            ``optim.SGD(params, lr).step()`` computes).
    """

    index: int
    param: Value
    name: str
    lr: float
    grad: float
    before: float
    after: float

    def explain(self) -> str:
        """``w.0 <- w.0 - 0.1 * grad = 0.5 - 0.1 * 0.2 = 0.48``"""
        lr = _number(self.lr)
        return (
            f"{self.name} <- {self.name} - {lr} * grad = "
            f"{_number(self.before)} - {lr} * {_number(self.grad)} = {_number(self.after)}"
        )

    def apply(self) -> None:
        """Set ``param.data`` to ``after``.

        Raises:
            ValueError: ``param.data`` is no longer ``before`` (the step was
                applied already, or the parameter changed since); nothing is
                changed.
        """
        data = self.param.data
        if data != self.before and not (math.isnan(data) and math.isnan(self.before)):
            raise ValueError(
                f"UpdateStep.apply: {self.name} is {_number(data)}, not {_number(self.before)} as when "
                "the step was made (applied twice, or changed since); make the steps again"
            )
        self.param.data = self.after

    def parts(self) -> dict[str, Any]:
        """Plain data: ``index``, ``param`` (name), ``lr``, ``grad``, ``before``, ``after``, ``text``."""
        return {
            "index": self.index,
            "param": self.name,
            "lr": self.lr,
            "grad": self.grad,
            "before": self.before,
            "after": self.after,
            "text": self.explain(),
        }

    def __repr__(self) -> str:
        return f"UpdateStep({self.index}: {self.explain()})"


def update_steps(
    params: Iterable[Value] | Any, lr: float, *, names: Mapping[Value, str] | None = None
) -> list[UpdateStep]:
    """The gradient-descent update of each parameter, as steps: ``w <- w - lr * grad``.

    Nothing changes until a step is applied (:meth:`UpdateStep.apply`);
    applying every step does exactly what ``optim.SGD(params, lr).step()``
    does (no momentum, no weight decay), with the same arithmetic.

    Args:
        params: the parameters (``Value``s), or a module (anything with
            ``parameters()``, e.g. an ``MLP``).
        lr: the learning rate, a positive number.
        names: a name for each parameter (e.g. :func:`value_names` of a
            loss, to match the steps of its backward pass); by default a
            parameter's label, else ``p<i>``.

    Returns:
        One :class:`UpdateStep` per parameter, in the order given.
    """
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    bad = [p for p in params if not isinstance(p, Value)]
    if bad:
        raise TypeError(f"update_steps: parameters must be Values, got {type(bad[0]).__name__}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"update_steps: lr must be a positive number, got {lr!r}")
    if len(set(params)) != len(params):
        raise ValueError("update_steps: a parameter is listed twice")
    lr = float(lr)
    steps = []
    for i, p in enumerate(params):
        name = names[p] if names is not None and p in names else (p.label or f"p{i}")
        steps.append(UpdateStep(i, p, name, lr, p.grad, p.data, p.data - lr * p.grad))
    return steps


# ----------------------------------------------------------------------------
# The walkthrough on the picture: one front end (autograd_lite.walkthrough), two homes.


def explore(root: Value, **options: Any) -> Any:
    """Step through ``root``'s backward pass on its picture, in Jupyter (an ``anywidget`` widget).

    The graph is laid out once; each step is applied as data by the front
    end: the current edge and node highlighted, the child's grad and colour
    updated, the chain-rule line with the op's formula shown above the
    picture, which keeps the current edge in view. Buttons, a slider, play,
    zoom and fit; the arrow keys step once; click a value for its gradient
    term by term. The graph's grads are left as they were.
    ``forward=True`` plays the forward pass first and ``params=..., lr=...``
    ends with the update; see :func:`autograd_lite.walkthrough.walkthrough_data`.
    """
    from autograd_lite.walkthrough import explore as explore_widget

    return explore_widget(root, **options)


def export_steps_html(root: Value, path: str | os.PathLike[str], **options: Any) -> Path:
    """The same walkthrough as :func:`explore`, as one self-contained HTML file (no network).

    See :func:`autograd_lite.walkthrough.export_steps_html`. Returns the path written.
    """
    from autograd_lite.walkthrough import export_steps_html as export

    return export(root, path, **options)
