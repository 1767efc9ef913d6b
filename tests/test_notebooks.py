"""Every notebook runs top to bottom on a fresh kernel (headless), its claims hold, and the README links it.

Each notebook asserts its own printed claims as it runs; the checks below run
in the same kernel after the last cell, so a claim the notebook's prose makes
is also asserted here, from outside the lesson. The time each notebook took
is printed at the end of the session (reported, never asserted: timing lives
in benchmarks/).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

SAME_TREE = f"""
import pathlib
import autograd_lite
here = pathlib.Path(autograd_lite.__file__).resolve().parent
assert here == pathlib.Path({str(ROOT)!r}) / "autograd_lite", here
"""

CHECKS = {
    "01_values_and_gradients.ipynb": """
# backward_steps(zero_grad=True) after backward() gives backward()'s gradients, not twice them
assert all(abs(v.grad - from_backward[v.label]) < 1e-12 for v in leaves)
assert sum(1 for _ in backward_steps(o, zero_grad=True)) == len(steps)
assert all(abs(v.grad - from_backward[v.label]) < 1e-12 for v in leaves)
""",
    "02_training_an_mlp.ipynb": """
# The picture: a region's colour and a point's colour say the same class (blue +1, red -1),
# so every point the model classifies right sits on its own colour.
from matplotlib.colors import to_rgb
from matplotlib.contour import ContourSet

regions = next(c for c in ax.collections if isinstance(c, ContourSet) and c.filled)
below, above = (to_rgb(colour) for colour in regions.get_facecolor()[:2])  # score < 0, score > 0
points = next(c for c in ax.collections if c.get_offsets().shape[0] == len(X))
def blue(rgb):
    return rgb[2] > rgb[0]
assert blue(above) and not blue(below), (above, below)
for colour, label in zip(points.get_facecolor(), y):
    assert blue(to_rgb(colour)) == (label > 0), (colour, label)
with no_grad():
    right = [(model(x).data > 0) == (t > 0) for x, t in zip(X_test, y_test)]
assert sum(right) / len(right) == test_accuracy >= 0.9
""",
    "03_when_backprop_struggles.ipynb": """
# each cure beats no cure on points neither training nor early stopping saw
assert not {tuple(p) for p in X_test} & {tuple(p) for p in X_small + X_val}
assert test_accuracy["L2 penalty"] > test_accuracy["no cure"]
assert test_accuracy["early stopping"] > test_accuracy["no cure"]
assert stopped_history.stop_reason == "patience" and stopped_history.best_epoch < stopped_history.epochs
""",
    "04_recurrent_backprop.ipynb": """
# the unrolled graph: w_hh is used once per time step, and its gradient sums those uses
from autograd_lite.engine import topological_order

assert sum(w_hh in node._prev for node in topological_order(L)) == len(xs) == len(terms.terms) == 3
assert abs(sum(term.contribution for term in terms.terms) - w_hh.grad) < 1e-12
fresh_grads = [p.grad for p in tiny.parameters()]
for p in tiny.parameters():
    p.grad = 0.0
L.backward()
assert all(abs(p.grad - g) < 1e-12 for p, g in zip(tiny.parameters(), fresh_grads))
# the picture of BPTT: one box per time step, the hidden state h_t passed from each to the next
import re

from autograd_lite.graph_model import graph_model

steps_of = [node.step for node in graph_model(loss).nodes]
assert sorted(set(steps_of) - {None}) == [1, 2, 3, 4, 5]
source = draw_graph(loss, collapse=True).source
assert source.count('class="module time-step"') == 5
assert sorted(re.findall(r"label=h_(\\d) ", source)) == ["1", "2", "3", "4"]
# backward through time: the gradient first reaches step 5, then 4, 3, 2, 1; the walk stopped at 3
every_step = list(backward_steps(loss, zero_grad=True))
first = {}
for k, step in enumerate(every_step):
    first.setdefault(time_of[step.child], k)
