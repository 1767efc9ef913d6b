"""Mutation check: prove that the derivative tests catch a wrong derivative rule, in every interpretation.

For every op in the op table (the built-in ops, the family members the table
test walks, and the custom ops of ``tests/test_interpretations.py``), and for
each of its inputs, this makes a *mutant*: the op's one derivative rule with
that input's local derivative scaled by 1.01, or with its sign swapped. The
mutant replaces the rule (``op.set_rule``), so every interpretation made from
it is mutated at once: eager ``backward()``, ``create_graph``, forward mode,
compiled Python and NumPy batches. Each mutant is run in its own process:

* against the derivative tests (``--tests``), caught when one fails;
* with ``--by-interpretation``, once per interpretation, against that
  interpretation's test of the mutated op alone
  (``tests/test_interpretations.py::test_numpy_batch[tanh]``, ...), and the
  score is reported per interpretation.

The unmutated tests must pass first, or the score means nothing. A rule
whose local derivative is 0 everywhere in the op's domain (``x**0``) cannot
be told apart from its mutants (0 * 1.01 = -0 = 0): those are equivalent
mutants, listed and left out of the score.

Run it by hand (minutes on two cores)::

    .venv/bin/python benchmarks/mutation_check.py                      # all mutants
    .venv/bin/python benchmarks/mutation_check.py --by-interpretation  # the score per interpretation
    .venv/bin/python benchmarks/mutation_check.py --list               # just list them
    .venv/bin/python benchmarks/mutation_check.py --only 'tanh@0@scale' -v
    .venv/bin/python benchmarks/mutation_check.py --only=-@1@negate    # '=' when it starts with -

Exit status 0 when every mutant is caught.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DERIVATIVE_TESTS = [
    "tests/test_op_table.py",
    "tests/test_interpretations.py",
    "tests/test_higher_order.py",
    "tests/test_engine.py",
    "tests/test_functional.py",
    "tests/test_custom.py",
    "tests/test_testing.py",
]
INTERPRETATIONS = {  # interpretation: its test in tests/test_interpretations.py
    "eager": "test_eager_backward",
    "create_graph": "test_create_graph",
    "forward mode": "test_forward_mode",
    "compiled Python": "test_compiled_python",
    "NumPy batch": "test_numpy_batch",
}
KINDS: dict[str, Callable[[Any], Any]] = {
    "scale": lambda d: d * 1.01,  # works on floats, Values and symbols
    "negate": lambda d: -d,
}


class Mutant(NamedTuple):
    op: str
    slot: int | str  # which input's derivative: an index, or "all" (variadic ops)
    kind: str

    @property
    def spec(self) -> str:
        return f"{self.op}@{self.slot}@{self.kind}"

    @classmethod
    def parse(cls, spec: str) -> Mutant:
        op, slot, kind = spec.rsplit("@", 2)
        return cls(op, slot if slot == "all" else int(slot), kind)


def table() -> list[Any]:
    """The ops the derivative tests walk: the op table's, and the custom ops of the interpretation test."""
    from tests.test_interpretations import OPS

    return list(OPS)


def _slots(op: Any) -> list[int | str]:
    from autograd_lite.ops import VARIADIC

    if op.arity == VARIADIC:
        return ["all", 0]
    return list(range(op.arity))


def _always_zero(op: Any, slot: int | str) -> bool:
    """Whether the rule's derivative for ``slot`` is 0 at points across the op's domain."""
    from autograd_lite.ops import VARIADIC

    domains = op.domain * 3 if op.arity == VARIADIC else op.domain
    for t in (0.13, 0.37, 0.61, 0.89):
        point = [d.low + t * (d.high - d.low) for d in domains]
        try:
            ds = op.rule(op.forward(*point), *point)
        except (ArithmeticError, ValueError):
            continue
        ds = [ds] if op.arity == 1 else list(ds)
        chosen = ds if slot == "all" else [ds[slot]]  # type: ignore[index]
        if any(d != 0 for d in chosen):
            return False
    return True


def mutants() -> tuple[list[Mutant], list[Mutant]]:
    """(mutants to run, equivalent mutants left out)."""
    run, equivalent = [], []
    for op in table():
        for slot in _slots(op):
            for kind in KINDS:
                (equivalent if _always_zero(op, slot) else run).append(Mutant(str(op), slot, kind))
    return run, equivalent


def apply_mutant(mutant: Mutant) -> None:
    """Replace the op's derivative rule by the mutant, in this process."""
    ops = {str(op): op for op in table()}
    if mutant.op not in ops:
        raise SystemExit(f"no op {mutant.op!r} in the table; choose from {sorted(ops)}")
    op = ops[mutant.op]
    original, change, slot = op.rule, KINDS[mutant.kind], mutant.slot

    def mutated(out: Any, *inputs: Any) -> Any:
        ds = original(out, *inputs)
        if op.arity == 1:
            return change(ds[0] if isinstance(ds, (list, tuple)) else ds)
        ds = list(ds)
        for i in range(len(ds)) if slot == "all" else [slot]:
            ds[i] = change(ds[i])  # type: ignore[index]
        return ds

    op.set_rule(mutated)  # the one rule: every interpretation is made from it


