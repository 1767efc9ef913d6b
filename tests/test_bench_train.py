"""The W3 training benchmark: every engine takes the same step, and the script runs end to end."""

from __future__ import annotations

import pytest

from benchmarks.bench_train import NumpyMLP, check_same_step, initial_weights, main, moons


def test_every_engine_takes_the_same_step_as_the_eager_engine() -> None:
    worst = check_same_step()
    assert set(worst) == {"compiled python", "compiled numpy", "numpy by hand"}
    for engine, difference in worst.items():
        assert difference < 1e-9, engine


def test_numpy_by_hand_round_trips_the_weights_and_learns() -> None:
    import numpy as np

    start = initial_weights()
    hand = NumpyMLP(start)
    assert hand.flat() == start
    X, y = moons()
    losses = [hand.step(np.asarray(X), np.asarray(y)) for _ in range(30)]
    assert losses[-1] < losses[0]


def test_the_benchmark_runs_and_prints_every_engine(capsys: pytest.CaptureFixture[str]) -> None:
    median = main(["--rounds", "1", "--no-micrograd"])
    text = capsys.readouterr().out
    for engine in ("eager", "compiled python", "compiled numpy", "numpy by hand"):
        assert engine in median and median[engine] > 0
        assert engine in text
    assert "paid back after" in text
