"""A Hypothesis strategy for random expression programs (shared subexpressions included).

A program is a list of steps over ``n`` inputs; each step applies an op to
earlier results (any of them, so subexpressions are shared) and only uses ops
that are smooth everywhere or guarded into their domain, so finite
differences are valid at every drawn point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from autograd_lite import Value

UNARY: dict[str, Callable[[Any], Any]] = {
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "softplus": lambda a: a.softplus(),
    "neg": lambda a: -a,
    "square": lambda a: a**2,
    "exp_tanh": lambda a: a.tanh().exp(),
    "log1p_sq": lambda a: (1 + a * a).log(),
    "sqrt1p_sq": lambda a: (1 + a * a).sqrt(),
    "scale": lambda a: 0.5 * a - 1.5,
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b * b),
    "pow": lambda a, b: (1 + a * a) ** b.tanh(),
}
NARY = ("sum", "dot")


@st.composite
def programs(draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 8) -> tuple[int, list[tuple]]:
    n_inputs = draw(st.integers(1, max_inputs))
    steps: list[tuple] = []
    for _ in range(draw(st.integers(1, max_steps))):
        available = n_inputs + len(steps)
        ref = st.integers(0, available - 1)
        kind = draw(st.sampled_from(("unary", "binary", "nary")))
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY))), draw(ref)))
        elif kind == "binary":
            steps.append(("binary", draw(st.sampled_from(sorted(BINARY))), draw(ref), draw(ref)))
        else:
            name = draw(st.sampled_from(NARY))
            refs = draw(st.lists(ref, min_size=2 if name == "dot" else 1, max_size=6))
            steps.append(("nary", name, *refs))
    return n_inputs, steps


def run_program(steps: list[tuple], inputs: list[Any]) -> Any:
    """Evaluate a program on Values; the output sums every step's result."""
    nodes = list(inputs)
    for step in steps:
        kind, name, *refs = step
        args = [nodes[r] for r in refs]
        if kind == "unary":
            nodes.append(UNARY[name](*args))
        elif kind == "binary":
            nodes.append(BINARY[name](*args))
        elif name == "sum":
            nodes.append(Value.sum(args))
        else:
            half = len(args) // 2
            bias = args[-1] if len(args) % 2 else None
            nodes.append(Value.dot(args[:half], args[half : 2 * half], bias))
    return Value.sum(nodes[len(inputs) :]).tanh() * 3
