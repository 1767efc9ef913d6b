"""The stepper at the size of the README's model: file size, and the time each step takes in Chromium.

Run: ``python benchmarks/bench_stepper.py`` (needs Debian's Chromium at
/usr/bin/chromium, the ``playwright`` package and the system ``dot``).

It exports the walkthrough of ``MLP(2, [16, 16, 1])`` on one sample (the
graph the README trains, 673 steps), opens it headless at 1280x720 (a
projector), steps through every step with the arrow key and reads the time
the front end took to apply each one (``data-step-ms``: the attribute changes
and keeping the current edge in view), then the same with the graph laid out
in the browser by Viz.js (no system ``dot``). With ``--screenshot PATH`` it
saves the page after 40 steps. Last, the time to lay the picture out again
in the browser with every neuron, then every layer, collapsed, and open again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd_lite import Value
from autograd_lite.nn import MLP
from autograd_lite.walkthrough import export_steps_html

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]  # fmt: skip


def demo_sample() -> Value:
    model = MLP(2, [16, 16, 1], seed=0)
    return model([Value(0.3, label="x0"), Value(-0.2, label="x1")])


def step_through(browser: object, path: Path, screenshot: Path | None) -> tuple[float, list[float]]:
    """Seconds until the page is ready, and each step's time in ms."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    started = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelector('.al-stepper')?.dataset.step === '0'", timeout=120_000)
    ready = time.perf_counter() - started
    page.focus(".al-stepper")
    total = int(page.eval_on_selector(".al-slider", "e => e.max"))
    times = []
    for k in range(1, total + 1):
        page.keyboard.press("ArrowRight")
        times.append(float(page.eval_on_selector(".al-stepper", "e => e.dataset.stepMs")))
        if screenshot and k == 40:
            page.screenshot(path=str(screenshot))
    page.close()
    return ready, times


def fold(browser: object, path: Path) -> dict[str, float]:
    """Seconds to lay the picture out again with each module kind collapsed, then everything open."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelector('.al-stepper')?.dataset.step === '0'", timeout=120_000)
    seconds = {}
    for label in ("one box per neuron", "one box per layer", "show every value"):
        started = time.perf_counter()
        page.select_option(".al-levels", label=label)
        page.wait_for_function("document.querySelector('.al-stepper').dataset.layout === 'done'")
        page.eval_on_selector(".al-stepper", "e => { e.dataset.layout = ''; }")
        seconds[label] = time.perf_counter() - started
    page.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, help="save the page after 40 steps")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = demo_sample()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        for layout in ("dot", "browser"):
            path = export_steps_html(root, Path(tmp) / f"{layout}.html", layout=layout)
            ready, times = step_through(browser, path, args.screenshot if layout == "dot" else None)
            print(
                f"layout by {layout:7}: {path.stat().st_size / 1e6:.2f} MB, ready in {ready:.2f} s, "
                f"{len(times)} steps: median {statistics.median(times):.2f} ms, "
                f"95th percentile {sorted(times)[int(0.95 * len(times))]:.2f} ms, max {max(times):.2f} ms"
            )
        folds = fold(browser, path)
        print("laid out again by Viz.js: " + ", ".join(f"{k} {v:.2f} s" for k, v in folds.items()))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
