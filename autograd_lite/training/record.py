"""What training did, and the error that stops it: ``History`` and ``NonFiniteError``."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from typing import Any

from autograd_lite._optional import optional_dependency


class NonFiniteError(FloatingPointError):
    """``fit`` met a loss, output, gradient or weight that is not finite (nan or inf).

    Attributes:
        epoch: the epoch it happened in, counted from 0 (as the callback's).
        step: the optimizer step it happened at (for the validation loss,
            the step after which it was measured), counted from 0.
        sample: the index in ``X`` (or in the validation data, when
            ``validation`` is true) of the first sample found at fault on its
            own, or ``None`` when no single sample is (an update that
            overflowed, a sum of finite losses that did).
        validation: whether it was the validation loss.
        history: the :class:`History` of the complete epochs, with
            ``stop_reason == "nonfinite"``; the model holds the weights it had
            at the end of the last of them (or its starting weights).
    """

    def __init__(
        self, message: str, *, epoch: int, step: int, sample: int | None, validation: bool, history: History
    ) -> None:
        super().__init__(message)
        self.epoch, self.step, self.sample = epoch, step, sample
        self.validation, self.history = validation, history


@dataclass
class History:
    """What ``fit`` did, epoch by epoch, and why it stopped.

    ``seconds`` is the time training took; ``compile_seconds`` the part of it
    spent tracing and compiling the model (``None`` unless ``compile=``).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stop_reason: str = ""
    iterations: int = 0
    best_epoch: int | None = None
    seconds: float = 0.0
    compile_seconds: float | None = None

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def plot(self, ax: Any = None, path: Any = None) -> Any:
        """Plot the loss curves (and accuracy, if measured) with matplotlib.

        Draws on ``ax`` if given, else on a new figure: a pyplot figure (shown
        inline in Jupyter) when no ``path`` is given, otherwise a figure of
        its own, saved to ``path`` and never shown. The matplotlib backend is
        never changed, so later plots in the same kernel show as before.
        Returns the axes.
        """
        if ax is None:
            ax = _new_axes(pyplot=path is None)
        epochs = range(1, self.epochs + 1)
        ax.plot(epochs, self.loss, label="training loss")
        if self.val_loss:
            ax.plot(epochs, self.val_loss, label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"training stopped: {self.stop_reason}")
        handles, labels = ax.get_legend_handles_labels()
        if self.accuracy:
            more_handles, more_labels = self._plot_accuracy(ax, epochs)
            handles, labels = handles + more_handles, labels + more_labels
        ax.legend(handles, labels, loc="center right")
        if path is not None:
            ax.figure.savefig(path, dpi=100, bbox_inches="tight")
        return ax

    def _plot_accuracy(self, ax: Any, epochs: range) -> tuple[list[Any], list[str]]:
        twin = ax.twinx()
        twin.plot(epochs, self.accuracy, color="tab:green", alpha=0.5, label="training accuracy")
        if self.val_accuracy:
            twin.plot(epochs, self.val_accuracy, color="tab:red", alpha=0.5, label="validation accuracy")
        twin.set_ylabel("accuracy")
        twin.set_ylim(0, 1.05)
        handles, labels = twin.get_legend_handles_labels()
        return handles, labels

    def summary(self) -> str:
        """One line: epochs, steps, the last losses and accuracy, why it stopped, how long it took."""
        parts = [f"{self.epochs} epochs, {self.iterations} steps"]
        if self.loss:
            parts.append(f"loss {self.loss[-1]:.4g}")
        if self.val_loss:
            parts.append(f"validation loss {self.val_loss[-1]:.4g}")
        if self.accuracy:
            parts.append(f"accuracy {self.accuracy[-1]:.1%}")
        if self.val_accuracy:
            parts.append(f"validation accuracy {self.val_accuracy[-1]:.1%}")
        parts.append(f"stopped by {self.stop_reason or 'nothing yet'} after {self.seconds:.2f} s")
        return ", ".join(parts)

    def _repr_html_(self) -> str:
        """In Jupyter: the summary line and a small plot of the curves (the plot only with matplotlib)."""
        text = f"<p><b>History</b>: {html.escape(self.summary())}</p>"
        if not self.loss:
            return text
        try:
            ax = _new_axes(pyplot=False, size=(4.5, 2.8))
        except ImportError:
            return text
        self.plot(ax=ax)
        out = io.StringIO()
        ax.figure.savefig(out, format="svg", bbox_inches="tight")
        return text + out.getvalue()[out.getvalue().index("<svg") :]


def _new_axes(pyplot: bool, size: tuple[float, float] = (6, 4)) -> Any:
    """Axes on a new figure: pyplot's (shown inline in Jupyter), or a figure of its own (never shown)."""
    with optional_dependency("matplotlib", "History.plot"):
        if pyplot:
            import matplotlib.pyplot as plt

            return plt.subplots(figsize=size)[1]
        from matplotlib.figure import Figure

        return Figure(figsize=size).subplots()
