"""Render the backward-pass walkthrough as an animation for slides: a GIF or an MP4.

:func:`export_steps_animation` turns the steps of :func:`autograd_lite.stepper.backward_steps`
into the frames of a ``.gif`` (always possible: Pillow, which matplotlib
depends on) or an ``.mp4`` (when the ``ffmpeg`` program is installed), with
no browser and no notebook needed::

    >>> from autograd_lite import Value
    >>> from autograd_lite.animation import export_steps_animation
    >>> x, w = Value(0.5, label="x"), Value(-1.2, label="w")
    >>> o = (x * w).tanh()
    >>> export_steps_animation(o, "steps.gif")  # doctest: +SKIP
    PosixPath('steps.gif')

The graph is laid out once by Graphviz's ``dot`` (the picture of
:func:`autograd_lite.viz.draw_graph`: each value a box with its name, data and
grad, each op a small oval, nn modules boxed) and every frame is drawn from
that layout with matplotlib, applying one step as data: the current edge in
orange, the value whose gradient flows back and the child that receives it
outlined in orange, the child's grad updated, every box coloured by its grad
(:func:`autograd_lite.viz.grad_colour`), values whose grad is final outlined
in black, and the step's chain-rule line (``step.explain()``) with the child's
running total as the caption. There is one frame per step, plus a first frame
before any step and a last one with every grad final; ``max_frames`` keeps
evenly spaced frames of a long walk (each kept frame says so). A graph too
large to read whole at the frame's size (an MLP's) is drawn at a legible
scale instead, the view following the steps, with the whole graph small at
the right and the current window marked on it (``view="auto"``).

The walk starts from zero leaf gradients, and every ``.grad`` of the graph is
put back as it was afterwards, as :func:`autograd_lite.stepper.explore` does.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz

from autograd_lite._optional import install_hint, optional_dependency
from autograd_lite.engine import Value, topological_order
from autograd_lite.stepper import Step, backward_steps, value_names
from autograd_lite.viz import GRAD_SCALE, DotNotFoundError, draw_graph, grad_colour, module_paths

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.text import Text
    from PIL.Image import Image

__all__ = ["FORMATS", "MovieWriterNotFoundError", "export_steps_animation"]

FORMATS = (".gif", ".mp4")
"""The extensions :func:`export_steps_animation` writes."""

_VIEWS = ("auto", "fit", "follow")

FFMPEG_HINT = (
    "Writing an .mp4 needs the `ffmpeg` program on PATH (matplotlib's FFMpegWriter drives it), "
    "and it was not found. Install ffmpeg: Debian/Ubuntu `sudo apt-get install ffmpeg`, "
    "Fedora `sudo dnf install ffmpeg`, macOS `brew install ffmpeg`, conda `conda install -c conda-forge "
    f"ffmpeg`, Windows: a build from ffmpeg.org on PATH; or {install_hint('imageio_ffmpeg')} "
    "(imageio-ffmpeg, whose ffmpeg is used when none is on PATH). Or write a .gif, which needs only Pillow."
)

_HIGHLIGHT = "#ff7f00"  # the orange of viz's highlight
_EDGE = "#404040"
_FINAL = "#202020"
_MONO = "DejaVu Sans Mono"  # ships with matplotlib, so text widths are known: 0.602 em per character
_CHAR = 0.602
_VALUE_FONT = 14.0  # graph points (1/72 inch in dot's layout)
_OP_FONT = 11.0
_NAME_CHARS = 16  # longer names are cut with an ellipsis in the box (the caption has them whole)
_MAX_SCALE = 2.0  # a tiny graph is enlarged at most this much
_MIN_TEXT_PX = 6.0  # below this the boxes carry colour only
_OVERVIEW = 0.2  # share of the width for the overview when the view follows the steps
_LEGIBLE_SCALE = 0.85  # a graph that fits only smaller than this is followed step by step at this scale
_DPI = 100
_PAD = 6.0  # pixels around the graph, so outlines at its border are not cut
_KEY = "orange: the current step's edge, its value and the child it updates; black border: grad is final"
_HOLD_FIRST, _HOLD_LAST = 2, 3  # the first and last frames stay up this many frame times


class MovieWriterNotFoundError(RuntimeError):
    """An ``.mp4`` was asked for and ``ffmpeg`` is not installed; the message says how to install it."""


# ----------------------------------------------------------------------------
# The walk: every step recorded, the graph's grads put back.


@dataclass
class _Walk:
    """The steps of one backward pass from zero, and what each frame shows.

    Frame 0 is the start (root seeded with 1), frame ``k`` (1..N) the state
    after step ``k`` with that step current, frame ``N + 1`` the end.
    """

    root: Value
    nodes: list[Value]
    names: dict[Value, str]
    steps: list[Step]
    last_touch: dict[Value, int]  # the frame after which a value's grad is final

    @property
    def frames(self) -> int:
        return len(self.steps) + 2

    def start_grads(self) -> dict[Value, float]:
        grads = dict.fromkeys(self.nodes, 0.0)
        grads[self.root] = 1.0
        return grads

    def step_at(self, frame: int) -> Step | None:
        return self.steps[frame - 1] if 1 <= frame <= len(self.steps) else None

    def caption(self, frame: int) -> list[str]:
        root, count = self.names[self.root], len(self.steps)
        step = self.step_at(frame)
        if frame == 0:
            then = (
                f"Each of the {count} steps sends the gradient back along one edge (chain rule)."
                if count
                else f"{root} is a leaf: there is no edge to step over."
            )
            return [f"d{root}/d{root} = 1.0: the backward pass starts at the output {root}.", then]
        if step is None:
            return [f"Done: {count} steps; every grad is final, as {root}.backward() leaves it."]
        final = "  (final)" if self.last_touch.get(step.child, 0) == frame else ""
        text = step.explain()
        cut = text.rfind(f"; {step.child_name}.grad:")  # explain() may end with the running total itself
        if cut >= 0:
            return [text[:cut], text[cut + 2 :] + final]
        return [
            text,
            f"{step.child_name}.grad: {_short(step.grad_before)} -> {_short(step.child_grad)}{final}",
        ]

    def counter(self, frame: int) -> str:
        if frame == 0:
            return f"start (step 0 of {len(self.steps)})"
        if frame == self.frames - 1:
            return f"done ({len(self.steps)} steps)"
        return f"step {frame} of {len(self.steps)}"


def _record(root: Value) -> _Walk:
    """Walk ``backward_steps(root, zero_grad=True)`` and put every grad back afterwards."""
    nodes = topological_order(root)
    saved = [(node, node.grad) for node in nodes]
    try:
        steps = list(backward_steps(root, zero_grad=True))
    finally:
        for node, grad in saved:
            node.grad = grad
    last_touch = {step.child: step.index + 1 for step in steps}
    return _Walk(root, nodes, value_names(root), steps, last_touch)


def _short(x: float) -> str:
    text = f"{x:.6g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def _printable(text: str) -> str:
    """Labels are data: control characters are shown as ``?``, never interpreted."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


