"""The demo: train ``MLP(2, [16, 16, 1])`` on two moons and show what happened.

Prints the training and held-out accuracy and why training stopped, and
writes three pictures into the output folder: the decision boundary
(``decision_boundary.png``), the loss curve (``loss_curve.png``) and the
computation graph of one sample's loss (``graph.svg``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograd_lite._optional import optional_dependency
from autograd_lite.data import make_moons, train_test_split
from autograd_lite.engine import Value, no_grad
from autograd_lite.losses import max_margin
from autograd_lite.nn import MLP
from autograd_lite.train import History, evaluate, fit

__all__ = ["DemoResult", "plot_decision_boundary", "run_demo"]


@dataclass
class DemoResult:
    """What the demo produced."""

    model: MLP
    history: History
    train_accuracy: float
    test_accuracy: float
    files: list[Path]


def plot_decision_boundary(
    model: MLP, X: list[list[float]], y: list[int], path: Path, steps: int = 80
) -> None:
    """Colour the plane by the model's class, with the data on top, and save it."""
    with optional_dependency("matplotlib", "the demo's pictures"):
        from matplotlib.figure import Figure  # a figure of its own: the backend is never changed

    xs = [p[0] for p in X]
    ys = [p[1] for p in X]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    y0, y1 = min(ys) - 0.5, max(ys) + 0.5
    gx = [x0 + (x1 - x0) * i / (steps - 1) for i in range(steps)]
    gy = [y0 + (y1 - y0) * j / (steps - 1) for j in range(steps)]
    with no_grad():
        scores = [[model([a, b]).data for a in gx] for b in gy]
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    ax.contourf(gx, gy, scores, levels=[-1e9, 0, 1e9], colors=["#f4b6b6", "#b6d0f4"], alpha=0.8)
    ax.contour(gx, gy, scores, levels=[0], colors="k", linewidths=1)
    ax.scatter(xs, ys, c=["#c0392b" if t < 0 else "#2a5caa" for t in y], s=18, edgecolors="k", linewidths=0.3)
    ax.set_title("MLP(2, [16, 16, 1]) decision boundary on two moons")
    fig.savefig(path, dpi=100, bbox_inches="tight")


def run_demo(
    out: str | Path = "autograd_lite_demo", seed: int = 0, epochs: int = 100, progress: bool | None = None
) -> DemoResult:
    """Train on 200 noisy moons (150 to train, 50 held out) with the hinge loss and SGD."""
    from autograd_lite.viz import save_graph

    with optional_dependency("matplotlib", "the demo's pictures"):  # before training, not after
        import matplotlib  # noqa: F401
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, labels = make_moons(200, noise=0.1, seed=seed)
    y = [2 * t - 1 for t in labels]  # hinge loss wants -1/+1
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=seed)
    model = MLP(2, [16, 16, 1], seed=seed)
    history = fit(
        model,
        X_train,
        y_train,
        loss="hinge",
        lr=lambda k: 1.0 - 0.9 * k / epochs,  # micrograd's demo schedule
        l2=1e-4,
        epochs=epochs,
        tol=1e-3,
        seed=seed,
        progress=progress,
        compile=True,  # trace the model once, replay it compiled: same numbers, several times faster
    )
    _, train_acc = evaluate(model, X_train, y_train, loss="hinge")
    _, test_acc = evaluate(model, X_test, y_test, loss="hinge")

    boundary, curve, graph = out / "decision_boundary.png", out / "loss_curve.png", out / "graph.svg"
    plot_decision_boundary(model, X, y, boundary)
    import matplotlib.pyplot as plt

    ax = history.plot(path=curve)
    plt.close(ax.figure)
    x = [Value(v, label=f"x{i}") for i, v in enumerate(X_test[0])]
    sample_loss = max_margin(model(x), y_test[0])
    sample_loss.label = "loss"
    sample_loss.backward()
    save_graph(sample_loss, graph)
    return DemoResult(model, history, train_acc or 0.0, test_acc or 0.0, [boundary, curve, graph])
