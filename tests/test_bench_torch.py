"""The W3 benchmark on the torch backend: every engine takes the floor's step, and the script runs."""

from __future__ import annotations

import pytest

from tests.optional import require

require("torch", "torch")

from benchmarks.bench_torch import check_same_step, main  # noqa: E402


def test_every_engine_takes_the_same_step_as_numpy_by_hand() -> None:
    worst = check_same_step()
    assert set(worst) == {"compiled numpy", "compiled torch", "torch nn"}
    for engine, difference in worst.items():
        assert difference < 1e-9, engine


def test_the_benchmark_runs_and_prints_every_engine(capsys: pytest.CaptureFixture[str]) -> None:
    median = main(["--rounds", "1"])
    text = capsys.readouterr().out
    for engine in ("compiled numpy", "compiled torch", "torch nn", "numpy by hand"):
        assert median[engine] > 0 and engine in text
