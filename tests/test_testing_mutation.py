"""The mutation check (benchmarks/mutation_check.py, benchmarks/mutants.py): mutants that break a
rule or a forward on part of its domain, in one interpretation or all, are caught.

The full check runs about 2,000 mutants in minutes; run it by hand. Here: the
list covers every op, target, kind and interpretation; a mutant is put in
place through the op table and taken out again; equivalent mutants are told
apart; and a representative subset, including the two that survived before
(NumPy ``leaky_relu`` ignoring its slope, ``exp``'s derivative wrong only for
x < -20), is caught by the test functions, run the way the script runs them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as al
from autograd_lite import Value, apply, grad
from autograd_lite.ops import EXP, VARIADIC, leaky_relu
from benchmarks import mutants
from benchmarks.mutants import Mutant
from tests.test_op_table import ALL_OPS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "mutation_check.py"

SUBSET = [
    "LeakyReLU(0.2)@rule@0@param@NumPy",  # survived before: NumPy's leaky_relu ignoring its slope
    "exp@rule@0@below-20@table",  # survived before: gradcheck's atol hid exp'(x) for x < -20
    "exp@rule@0@below-20@NumPy",
    "exp@forward@0@below-20@table",  # d exp = out: only a reference forward tells
    "LeakyReLU(0.01)@forward@0@param@float",
    "**3@rule@0@param@table",
    "**-2@rule@0@tiny@Python",
    "log@rule@0@tiny@table",
    "sigmoid@rule@0@past-20@float",
    "softplus@rule@0@negative@Value",
    "sqrt@forward@0@past-20@Python",
    "/@rule@0@swap@table",
    "-@forward@0@swap@NumPy",
    "**@rule@1@past-20@table",
    "dot@rule@all@scale@float",
    "sin@rule@0@negate@Python",
    "sum@forward@0@scale@Python",  # survived before: generated Python wrote sum and dot inline
    "dot@forward@0@below-20@Python",
    "dot@forward@0@tiny@NumPy",  # NumPy's matrix product, only while the forward is dot's
    "**@rule@0@tiny@Value",  # survived before: no test drew a tiny base of Value ** Value
    "**@forward@0@tiny@NumPy",
]

UNREACHED = [  # no symbolic form: generated Python calls op.forward / op.derivative (the float mutant's)
    "half_leaky@forward@0@scale@Python",
    "opaque_cube@rule@0@negate@Python",
    "**@forward@0@swap@Python",
]


def test_the_mutants_cover_every_op_target_kind_and_interpretation():
    specs = {m.spec for m in mutants.all_mutants()}
    for op in ALL_OPS:
        slots = ["all", 0] if op.arity == VARIADIC else range(op.arity)
        for slot in slots:
            for kind in ("scale", "negate", "negative", "past-20", "below-20", "tiny"):
                assert {f"{op}@rule@{slot}@{kind}@{i}" for i in mutants.RULE_INTERPRETATIONS} <= specs
        for kind in ("scale", "negative", "past-20", "below-20", "tiny"):
            assert {f"{op}@forward@0@{kind}@{i}" for i in mutants.FORWARD_INTERPRETATIONS} <= specs
        if op.family is not None:
            assert f"{op}@rule@0@param@NumPy" in specs and f"{op}@forward@0@param@table" in specs
        if op.arity == 2:
            assert f"{op}@rule@0@swap@Python" in specs and f"{op}@forward@0@swap@float" in specs


def test_the_script_lists_them():
    listed = subprocess.run([sys.executable, str(SCRIPT), "--list"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == {m.spec for m in mutants.all_mutants()}


def _numpy_gradient(op, x: float) -> float:
    shift = Value(0.0)
    cf = al.compile(lambda v: apply(op, v + shift), (x,), params=[shift])
    return float(cf.batch(np.array([x]), backend="numpy", per_sample=True).params[0][0])


def test_a_mutant_breaks_only_its_interpretation_and_only_its_region_and_is_taken_out():
    m = Mutant("exp", "rule", 0, "below-20", "NumPy")
    x0 = Value(-30.0)  # (it differentiated with respect to a Value not in the graph: grad() now says so)
    eager_before = grad(apply(EXP, x0), [x0])
    with mutants.mutated(m) as reach:
        assert _numpy_gradient(EXP, -30.0) == pytest.approx(1.01 * np.exp(-30.0), rel=1e-12)
        assert _numpy_gradient(EXP, -3.0) == pytest.approx(np.exp(-3.0), rel=1e-12)
        x = Value(-30.0)
        apply(EXP, x).backward()
        assert x.grad == pytest.approx(np.exp(-30.0), rel=1e-12)  # floats untouched
    assert reach.count > 0
    assert _numpy_gradient(EXP, -30.0) == pytest.approx(np.exp(-30.0), rel=1e-12)
    assert eager_before is not None


def test_a_family_member_with_its_sibling_forward_in_python_only():
    op = leaky_relu(0.2)
    with mutants.mutated(Mutant(str(op), "forward", 0, "param", "Python")):
        compiled = al.compile(lambda v: apply(op, v), (-1.0,))
        assert compiled(-1.0) == pytest.approx(-0.01)
        assert apply(op, Value(-1.0)).data == pytest.approx(-0.2)
    assert al.compile(lambda v: apply(op, v), (-1.0,))(-1.0) == pytest.approx(-0.2)


def test_equivalent_mutants_are_told_apart():
    assert mutants.equivalent(Mutant("**0", "rule", 0, "scale", "table"))  # 0 * 1.01 = 0
    assert mutants.equivalent(Mutant("tanh", "rule", 0, "below-20", "table"))  # 1 - (-1)**2 = 0
    assert mutants.equivalent(Mutant("+", "forward", 0, "swap", "table"))
    assert mutants.equivalent(Mutant("log", "rule", 0, "negative", "table"))  # log's domain is x > 0
    assert not mutants.equivalent(Mutant("exp", "rule", 0, "below-20", "table"))
    assert not mutants.equivalent(Mutant("-", "forward", 0, "swap", "table"))


@pytest.fixture(scope="module")
def checks():
    return mutants._checks()


@pytest.mark.parametrize("spec", SUBSET)
def test_a_representative_mutant_is_caught(spec: str, checks):
    outcome = mutants.run(Mutant.parse(spec), checks)
    assert outcome.status == "caught", outcome


@pytest.mark.parametrize("spec", UNREACHED)
def test_a_mutant_no_interpretation_reads_is_unreached_with_the_reason(spec: str, checks):
    outcome = mutants.run(Mutant.parse(spec), checks)
    assert outcome.status == "unreached", outcome
    assert "no symbolic form" in outcome.by and spec.replace("Python", "float") in outcome.by
    float_mutant = mutants.run(Mutant.parse(spec.replace("Python", "float")), checks)
    assert float_mutant.status == "caught", float_mutant  # where it is read, it is caught


def test_the_script_scores_caught_and_leaves_out_unreached_with_its_reason():
    specs = ["sum@forward@0@negative@Python", "half_leaky@forward@0@tiny@Python"]
    args = [sys.executable, str(SCRIPT), "--jobs", "1", *(a for s in specs for a in ("--only", s))]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mutation score: 1/1 caught; left out: 0 equivalent, 1 unreached" in done.stdout
    assert "unreached  half_leaky@forward@0@tiny@Python" in done.stdout and "no symbolic form" in done.stdout
