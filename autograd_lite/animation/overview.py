"""Follow mode's inset: the whole graph small, coloured by grad, with the window and the current edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autograd_lite.animation.style import _HIGHLIGHT
from autograd_lite.stepper import Step
from autograd_lite.viz import grad_colour

if TYPE_CHECKING:
    from autograd_lite.animation.scene import _Scene


class _Overview:
    """Follow mode's inset: the whole graph small, coloured by grad, with the window and current edge."""

    def __init__(self, scene: _Scene) -> None:
        from matplotlib.collections import LineCollection, PatchCollection
        from matplotlib.patches import Rectangle

        frame, layout = scene.frame, scene.layout
        left, bottom, w_px, h_px = frame.axes
        room = frame.width - left - w_px - 2 * left  # the column right of the graph
        scale = min(room / max(layout.width, 1.0), h_px / max(layout.height, 1.0))
        width, height = max(layout.width * scale, 24.0), max(layout.height * scale, 24.0)
        rect = (
            (frame.width - left - (room + width) / 2) / frame.width,
            (bottom + (h_px - height) / 2) / frame.height,
            width / frame.width,
            height / frame.height,
        )
        self.axes = scene.figure.add_axes(rect, zorder=10)
        self.axes.set_xlim(-8, max(layout.width, 1.0) + 8)
        self.axes.set_ylim(-8, max(layout.height, 1.0) + 8)
        self.axes.set_xticks([])
        self.axes.set_yticks([])
        self.axes.set_facecolor("#ffffffe8")
        for spine in self.axes.spines.values():
            spine.set_edgecolor("#777777")
        self.nodes = list(layout.values)
        boxes = [
            Rectangle((b.x - b.width / 2, b.y - b.height / 2), b.width, b.height)
            for b in layout.values.values()
        ]
        self.boxes = self.axes.add_collection(PatchCollection(boxes, edgecolor="#777777", linewidth=0.2))
        lines = [points for points, _ in layout.edges.values() if len(points) > 1]
        self.axes.add_collection(LineCollection(lines, colors="#9a9a9a", linewidths=0.4))
        self.current = self.axes.plot([], [], color=_HIGHLIGHT, linewidth=2.0, solid_capstyle="round")[0]
        self.window = Rectangle((0, 0), 1, 1, facecolor="none", edgecolor=_HIGHLIGHT, linewidth=1.6)
        self.axes.add_patch(self.window)

    def show(self, scene: _Scene, step: Step | None) -> None:
        self.boxes.set_facecolor(
            [grad_colour(scene.grads[node], scene.options.grad_scale) for node in self.nodes]
        )
        assert scene.window is not None
        left, bottom, right, top = scene.window
        self.window.set_bounds(left, bottom, right - left, top - bottom)
        points = (
            scene.layout.edges.get(f"{scene.ids[step.node]}_e{step.position}", ([], None))[0] if step else []
        )
        self.current.set_data([p[0] for p in points], [p[1] for p in points])
