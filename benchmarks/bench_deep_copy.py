"""Copying and pickling a deep graph: time and peak memory.

Run: ``python benchmarks/bench_deep_copy.py`` (``--steps`` to change the size).

The graph is the chain ``x = x * 1.0001 + 0.1`` of ``--steps`` steps (a
million by default): two nodes and two constants a step, so 2M nodes deep
and 4M Values in all. For ``copy.deepcopy``, ``pickle.dumps`` and
``pickle.loads`` it prints

* the time (best of ``--rounds``, with the heap collected before each run
  and the collector running as usual during it),
* the peak memory the operation allocates above what was allocated when it
  started (tracemalloc, in a separate run: tracing slows Python down), and
  what is still allocated when it returns (the copy, the bytes),

next to the time and memory it takes to build the graph in the first place,
and checks that the copies give the same gradient as the original.

Before, ``copy.deepcopy`` failed from about 100 nodes deep and
``pickle.dumps`` from about 200 (``RecursionError``); the figures here are
for graphs ten thousand times deeper, at Python's default recursion limit.
"""

from __future__ import annotations

import argparse
import copy
import gc
import pickle
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from autograd_lite import Value


def build(steps: int) -> tuple[Value, Value]:
    x = Value(1.0, label="x")
    y = x
    for _ in range(steps):
        y = y * 1.0001 + 0.1
    return x, y


def timed(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(rounds):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def traced(fn: Callable[[], Any]) -> tuple[int, int, Any]:
    """(peak allocated above the start, still allocated at the end, result)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = fn()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base, current - base, result


def bottom(v: Value) -> Value:
    """The leaf x at the start of the chain (first inputs all the way down)."""
    while v._prev:
        v = v._prev[0]
    return v


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps of the chain (2 nodes each)")
    parser.add_argument("--rounds", type=int, default=1, help="timed runs of each operation (best kept)")
    parser.add_argument("--protocol", type=int, default=pickle.HIGHEST_PROTOCOL, help="pickle protocol")
    args = parser.parse_args(argv)

    print(f"Python {sys.version.split()[0]}, recursion limit {sys.getrecursionlimit()}")
    build_peak, build_kept, (x, y) = traced(lambda: build(args.steps))
    n = 4 * args.steps + 1
    print(f"chain of {args.steps:,} steps: {2 * args.steps:,} nodes deep, {n:,} Values")
    build_time, _ = timed(lambda: build(args.steps), 1)

    rows: list[tuple[str, float, int, int]] = [("build the graph", build_time, build_peak, build_kept)]

    seconds, clone = timed(lambda: copy.deepcopy(y), args.rounds)
    peak, kept, _ = traced(lambda: copy.deepcopy(y))
    rows.append(("copy.deepcopy", seconds, peak, kept))

    seconds, data = timed(lambda: pickle.dumps(y, protocol=args.protocol), args.rounds)
    peak, kept, _ = traced(lambda: pickle.dumps(y, protocol=args.protocol))
    rows.append((f"pickle.dumps (protocol {args.protocol}): {len(data) / 1e6:.0f} MB", seconds, peak, kept))

    seconds, loaded = timed(lambda: pickle.loads(data), args.rounds)
    peak, kept, _ = traced(lambda: pickle.loads(data))
    rows.append(("pickle.loads", seconds, peak, kept))

    print(f"\n{'':44} {'time':>8} {'peak':>9} {'kept':>9} {'peak/Value':>11}")
    for name, seconds, peak, kept in rows:
        print(f"{name:44} {seconds:7.2f}s {peak / 1e6:7.0f}MB {kept / 1e6:7.0f}MB {peak / n:9.0f} B")

    y.backward()
    for name, other in (("deepcopy", clone), ("pickle", loaded)):
        other.backward()
        assert other.data == y.data and bottom(other).grad == x.grad, name
        assert bottom(other) is not x
    print(f"\nbackward() on the original and both copies: the same d y/d x = {x.grad:.6g}")


if __name__ == "__main__":
    main()
