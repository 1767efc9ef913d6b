"""The progress bar of ``fit``: shown wherever a person is watching.

By default (``progress=None``) ``fit`` shows a ``tqdm.auto`` bar, a widget in
Jupyter and text on a terminal, when someone is watching: a notebook kernel
(JupyterLab, Notebook, VS Code, Colab), or a terminal on standard error. Not
in CI (the ``CI`` environment variable set, as GitHub Actions, GitLab and
most CI services do) nor when the output goes to a file or a pipe.
``progress=True`` or ``False`` decides it outright.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (an IPython kernel shell: JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    return shell is not None and type(shell).__name__ in ("ZMQInteractiveShell", "Shell")  # Shell: Colab


def someone_watching() -> bool:
    """The default for ``fit(progress=None)``: a notebook or a terminal, and not CI."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        return False
    return in_notebook() or sys.stderr.isatty()


def progress_bar(enabled: bool | None, total: int) -> Any:
    """A ``tqdm.auto`` bar over ``total`` epochs, or ``None`` when it should not show."""
    if enabled is None:
        enabled = someone_watching()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", leave=True)


def show_epoch(bar: Any, history: Any) -> None:
    """Move the bar one epoch on, with the latest loss, validation loss and accuracy."""
    if bar is None:
        return
    bar.update(1)
    shown = {"loss": f"{history.loss[-1]:.4g}"}
    if history.val_loss:
        shown["val_loss"] = f"{history.val_loss[-1]:.4g}"
    if history.accuracy:
        shown["acc"] = f"{history.accuracy[-1]:.3f}"
    bar.set_postfix(shown)
