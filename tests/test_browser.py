"""The exported backprop walkthrough works in a real browser (headless Chromium).

Chromium is Debian's ``chromium`` (installed by ``scripts/bootstrap.sh``),
driven by the ``playwright`` package; the test is skipped only when the
browser is truly unavailable, and fails instead under CI, which must have it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograd_lite import Value
from autograd_lite.stepper import _Walkthrough, export_steps_html

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test, but {reason} (scripts/bootstrap.sh installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def page():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    if shutil.which("dot") is None:
        _unavailable("Graphviz's dot is not installed, so no walkthrough can be exported")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def neuron():
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    n = x * w + b
    n.label = "n"
    out = n.tanh()
    out.label = "o"
    return out


def test_next_previous_and_keys_walk_the_steps_with_the_right_edge_highlighted(page, tmp_path: Path):
    root = neuron()
    walk = _Walkthrough(root)
    steps = walk.steps
    path = export_steps_html(root, tmp_path / "steps.html")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri())

    explain, counter = page.locator("#explain"), page.locator("#counter")
    assert explain.inner_text() == walk.explain(0)
    assert counter.inner_text() == f"step 0 of {len(steps)}"
    assert page.locator("#prev").is_disabled()
    assert page.locator("#graph g.edge.input.highlight").count() == 0

    for _ in range(3):
        page.click("#next")
    assert explain.inner_text() == steps[2].explain()
    assert counter.inner_text() == f"step 3 of {len(steps)}"
    highlighted = page.locator("#graph g.edge.input.highlight")
    assert highlighted.count() == 1
    assert highlighted.get_attribute("id") == walk.highlighted_edge(3)
    assert walk.highlighted_edge(3) == f"{walk.ids[steps[2].node]}_e{steps[2].position}"
    # shaded: exactly the values whose gradient is final after three steps
    done = page.eval_on_selector_all("#graph g.node.value.done", "nodes => nodes.map(n => n.id)")
    assert sorted(done) == sorted(walk.ids[node] for node in walk.done_at(3))
    assert 0 < len(done) < len(walk.start)
    # the picture shows the child's gradient after the step
    child_box = page.locator(f"#graph g#{walk.ids[steps[2].child]}")
    assert f"grad {steps[2].child_grad:.4f}" in child_box.inner_html()

    page.click("#prev")
    assert explain.inner_text() == steps[1].explain()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert explain.inner_text() == steps[3].explain()
    assert page.locator("#lines li.current").text_content() == steps[3].explain()

    page.fill("#slider", str(len(steps)))
    page.dispatch_event("#slider", "input")
    assert explain.inner_text() == steps[-1].explain()
    assert page.locator("#next").is_disabled()
    assert page.locator("#graph g.node.value.done").count() == len(walk.start)  # every grad is final

    assert requests and all(url.startswith("file:") for url in requests), requests


def test_play_runs_to_the_end_and_stops(page, tmp_path: Path):
    x = Value(3.0, label="x")
    root = x * x
    path = export_steps_html(root, tmp_path / "square.html")
    page.goto(path.resolve().as_uri())
    page.click("#play")
    page.wait_for_selector("body[data-frame='2']", timeout=10_000)
    assert page.locator("#explain").inner_text() == "dL/dx += dL/dL * dL/dx = 1.0 * 3.0 = 3.0"
    assert "play" in page.locator("#play").inner_text()
