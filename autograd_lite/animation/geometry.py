"""Where the graph sits in a frame, at what scale, and the window a large graph is followed through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograd_lite.animation.layout import _Layout
from autograd_lite.animation.style import _DPI, _LEGIBLE_SCALE, _MAX_SCALE, _OVERVIEW, _PAD

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
