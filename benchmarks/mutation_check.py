"""Mutation check: the tests catch a wrong rule or forward, on part of its domain, in every interpretation.

The mutants are those of :mod:`benchmarks.mutants`: every op of the table
(the built-in ops, the family members the table test walks, the custom ops
of ``tests/test_interpretations.py``) x target (derivative rule, forward) x
kind (scaled by 1.01 or negated everywhere; x 1.01 only for negative inputs,
past |x| > 20, below x < -20, at tiny |x| < 1e-3; a family's parameter
replaced; a binary op's inputs swapped) x interpretation (the op's own
rule, so all at once; floats; Values; NumPy arrays; generated Python).

Each mutant is run against the test functions of ``tests/test_op_table.py``
and ``tests/test_interpretations.py`` (finite differences in the domain and,
relative however small, in the tails; a reference forward; each
interpretation against eager and finite differences), in worker processes
that run the unmutated checks first (a failing baseline would "catch"
everything). Hypothesis is derandomized and does not shrink. Equivalent
mutants (the same numbers at every probe point: ``0 * 1.01``) and
unreached ones (the interpretation never reads the mutated function: generated
Python calls an op whose forward or rule has no symbolic form, which is the
float interpretation) are listed, the unreached with the reason, and left
out of the score.

    .venv/bin/python benchmarks/mutation_check.py                  # all mutants, the table and the score
    .venv/bin/python benchmarks/mutation_check.py --list           # just list them
    .venv/bin/python benchmarks/mutation_check.py --only 'exp@rule@0@below-20@table' -v
    .venv/bin/python benchmarks/mutation_check.py --ops exp tanh   # the mutants of some ops

Exit status 0 when every scored mutant is caught.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.mutants import (  # noqa: E402
    RULE_INTERPRETATIONS,
    Mutant,
    Outcome,
    _checks,
    all_mutants,
    baseline,
    op_named,
    run,
)

MARK = {"caught": "C", "survived": "S", "equivalent": "=", "unreached": "-"}


def worker(specs: Sequence[str]) -> int:
    """Run mutants in this process, one JSON line each (after the baseline of their ops)."""
    checks = _checks()
    for name in dict.fromkeys(Mutant.parse(s).op for s in specs):
        baseline(op_named(name), checks)
    for spec in specs:
        o = run(Mutant.parse(spec), checks)
        print(json.dumps({"spec": spec, "status": o.status, "by": o.by, "seconds": o.seconds}), flush=True)
    return 0


def run_workers(todo: list[Mutant], jobs: int) -> list[Outcome]:
    """Split the mutants (by op) among ``jobs`` worker processes."""
    by_op: dict[str, list[str]] = defaultdict(list)
    for m in todo:
        by_op[m.op].append(m.spec)
    shares: list[list[str]] = [[] for _ in range(max(1, jobs))]
    for specs in sorted(by_op.values(), key=len, reverse=True):
        min(shares, key=len).extend(specs)

    def one(share: list[str]) -> list[Outcome]:
        if not share:
            return []
        # the specs on stdin: one like "-@rule@0@swap@table" must not read as an option
        done = subprocess.run([sys.executable, __file__, "--worker"], input="\n".join(share), cwd=ROOT,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"a worker broke: {done.stderr.strip().splitlines()[-3:]}")
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return [Outcome(Mutant.parse(r["spec"]), r["status"], r["by"], r["seconds"]) for r in rows]

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        return [o for outcomes in pool.map(one, shares) for o in outcomes]


def print_table(outcomes: list[Outcome]) -> None:
    """One line per op x target x kind x slot: a mark per interpretation."""
    cells: dict[tuple[str, str, str, str], dict[str, str]] = defaultdict(dict)
    for o in outcomes:
        m = o.mutant
        cells[(m.op, m.target, m.kind, str(m.slot))][m.interpretation] = MARK[o.status]
    print("C caught, S SURVIVED, = equivalent, - unreached (not scored); blank: no such interpretation")
    print(f"{'op':16} {'target':8} {'kind':9} {'slot':4} " + " ".join(f"{i:6}" for i in RULE_INTERPRETATIONS))
    for (op, target, kind, slot), row in cells.items():
        marks = " ".join(f"{row.get(i, ''):6}" for i in RULE_INTERPRETATIONS)
        print(f"{op:16} {target:8} {kind:9} {slot:4} {marks}")


def summary(outcomes: list[Outcome]) -> tuple[int, int]:
    """Print the score per interpretation and per kind; return (caught, scored)."""
    for field in ("interpretation", "kind", "target"):
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for o in outcomes:
            counts[getattr(o.mutant, field)][o.status] += 1
        line = ", ".join(f"{k} {c['caught']}/{c['caught'] + c['survived']}" for k, c in counts.items())
        print(f"by {field}: {line}")
    total = Counter(o.status for o in outcomes)
    return total["caught"], total["caught"] + total["survived"]


def main(argv: Sequence[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", action="append", metavar="SPEC", help="op@target@slot@kind@interp")
    parser.add_argument("--ops", nargs="+", metavar="OP", help="run only the mutants of these ops")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("-v", "--verbose", action="store_true", help="show what caught each mutant")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # specs on stdin
    args = parser.parse_args(argv)
    if args.worker:
        return worker(sys.stdin.read().split())
    todo = [Mutant.parse(s) for s in args.only] if args.only else all_mutants()
    if args.ops:
        todo = [m for m in todo if m.op in args.ops]
    if args.list:
        print("\n".join(m.spec for m in todo))
        return 0
    start = time.perf_counter()
    outcomes = run_workers(todo, args.jobs)
    print_table(outcomes)
    for o in outcomes:
        if o.status in ("survived", "unreached") or args.verbose:  # unreached: with the reason
            print(f"  {o.status:10} {o.mutant.spec:40} {o.seconds:5.1f} s  {o.by}")
    caught, scored = summary(outcomes)
    left_out = Counter(o.status for o in outcomes if o.status in ("equivalent", "unreached"))
    seconds = time.perf_counter() - start
    print(f"mutation score: {caught}/{scored} caught; left out: {left_out['equivalent']} equivalent, "
          f"{left_out['unreached']} unreached; {len(outcomes)} mutants, {seconds:.0f} s")  # fmt: skip
    return 0 if caught == scored else 1


if __name__ == "__main__":
    sys.exit(main())
