"""The writers: which frames, GIF (Pillow) or MP4 (ffmpeg), and the file written atomically."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograd_lite._optional import install_hint, optional_dependency
from autograd_lite.animation.style import _DPI, _HOLD_FIRST, _HOLD_LAST

if TYPE_CHECKING:
    from PIL.Image import Image

    from autograd_lite.animation.scene import _Scene

FFMPEG_HINT = (
    "Writing an .mp4 needs the `ffmpeg` program on PATH (matplotlib's FFMpegWriter drives it), "
    "and it was not found. Install ffmpeg: Debian/Ubuntu `sudo apt-get install ffmpeg`, "
    "Fedora `sudo dnf install ffmpeg`, macOS `brew install ffmpeg`, conda `conda install -c conda-forge "
    f"ffmpeg`, Windows: a build from ffmpeg.org on PATH; or {install_hint('imageio_ffmpeg')} "
    "(imageio-ffmpeg, whose ffmpeg is used when none is on PATH). Or write a .gif, which needs only Pillow."
)


class MovieWriterNotFoundError(RuntimeError):
    """An ``.mp4`` was asked for and ``ffmpeg`` is not installed; the message says how to install it."""


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
