"""Command line: ``python -m autograd_lite <command>`` (also ``autograd-lite``).

Commands:
    demo    build a small expression, run backward() and print every gradient.
    graph   evaluate an expression, print its gradients, draw its graph (and a stepper).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograd_lite import Value


def demo(args: argparse.Namespace) -> int:
    """A neuron by hand: o = tanh(x1*w1 + x2*w2 + b), its value and gradients."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b)")
    print(f"  o = {o.data:.6f}")
    for leaf in (x1, x2, w1, w2, b):
        print(f"  do/d{leaf.label:<3}= {leaf.grad: .6f}   ({leaf.label} = {leaf.data:g})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograd-lite",
        description="autograd_lite: see backpropagation work.",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo_parser = commands.add_parser("demo", help="run the demo", description=demo.__doc__)
    demo_parser.set_defaults(run=demo)
    from autograd_lite.expression import add_graph_command  # the `graph` command lives there

    add_graph_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
