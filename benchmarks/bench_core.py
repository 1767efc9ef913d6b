"""Core engine benchmarks: autograd_lite against micrograd 0.1.0 and plain floats.

Run: ``python benchmarks/bench_core.py`` (``make bench`` installs micrograd).

Workloads, each run by every engine in the same process, alternating engines
round by round so that drift in machine speed hits all of them alike:

* W1: a 2,000-step chain ``x = (x * 1.0001 + 0.5).relu()``, forward and backward.
* W2: the sum of 10,000 products ``w_i * x_i``, forward and backward
  (autograd_lite: ``Value.sum``, one n-ary node; micrograd: Python's ``sum``).
* W3: one full training step of ``MLP(2, [16, 16, 1])`` on 100 two-moons
  points, written exactly as micrograd's demo notebook writes it (Values for
  the inputs, forward over all points, max-margin loss with Python's ``sum``,
  1e-4 L2 term, ``zero_grad``, ``backward``, SGD on ``p.data``), the same code
  for both engines with only the imports changed. No floats floor here.
* W4: bytes per graph node (tracemalloc) of W2's graph after its backward pass.

Fairness: the heap is collected and frozen (``gc.freeze()``) before timing,
so a ``gc.collect()`` costs only what the workload left behind; every timed
run calls ``gc.collect()`` before and after *inside* the timing, so each
engine pays for collecting its own garbage (micrograd's closures make
reference cycles that only the cyclic collector frees). micrograd's
recursive topological sort needs a higher recursion limit for W2's
10,000-deep chain of ``+``; it is raised for it.

Plain floats (the same arithmetic with no graph) are the floor.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

W1_STEPS = 2_000
W2_TERMS = 10_000


def _w1_floats() -> float:
    x = 0.3
    for _ in range(W1_STEPS):
        x = max(x * 1.0001 + 0.5, 0.0)
    return x


def _w2_floats(ws: list[float], xs: list[float]) -> float:
    return sum(w * x for w, x in zip(ws, xs))


def micrograd_demo_step(Value: Any, model: Any, X: list[list[float]], y: list[int]) -> float:
    """One step of micrograd's demo.ipynb training loop, verbatim but for names."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    learning_rate = 0.5
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data


def make_engines() -> dict[str, dict[str, Callable[..., Any]]]:
    """The workloads written for each engine, as that engine's users write them."""
    import random as random_module

    from autograd_lite import Value as AL
    from autograd_lite.data import make_moons
    from autograd_lite.nn import MLP as AL_MLP

    moons_X, moons_labels = make_moons(100, noise=0.1, seed=0)
    moons_y = [2 * t - 1 for t in moons_labels]

    engines: dict[str, dict[str, Callable[..., Any]]] = {}

    def w1_al() -> AL:
        x0 = AL(0.3)
        x = x0
        for _ in range(W1_STEPS):
            x = (x * 1.0001 + 0.5).relu()
        x.backward()
        return x0

    def w2_al(ws: list[float], xs: list[float]) -> AL:
        out = AL.sum([AL(w) * AL(x) for w, x in zip(ws, xs)])
        out.backward()
        return out

    random_module.seed(1337)
    al_model = AL_MLP(2, [16, 16, 1])

    def w3_al() -> float:
        return micrograd_demo_step(AL, al_model, moons_X, moons_y)

    engines["autograd_lite"] = {"W1": w1_al, "W2": w2_al, "W3": w3_al}
    from autograd_lite.micrograd.engine import Value as TW
    from autograd_lite.micrograd.nn import MLP as TW_MLP

    engines["al.micrograd"] = micrograd_style_workloads(TW, TW_MLP, moons_X, moons_y)
    try:
        from micrograd.engine import Value as MG
        from micrograd.nn import MLP as MG_MLP
    except ImportError:
        print("micrograd is not installed (pip install micrograd==0.1.0): comparing with floats only")
    else:
        engines["micrograd"] = micrograd_style_workloads(MG, MG_MLP, moons_X, moons_y)

    engines["floats"] = {"W1": _w1_floats, "W2": _w2_floats}
    return engines


