"""Code written for micrograd runs on autograd_lite after changing only its imports."""

from __future__ import annotations

import random

import pytest

from autograd_lite.data import make_moons
from benchmarks.bench_core import micrograd_demo_step
from tests import micrograd_expressions

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")


def test_micrograds_demo_training_loop_gives_the_same_numbers():
    from autograd_lite.engine import Value
    from autograd_lite.nn import MLP

    X, labels = make_moons(30, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    for _ in range(3):
        a = micrograd_demo_step(Value, ours, X, y)
        b = micrograd_demo_step(micrograd_engine.Value, theirs, X, y)
        assert a == pytest.approx(b, rel=1e-9)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.data == pytest.approx(q.data, rel=1e-9, abs=1e-12)


def test_micrograds_engine_test_runs_unchanged():
    from autograd_lite.engine import Value

    def expression(V):
        a = V(-4.0)
        b = V(2.0)
        g = micrograd_expressions.more_ops(a, b)
        g.backward()
        return g.data, a.grad, b.grad

    assert expression(Value) == pytest.approx(expression(micrograd_engine.Value), rel=1e-12)