class _NoHypothesisDatabase:
    """A pytest plugin: mutants' failures must not land in the example database."""

    @staticmethod
    def pytest_configure(config: Any) -> None:
        from hypothesis import settings

        settings.register_profile("mutation", parent=settings.get_profile("dev"), database=None)
        settings.load_profile("mutation")


def run_in_this_process(spec: str | None, pytest_args: Sequence[str]) -> int:
    import pytest

    if spec:
        apply_mutant(Mutant.parse(spec))
    return int(pytest.main(list(pytest_args), plugins=[_NoHypothesisDatabase()]))


class Outcome(NamedTuple):
    mutant: Mutant | None
    caught: bool
    by: str
    seconds: float


def run(mutant: Mutant | None, tests: Sequence[str]) -> Outcome:
    """Run the tests in a fresh process with ``mutant`` applied (``None``: unmutated)."""
    # --in-process=SPEC, in one word: a spec like "-@0@scale" must not read as an option
    args = [sys.executable, __file__, f"--in-process={mutant.spec if mutant else ''}", "--"]
    args += ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", *tests]
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    failed = [line.split(" ")[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    seconds = time.perf_counter() - start
    if done.returncode == 1 and failed:  # pytest's "some tests failed"
        return Outcome(mutant, True, failed[0], seconds)
    if done.returncode != 0:  # a crash or a usage error proves nothing about the tests
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"the run of {mutant.spec if mutant else 'the unmutated tests'} broke: {tail}")
    return Outcome(mutant, False, "every test passed", seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", action="append", metavar="OP@SLOT@KIND", help="run only these mutants")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at once")
    parser.add_argument("--tests", nargs="+", default=DERIVATIVE_TESTS, help="the derivative tests")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the test that caught each mutant")
    parser.add_argument(
        "--by-interpretation", action="store_true", help="score each interpretation of the rules apart"
    )
    parser.add_argument("--in-process", metavar="SPEC", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.in_process is not None:
        return run_in_this_process(args.in_process, [a for a in rest if a != "--"])

    todo, equivalent = mutants()
    if args.only:
        todo = [Mutant.parse(spec) for spec in args.only]
    if args.list:
        for m in todo:
            print(m.spec)
        for m in equivalent:
            print(f"{m.spec}  (equivalent: the derivative is 0 everywhere; not run)")
        return 0

    if args.by_interpretation:
        return by_interpretation(todo, equivalent, args.jobs, args.verbose)
    baseline = run(None, args.tests)
    if baseline.caught:  # a failing unmutated suite would "catch" every mutant
        print(f"the unmutated tests fail ({baseline.by}); fix them first", file=sys.stderr)
        return 2
    print(f"unmutated derivative tests pass ({baseline.seconds:.1f} s); running {len(todo)} mutants")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda m: run(m, args.tests), todo))
    survivors = report(outcomes, args.verbose)
    for m in equivalent:
        print(f"  equivalent {m.spec} (derivative 0 everywhere; not counted)")
    caught = len(outcomes) - len(survivors)
    score = caught / len(outcomes) if outcomes else math.nan
    print(
        f"mutation score: {caught}/{len(outcomes)} caught ({score:.0%}), "
        f"{len(equivalent)} equivalent left out, {time.perf_counter() - start:.0f} s"
    )
    return 0 if not survivors else 1


def report(outcomes: Sequence[Outcome], verbose: bool, label: str = "") -> list[Outcome]:
    """Print the survivors (every outcome with ``verbose``); return the survivors."""
    for o in outcomes:
        if verbose or not o.caught:
            status = "caught  " if o.caught else "SURVIVED"
            print(f"  {status} {label}{o.mutant.spec:28} {o.seconds:5.1f} s  {o.by}")  # type: ignore[union-attr]
    return [o for o in outcomes if not o.caught]


def interpretation_test(interpretation: str, op: str) -> str:
    return f"tests/test_interpretations.py::{INTERPRETATIONS[interpretation]}[{op}]"


def by_interpretation(todo: list[Mutant], equivalent: list[Mutant], jobs: int, verbose: bool) -> int:
    """Each mutant against each interpretation's test of its op; the score per interpretation."""
    ops = sorted({m.op for m in todo})
    baseline = run(None, [interpretation_test(i, op) for i in INTERPRETATIONS for op in ops])
    if baseline.caught:
        print(f"the unmutated tests fail ({baseline.by}); fix them first", file=sys.stderr)
        return 2
    start = time.perf_counter()
    work = [(i, m) for i in INTERPRETATIONS for m in todo]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(lambda w: run(w[1], [interpretation_test(w[0], w[1].op)]), work))
    survived = 0
    for interpretation in INTERPRETATIONS:
        mine = [o for (i, _), o in zip(work, outcomes) if i == interpretation]
        lost = report(mine, verbose, f"{interpretation}: ")
        survived += len(lost)
        print(f"{interpretation:16} {len(mine) - len(lost)}/{len(mine)} mutants caught")
    print(f"{len(equivalent)} equivalent mutants left out; {time.perf_counter() - start:.0f} s")
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
