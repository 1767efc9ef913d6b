"""Packaging, import cost, lint, and the README's two commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_lite

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("graphviz", "numpy", "matplotlib", "ipywidgets", "tqdm", "hypothesis", "IPython")


def test_import_is_light():
    code = "import sys, autograd_lite; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(loaded.stdout.split())
    assert not [m for m in HEAVY if m in modules], f"import autograd_lite loaded {modules & set(HEAVY)}"


def test_package_is_typed():
    assert (Path(autograd_lite.__file__).parent / "py.typed").exists()


def test_ruff_is_clean():
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "autograd_lite", "tests", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if "No module named ruff" in ruff.stderr:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block, "README has no code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "demo" in commands[0] and "test" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci
