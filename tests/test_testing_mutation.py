"""The mutation check (benchmarks/mutation_check.py): it covers every rule, and a mutant is caught.

The full check runs every mutant and takes minutes; run it by hand. Here: the
list of mutants covers every op the table test walks, and one mutant, run
the way the script runs them all, is caught.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from autograd_lite.ops import VARIADIC
from tests.test_op_table import ALL_OPS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "mutation_check.py"


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True)


def test_there_is_a_scaled_and_a_negated_mutant_for_every_input_of_every_op():
    listed = _script("--list")
    assert listed.returncode == 0, listed.stderr
    specs = {line.split()[0] for line in listed.stdout.splitlines()}
    for op in ALL_OPS:
        slots = ["all", "0"] if op.arity == VARIADIC else [str(i) for i in range(op.arity)]
        for slot in slots:
            for kind in ("scale", "negate"):
                assert f"{op}@{slot}@{kind}" in specs


def test_only_a_rule_that_is_zero_everywhere_is_left_out_as_equivalent():
    equivalent = [line.split()[0] for line in _script("--list").stdout.splitlines() if "equivalent" in line]
    assert equivalent == ["**0@0@scale", "**0@0@negate"]


def test_a_mutant_rule_is_caught_by_the_derivative_tests():
    test = "tests/test_op_table.py::test_derivative_matches_finite_differences"
    mutant = _script("--in-process=-@1@negate", "--", "-x", "-q", "-p", "no:cacheprovider", test)
    assert mutant.returncode == 1  # tests failed (not a usage error)
    assert f"FAILED {test}[-]" in mutant.stdout
