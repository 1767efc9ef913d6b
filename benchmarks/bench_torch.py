"""W3 on the torch compile backend (CPU), next to the NumPy backend and the hand-vectorised floor.

Run: ``python benchmarks/bench_torch.py`` (needs ``pip install -e '.[torch]'``).

The step is ``bench_train``'s W3: ``MLP(2, [16, 16, 1])`` on 100 two-moons
points, the mean hinge loss plus ``1e-4 * sum(p * p)``, backward, SGD at 0.5.
Engines, each from the same initial weights:

* ``compiled numpy``: the per-sample loss traced once, replayed on the
  NumPy backend (``bench_train``'s engine);
* ``compiled torch``: the same compiled function on the torch backend,
  ``backend="torch", device="cpu"``, float64 tensors;
* ``torch nn``: the model exported with ``model.to_torch()`` and trained by
  PyTorch's own autograd (float64): what the program would cost written in
  PyTorch directly;
* ``numpy by hand``: ``bench_train``'s floor, the step written with NumPy
  matrices.

Rounds alternate between engines; the median time per step is reported,
with each engine's ratio to the floor. PyTorch runs on one thread by default
(``--threads``): the tensors here are at most 16 x 100, too small to share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_train import (
    ALPHA,
    LEARNING_RATE,
    N_POINTS,
    Engine,
    _restorable,
    alternating_medians,
    initial_weights,
    make_engines,
    moons,
)


def compiled_torch_engine() -> Engine:
    """The W3 step through ``compile(...).batch(..., backend="torch")`` on the CPU."""
    import torch

    import autograd_lite as al
    from autograd_lite import Value
    from autograd_lite.nn import MLP

    X, y = moons()
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    reset, weights = _restorable(params, initial_weights())
    reset()

    def sample_loss(x: Any, t: Any) -> Any:
        return (1 - t * model(x)).relu() + ALPHA * Value.sum(p * p for p in params)

    loss = al.compile(sample_loss, (X[0], y[0]), params=params)
    loss.batch(Xt[:1], yt[:1], backend="torch", accumulate=False)  # builds the schedule

    def step() -> float:
        result = loss.batch(
            Xt, yt, grad_outputs=1 / N_POINTS, backend="torch", device="cpu", accumulate=False
        )
        for p, g in zip(params, result.params.tolist()):
            p.data -= LEARNING_RATE * g
        return float(result.outputs.mean())

    engine = Engine("compiled torch", step, reset, weights, reps=100)
    engine.compile_seconds = loss.compile_seconds
    return engine


def torch_nn_engine() -> Engine:
    """The same step written in PyTorch on the exported model (autograd, float64)."""
    import torch

    from autograd_lite.nn import MLP

    X, y = moons()
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    start = MLP(2, [16, 16, 1], seed=0)
    for p, w in zip(start.parameters(), initial_weights()):
        p.data = w
    net = start.to_torch()
    initial = {k: v.clone() for k, v in net.state_dict().items()}

    def step() -> float:
        net.zero_grad()
        loss = (1 - yt * net(Xt)[:, 0]).relu().mean() + ALPHA * sum((p * p).sum() for p in net.parameters())
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= LEARNING_RATE * p.grad
        return float(loss.detach())

    def weights() -> list[float]:
        from autograd_lite.nn import from_torch

        return [p.data for p in from_torch(net).parameters()]

    return Engine("torch nn", step, lambda: net.load_state_dict(initial), weights, reps=100)


def make_torch_engines() -> list[Engine]:
    """compiled numpy, compiled torch, torch nn and numpy by hand, each at the same initial weights."""
    base = {e.name: e for e in make_engines(include_micrograd=False)}
    return [base["compiled numpy"], compiled_torch_engine(), torch_nn_engine(), base["numpy by hand"]]


def check_same_step() -> dict[str, float]:
    """One step on each engine from the same weights: the largest relative difference from the floor."""
    engines = make_torch_engines()
    floor = engines[-1]
    floor.reset()
    floor_loss, floor_weights = floor.step(), floor.weights()
    worst = {}
    for engine in engines[:-1]:
        engine.reset()
        loss, weights = engine.step(), engine.weights()
        diffs = [abs(loss - floor_loss) / max(1.0, abs(floor_loss))]
        diffs += [abs(a - b) / max(1.0, abs(b)) for a, b in zip(weights, floor_weights)]
        worst[engine.name] = max(diffs)
    return worst


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print the table; return the median seconds per step by engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per engine")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch's intra-op threads (1: these tensors are small)"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)

    engines = make_torch_engines()
    median = alternating_medians(engines, args.rounds)
    floor = median["numpy by hand"]
    print(f"W3 on the torch backend: MLP(2, [16, 16, 1]) on {N_POINTS} points, float64, CPU")
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), NumPy {np.__version__}, "
          f"{args.rounds} alternating rounds, median per step")  # fmt: skip
    print(f"{'engine':<16}{'ms / step':>11}{'vs numpy by hand':>18}{'vs compiled numpy':>19}")
    for name, seconds in median.items():
        print(f"{name:<16}{seconds * 1e3:>11.3f}{seconds / floor:>17.1f}x"
              f"{seconds / median['compiled numpy']:>18.2f}x")  # fmt: skip
    return median


if __name__ == "__main__":
    main()
