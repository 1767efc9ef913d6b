"""Compiling a long chain: peak memory per node, next to building and differentiating it eagerly.

Run: ``python benchmarks/bench_compile_memory.py`` (``--nodes 10000 100000`` to
choose the sizes; 10k, 100k and 1M by default).

The graph is the chain ``x = x * 1.0001 + 0.1`` (two op nodes and two
constants a step; ``--nodes`` counts op nodes). Each measurement runs in its
own subprocess, so that each sees only its own memory:

* ``eager``: build the chain on ``Value``s and call ``backward()``;
* ``compile``: ``autograd_lite.compile`` (trace, then the Python backend's
  preparation: generated code, or the instruction-table loop for a big
  program), then one ``grad()`` replay;
* ``compile+numpy``: the same, plus the NumPy backend's preparation.

For each it prints the time, the peak resident memory above what the
process held after importing (``ru_maxrss``), that peak per node, and its
ratio to eager. ``--tracemalloc`` adds Python's own peak allocation (slower).
Tracing builds the eager graph once, so ``compile`` cannot peak below
``eager``; what matters is how much it adds. Before (one ``Instruction`` tuple
per node, a generated function of a million lines), compiling took about
7 KB per node: 7.8 GB for a million-step chain.

Measured (2-core machine, shared; ``compile`` rows): since the Python backend
writes programs of more than 500 ops as chunks of 500 (``python_backend.CHUNK``),
its peak is bounded by one chunk's compilation: 1 MB at 1,000 and 4,000 nodes
(340 B per node at 4,000), 5 MB at 10,000 (470 B per node), 47 MB at 100,000
(490 B), 476 MB at 1,000,000 (500 B per node, 1.4x eager; 41 to 55 s, generated
code up to ``python_backend.TABLE_FROM`` = 1,000,000 ops). Before chunks one
generated function peaked at 5.3 KB per node (51 MB at 10,000 nodes), and
programs of more than 10,000 ops ran as the instruction-table loop (418 B per
node at 1,000,000 in 10 s, but 14x slower replays). ``compile+numpy`` adds the
NumPy backend's preparation: 4 MB at 1,000 nodes (most of it NumPy's own
first use), 6 MB at 4,000, 997 B per node at 10,000 and 688 B at 100,000,
since a thin program (a chain: a group a node) keeps its NumPy steps only up
to 500 groups (``numpy_backend.THIN_STEPS_CACHED_UP_TO``; before, up to
20,000 groups at about 1.3 KB each: 3 to 7 KB per node below 10,000 nodes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

MODES = ("eager", "compile", "compile+numpy")


def _chain(x: Any, steps: int) -> Any:
    for _ in range(steps):
        x = x * 1.0001 + 0.1
    return x


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def measure(mode: str, nodes: int, use_tracemalloc: bool) -> dict[str, Any]:
    """One measurement, in this process (run it in a fresh one)."""
    import autograd_lite as al
    from autograd_lite import Value

    if mode == "compile+numpy":
        import numpy  # noqa: F401  (imported before the baseline, like autograd_lite)
    steps = nodes // 2
    baseline = _rss()
    if use_tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    if mode == "eager":
        x = Value(0.25)
        y = _chain(x, steps)
        y.backward()
        grad = x.grad
        del y
    else:
        compiled = al.compile(lambda v: _chain(v, steps), (0.5,))
        if mode == "compile+numpy":
            compiled.traces[0].prepared("numpy")
        grad = compiled.grad(0.25).inputs[0]
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] if use_tracemalloc else None
    return {"seconds": seconds, "peak_rss": _rss() - baseline, "tracemalloc": traced, "grad": grad}


def run_alone(mode: str, nodes: int, use_tracemalloc: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--one", mode, str(nodes)]
    args += ["--tracemalloc"] if use_tracemalloc else []
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--tracemalloc", action="store_true", help="also Python's own peak allocation")
    parser.add_argument("--one", nargs=2, metavar=("MODE", "NODES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.tracemalloc)))
        return
    print(f"{'nodes':>9} {'mode':<14} {'seconds':>8} {'peak RSS':>10} {'per node':>9} {'x eager':>8}", end="")
    print(f" {'tracemalloc/node':>17}" if args.tracemalloc else "")
    for nodes in args.nodes:
        results = {mode: run_alone(mode, nodes, args.tracemalloc) for mode in MODES}
        eager = results["eager"]
        for mode, r in results.items():
            per_node = r["peak_rss"] / nodes
            ratio = r["peak_rss"] / eager["peak_rss"] if eager["peak_rss"] else float("nan")
            mb = r["peak_rss"] / 2**20
            line = f"{nodes:>9} {mode:<14} {r['seconds']:>8.2f} {mb:>8.0f}MB {per_node:>8.0f}B {ratio:>8.2f}"
            if args.tracemalloc:
                line += f" {r['tracemalloc'] / nodes:>16.0f}B"
            print(line)
            same = abs(r["grad"] - eager["grad"]) <= 1e-9 * abs(eager["grad"])
            assert same, f"{mode}: gradient {r['grad']} != eager {eager['grad']}"


if __name__ == "__main__":
    main()