# ----------------------------------------------------------------------------
# Layout: Graphviz once, for positions and edge splines.


@dataclass(frozen=True)
class _Box:
    x: float  # centre, in graph points
    y: float
    width: float
    height: float


@dataclass
class _Layout:
    width: float
    height: float
    values: dict[Value, _Box]
    ops: dict[Value, _Box]
    edges: dict[str, tuple[list[tuple[float, float]], tuple[float, float] | None]]  # spline, arrow tip
    clusters: list[tuple[str, tuple[float, float, float, float], tuple[float, float] | None]]


def _box_text(walk: _Walk, number_format: str) -> dict[Value, list[str]]:
    """Each value's three lines (name, data, the widest grad it will show), to size its box."""
    paths = module_paths(walk.nodes)
    widest = {node: format(grad, number_format) for node, grad in walk.start_grads().items()}
    for step in walk.steps:
        text = format(step.child_grad, number_format)
        if len(text) > len(widest[step.child]):
            widest[step.child] = text
    lines = {}
    for node in walk.nodes:
        name, path = walk.names[node], paths.get(node)
        if path and name.startswith(path + "."):
            name = name[len(path) + 1 :]  # inside its module's box, "w.0" says enough
        name = _printable(name)
        if len(name) > _NAME_CHARS:
            name = name[: _NAME_CHARS - 1] + "\u2026"
        lines[node] = [name, f"data {format(node.data, number_format)}", f"grad {widest[node]}"]
    return lines


