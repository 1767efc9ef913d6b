"""W3, one training step, on every engine: micrograd, eager, compiled, and hand-written NumPy.

Run: ``python benchmarks/bench_train.py`` (``make bench`` runs it after the core benchmarks).

The step is micrograd's demo step: ``MLP(2, [16, 16, 1])`` on 100 two-moons
points (labels -1/+1), the mean max-margin loss ``relu(1 - y * score)`` plus
``1e-4 * sum(p * p)`` over all 337 parameters, backward, and SGD with
learning rate 0.5. Engines, each on its own copy of the same initial weights:

* ``micrograd``: micrograd 0.1.0, the demo notebook's code (``bench_core.micrograd_demo_step``).
* ``eager``: autograd_lite running the very same code, imports changed.
* ``compiled python``: the per-sample loss traced once with
  ``autograd_lite.compile`` and replayed as generated Python over the 100
  samples, gradients summed into ``.grad``; the L2 term compiled on its own.
* ``compiled numpy``: the per-sample loss plus the L2 term traced once and
  replayed over the whole batch with NumPy, level by level (the L2 term
  depends on no input, so it is computed once per batch); the summed
  gradients returned (``accumulate=False``) and applied in one loop.
* ``numpy by hand``: the same network, loss, L2 term, backward pass and
  update written directly with NumPy matrices: the floor for this workload.

Fairness: the heap is collected and frozen before timing; each timed run
collects garbage before and after, inside the timing, and runs enough
consecutive steps (from the same initial weights, restored outside the
timing) to take a measurable time, so that the cost of a collection is
shared by the steps that made the garbage. Engines alternate round by round.
Compilation cost is reported separately, with how many steps it takes to
pay for itself against the eager engine.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `autograd_lite` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_core import micrograd_demo_step

N_POINTS = 100
ALPHA = 1e-4
LEARNING_RATE = 0.5


def moons() -> tuple[list[list[float]], list[float]]:
    """The 100 two-moons points of W3 and their labels as -1/+1."""
    from autograd_lite.data import make_moons

    X, labels = make_moons(N_POINTS, noise=0.1, seed=0)
    return X, [2.0 * t - 1 for t in labels]


def initial_weights() -> list[float]:
    """micrograd's initial weights for the demo (``random.seed(1337)``), in ``parameters()`` order."""
    from autograd_lite.nn import MLP

    random.seed(1337)
    return [p.data for p in MLP(2, [16, 16, 1]).parameters()]


# ----------------------------------------------------------------------------
# The floor: the same step written by hand with NumPy.


