"""The backward-pass walkthrough as a GIF or an MP4: frames, size, grads put back, errors, no half files."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_lite import Value, topological_order
from autograd_lite.animation import MovieWriterNotFoundError, _kept_frames, export_steps_animation
from autograd_lite.nn import MLP
from autograd_lite.stepper import backward_steps
from autograd_lite.viz import DotNotFoundError

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SMALL = (400, 240)  # fast frames for tests that do not look at the pixels


def neuron() -> Value:
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o


def step_count(root: Value) -> int:
    nodes = topological_order(root)
    saved = [node.grad for node in nodes]
    count = sum(1 for _ in backward_steps(root, zero_grad=True))
    for node, grad in zip(nodes, saved):
        node.grad = grad
    return count


def frames_of(path: Path) -> list:
    with Image.open(path) as image:
        frames = []
        for k in range(image.n_frames):
            image.seek(k)
            frames.append(image.convert("RGB"))
        return frames


def orange_pixels(image) -> int:
    """Pixels close to the highlight orange #ff7f00."""
    import numpy as np

    r, g, b = np.asarray(image, dtype=int).transpose(2, 0, 1)
    return int(((r > 225) & (g > 100) & (g < 155) & (b < 60)).sum())


def assert_only(folder: Path, names: set[str]) -> None:
    """No temporary or half-written file left next to the target."""
    assert {p.name for p in folder.iterdir()} == names


@needs_dot
def test_gif_has_one_frame_per_step_plus_first_and_last_at_1280x720(tmp_path):
    o = neuron()
    path = export_steps_animation(o, tmp_path / "steps.gif")
    assert path == tmp_path / "steps.gif"
    with Image.open(path) as image:
        assert image.format == "GIF"
        assert image.n_frames == step_count(o) + 2 == 7
        assert image.size == (1280, 720)
    assert_only(tmp_path, {"steps.gif"})


@needs_dot
def test_each_step_frame_highlights_its_edge_and_the_last_frame_does_not(tmp_path):
    frames = frames_of(export_steps_animation(neuron(), tmp_path / "steps.gif", size=SMALL))
    assert all(frame.size == SMALL for frame in frames)
    last = orange_pixels(frames[-1])  # only the caption's orange bar
    for frame in frames[1:-1]:
        assert orange_pixels(frame) > last + 50  # the edge and the two outlined values
    assert len({frame.tobytes() for frame in frames}) == len(frames)  # every frame shows something new


@needs_dot
def test_grads_are_put_back_as_they_were(tmp_path):
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    loss = (model([Value(1.0, label="x0"), Value(-2.0, label="x1")]) - 1.0) ** 2
    loss.backward()
    loss.backward()  # leaves now hold twice their gradient: the walk must not reset them
    nodes = topological_order(loss)
    nodes[0].grad = math.nan
    before = [node.grad for node in nodes]
    export_steps_animation(loss, tmp_path / "steps.gif", size=SMALL, max_frames=3)
    after = [node.grad for node in nodes]
    assert after[1:] == before[1:] and math.isnan(after[0])


@needs_dot
def test_max_frames_keeps_evenly_spaced_frames_with_the_first_and_last(tmp_path):
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    loss = (model([Value(1.0), Value(-2.0)]) - 1.0) ** 2
    total = step_count(loss) + 2
    path = export_steps_animation(loss, tmp_path / "steps.gif", size=SMALL, max_frames=5)
    with Image.open(path) as image:
        assert image.n_frames == 5 < total
    path = export_steps_animation(loss, tmp_path / "all.gif", size=SMALL, max_frames=total + 10)
    with Image.open(path) as image:
        assert image.n_frames == total  # a limit above the count changes nothing


@pytest.mark.parametrize(
    ("total", "limit"), [(7, 2), (7, 3), (22, 5), (680, 50), (680, 679), (5, 5), (5, 100)]
)
def test_kept_frames_are_evenly_spaced_and_include_both_ends(total, limit):
    kept = _kept_frames(total, limit)
    assert len(kept) == min(total, limit)
    assert kept[0] == 0 and kept[-1] == total - 1
    assert kept == sorted(set(kept))
    gaps = [b - a for a, b in zip(kept, kept[1:])]
    assert max(gaps) - min(gaps) <= 1


@needs_dot
def test_a_leaf_and_a_reused_input_and_hostile_labels(tmp_path):
    with Image.open(
        export_steps_animation(Value(3.0, label="a"), tmp_path / "leaf.gif", size=SMALL)
    ) as image:
        assert image.n_frames == 2  # start and end: a leaf has no edge
    x = Value(2.0, label="x")
    y = x * x + x  # x gets three contributions, one frame each
    with Image.open(export_steps_animation(y, tmp_path / "reuse.gif", size=SMALL)) as image:
        assert image.n_frames == step_count(y) + 2 == 6
    a = Value(1.5, label='<<TABLE HREF="javascript:alert(1)">$x^2$</TABLE>>.w.0')
    b = Value(-2.0, label="<!--<script>\x00\\ $\\alpha")  # mathtext would choke on an unbalanced $
    c = (a * b).relu()
    c.label = "c {|} $"
    with Image.open(export_steps_animation(c, tmp_path / "hostile.gif", size=SMALL)) as image:
        assert image.n_frames == step_count(c) + 2


