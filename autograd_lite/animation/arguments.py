"""The arguments of export_steps_animation: checked before anything is computed or written."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_lite.engine import Value

FORMATS = (".gif", ".mp4")
"""The extensions :func:`~autograd_lite.animation.export_steps_animation` writes."""

_VIEWS = ("auto", "fit", "follow")


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