def _value_size(lines: Sequence[str]) -> tuple[float, float]:
    chars = max(len(line) for line in lines)
    return chars * _CHAR * _VALUE_FONT + 14.0, len(lines) * 1.3 * _VALUE_FONT + 8.0


def _op_size(op: str) -> tuple[float, float]:
    return max(3, len(op)) * _CHAR * _OP_FONT + 16.0, 22.0


def _op_text(node: Value) -> str:
    text = _printable(str(node._op))
    return text if len(text) <= 8 else text[:7] + "\u2026"


def _layout(walk: _Walk, lines: dict[Value, list[str]], rankdir: str) -> _Layout:
    """Lay out draw_graph's picture with boxes sized for our text; one ``dot`` run."""
    graph = draw_graph(walk.root, rankdir=rankdir, names=walk.names, collapse=False, legend=False)
    graph.attr(nodesep="0.15", ranksep="0.35")  # a little tighter than the picture: frames are small
    ids = {}
    for i, node in enumerate(walk.nodes):  # viz's contract: value i of topological_order is "v<i>"
        ids[f"v{i}"], ids[f"v{i}_op"] = node, node
        width, height = _value_size(lines[node])
        graph.node(
            f"v{i}",
            label="",
            shape="box",
            fixedsize="true",
            width=f"{width / 72:.4f}",
            height=f"{height / 72:.4f}",
        )
        if node._prev:
            width, height = _op_size(_op_text(node))
            graph.node(
                f"v{i}_op",
                label="",
                shape="ellipse",
                fixedsize="true",
                width=f"{width / 72:.4f}",
                height=f"{height / 72:.4f}",
            )
    try:
        data = json.loads(graph.pipe(format="json0", encoding="utf-8"))
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, DotNotFoundError):
            raise
        raise DotNotFoundError(graph.source) from error
    width, height = _numbers(data["bb"])[2:]
    layout = _Layout(width, height, values={}, ops={}, edges={}, clusters=[])
    for item in data.get("objects", []):
        _place(layout, item, ids)
    for edge in data.get("edges", []):
        if "id" in edge and "pos" in edge:
            layout.edges[edge["id"]] = _spline(edge["pos"])
    missing = [node for node in walk.nodes if node not in layout.values]
    if missing:
        raise RuntimeError(f"the Graphviz layout has no position for {len(missing)} value(s)")
    return layout


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def _place(layout: _Layout, item: dict[str, Any], ids: dict[str, Value]) -> None:
    """Record one object of ``dot -Tjson0``: a value's box, an op's oval or a cluster."""
    name = str(item.get("id", item.get("name", "")))
    if "bb" in item and str(item.get("name", "")).startswith("cluster"):
        x0, y0, x1, y1 = _numbers(item["bb"])
        label_pos = _numbers(item["lp"]) if "lp" in item else None
        point = (label_pos[0], label_pos[1]) if label_pos else None
        layout.clusters.append((_printable(str(item.get("label", ""))), (x0, y0, x1, y1), point))
        return
    if name not in ids or "pos" not in item:
        return
    x, y = _numbers(item["pos"])
    box = _Box(x, y, float(item["width"]) * 72, float(item["height"]) * 72)
    (layout.ops if name.endswith("_op") else layout.values)[ids[name]] = box