assert first[5] < first[4] < first[3] < first[2] < first[1]
assert len(taken) == first[3] + 1 and len(taken) + len(rest) == len(every_step)
assert [s.explain() for s in taken] == [s.explain() for s in every_step[: len(taken)]]
# the shared weights' gradients are backward()'s, and they shrink back through time
assert all(abs(p.grad - g) < 1e-12 for p, g in zip(rnn.parameters(), stepped))
sizes = [max(abs(n.value.grad) for n in graph_model(loss).nodes if n.step == t) for t in range(1, 6)]
assert sizes == sorted(sizes) and sizes == largest
# the compiled training computes the loss of the graph built as before
assert abs(full_bptt[0] - sequence_loss(RNN(1, 6, seed=1), sequences).data) < 1e-12
# what the lesson says it can and cannot learn
assert max(full_bptt[-1], cut_every_4[-1]) < 0.01 and cut_every_1[-1] > 0.1
""",
    "05_autocorrect.ipynb": """
# the held-out sets: no training typo is tested, no "typo" is a word, the showcase never trained on
tested = {typo for typo, _ in new_typos} | {typo for typo, _ in new_slip} | {typo for typo, _ in two_slips}
assert not train_typos & tested
assert not {typo for typo, _ in train_set + new_typos + new_slip + two_slips} & set(WORDS)
assert all(typo != WORDS[k] for typo, k in train_set + new_typos + new_slip + two_slips)
assert not train_typos & set(SHOWCASE)
assert all(typo in typos_of[WORDS[k]]["swap"] for typo, k in new_slip)
assert not any(typo in typos_of[WORDS[k]]["swap"] for typo, k in train_set)
assert all(len(meant_by[typo]) == 1 for typo, _ in train_set + new_typos + new_slip)
# the two accuracies are reported separately, and each is what correct() does on its set
assert len(measured) == 2
for held_out, accuracy in zip((new_typos, new_slip), measured.values()):
    assert abs(sum(correct(typo) == WORDS[k] for typo, k in held_out) / len(held_out) - accuracy) < 1e-12
assert correct("sesert") == "desert" and "sesert" not in train_typos
""",
}


class _NotebookTimes:
    """A plugin that prints each notebook's run time, and the total, in pytest's terminal summary."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.times:
            return
        total = sum(self.times.values())
        terminalreporter.write_sep("-", f"{len(self.times)} notebooks ran in {total:.1f} s")
        for name, seconds in sorted(self.times.items()):
            terminalreporter.write_line(f"{seconds:6.1f} s  {name}")


@pytest.fixture(scope="session")
def notebook_times(request: pytest.FixtureRequest) -> dict[str, float]:
    """Seconds each notebook took to run, filled in by the tests, printed when the session ends."""
    plugin = _NotebookTimes()
    request.config.pluginmanager.register(plugin, "notebook-times")
    return plugin.times


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no .ipynb files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, notebook_times: dict[str, float]) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend needs no display
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(path, as_version=4)
    n_cells = len(notebook.cells)
    notebook.cells.append(nbformat.v4.new_code_cell(SAME_TREE))
    if path.name in CHECKS:
        notebook.cells.append(nbformat.v4.new_code_cell(CHECKS[path.name]))
    client = nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error or failed assertion
    notebook_times[path.name] = time.perf_counter() - started
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    install = next(c for c in notebook.cells[:n_cells] if c.cell_type == "code")
    assert install.outputs == [], "the install cell ran pip although autograd_lite imports"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_an_install_cell(path: Path) -> None:
    """One cell that works in Colab and plain Jupyter, and installs nothing when autograd_lite imports."""
    nbformat = pytest.importorskip("nbformat")
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    first = code[0].source
    assert "import autograd_lite" in first and "except ImportError" in first
    assert 'run_line_magic("pip", "install autograd-lite[notebooks]")' in first
    assert not any("pip" in c.source for c in code[1:])
    compile(first, "install cell", "exec")  # plain Python: no %magic, so ruff can check it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_links_every_notebook(path: Path) -> None:
    assert f"notebooks/{path.name}" in (ROOT / "README.md").read_text()
