"""Draw docs/rnn_unrolled.png and docs/rnn_stepper.png: notebook 4's RNN, one box per time step.

    python scripts/rnn_pictures.py

The first is ``draw_graph(loss, collapse=True)`` after ``backward()``; the
second a 1280x720 screenshot of the stepper (``export_steps_html(loss,
collapse=True)``) in headless Chromium (playwright), at the step where the
gradient first crosses the arrow ``h_3`` from time step 4 into time step 3.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from autograd_lite import Value, draw_graph
from autograd_lite.graph_model import graph_model
from autograd_lite.nn import RNN
from autograd_lite.walkthrough import export_steps_html, walkthrough_data

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHROMIUM = "/usr/bin/chromium"


def notebook_rnn() -> Value:
    """Notebook 4's RNN: two hidden units over five steps, the squared error of the last output."""
    rnn = RNN(1, 2, seed=0)
    inputs = [Value(x, label=f"x_{t}") for t, x in enumerate([0.5, -1.0, 0.8, 0.3, -0.6], start=1)]
    outputs, hiddens = rnn.unroll(inputs)
    for t, state in enumerate(hiddens, start=1):
        for j, h in enumerate(state):
            h._prev[0].label = f"a_{t}[{j}]"
    error = outputs[-1] - Value(0.5, label="target")
    error.label = "e"
    loss = error**2
    loss.label = "loss"
    return loss


def stepper_screenshot(loss: Value, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    data = walkthrough_data(loss)
    home = {name: path for path, name, _ in data["graph"]["items"]}
    into_3 = next(k for k, s in enumerate(data["steps"], 1) if home[s["child"]] == "t=3")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_path = export_steps_html(loss, Path(folder) / "rnn.html", collapse=True)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(page_path.as_uri())
        page.wait_for_function("document.querySelector('.al-stepper')?.dataset.step === '0'", timeout=60_000)
        for _ in range(2):
            page.click("button[title='zoom in']")
        page.focus(".al-stepper")
        for _ in range(into_3):
            page.keyboard.press("ArrowRight")
        page.screenshot(path=str(target))
        browser.close()


def main() -> None:
    loss = notebook_rnn()
    assert sum(1 for p in graph_model(loss).modules if p.startswith("t=")) == 5
    stepper_screenshot(loss, DOCS / "rnn_stepper.png")
    loss.backward()
    (DOCS / "rnn_unrolled.png").write_bytes(draw_graph(loss, collapse=True).pipe(format="png"))
    print("wrote", DOCS / "rnn_unrolled.png", "and", DOCS / "rnn_stepper.png")


if __name__ == "__main__":
    main()
