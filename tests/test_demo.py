"""The README's main command: python -m autograd_lite demo (and the autograd-lite script)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograd_lite", *args], capture_output=True, text=True)


def test_demo_trains_reports_and_writes_pictures(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run("demo", "--epochs", "30", "--seed", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "training accuracy:" in text and "held-out accuracy:" in text
    assert "on the compiled fast path" in text
    assert "stopped: epochs after 30 epochs" in text or "stopped: tol" in text
    held_out = float(text.split("held-out accuracy:")[1].split("%")[0])
    assert held_out >= 80.0
    assert (out / "decision_boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    svg = ET.parse(out / "graph.svg").getroot()
    assert svg.tag.endswith("svg")
    assert "loss" in (out / "graph.svg").read_text()


def test_demo_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    a = run("demo", "--epochs", "3", "--seed", "5", "--out", str(tmp_path / "a")).stdout
    b = run("demo", "--epochs", "3", "--seed", "5", "--out", str(tmp_path / "b")).stdout
    strip = lambda s: [line for line in s.splitlines() if not line.startswith(("wrote", "trained in"))]
    assert strip(a) == strip(b)


def test_demo_help_and_bad_arguments() -> None:
    help_text = run("demo", "--help").stdout
    assert "--epochs" in help_text and "--seed" in help_text and "--out" in help_text
    bad = run("demo", "--epochs", "0")
    assert bad.returncode != 0 and "--epochs must be at least 1" in bad.stderr
    assert run().returncode == 2


def test_console_script_is_installed() -> None:
    script = shutil.which("autograd-lite", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("package not installed with its console script (pip install -e .)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