@needs_dot
@pytest.mark.parametrize(
    ("root", "name", "options", "error", "words"),
    [
        (1.5, "steps.gif", {}, TypeError, "must be a Value, got float"),
        ("o", "steps.gif", {}, TypeError, "must be a Value, got str"),
        (None, "steps.png", {}, ValueError, ".gif, .mp4"),
        (None, "steps", {}, ValueError, "cannot tell the format"),
        (None, "steps.gif", {"fps": 0}, ValueError, "fps must be a positive number"),
        (None, "steps.gif", {"fps": -2.0}, ValueError, "fps"),
        (None, "steps.gif", {"fps": math.nan}, ValueError, "fps"),
        (None, "steps.gif", {"fps": True}, ValueError, "fps"),
        (None, "steps.gif", {"fps": "2"}, ValueError, "fps"),
        (None, "steps.gif", {"max_frames": 1}, ValueError, "max_frames must be None or an int of at least 2"),
        (None, "steps.gif", {"max_frames": 2.5}, ValueError, "max_frames"),
        (None, "steps.gif", {"size": (1280,)}, ValueError, "size must be (width, height)"),
        (None, "steps.gif", {"size": (1280.0, 720)}, ValueError, "size"),
        (None, "steps.gif", {"size": (0, 720)}, ValueError, "size"),
        (None, "steps.mp4", {"size": (1281, 720)}, ValueError, "even width and height"),
        (None, "steps.gif", {"view": "zoom"}, ValueError, "view must be one of auto, fit, follow"),
        (None, "steps.gif", {"number_format": "%d"}, ValueError, "number_format"),
        (None, "steps.gif", {"grad_scale": (1.0, 0.1)}, ValueError, "grad scale"),
        (None, "steps.gif", {"rankdir": "XY"}, ValueError, "rankdir"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_an_existing_file_untouched(
    tmp_path, root, name, options, error, words
):
    o = neuron()
    target = tmp_path / name
    target.write_bytes(b"an older file")
    with pytest.raises(error, match=re.escape(words)):
        export_steps_animation(o if root is None else root, target, **options)
    assert target.read_bytes() == b"an older file"
    assert_only(tmp_path, {name})


@needs_dot
def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_steps_animation(neuron(), tmp_path / "nowhere" / "steps.gif")
    assert_only(tmp_path, set())


@needs_dot
def test_a_failure_while_writing_leaves_no_half_file_and_the_old_file_as_it_was(tmp_path, monkeypatch):
    from autograd_lite import animation

    target = tmp_path / "steps.gif"
    target.write_bytes(b"an older file")
    render = animation._Scene.render
    calls = []

    def failing(self, frame):
        calls.append(frame)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return render(self, frame)

    monkeypatch.setattr(animation._Scene, "render", failing)
    with pytest.raises(RuntimeError, match="the disk is full"):
        export_steps_animation(neuron(), target, size=SMALL)
    assert target.read_bytes() == b"an older file"
    assert_only(tmp_path, {"steps.gif"})


def test_without_dot_the_error_says_how_to_install_graphviz_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    o = neuron()
    o.backward()
    before = [node.grad for node in topological_order(o)]
    with pytest.raises(DotNotFoundError, match="Install Graphviz") as caught:
        export_steps_animation(o, tmp_path / "steps.gif")
    assert "digraph" in caught.value.source
    assert_only(tmp_path, set())
    assert [node.grad for node in topological_order(o)] == before


def test_mp4_without_ffmpeg_names_what_to_install_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # nor the ffmpeg imageio-ffmpeg ships
    with pytest.raises(MovieWriterNotFoundError, match="ffmpeg") as caught:
        export_steps_animation(neuron(), tmp_path / "steps.mp4")
    assert "apt-get install ffmpeg" in str(caught.value) and ".gif" in str(caught.value)
    assert_only(tmp_path, set())


def _any_ffmpeg() -> str | None:
    if shutil.which("ffmpeg"):
        return "ffmpeg"
    try:
        import imageio_ffmpeg  # a dev dependency: its ffmpeg is used when none is on PATH

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        return None


@needs_dot
@pytest.mark.skipif(_any_ffmpeg() is None, reason="no ffmpeg, on PATH or from imageio-ffmpeg")
def test_mp4_is_written_when_ffmpeg_is_installed(tmp_path):
    path = export_steps_animation(neuron(), tmp_path / "steps.mp4", size=SMALL, fps=4)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    probe = subprocess.run(
        [_any_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    assert f"{SMALL[0]}x{SMALL[1]}" in probe
    assert_only(tmp_path, {"steps.mp4"})


def test_importing_the_module_loads_neither_matplotlib_nor_pillow():
    code = "import sys, autograd_lite.animation; print(sorted({'matplotlib', 'PIL'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