class NumpyMLP:
    """``MLP(2, [16, 16, 1])`` as matrices: ReLU, ReLU, linear."""

    def __init__(self, flat: list[float]) -> None:
        self.load(flat)

    def load(self, flat: list[float]) -> None:
        """Weights from autograd_lite's ``parameters()`` order (per neuron: weights, then bias)."""
        layers, at = [], 0
        for nin, nout in ((2, 16), (16, 16), (16, 1)):
            block = np.asarray(flat[at : at + nout * (nin + 1)]).reshape(nout, nin + 1)
            layers += [block[:, :nin].copy(), block[:, nin].copy()]
            at += nout * (nin + 1)
        self.W1, self.b1, self.W2, self.b2, self.W3, self.b3 = layers

    def flat(self) -> list[float]:
        """The weights back in ``parameters()`` order."""
        rows = []
        for W, b in ((self.W1, self.b1), (self.W2, self.b2), (self.W3, self.b3)):
            rows.append(np.concatenate([W, b[:, None]], axis=1).ravel())
        return np.concatenate(rows).tolist()

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One step of the demo: forward, hinge loss + L2, backward, SGD. Returns the loss."""
        W1, b1, W2, b2, W3, b3 = self.W1, self.b1, self.W2, self.b2, self.W3, self.b3
        z1 = X @ W1.T + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2.T + b2
        h2 = np.maximum(z2, 0.0)
        score = h2 @ W3[0] + b3[0]
        margin = 1.0 - y * score
        params = (W1, b1, W2, b2, W3, b3)
        loss = np.maximum(margin, 0.0).mean() + ALPHA * sum(float(np.vdot(p, p)) for p in params)
        d_score = np.where(margin > 0, -y, 0.0) / len(y)
        g_W3 = (d_score @ h2)[None, :]
        g_b3 = np.array([d_score.sum()])
        d_z2 = np.outer(d_score, W3[0]) * (z2 > 0)
        g_W2, g_b2 = d_z2.T @ h1, d_z2.sum(axis=0)
        d_z1 = (d_z2 @ W2) * (z1 > 0)
        g_W1, g_b1 = d_z1.T @ X, d_z1.sum(axis=0)
        for p, g in zip(params, (g_W1, g_b1, g_W2, g_b2, g_W3, g_b3)):
            p -= LEARNING_RATE * (g + 2 * ALPHA * p)
        return float(loss)


# ----------------------------------------------------------------------------
# The engines: a step function and a way to reset to the initial weights.


class Engine:
    """A named training step; ``reset`` restores the initial weights, ``weights`` reads them."""

    def __init__(
        self,
        name: str,
        step: Callable[[], float],
        reset: Callable[[], None],
        weights: Callable[[], list[float]],
        reps: int,
    ) -> None:
        self.name, self.step, self.reset, self.weights, self.reps = name, step, reset, weights, reps
        self.compile_seconds: float | None = None


def _restorable(
    params: list[Any], start: list[float]
) -> tuple[Callable[[], None], Callable[[], list[float]]]:
    def reset() -> None:
        for p, w in zip(params, start):
            p.data = w

    return reset, lambda: [p.data for p in params]


def _value_model_engine(name: str, Value: Any, MLPClass: Any, X: list[list[float]], y: list[float]) -> Engine:
    random.seed(1337)
    model = MLPClass(2, [16, 16, 1])
    reset, weights = _restorable(model.parameters(), initial_weights())
    return Engine(name, lambda: micrograd_demo_step(Value, model, X, y), reset, weights, reps=1)


def make_engines(include_micrograd: bool = True) -> list[Engine]:
    """Every engine available here, each with its own model at the same initial weights."""
    import autograd_lite as al
    from autograd_lite import Value
    from autograd_lite.nn import MLP

    X, y = moons()
    Xa, ya = np.asarray(X), np.asarray(y)
    start = initial_weights()
    engines = []
    if include_micrograd:
        try:
            from micrograd.engine import Value as MicrogradValue
            from micrograd.nn import MLP as MicrogradMLP
        except ImportError:
            print("micrograd is not installed (pip install micrograd==0.1.0): no micrograd column")
        else:
            engines.append(_value_model_engine("micrograd", MicrogradValue, MicrogradMLP, X, y))
    engines.append(_value_model_engine("eager", Value, MLP, X, y))

    # compiled, Python backend
    model_py = MLP(2, [16, 16, 1], seed=0)
    params_py = model_py.parameters()
    reset_py, weights_py = _restorable(params_py, start)
    reset_py()
    started = time.perf_counter()
    loss_py = al.compile(lambda x, t: (1 - t * model_py(x)).relu(), (X[0], y[0]), params=params_py)
    reg_py = al.compile(lambda: ALPHA * Value.sum(p * p for p in params_py), ())
    compile_py = time.perf_counter() - started

    def step_py() -> float:
        for p in params_py:
            p.grad = 0.0
        outputs = loss_py.batch(X, y, grad_outputs=1 / N_POINTS).outputs
        total = sum(outputs) / N_POINTS + reg_py()
        for p in params_py:
            p.data -= LEARNING_RATE * p.grad
        return total

    compiled_py = Engine("compiled python", step_py, reset_py, weights_py, reps=10)
    compiled_py.compile_seconds = compile_py
    engines.append(compiled_py)

    # compiled, NumPy backend
    model_np = MLP(2, [16, 16, 1], seed=0)
    params_np = model_np.parameters()
    reset_np, weights_np = _restorable(params_np, start)

    def sample_loss(x: Any, t: Any) -> Any:  # this sample's hinge loss, plus the L2 term (the same for all)
        return (1 - t * model_np(x)).relu() + ALPHA * Value.sum(p * p for p in params_np)

    reset_np()
    loss_np = al.compile(sample_loss, (X[0], y[0]), params=params_np)
    loss_np.batch(Xa[:1], ya[:1], backend="numpy", accumulate=False)  # builds the NumPy schedule

    def step_np() -> float:
        result = loss_np.batch(Xa, ya, grad_outputs=1 / N_POINTS, backend="numpy", accumulate=False)
        for p, g in zip(params_np, result.params.tolist()):
            p.data -= LEARNING_RATE * g
        return float(result.outputs.mean())

    compiled_np = Engine("compiled numpy", step_np, reset_np, weights_np, reps=100)
    compiled_np.compile_seconds = loss_np.compile_seconds
    engines.append(compiled_np)

    # by hand
    hand = NumpyMLP(start)
    engines.append(
        Engine("numpy by hand", lambda: hand.step(Xa, ya), lambda: hand.load(start), hand.flat, reps=400)
    )
    return engines


def check_same_step() -> dict[str, float]:
    """One step from the same weights on every autograd_lite engine and by hand: the largest differences.

    Returns, per engine, the largest relative difference from the eager
    engine in the loss and in the updated weights.
    """
    engines = {e.name: e for e in make_engines(include_micrograd=False)}
    X, y = moons()
    from autograd_lite.nn import MLP

    random.seed(1337)
    reference = MLP(2, [16, 16, 1])
    from autograd_lite import Value

    eager_loss = micrograd_demo_step(Value, reference, X, y)
    eager_weights = [p.data for p in reference.parameters()]
    worst: dict[str, float] = {}
    for name, engine in engines.items():
        if name == "eager":
            continue
        engine.reset()
        loss = engine.step()
        weights = engine.weights()
        diffs = [abs(loss - eager_loss) / max(1.0, abs(eager_loss))]
        diffs += [abs(a - b) / max(1.0, abs(b)) for a, b in zip(weights, eager_weights)]
        worst[name] = max(diffs)
    return worst


def timed(engine: Engine) -> float:
    """Seconds per step over ``engine.reps`` steps from the initial weights, garbage collection included."""
    engine.reset()
    start = time.perf_counter()
    gc.collect()
    for _ in range(engine.reps):
        engine.step()
    gc.collect()
    return (time.perf_counter() - start) / engine.reps


def alternating_medians(engines: list[Engine], rounds: int) -> dict[str, float]:
    """Median seconds per step of each engine, after a warm-up, over ``rounds`` alternating rounds.

    The heap is collected and frozen first, so each engine pays only for its own garbage.
    """
    for engine in engines:  # warm up
        engine.reset()
        engine.step()
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {e.name: [] for e in engines}
    for _ in range(rounds):
        for engine in engines:
            times[engine.name].append(timed(engine))
    gc.unfreeze()
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print the table; return the median seconds per step by engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed runs per engine")
    parser.add_argument(
        "--no-micrograd", action="store_true", help="skip micrograd (about a second per step)"
    )
    args = parser.parse_args(argv)

    engines = make_engines(include_micrograd=not args.no_micrograd)
    median = alternating_medians(engines, args.rounds)

    floor = median["numpy by hand"]
    print(
        f"W3: one training step of MLP(2, [16, 16, 1]) on {N_POINTS} points, Python {sys.version.split()[0]}"
    )
    print(f"{args.rounds} alternating rounds, median time per step")
    print(f"{'engine':<18}{'ms / step':>11}{'vs micrograd':>14}{'vs numpy by hand':>18}")
    for name, seconds in median.items():
        vs_mg = f"{median['micrograd'] / seconds:.0f}x faster" if "micrograd" in median else "-"
        vs_floor = f"{seconds / floor:.1f}x slower" if name != "numpy by hand" else "(the floor)"
        print(f"{name:<18}{seconds * 1e3:>11.3f}{vs_mg:>14}{vs_floor:>18}")
    print(
        "targets: compiled python >= 100x micrograd; "
        "compiled numpy >= 1000x micrograd and <= 5x numpy by hand"
    )

    print("\ncompilation (trace + code generation, + the NumPy schedule), paid once:")
    for engine in engines:
        if engine.compile_seconds is None:
            continue
        saved = median["eager"] - median[engine.name]
        print(
            f"  {engine.name:<16}{engine.compile_seconds * 1e3:>8.1f} ms, "
            f"paid back after {engine.compile_seconds / saved:.1f} steps against the eager engine"
        )
    return median


if __name__ == "__main__":
    main()
