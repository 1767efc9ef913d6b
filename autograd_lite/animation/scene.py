"""The scene: one matplotlib figure of the laid-out graph, artists made once, restyled per frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autograd_lite.animation.drawing import (
    _draw_bands,
    _draw_clusters,
    _draw_edges,
    _draw_ops,
    _draw_values,
    _set_caption,
)
from autograd_lite.animation.geometry import Rect, _clamp, _frame_geometry, _graph_axes, _keep
from autograd_lite.animation.layout import _Box, _Layout
from autograd_lite.animation.overview import _Overview
from autograd_lite.animation.style import (
    _DPI,
    _FINAL,
    _HIGHLIGHT,
    _MIN_TEXT_PX,
    _PAD,
    _VALUE_FONT,
    _printable,
    _text_colour,
)
from autograd_lite.animation.walk import _Walk
from autograd_lite.engine import Value
from autograd_lite.stepper import Step
from autograd_lite.viz import grad_colour

if TYPE_CHECKING:
    from matplotlib.patches import Patch
    from matplotlib.text import Text
    from PIL.Image import Image

    from autograd_lite.animation.arguments import _Options


class _Scene:
    """One matplotlib figure of the laid-out graph; :meth:`show` puts a frame on it."""

    def __init__(
        self, walk: _Walk, layout: _Layout, lines: dict[Value, list[str]], options: _Options
    ) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.walk, self.layout, self.options = walk, layout, options
        self.ids = {node: f"v{i}" for i, node in enumerate(walk.nodes)}
        width, height = options.size
        self.figure = Figure(figsize=((width + 0.01) / _DPI, (height + 0.01) / _DPI), dpi=_DPI)
        self.figure.set_facecolor("white")
        FigureCanvasAgg(self.figure)
        self.frame = _frame_geometry(layout, options.size, options.view)
        self.text_visible = _VALUE_FONT * self.frame.scale >= _MIN_TEXT_PX
        self.axes = _graph_axes(self.figure, self.frame)
        self.boxes: dict[Value, Patch] = {}
        self.texts: dict[Value, list[Text]] = {}
        self.ovals: dict[Value, list[Any]] = {}
        self.edges: dict[str, list[Patch]] = {}
        self.labels: list[tuple[Text, tuple[float, float]]] = []  # cluster labels and where they are
        _draw_clusters(self)
        _draw_edges(self)
        _draw_values(self, lines)
        _draw_ops(self)
        self.title, self.caption = _draw_bands(self)
        self.overview = _Overview(self) if self.frame.follow else None
        self.window: Rect | None = None
        self._look_at(self.layout.values[walk.root], force=True)
        self.grads = walk.start_grads()
        self.applied = 0  # steps applied to self.grads
        self.hot: list[tuple[Any, dict[str, Any]]] = []  # artists restyled for the current step

    def show(self, frame: int) -> None:
        """Put ``frame`` on the figure; frames must come in increasing order."""
        walk = self.walk
        while self.applied < min(frame, len(walk.steps)):
            applied = walk.steps[self.applied]
            self.grads[applied.child] = applied.child_grad
            self.applied += 1
        for artist, style in self.hot:
            artist.set(**style)
        self.hot = []
        for node in walk.nodes:
            self._style_value(node, walk.last_touch.get(node, 0) <= frame)
        step = walk.step_at(frame)
        if step is not None:
            self._emphasise(step)
            self._look_at(
                self.layout.values[step.child], self.layout.ops.get(step.node, self.layout.values[step.node])
            )
        else:
            if frame == 0:  # where the pass starts
                self._restyle(self.boxes[walk.root], edgecolor=_HIGHLIGHT, linewidth=self._line(3.0))
            self._look_at(self.layout.values[walk.root])
        if self.overview is not None:
            self.overview.show(self, step)
        self.title.set_text(_printable(f"{self.options.title}  \u00b7  {walk.counter(frame)}"))
        _set_caption(self, walk.caption(frame))

    def _line(self, width: float) -> float:
        """A line width in matplotlib points that scales with the graph, within readable bounds."""
        return min(2.0, max(0.5, self.frame.scale)) * width

    def _style_value(self, node: Value, final: bool) -> None:
        fill = grad_colour(self.grads[node], self.options.grad_scale)
        box = self.boxes[node]
        box.set(
            facecolor=fill,
            edgecolor=_FINAL if final else "#8a8a8a",
            linewidth=self._line(2.2 if final else 0.8),
        )
        colour = _text_colour(fill)
        texts = self.texts.get(node)
        if texts:
            for text in texts:
                text.set_color(colour)
            texts[2].set_text(f"grad {format(self.grads[node], self.options.number_format)}")

    def _restyle(self, artist: Any, **style: Any) -> None:
        self.hot.append((artist, {key: getattr(artist, f"get_{key}")() for key in style}))
        artist.set(**style)

    def _emphasise(self, step: Step) -> None:
        for k, artist in enumerate(self.edges.get(f"{self.ids[step.node]}_e{step.position}", [])):
            self._restyle(artist, edgecolor=_HIGHLIGHT, linewidth=self._line(3.0), zorder=4)
            if k == 1:  # the arrowhead
                self._restyle(artist, facecolor=_HIGHLIGHT)
        for node in (step.node, step.child):
            self._restyle(self.boxes[node], edgecolor=_HIGHLIGHT, linewidth=self._line(3.5), zorder=5)
        if step.node in self.ovals:
            self._restyle(self.ovals[step.node][0], edgecolor=_HIGHLIGHT, linewidth=self._line(3.0))
        texts = self.texts.get(step.child)
        if texts:
            self._restyle(texts[2], fontweight="bold", zorder=6)

    def _look_at(self, first: _Box, *others: _Box, force: bool = False) -> None:
        """Follow mode: keep the window while it shows the boxes, else centre it on them.

        When they do not all fit, ``first`` (the child a step updates) stays in view.
        """
        boxes = (first, *others)
        if not self.frame.follow:
            if force:
                pad = _PAD / self.frame.scale
                self.axes.set_xlim(-pad, max(self.layout.width, 1.0) + pad)
                self.axes.set_ylim(-pad, max(self.layout.height, 1.0) + pad)
            return
        x0 = min(b.x - b.width / 2 for b in boxes)
        x1 = max(b.x + b.width / 2 for b in boxes)
        y0 = min(b.y - b.height / 2 for b in boxes)
        y1 = max(b.y + b.height / 2 for b in boxes)
        w = self.window
        if not force and w is not None and w[0] <= x0 and x1 <= w[2] and w[1] <= y0 and y1 <= w[3]:
            return
        pad, _, _, w_px, h_px = _PAD / self.frame.scale, *self.frame.axes
        width, height = w_px / self.frame.scale, h_px / self.frame.scale
        cx = _keep(first.x, first.width, width, (x0 + x1) / 2)
        cy = _keep(first.y, first.height, height, (y0 + y1) / 2)
        left, right = _clamp(-pad, self.layout.width + pad, width, cx)
        bottom, top = _clamp(-pad, self.layout.height + pad, height, cy)
        self.window = (left, bottom, right, top)
        self.axes.set_xlim(left, right)
        self.axes.set_ylim(bottom, top)
        self._cull()

    def _cull(self) -> None:
        """Hide what is outside the window, so that a frame of a large graph draws only what it shows."""
        assert self.window is not None
        left, bottom, right, top = self.window

        def seen(box: _Box) -> bool:
            return (
                box.x + box.width / 2 >= left
                and box.x - box.width / 2 <= right
                and box.y + box.height / 2 >= bottom
                and box.y - box.height / 2 <= top
            )

        for node, box in self.layout.values.items():
            visible = seen(box)
            for artist in [self.boxes[node], *self.texts.get(node, [])]:
                artist.set_visible(visible)
        for node, box in self.layout.ops.items():
            for artist in self.ovals.get(node, []):
                artist.set_visible(seen(box))
        for text, (x, y) in self.labels:
            text.set_visible(left <= x <= right and bottom <= y <= top)
        for edge_id, (points, _) in self.layout.edges.items():
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            visible = (
                bool(points) and max(xs) >= left and min(xs) <= right and max(ys) >= bottom and min(ys) <= top
            )
            for artist in self.edges.get(edge_id, []):
                artist.set_visible(visible)

    def render(self, frame: int) -> Image:
        """``frame`` as a palette image of exactly ``size`` pixels, ready for a GIF."""
        from PIL import Image as PILImage

        self.show(frame)
        canvas = self.figure.canvas
        canvas.draw()
        size = canvas.get_width_height()
        pixels = canvas.buffer_rgba()  # type: ignore[attr-defined]
        image = PILImage.frombuffer("RGBA", size, pixels, "raw", "RGBA", 0, 1).convert("RGB")
        if image.size != self.options.size:
            image = image.resize(self.options.size)
        return image.quantize(256, method=PILImage.Quantize.FASTOCTREE)
