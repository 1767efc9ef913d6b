"""Command line: ``python -m autograd_lite <command>`` (also ``autograd-lite``).

Commands:
    demo    train MLP(2, [16, 16, 1]) on two moons; print accuracy, write pictures.
    graph   evaluate an expression, print its gradients, draw its graph (and a stepper).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def demo(args: argparse.Namespace) -> int:
    """Train MLP(2, [16, 16, 1]) on two moons, print accuracy, write pictures."""
    from autograd_lite.demo import run_demo

    if args.epochs < 1:
        raise SystemExit(f"autograd-lite demo: --epochs must be at least 1, got {args.epochs}")
    print(f"Training MLP(2, [16, 16, 1]) on 200 moons (seed {args.seed}, up to {args.epochs} epochs)...")
    result = run_demo(args.out, seed=args.seed, epochs=args.epochs, progress=None)
    history = result.history
    print(f"stopped: {history.stop_reason} after {history.epochs} epochs, final loss {history.loss[-1]:.4f}")
    if history.compile_seconds is not None:
        print(
            f"trained in {history.seconds:.2f} s on the compiled fast path "
            f"(traced and compiled once, in {history.compile_seconds * 1000:.0f} ms)"
        )
    print(f"training accuracy: {result.train_accuracy:.1%}")
    print(f"held-out accuracy: {result.test_accuracy:.1%}")
    for path in result.files:
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograd-lite",
        description="autograd_lite: see backpropagation work.",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo_parser = commands.add_parser("demo", help="run the demo", description=demo.__doc__)
    demo_parser.add_argument(
        "--out", default="autograd_lite_demo", help="output folder (default: %(default)s)"
    )
    demo_parser.add_argument("--seed", type=int, default=0, help="seed for data and weights (default: 0)")
    demo_parser.add_argument("--epochs", type=int, default=100, help="maximum epochs (default: 100)")
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