def micrograd_style_workloads(
    Value: Any, MLP: Any, X: list[list[float]], y: list[int]
) -> dict[str, Callable[..., Any]]:
    """W1-W3 written as micrograd's users write them (Python's ``sum``), on ``Value`` and ``MLP``
    (micrograd's own, or autograd_lite.micrograd's twin of them)."""
    import random as random_module

    def w1() -> Any:
        x0 = Value(0.3)
        x = x0
        for _ in range(W1_STEPS):
            x = (x * 1.0001 + 0.5).relu()
        x.backward()
        return x0

    def w2(ws: list[float], xs: list[float]) -> Any:
        out = sum(Value(w) * Value(x) for w, x in zip(ws, xs))
        out.backward()
        return out

    random_module.seed(1337)
    model = MLP(2, [16, 16, 1])
    return {"W1": w1, "W2": w2, "W3": lambda: micrograd_demo_step(Value, model, X, y)}


def timed(fn: Callable[..., Any], *args: Any) -> float:
    """Seconds for one run, paying for its own garbage collection."""
    start = time.perf_counter()
    gc.collect()
    result = fn(*args)
    del result
    gc.collect()
    return time.perf_counter() - start


def count_nodes(root: Any) -> int:
    seen = set()
    stack = [root]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.extend(v._prev)
    return len(seen)


def bytes_per_node(w2: Callable[..., Any], ws: list[float], xs: list[float]) -> tuple[float, int, int]:
    gc.collect()
    tracemalloc.start()
    root = w2(ws, xs)
    gc.collect()
    used, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nodes = count_nodes(root)
    return used / nodes, used, nodes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed runs per engine and workload")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(200_000)  # micrograd's recursive topological sort, on W2's 10,000-deep chain

    rng = random.Random(0)
    ws = [rng.uniform(-1, 1) for _ in range(W2_TERMS)]
    xs = [rng.uniform(-1, 1) for _ in range(W2_TERMS)]
    engines = make_engines()
    workloads = {"W1": (), "W2": (ws, xs), "W3": ()}

    for fns in engines.values():  # warm up
        for name, fn in fns.items():
            fn(*workloads[name])
    rounds = {"W1": args.rounds, "W2": args.rounds, "W3": max(3, args.rounds // 3)}
    gc.collect()
    gc.freeze()

    times: dict[tuple[str, str], list[float]] = {}
    for i in range(args.rounds):
        for workload, wargs in workloads.items():
            if i >= rounds[workload]:
                continue
            for engine, fns in engines.items():
                if workload in fns:
                    times.setdefault((engine, workload), []).append(timed(fns[workload], *wargs))

    print(f"Python {sys.version.split()[0]}, {args.rounds} alternating rounds, median times")
    print(f"{'workload':<10}{'engine':<15}{'median ms':>11}{'vs micrograd':>14}{'vs floats':>11}")
    for workload in workloads:
        med = {e: statistics.median(times[(e, workload)]) for e in engines if (e, workload) in times}
        for engine in med:
            vs_mg = f"{med['micrograd'] / med[engine]:.1f}x" if "micrograd" in med else "-"
            vs_floats = f"{med[engine] / med['floats']:>10.0f}x" if "floats" in med else f"{'-':>11}"
            print(f"{workload:<10}{engine:<15}{med[engine] * 1e3:>11.3f}{vs_mg:>14}{vs_floats}")
    print(
        "(vs micrograd: how many times faster than micrograd; vs floats: how many times slower than floats)"
    )

    print("\nW4: memory of W2's graph after backward (tracemalloc)")
    per: dict[str, float] = {}
    for engine, fns in engines.items():
        if engine == "floats":
            continue
        per[engine], used, nodes = bytes_per_node(fns["W2"], ws, xs)
        print(f"  {engine:<15}{nodes:>8} nodes {used / 1e6:>8.2f} MB {per[engine]:>8.1f} bytes/node")
    if "micrograd" in per:
        print(f"  bytes per node: autograd_lite uses {per['micrograd'] / per['autograd_lite']:.1f}x fewer")


if __name__ == "__main__":
    main()