def _spline(pos: str) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
    """Graphviz's edge ``pos`` (``e,x,y`` then cubic Bezier points): the first piece and its arrow tip."""
    points, tip = [], None
    for token in pos.split(";")[0].split():
        if token.startswith("e,"):
            x, y = _numbers(token[2:])
            tip = (x, y)
        elif not token.startswith("s,"):
            x, y = _numbers(token)
            points.append((x, y))
    return points, tip


# ----------------------------------------------------------------------------
# The scene: artists made once, restyled per frame.


def _text_colour(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "black"


Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class _Frame:
    """Geometry of the picture, in pixels: the bands, where the graph sits and its scale."""

    width: int
    height: int
    scale: float  # pixels per graph point
    header: float  # heights of the bands above and below the graph
    footer: float
    axes: Rect  # left, bottom, width, height of the graph's axes
    follow: bool  # the view pans to each step instead of showing the whole graph

    def points(self, px: float) -> float:
        """Matplotlib font points for ``px`` pixels."""
        return px * 72 / _DPI


def _frame_geometry(layout: _Layout, size: tuple[int, int], view: str) -> _Frame:
    """Fit the whole graph, or (too large to read that way) a legible window that follows the steps."""
    width, height = size
    header, footer, margin = 0.105 * height, 0.19 * height, 0.02 * width
    room_w, room_h = width - 2 * margin, height - header - footer - margin
    fit = min(
        _MAX_SCALE,
        (room_w - 2 * _PAD) / max(layout.width, 1.0),
        (room_h - 2 * _PAD) / max(layout.height, 1.0),
    )
    follow = view == "follow" or (view == "auto" and fit < _LEGIBLE_SCALE)
    if follow:  # the right fifth holds the overview
        axes = (margin, footer, room_w * (1 - _OVERVIEW) - margin, room_h)
        return _Frame(width, height, max(fit, _LEGIBLE_SCALE), header, footer, axes, True)
    w_px, h_px = layout.width * fit + 2 * _PAD, layout.height * fit + 2 * _PAD
    axes = ((width - w_px) / 2, footer + (room_h - h_px) / 2, w_px, h_px)
    return _Frame(width, height, fit, header, footer, axes, False)


def _graph_axes(figure: Figure, frame: _Frame) -> Axes:
    left, bottom, w_px, h_px = frame.axes
    axes = figure.add_axes(
        (left / frame.width, bottom / frame.height, w_px / frame.width, h_px / frame.height)
    )
    axes.set_axis_off()
    return axes


def _clamp(low: float, high: float, size: float, centre: float) -> tuple[float, float]:
    """A window of ``size`` around ``centre`` kept inside ``[low, high]`` (centred if it is larger)."""
    start = centre - size / 2
    start = (low + high - size) / 2 if size >= high - low else min(max(start, low), high - size)
    return start, start + size


def _keep(centre: float, size: float, window: float, wanted: float) -> float:
    """The window centre nearest ``wanted`` that keeps an item (``centre``, ``size``) in view."""
    slack = max(0.0, (window - size) / 2 - 10.0)
    return min(max(wanted, centre - slack), centre + slack)


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


def _draw_clusters(scene: _Scene) -> None:
    from matplotlib.patches import FancyBboxPatch

    size = scene.frame.points(10 * scene.frame.scale)
    for label, (x0, y0, x1, y1), point in scene.layout.clusters:
        scene.axes.add_artist(  # add_artist, not add_patch: the limits are ours, no need to track them
            FancyBboxPatch(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=6",
                facecolor="none",
                edgecolor="#9a9a9a",
                linestyle="--",
                linewidth=scene._line(0.8),
                zorder=0,
            )
        )
        if point is not None and scene.text_visible:
            text = scene.axes.text(
                point[0],
                point[1],
                label,
                ha="center",
                va="center",
                fontsize=size,
                color="#555555",
                fontfamily=_MONO,
                parse_math=False,
                zorder=1,
                clip_on=True,
            )
            scene.labels.append((text, point))


def _draw_edges(scene: _Scene) -> None:
    from matplotlib.patches import PathPatch, Polygon
    from matplotlib.path import Path as MplPath

    for edge_id, (points, tip) in scene.layout.edges.items():
        if len(points) < 2:
            continue
        codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(points) - 1)
        if (len(points) - 1) % 3:
            codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1)
        line = PathPatch(
            MplPath(points, codes), facecolor="none", edgecolor=_EDGE, linewidth=scene._line(1.0), zorder=2
        )
        scene.axes.add_artist(line)
        artists: list[Patch] = [line]
        if tip is not None:
            (x0, y0), (x1, y1) = points[-1], tip
            length = math.hypot(x1 - x0, y1 - y0) or 1.0
            nx, ny = -(y1 - y0) / length * 3.5, (x1 - x0) / length * 3.5
            head = Polygon(
                [(x1, y1), (x0 + nx, y0 + ny), (x0 - nx, y0 - ny)],
                closed=True,
                facecolor=_EDGE,
                edgecolor=_EDGE,
                linewidth=scene._line(0.5),
                zorder=2,
            )
            scene.axes.add_artist(head)
            artists.append(head)
        scene.edges[edge_id] = artists


