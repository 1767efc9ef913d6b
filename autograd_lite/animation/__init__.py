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

The package, by layer (at run time each module imports only the ones above
it, and matplotlib and Pillow only when a frame is drawn):

* :mod:`~autograd_lite.animation.style`: colours, fonts and sizes; how labels
  and numbers are shown.
* :mod:`~autograd_lite.animation.walk`: the steps of one backward pass
  recorded, the graph's grads put back.
* :mod:`~autograd_lite.animation.layout`: Graphviz once, for the boxes'
  positions and the edges' splines.
* :mod:`~autograd_lite.animation.geometry`: where the graph sits in a frame,
  its scale, and the window a large graph is followed through.
* :mod:`~autograd_lite.animation.arguments`: every argument checked before
  anything is computed or written.
* :mod:`~autograd_lite.animation.drawing` and
  :mod:`~autograd_lite.animation.overview`: the artists, made once.
* :mod:`~autograd_lite.animation.scene`: the figure, restyled for each frame.
* :mod:`~autograd_lite.animation.writers`: the GIF and MP4 writers and the
  file written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograd_lite.animation.arguments import _VIEWS, FORMATS, _check_arguments, _Options
from autograd_lite.animation.layout import _box_text, _layout
from autograd_lite.animation.scene import _Scene
from autograd_lite.animation.walk import _record
from autograd_lite.animation.writers import (
    FFMPEG_HINT,
    MovieWriterNotFoundError,
    _check_writer,
    _kept_frames,
    _write_atomically,
    _write_gif,
    _write_mp4,
)
from autograd_lite.engine import Value
from autograd_lite.viz import GRAD_SCALE, grad_colour

__all__ = ["FFMPEG_HINT", "FORMATS", "MovieWriterNotFoundError", "export_steps_animation"]


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
