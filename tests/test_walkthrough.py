"""The walkthrough front end: the graph laid out once, each step applied as data, in a real browser.

Browser tests run Debian's Chromium through the ``playwright`` package (as
``tests/test_browser.py`` does); they are skipped only when the browser is
truly unavailable, and fail instead under CI.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest

from autograd_lite import Value
from autograd_lite.nn import MLP
from autograd_lite.stepper import backward_steps
from autograd_lite.walkthrough import export_steps_html, walkthrough_data
from tests.html_pages import unpacked

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def neuron() -> Value:
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o


def demo_sample() -> Value:
    """The README's model on one sample: the graph the stepper must handle."""
    model = MLP(2, [16, 16, 1], seed=0)
    return model([Value(0.3, label="x0"), Value(-0.2, label="x1")])


# -- the data -------------------------------------------------------------------------------------


def test_every_step_of_backward_is_one_record_with_ids_the_picture_has():
    root = neuron()
    data = walkthrough_data(root)
    steps = list(backward_steps(root, zero_grad=True))
    assert len(data["steps"]) == len(steps)
    for record, step in zip(data["steps"], steps):
        assert record["text"] == step.explain()
        assert record["after"]["text"] == f"grad {step.child_grad:.4f}"
        for key in ("edge", "node", "child"):
            assert f'id="{record[key]}"' in data["svg"], record[key]


def test_making_the_walkthrough_leaves_every_grad_as_it_was():
    root = neuron()
    root.backward()
    before = {v.label: v.grad for v in (root, *root._prev)}
    walkthrough_data(root)
    assert {v.label: v.grad for v in (root, *root._prev)} == before


def test_the_demo_models_walkthrough_has_every_step_and_fits_in_a_megabyte(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("needs the system dot for the picture")
    root = demo_sample()
    path = export_steps_html(root, tmp_path / "demo.html")
    assert path.stat().st_size < 1_000_000
    data = walkthrough_data(root)
    count = len(list(backward_steps(root, zero_grad=True)))
    assert len(data["steps"]) == count > 600
    assert data["dot"] is None  # laid out already: the browser needs no Graphviz
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"`MLP(2, [16, 16, 1])`, {count}\nsteps) exports to a file under 1 MB" in readme


def test_without_dot_the_browser_lays_the_graph_out_from_the_dot_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    data = walkthrough_data(neuron())
    assert data["svg"] is None and data["dot"].startswith("digraph")
    page = export_steps_html(neuron(), tmp_path / "n.html").read_text()
    assert "Viz.js 3.31.0" in unpacked(page, "al-viz")  # vendored Graphviz in WebAssembly, no network


def test_bad_input_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="must be a Value"):
        walkthrough_data(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layout"):
        walkthrough_data(neuron(), layout="paper")
    existing = tmp_path / "keep.html"
    existing.write_text("mine")
    with pytest.raises(TypeError):
        export_steps_html(3.0, existing)  # type: ignore[arg-type]
    assert existing.read_text() == "mine"
    with pytest.raises(ValueError, match=r"\.html"):
        export_steps_html(neuron(), tmp_path / "page.txt")


def test_a_label_cannot_close_the_pages_scripts(tmp_path):
    x = Value(1.0, label="</script><script>window.pwned = 1</script>/*VIZ*/")
    page = export_steps_html(x * 2, tmp_path / "p.html").read_text()
    data = json.loads(unpacked(page, "al-data"))  # the data block is whole
    assert data["steps"][0]["child"].startswith("v")
    assert data["names"]["v0"] == x.label
    assert "window.pwned" not in page and "/*VIZ*/" not in page


def test_the_pieces_for_collapsing_hold_every_statement_of_the_picture():
    root = demo_sample()
    data = walkthrough_data(root, layout="browser")
    graph = data["graph"]
    pieces = graph["header"] + "".join(c["open"] for c in graph["clusters"])
    pieces += "".join(i[2] for i in graph["items"]) + "".join(e[2] for e in graph["edges"]) + graph["footer"]
    ids = set(re.findall(r"\bid=(v\d+(?:_op|_e\d+|_out)?)\b", data["dot"]))
    assert len(ids) > 1000 and ids == set(re.findall(r"\bid=(v\d+(?:_op|_e\d+|_out)?)\b", pieces))
    paths = [c["path"] for c in graph["clusters"]]
    assert paths[:3] == ["layers.0", "layers.1", "layers.2"]  # outer first, in natural order
    assert paths[3:6] == ["layers.0.neurons.0", "layers.0.neurons.1", "layers.0.neurons.2"]
    first = graph["clusters"][3]
    # a neuron: w.0, w.1, b, its dot and its relu
    assert "layers.0.neurons.0\\n5 values, 3 parameters" in first["closed"]


# -- in a real browser ------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test, but {reason} (scripts/bootstrap.sh installs it)")
    pytest.skip(reason)


def open_walkthrough(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"a dialog opened: {d.message}"))
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelector('.al-stepper')?.dataset.step === '0'", timeout=60_000)
    page.focus(".al-stepper")
    return page, errors


