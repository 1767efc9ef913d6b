"""What people see in Jupyter and on a terminal: progress bars, plots, rich displays."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import types

import pytest

from autograd_lite import Value, topological_order
from autograd_lite.nn import MLP
from autograd_lite.stepper import backward_steps
from autograd_lite.train import fit
from autograd_lite.training import progress

XOR = ([[0, 0], [0, 1], [1, 0], [1, 1]], [-1, 1, 1, -1])


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _kernel(monkeypatch: pytest.MonkeyPatch, shell_class: str | None) -> None:
    """Pretend IPython runs here, with a shell of class ``shell_class`` (None: plain Python)."""
    fake = types.ModuleType("IPython")
    shell = type(shell_class, (), {})() if shell_class else None
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)


@pytest.mark.parametrize(
    ("ci", "tty", "shell", "shown"),
    [
        ("", True, None, True),  # a terminal
        ("", False, None, False),  # output piped to a file
        ("", False, "ZMQInteractiveShell", True),  # a Jupyter kernel: JupyterLab, VS Code
        ("", False, "Shell", True),  # Colab's kernel
        ("", False, "TerminalInteractiveShell", False),  # IPython in a terminal, piped
        ("true", True, None, False),  # CI, even with a terminal
        ("true", False, "ZMQInteractiveShell", False),  # CI executing a notebook
        ("false", True, None, True),
    ],
)
def test_progress_is_shown_wherever_a_person_watches(monkeypatch, ci, tty, shell, shown):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(sys, "stderr", _Tty(tty))
    _kernel(monkeypatch, shell)
    assert progress.someone_watching() is shown


def test_fit_shows_its_bar_in_a_notebook_kernel(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    _kernel(monkeypatch, "ZMQInteractiveShell")
    made = []
    monkeypatch.setattr(progress, "progress_bar", lambda enabled, total: made.append((enabled, total)))
    monkeypatch.setattr("autograd_lite.training.run.progress_bar", progress.progress_bar)
    fit(MLP(2, [2, 1], seed=0), *XOR, loss="hinge", epochs=3)
    assert made == [(None, 3)]  # fit asks with progress=None, and the default decides
    assert progress.someone_watching()


PLOTS_KEEP_THE_BACKEND = """
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")  # Jupyter's inline backend
from autograd_lite.demo import plot_decision_boundary
from autograd_lite.nn import MLP
from autograd_lite.train import fit
history = fit(MLP(2, [4, 1], seed=0), [[0, 0], [1, 1]], [-1, 1], loss="hinge", epochs=3, progress=False)
history.plot(path=r"{out}/loss.png")
plot_decision_boundary(MLP(2, [4, 1], seed=0), [[0, 0], [1, 1]], [-1, 1], r"{out}/boundary.png", steps=5)
print(matplotlib.get_backend())
"""


def test_saving_a_plot_never_changes_the_matplotlib_backend(tmp_path):
    pytest.importorskip("matplotlib_inline")
    script = textwrap.dedent(PLOTS_KEEP_THE_BACKEND.format(out=tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module://matplotlib_inline.backend_inline"
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "boundary.png").read_bytes()[:4] == b"\x89PNG"


def test_history_shows_a_summary_and_a_small_plot():
    pytest.importorskip("matplotlib")
    history = fit(MLP(2, [2, 1], seed=0), *XOR, loss="hinge", epochs=4, progress=False)
    shown = history._repr_html_()
    assert "4 epochs, 4 steps" in shown and "stopped by epochs" in shown
    assert shown.count("<svg") == 1 and "training stopped: epochs" in shown


def test_a_value_shows_a_card_and_its_graph_when_small():
    x = Value(2.0, label="x")
    y = (x * x + 1).tanh()
    y.label = "<b>y</b>"
    y.backward()
    card = y._repr_html_()
    assert "&lt;b&gt;y&lt;/b&gt;" in card and "<b>y</b>" not in card  # labels are text, never markup
    count = len(topological_order(y))
    assert repr(y.data) in card and "tanh" in card and f"{count} values" in card
    assert ("<svg" in card) == (shutil.which("dot") is not None)
    big = sum((Value(float(i)) for i in range(40)), Value(0.0))
    assert "<svg" not in big._repr_html_()  # more than 30 values: the numbers only


def test_a_step_shows_its_rule_and_running_total():
    x = Value(3.0, label="x")
    loss = x * x + x
    loss.label = "L"
    steps = list(backward_steps(loss, zero_grad=True))
    last = steps[-1]._repr_html_()
    assert "x.grad" in last and "-&gt;" in last and "rule" in last