def _draw_values(scene: _Scene, lines: dict[Value, list[str]]) -> None:
    from matplotlib.patches import FancyBboxPatch

    size = scene.frame.points(_VALUE_FONT * scene.frame.scale)
    for node, box in scene.layout.values.items():
        x0, y0 = box.x - box.width / 2, box.y - box.height / 2
        patch = FancyBboxPatch(
            (x0, y0), box.width, box.height, boxstyle="round,pad=0,rounding_size=3", zorder=3
        )
        scene.axes.add_artist(patch)
        scene.boxes[node] = patch
        if not scene.text_visible:
            continue
        spacing = 1.3 * _VALUE_FONT
        top = box.y + spacing * len(lines[node]) / 2
        scene.texts[node] = [
            scene.axes.text(
                box.x,
                top - spacing * (k + 0.5),
                text,
                ha="center",
                va="center",
                fontsize=size,
                fontfamily=_MONO,
                fontweight="bold" if k == 0 else "normal",
                parse_math=False,
                zorder=6,
                clip_on=True,
            )
            for k, text in enumerate(lines[node])
        ]


def _draw_ops(scene: _Scene) -> None:
    from matplotlib.patches import Ellipse

    size = scene.frame.points(_OP_FONT * scene.frame.scale)
    for node, box in scene.layout.ops.items():
        oval = Ellipse(
            (box.x, box.y),
            box.width,
            box.height,
            facecolor="white",
            edgecolor=_EDGE,
            linewidth=scene._line(0.8),
            zorder=3,
        )
        scene.ovals[node] = [scene.axes.add_artist(oval)]
        if scene.text_visible:
            scene.ovals[node].append(
                scene.axes.text(
                    box.x,
                    box.y,
                    _op_text(node),
                    ha="center",
                    va="center",
                    fontsize=size,
                    fontfamily=_MONO,
                    parse_math=False,
                    zorder=6,
                    clip_on=True,
                )
            )


def _draw_bands(scene: _Scene) -> tuple[Text, Text]:
    """The title with the key and notes under it, the colour legend, and the caption band at the bottom."""
    figure, frame = scene.figure, scene.frame
    title_px = 0.032 * frame.height
    small, top = 0.6 * title_px, 1 - 0.012 - 1.4 * title_px / frame.height
    plain: dict[str, Any] = {"ha": "left", "va": "top", "parse_math": False}
    title = figure.text(0.015, 1 - 0.012, "", fontsize=frame.points(title_px), fontweight="bold", **plain)
    figure.text(0.015, top, _KEY, fontsize=frame.points(small), color="#555555", **plain)
    below = top - 1.35 * small / frame.height
    figure.text(0.015, below, _note(scene), fontsize=frame.points(small), color="#b35900", **plain)
    _draw_legend(scene)
    return title, _draw_caption_band(scene)