# The current step in view: the value whose grad it changes (the step's child) wholly inside the
# picture's visible area, and the op it comes from too when the two fit in the view together (an
# edge from a weight far down a tall layer may not); the current edge wholly inside when it fits.
CURRENT_IN_VIEW = """([child, op]) => {
  const view = document.querySelector('.al-viewport').getBoundingClientRect();
  const box = (selector) => document.querySelector(selector).getBoundingClientRect();
  const inside = (r) =>
    r.left >= view.left && r.right <= view.right && r.top >= view.top && r.bottom <= view.bottom;
  const fits = (r) => r.right - r.left <= view.width && r.bottom - r.top <= view.height;
  const c = box(`.al-viewport [id="${child}"]`), o = box(`.al-viewport [id="${op}"]`);
  const edge = box('.al-viewport g.edge.current');
  const both = {left: Math.min(c.left, o.left), right: Math.max(c.right, o.right),
                top: Math.min(c.top, o.top), bottom: Math.max(c.bottom, o.bottom)};
  return inside(c) && (!fits(both) || inside(o)) && (!fits(edge) || inside(edge));
}"""


def in_view_args(step: dict) -> list[str]:
    return [step["child"], f"{step['node']}_op"]


@pytest.mark.browser
def test_stepping_the_demo_model_keeps_the_current_edge_in_view(browser, tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("needs the system dot for the picture")
    root = demo_sample()
    steps = walkthrough_data(root)["steps"]
    page, errors = open_walkthrough(browser, export_steps_html(root, tmp_path / "demo.html"))
    for k in range(1, 41):
        page.keyboard.press("ArrowRight")
        assert page.eval_on_selector(".al-stepper", "e => e.dataset.step") == str(k)
        assert page.inner_text(".al-text") == steps[k - 1]["text"]
        assert page.evaluate(CURRENT_IN_VIEW, in_view_args(steps[k - 1])) is True, f"step {k}: out of view"
        assert page.locator(f'[id="{steps[k - 1]["edge"]}"].current').count() == 1
    page.keyboard.press("ArrowLeft")
    assert page.eval_on_selector(".al-stepper", "e => e.dataset.step") == "39"
    page.keyboard.press("End")  # the last step: every grad as backward() leaves it
    last = steps[-1]
    assert page.locator(f'[id="{last["child"]}"] text', has_text=last["after"]["text"]).count() == 1
    assert errors == []
    page.close()


@pytest.mark.browser
def test_without_dot_the_page_lays_out_with_webassembly_graphviz(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # dot hidden
    root = neuron()
    page, errors = open_walkthrough(browser, export_steps_html(root, tmp_path / "wasm.html"))
    page.keyboard.press("ArrowRight")
    assert page.locator("g.edge.current").count() == 1
    assert page.evaluate(CURRENT_IN_VIEW, in_view_args(walkthrough_data(root)["steps"][0])) is True
    assert errors == []
    page.close()


@pytest.mark.browser
def test_a_hostile_label_shows_as_text_and_runs_nothing(browser, tmp_path):
    label = '<img src=x onerror="window.pwned=1"></script><!--'
    x = Value(1.0, label=label)
    page, errors = open_walkthrough(browser, export_steps_html(x * 2, tmp_path / "hostile.html"))
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("svg text", has_text="onerror").count() >= 1
    assert errors == []
    page.close()


@pytest.mark.browser
def test_clicking_a_value_shows_its_gradient_term_by_term(browser, tmp_path):
    x = Value(3.0, label="x")
    loss = x * x + x
    loss.label = "L"
    page, errors = open_walkthrough(browser, export_steps_html(loss, tmp_path / "terms.html"))
    page.keyboard.press("End")
    page.click("g.node#v0")  # x: the first value in topological order
    text = page.inner_text(".al-text")
    assert text.startswith("x.grad is the sum over its 3 uses, term by term:")
    assert "x.grad: 0.0 -> 1.0" in text and "x.grad: 4.0 -> 7.0" in text
    assert errors == []
    page.close()


@pytest.mark.browser
def test_forward_then_backward_then_the_update_on_one_picture(browser, tmp_path):
    x, w = Value(2.0, label="x"), Value(0.5, label="w")
    loss = (x * w).tanh()
    loss.label = "L"
    data = walkthrough_data(loss, forward=True, params=[w], lr=0.1)
    kinds = [s.get("kind", "backward") for s in data["steps"]]
    assert kinds == ["forward"] * 2 + ["backward"] * 4 + ["update"]
    path = export_steps_html(loss, tmp_path / "train.html", forward=True, params=[w], lr=0.1)
    page, errors = open_walkthrough(browser, path)
    assert page.locator('[id="v2"] text', has_text="data ?").count() == 1  # not computed yet
    page.keyboard.press("ArrowRight")
    assert page.locator('[id="v2"] text', has_text="data 1.0000").count() == 1
    page.keyboard.press("End")
    assert page.eval_on_selector(".al-stepper", "e => e.dataset.kind") == "update"
    grad_w = 2.0 * (1 - math.tanh(1.0) ** 2)  # dL/dw = x * (1 - L**2)
    assert page.locator('[id="v1"] text', has_text=f"data {0.5 - 0.1 * grad_w:.4f}").count() == 1
    assert "w <- w - 0.1 * grad" in page.inner_text(".al-text")
    page.keyboard.press("Home")  # all the way back: as at the start
    assert page.locator('[id="v2"] text', has_text="data ?").count() == 1
    assert w.data == 0.5  # shown, never applied
    assert errors == []
    page.close()


COLLAPSED_ORDER = """() => [...document.querySelectorAll('.al-viewport g.node.collapsed')]
  .map((g) => [g.id, g.getBoundingClientRect().top])"""


def _relaid_out(page, collapsed: str) -> None:
    page.wait_for_function(
        "(want) => { const s = document.querySelector('.al-stepper').dataset;"
        " return s.layout === 'done' && s.collapsed === want; }",
        arg=collapsed,
        timeout=60_000,
    )


@pytest.mark.browser
@pytest.mark.parametrize("layout", ["auto", "browser"])
def test_module_boxes_collapse_and_expand_in_order_keeping_the_step(browser, tmp_path, layout):
    root = demo_sample()
    data = walkthrough_data(root)
    steps = data["steps"]
    home = {name: module for module, name, _ in data["graph"]["items"]}
    path = export_steps_html(root, tmp_path / "collapse.html", layout=layout)
    page, errors = open_walkthrough(browser, path)
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    page.select_option(".al-levels", label="one box per neuron")
    neurons = [f"layers.{i}.neurons.{j}" for i in range(2) for j in range(16)] + ["layers.2.neurons.0"]
    _relaid_out(page, " ".join(sorted(neurons)))
    boxes = page.evaluate(COLLAPSED_ORDER)
    assert len(boxes) == 33
    for layer in ("layers.0", "layers.1"):  # top to bottom: neurons.0, neurons.1, ..., neurons.15
        tops = {b[0]: b[1] for b in boxes if b[0].startswith(f"cluster_{layer}.")}
        assert [tops[f"cluster_{layer}.neurons.{j}"] for j in range(16)] == sorted(tops.values())
    assert page.eval_on_selector(".al-stepper", "e => e.dataset.step") == "30"  # still at step 30
    neuron = home[steps[29]["child"]]  # step 30 adds into a value inside a neuron: its box is current
    assert re.fullmatch(r"layers\.\d\.neurons\.\d+", neuron)
    child_box = f"cluster_{neuron}"
    assert page.locator(f'g.node.collapsed.current[id="{child_box}"]').count() == 1
    page.select_option(".al-levels", label="one box per layer")
    _relaid_out(page, "layers.0 layers.1 layers.2")
    page.click('g.node.collapsed[id="cluster_layers.1"]')  # opens one level: its neurons as boxes
    opened = ["layers.0", "layers.2", *[f"layers.1.neurons.{j}" for j in range(16)]]
    _relaid_out(page, " ".join(sorted(opened)))
    page.click('g.cluster[id="cluster_layers.1"] > text')  # a click on its box's label closes it again
    _relaid_out(page, "layers.0 layers.1 layers.2")
    page.select_option(".al-levels", label="show every value")
    _relaid_out(page, "")
    page.keyboard.press("End")  # the grads shown after relayouts are those backward() leaves
    last = steps[-1]
    assert page.locator(f'[id="{last["child"]}"] text', has_text=last["after"]["text"]).count() == 1
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(CURRENT_IN_VIEW, in_view_args(steps[-2])) is True
    assert errors == []
    page.close()
