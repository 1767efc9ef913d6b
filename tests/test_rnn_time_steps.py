"""An unrolled RNN pictured per time step: graph_model's t=<t> boxes, draw_graph collapsed, the stepper.

The cell's parameters serve every step, so grouping by module alone would put
every step in one box. RNN.unroll labels the hidden states h_t[j]; from them
graph_model gives each value computed at step t the box ``t=<t>``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from autograd_lite import Value, draw_graph
from autograd_lite.engine import topological_order
from autograd_lite.graph_model import box_paths, graph_model, module_paths, time_step_of
from autograd_lite.nn import MLP, RNN
from autograd_lite.walkthrough import export_steps_html, walkthrough_data
from tests.test_walkthrough import open_walkthrough


def unrolled(steps: int = 4, hidden: int = 2, *, fused: bool = True, every_output: bool = False) -> Value:
    """An RNN over ``steps`` inputs, its loss on the last output (or on every output)."""
    model = RNN(1, hidden, seed=0, fused=fused)
    xs = [Value(0.3 * (-1) ** t + 0.1 * t, label=f"x_{t}") for t in range(1, steps + 1)]
    outputs = model(xs)
    wanted = outputs if every_output else outputs[-1:]
    loss = Value.sum([(y - Value(0.5, label="target")) ** 2 for y in wanted])
    loss.label = "L"
    loss.backward()
    return loss


def boxes_between_steps(root: Value) -> set[tuple[int, int, str]]:
    """Every edge from a value in one time step's box into another's: (from step, to step, the value)."""
    model = graph_model(root)
    by_id = {n.id: n for n in model.nodes}
    return {
        (by_id[i].step, n.step, by_id[i].name)
        for n in model.nodes
        for i in n.inputs
        if n.step is not None and by_id[i].step is not None and by_id[i].step != n.step
    }


# -- the labels RNN.unroll gives ----------------------------------------------------------------


def test_unroll_labels_hidden_states_outputs_and_the_zero_state_and_computes_the_same_numbers():
    model = RNN(2, 3, nout=2, seed=1)
    xs = [[0.5, -0.1], [0.2, 0.4], [-0.3, 0.9]]
    outputs, hiddens = model.unroll(xs)
    assert [[h.label for h in hs] for hs in hiddens] == [[f"h_{t}[{j}]" for j in range(3)] for t in (1, 2, 3)]
    assert [[y.label for y in ys] for ys in outputs] == [[f"y_{t}[{k}]" for k in range(2)] for t in (1, 2, 3)]
    leaves = {v.label for v in topological_order(outputs[0][0]) if not v._prev}
    assert {"h_0[0]", "h_0[1]", "h_0[2]"} <= leaves
    h = [0.0] * 3  # the same recurrence by hand, from zeros
    for x, hs, ys in zip(xs, hiddens, outputs):
        h = [v.data for v in model.cell(x, h)]
        assert [v.data for v in hs] == h
        assert [v.data for v in model.readout(hs)] == [y.data for y in ys]


# -- graph_model: one box per time step ---------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 3, 5])
@pytest.mark.parametrize("hidden", [1, 3])
@pytest.mark.parametrize("fused", [True, False])
def test_each_value_of_step_t_is_in_box_t_and_the_shared_parameters_in_their_modules(steps, hidden, fused):
    loss = unrolled(steps, hidden, fused=fused)
    model = graph_model(loss)
    timed = [p for p in model.modules if time_step_of(p) is not None]
    assert timed == [f"t={t}" for t in range(1, steps + 1)]
    for node in model.nodes:
        hidden_state = re.fullmatch(r"h_(\d+)\[\d+\]", node.name)
        if node.op is None:  # leaves: parameters in their modules, inputs and h_0 outside any box
            assert node.step is None
            assert (node.module is not None) == node.name.startswith(("cell.", "readout."))
        elif hidden_state:
            assert node.step == int(hidden_state.group(1)) and node.module == f"t={node.step}"
    for t in range(1, steps + 1):
        inside = [n for n in model.nodes if n.module == f"t={t}"]
        assert all(n.step == t for n in inside)
        states = sorted(n.name for n in inside if n.name.startswith("h_"))
        assert states == [f"h_{t}[{j}]" for j in range(hidden)]
        # each unit: its pre-activation (one dot, or 2 + hidden products and sums unfused) and its tanh
        per_unit = 2 if fused else 2 * (1 + hidden) + 1
        readout = (1 if fused else 2 * hidden) if t == steps else 0  # only the last output is in the loss
        assert len(inside) == hidden * per_unit + readout
    outside = [n for n in model.nodes if n.op is not None and n.module is None]
    assert {n.name for n in outside} == {"L", ""}  # the loss: its error and square, nothing of the RNN


@pytest.mark.parametrize("steps", [2, 4])
def test_the_only_edges_between_time_steps_carry_the_hidden_state_forward_one_step(steps):
    hidden = 2
    loss = unrolled(steps, hidden)
    expected = {(t - 1, t, f"h_{t - 1}[{j}]") for t in range(2, steps + 1) for j in range(hidden)}
    assert boxes_between_steps(loss) == expected


def test_a_loss_on_every_output_puts_each_readout_in_its_own_step():
    loss = unrolled(3, 2, every_output=True)
    model = graph_model(loss)
    for t in (1, 2, 3):
        output = next(n for n in model.nodes if n.name == f"y_{t}[0]")
        assert output.step == t and output.module == f"t={t}"
    assert boxes_between_steps(loss) == {(t - 1, t, f"h_{t - 1}[{j}]") for t in (2, 3) for j in range(2)}


def test_graphs_without_hidden_states_keep_their_module_boxes():
    model = MLP(2, [3, 1], seed=0)
    out = model([Value(0.5, label="h_1"), Value(-0.2, label="x")])  # "h_1" alone marks no step
    nodes = topological_order(out)
    assert box_paths(nodes) == module_paths(nodes)
    assert all(n.step is None for n in graph_model(out).nodes)
    assert graph_model(out, clusters=False).modules == ()


def test_a_hand_written_rnn_labelled_like_unroll_is_grouped_the_same_way():
    w, u = Value(0.5, label="w"), Value(-0.8, label="u")
    h = Value(0.0, label="h_0[0]")
    for t, x in enumerate([1.0, -0.5, 0.25], start=1):
        h = (w * x + u * h).tanh()
        h.label = f"h_{t}[0]"
    steps = {n.name: n.step for n in graph_model(h).nodes if n.name.startswith("h_")}
    assert steps == {"h_0[0]": None, "h_1[0]": 1, "h_2[0]": 2, "h_3[0]": 3}


# -- draw_graph: the full picture and the collapsed one ----------------------------------------


def test_the_full_picture_has_a_box_per_time_step():
    source = draw_graph(unrolled(4, 2)).source
    titles = re.findall(r"label=\"time step (\d+)\"", source)
    assert titles == ["1", "2", "3", "4"]


def test_collapsed_the_rnn_is_one_box_per_step_with_the_hidden_state_passed_along():
    steps, hidden = 5, 2
    loss = unrolled(steps, hidden)
    source = draw_graph(loss, collapse=True).source
    ids = dict(re.findall(r"\t(g\d+) \[label=\"([^|]*?) \|", source))  # box id -> its first line
    step_boxes = {name: title for name, title in ids.items() if title.startswith("time step ")}
    assert sorted(step_boxes.values()) == sorted(f"time step {t}" for t in range(1, steps + 1))
    assert len(re.findall(r'class="module time-step"', source)) == steps
    shared = sorted(title for title in ids.values() if title in ("cell", "readout"))
    assert shared == ["cell", "readout"]
    assert "8 parameters\\nshared by every step" in source  # 2 units x (1 input + 2 hidden + bias)
    edges = re.findall(r"\t(g\d+) -> (g\d+)( \[label=h_(\d+)[^\]]*\])?", source)
    carried = {(ids[a], ids[b], t) for a, b, label, t in edges if label}
    assert carried == {(f"time step {t}", f"time step {t + 1}", str(t)) for t in range(1, steps)}
    into = {(ids[a], ids[b]) for a, b, _, _ in edges}
    for t in range(1, steps + 1):
        assert (f"x_{t}", f"time step {t}") in into and ("cell", f"time step {t}") in into
    assert ("readout", f"time step {steps}") in into
    assert (f"time step {steps}", "-") in into  # the last step feeds the loss
    # h_t; x_t and cell into each step; h_0; readout; the loss: step -> e <- target, e -> e**2 -> L
    assert len(edges) == (steps - 1) + 2 * steps + hidden + 1 + 4
    note = re.search(r'note \[label="([^"]*)"', source).group(1)
    assert "one per time step" in note and "max_nodes" not in note  # asked for, not over the threshold


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the system dot")
def test_the_collapsed_rnn_renders():
    svg = draw_graph(unrolled(4, 2), collapse=True).pipe(format="svg").decode()
    assert len(re.findall(r">time step \d", svg)) == 4 and len(re.findall(r">h_\d<", svg)) == 3


# -- the stepper --------------------------------------------------------------------------------


def test_the_stepper_data_marks_time_step_boxes_and_can_start_collapsed():
    loss = unrolled(4, 2)
    data = walkthrough_data(loss, collapse=True)
    steps = {c["path"]: c["step"] for c in data["graph"]["clusters"]}
    assert {p: s for p, s in steps.items() if s is not None} == {f"t={t}": t for t in range(1, 5)}
    assert data["collapse"] == ["cell", "readout", "t=1", "t=2", "t=3", "t=4"]
    closed = next(c["closed"] for c in data["graph"]["clusters"] if c["path"] == "t=2")
    assert "time step 2\\n4 values\\nclick to expand" in closed
    assert walkthrough_data(loss)["collapse"] == []
    with pytest.raises(TypeError, match="collapse must be True or False, got 'time'"):
        walkthrough_data(loss, collapse="time")


@pytest.mark.browser
def test_the_stepper_offers_one_box_per_time_step_and_opens_one_on_click(browser, tmp_path):
    from tests.test_walkthrough import _relaid_out

    loss = unrolled(4, 2)
    data = walkthrough_data(loss)
    page, errors = open_walkthrough(browser, export_steps_html(loss, tmp_path / "rnn.html", collapse=True))
    everything = "cell readout t=1 t=2 t=3 t=4"
    _relaid_out(page, everything)
    options = page.eval_on_selector_all(".al-levels option", "os => os.map((o) => o.textContent)")
    assert "one box per time step" in options
    chosen = page.eval_on_selector(".al-levels", "e => e.selectedOptions[0].textContent")
    assert chosen == "one box per time step"
    assert page.locator("g.edge.hidden-state").count() == 3  # h_1, h_2, h_3 between the step boxes
    home = {name: path for path, name, _ in data["graph"]["items"]}
    # back from the loss: the first step into the last time step, then the first into the one before
    into = [next(k for k, s in enumerate(data["steps"], 1) if home[s["child"]] == f"t={t}") for t in (4, 3)]
    assert into[0] < into[1]
    for _ in range(into[0]):
        page.keyboard.press("ArrowRight")
    assert page.locator('g.node.collapsed.current[id="cluster_t%3D4"]').count() == 1
    for _ in range(into[0], into[1]):
        page.keyboard.press("ArrowRight")
    assert page.locator('g.node.collapsed.current[id="cluster_t%3D3"]').count() == 1
    crossing = page.locator("g.edge.hidden-state.current")  # the gradient crosses the arrow h_3
    assert crossing.count() == 1 and crossing.locator("text").text_content() == "h_3"
    page.click('g.node.collapsed[id="cluster_t%3D3"]')  # open one step
    _relaid_out(page, "cell readout t=1 t=2 t=4")
    assert page.locator('g.cluster[id="cluster_t%3D3"]').count() == 1
    assert page.eval_on_selector(".al-stepper", "e => e.dataset.step") == str(into[1])
    assert page.locator(f'[id="{data["steps"][into[1] - 1]["child"]}"].current').count() == 1
    page.select_option(".al-levels", label="one box per time step")
    _relaid_out(page, everything)
    assert errors == []
    page.close()


def test_the_readme_shows_the_pictures_it_names():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for picture in ("docs/rnn_unrolled.png", "docs/rnn_stepper.png"):
        assert f"({picture})" in readme and (root / picture).stat().st_size > 10_000