def _draw_caption_band(scene: _Scene) -> Text:
    """A pale orange band with an orange bar at its left, like the HTML walkthrough's explanation."""
    from matplotlib.patches import Rectangle

    figure, frame = scene.figure, scene.frame
    band = (frame.footer - 0.012 * frame.height) / frame.height
    for width, colour in ((0.976, "#fff4e5"), (0.005, _HIGHLIGHT)):
        figure.add_artist(
            Rectangle(
                (0.012, 0.012), width, band, transform=figure.transFigure, facecolor=colour, edgecolor="none"
            )
        )
    return figure.text(
        0.03,
        0.012 + band / 2,
        "",
        ha="left",
        va="center",
        fontfamily=_MONO,
        linespacing=1.35,
        parse_math=False,
    )


def _note(scene: _Scene) -> str:
    options, walk = scene.options, scene.walk
    notes = []
    if options.kept < walk.frames:
        notes.append(
            f"showing {options.kept} of {walk.frames} frames (max_frames={options.kept}): "
            f"the steps in between are applied but not drawn"
        )
    if scene.frame.follow:
        notes.append("the view follows the steps (the whole graph is too large to read); right: all of it")
    elif not scene.text_visible:
        notes.append("graph too large for text at this size: boxes show their grad by colour only")
    return "; ".join(notes)


def _draw_legend(scene: _Scene) -> None:
    """Swatches from -scale[1] to +scale[1] in the top right corner, as viz's legend."""
    from matplotlib.patches import Rectangle

    frame, (low, high) = scene.frame, scene.options.grad_scale
    ticks = [10 ** (math.log10(low) + (math.log10(high) - math.log10(low)) * i / 3) for i in range(4)]
    values = [-t for t in reversed(ticks)] + [0.0, *ticks]
    cell_w, cell_h = 0.042, 0.03
    left, bottom = 0.985 - cell_w * len(values), 1 - 0.012 - 0.032 - cell_h
    font = frame.points(0.0185 * frame.height)
    scene.figure.text(
        left,
        1 - 0.012,
        "grad colour: red > 0, blue < 0, log |grad|",
        ha="left",
        va="top",
        fontsize=font,
        color="#333333",
        parse_math=False,
    )
    for k, value in enumerate(values):
        fill = grad_colour(value, scene.options.grad_scale)
        scene.figure.add_artist(
            Rectangle(
                (left + k * cell_w, bottom),
                cell_w,
                cell_h,
                facecolor=fill,
                edgecolor="#777777",
                linewidth=0.5,
                transform=scene.figure.transFigure,
            )
        )
        scene.figure.text(
            left + (k + 0.5) * cell_w,
            bottom + cell_h / 2,
            f"{value:+.0e}" if value else "0",
            ha="center",
            va="center",
            fontsize=font * 0.85,
            color=_text_colour(fill),
            parse_math=False,
        )


def _set_caption(scene: _Scene, lines: list[str]) -> None:
    """The caption in the largest monospace size (within bounds) that fits; wrapped if it must be."""
    frame = scene.frame
    room = frame.width * (1 - 0.03 - 0.02)
    lines = [_printable(line) for line in lines]
    largest, smallest = 0.034 * frame.height, 0.021 * frame.height
    longest = max(len(line) for line in lines)
    px = max(smallest, min(largest, room / (_CHAR * max(longest, 1))))
    per_line = max(10, int(room / (_CHAR * px)))
    wrapped = [
        piece for line in lines for piece in textwrap.wrap(line, per_line, break_on_hyphens=False) or [""]
    ]
    if len(wrapped) > 4:
        wrapped = [*wrapped[:3], wrapped[3][: per_line - 1] + "\u2026"]
    scene.caption.set_text("\n".join(wrapped))
    scene.caption.set_fontsize(frame.points(px))


# ----------------------------------------------------------------------------
# Arguments, writers, the file.


