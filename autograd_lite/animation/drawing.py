"""The artists of a scene, drawn once: clusters, edges, value boxes, op ovals, the bands and the legend."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

from autograd_lite.animation.layout import _op_text
from autograd_lite.animation.style import (
    _CHAR,
    _EDGE,
    _HIGHLIGHT,
    _KEY,
    _MONO,
    _OP_FONT,
    _VALUE_FONT,
    _printable,
    _text_colour,
)
from autograd_lite.engine import Value
from autograd_lite.viz import grad_colour

if TYPE_CHECKING:
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    from autograd_lite.animation.scene import _Scene


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