@dataclass(frozen=True)
class _Options:
    fps: float
    size: tuple[int, int]
    title: str
    number_format: str
    grad_scale: tuple[float, float]
    view: str
    kept: int  # frames drawn


def _check_arguments(root: Any, path: Any, fps: Any, max_frames: Any, size: Any, number_format: str) -> Path:
    """Every argument checked before anything is computed or written; returns the target path."""
    if not isinstance(root, Value):
        raise TypeError(f"export_steps_animation: root must be a Value, got {type(root).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"export_steps_animation: path must be a str or a path, got {type(path).__name__}")
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise ValueError(
            f"export_steps_animation: cannot tell the format from {str(path)!r}; "
            f"use one of the extensions {', '.join(FORMATS)}"
        )
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(
            f"export_steps_animation: fps must be a positive number of frames per second, got {fps!r}"
        )
    if max_frames is not None and (
        isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 2
    ):
        raise ValueError(
            f"export_steps_animation: max_frames must be None or an int of at least 2 (the first "
            f"and last frames), got {max_frames!r}"
        )
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and 200 <= n <= 8192 for n in size)
    ):
        raise ValueError(
            f"export_steps_animation: size must be (width, height) in pixels, each an int "
            f"from 200 to 8192, got {size!r}"
        )
    if target.suffix.lower() == ".mp4" and (size[0] % 2 or size[1] % 2):
        raise ValueError(
            f"export_steps_animation: an .mp4 (H.264) needs an even width and height, got {size!r}"
        )
    try:
        format(1.0, number_format)
    except (ValueError, TypeError):
        raise ValueError(f"number_format {number_format!r} is not a float format spec like '.4f'") from None
    if not target.parent.is_dir():
        raise FileNotFoundError(f"export_steps_animation: the folder {str(target.parent)!r} does not exist")
    return target


def _check_writer(suffix: str) -> None:
    """Fail early, with what to install, when the file cannot be written."""
    with optional_dependency("matplotlib", "export_steps_animation"):
        import matplotlib  # noqa: F401
        import PIL  # noqa: F401  # Pillow, a dependency of matplotlib
    if suffix == ".mp4":
        if _ffmpeg_path() is None:
            raise MovieWriterNotFoundError(FFMPEG_HINT)


def _ffmpeg_path() -> str | None:
    """The ffmpeg to write with: matplotlib's (on PATH), else the one ``imageio-ffmpeg`` ships, else None."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter

    if FFMpegWriter.isAvailable():
        return str(matplotlib.rcParams["animation.ffmpeg_path"])
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return None


def _kept_frames(total: int, max_frames: int | None) -> list[int]:
    """All frames, or ``max_frames`` evenly spaced ones that include the first and the last."""
    if max_frames is None or total <= max_frames:
        return list(range(total))
    return sorted({round(i * (total - 1) / (max_frames - 1)) for i in range(max_frames)})


def _holds(kept: list[int]) -> list[int]:
    """How many frame times each kept frame stays up: the first and last a little longer."""
    return [_HOLD_FIRST if i == 0 else _HOLD_LAST if i == len(kept) - 1 else 1 for i in range(len(kept))]


def _write_gif(scene: _Scene, kept: list[int], target: Path) -> None:
    frame_ms = max(20, round(1000 / scene.options.fps / 10) * 10)  # GIF counts in 1/100 s
    images: Iterator[Image] = (scene.render(frame) for frame in kept)  # drawn while Pillow writes
    first = next(images)
    durations = [hold * frame_ms for hold in _holds(kept)]
    first.save(target, format="GIF", save_all=True, append_images=images, duration=durations, loop=0)


def _write_mp4(scene: _Scene, kept: list[int], target: Path) -> None:
    import matplotlib
    from matplotlib.animation import FFMpegWriter

    with matplotlib.rc_context({"animation.ffmpeg_path": _ffmpeg_path()}):  # only for this file
        writer = FFMpegWriter(fps=scene.options.fps, codec="h264")  # type: ignore[arg-type]  # ffmpeg takes 2.5
        _grab_frames(scene, kept, target, writer)


def _grab_frames(scene: _Scene, kept: list[int], target: Path, writer: Any) -> None:
    with writer.saving(scene.figure, str(target), dpi=_DPI):
        for frame, hold in zip(kept, _holds(kept)):
            scene.show(frame)
            for _ in range(hold):
                writer.grab_frame()


def _write_atomically(target: Path, write: Any) -> None:
    """``write(temporary)`` next to ``target``, then rename: a failure leaves no half file behind."""
    temporary = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.partial{target.suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def export_steps_animation(
    root: Value,
    path: str | os.PathLike[str],
    *,
    fps: float = 1.0,
    max_frames: int | None = None,
    size: tuple[int, int] = (1280, 720),
    title: str = "Stepping through backprop",
    rankdir: str = "LR",
    number_format: str = ".4f",
    grad_scale: tuple[float, float] = GRAD_SCALE,
    view: str = "auto",
) -> Path:
    """Write the walkthrough of ``root``'s backward pass as an animated ``.gif`` or an ``.mp4``.

    One frame per step of :func:`autograd_lite.stepper.backward_steps`, plus a
    first frame before any step and a last one with every grad final (the
    first stays up 2 frame times, the last 3). The graph is laid out once
    with Graphviz's ``dot``; each frame highlights the current edge and the
    two values it joins, shows the child's updated grad, colours every box by
    its grad and captions the step's chain-rule line and the running total.

    Args:
        root: the output to differentiate.
        path: the file to write; ``.gif`` (Pillow) or ``.mp4`` (needs ``ffmpeg``).
            It is written under a temporary name and renamed at the end, so a
            failure leaves no half file and an existing file as it was.
        fps: frames per second (GIF frame times are whole hundredths of a second).
        max_frames: keep at most this many evenly spaced frames (the first and
            last included) for long walks; each kept frame notes the subsampling.
            A GIF holds its frames in memory while it is written (about 1 MB
            each at 1280x720), so a graph of thousands of steps wants this.
        size: ``(width, height)`` of each frame in pixels (even for ``.mp4``).
        title: shown at the top left of every frame.
        rankdir: layout direction, as for :func:`autograd_lite.viz.draw_graph`.
        number_format: format spec for data and grad in the boxes.
        grad_scale: ``(palest, darkest)`` sizes of ``|grad|`` for the colour.
        view: ``"fit"`` draws the whole graph in every frame; ``"follow"`` draws
            it at a legible scale and pans to each step, with the whole graph
            small in an inset; ``"auto"`` (default) follows when the whole
            graph would be too small to read.

    Returns:
        The path written. Every grad of the graph is left as it was.

    Raises:
        TypeError, ValueError: a bad argument (not a Value, an unknown
            extension, ``fps <= 0``, ...); nothing is written.
        autograd_lite.viz.DotNotFoundError: Graphviz's ``dot`` is missing.
        MovieWriterNotFoundError: ``.mp4`` without ``ffmpeg`` on ``PATH``.
    """
    target = _check_arguments(root, path, fps, max_frames, size, number_format)
    grad_colour(0.0, grad_scale)  # validates the scale
    if view not in _VIEWS:
        raise ValueError(f"export_steps_animation: view must be one of {', '.join(_VIEWS)}; got {view!r}")
    _check_writer(target.suffix.lower())
    walk = _record(root)
    lines = _box_text(walk, number_format)
    layout = _layout(walk, lines, rankdir)
    kept = _kept_frames(walk.frames, max_frames)
    options = _Options(float(fps), (size[0], size[1]), title, number_format, grad_scale, view, len(kept))
    scene = _Scene(walk, layout, lines, options)
    writer = _write_gif if target.suffix.lower() == ".gif" else _write_mp4
    _write_atomically(target, lambda temporary: writer(scene, kept, temporary))
    return target
