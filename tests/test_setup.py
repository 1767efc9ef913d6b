"""The README's two steps: `make demo` installs only what the demo needs, and the same steps run without make.

The slow test here is a fresh clone's `python scripts/dev.py demo` (the
README's command for machines without make, and what `make demo` runs): it
builds `.venv` in a copy of the repository, runs the demo, and checks that
no test or lint tool was installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._pyproject import distributions as closure
from tests._pyproject import extra_names

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "scripts" / "dev.py"
SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def dev(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(cwd / "scripts" / "dev.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


OUTSIDE_DEV: tuple[str, ...] = ()  # torch too: CI runs the differential tests against PyTorch


def plan(profile: str) -> dict[str, list[str]]:
    result = dev("plan", profile)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_installs_what_the_demo_needs_and_no_browser() -> None:
    demo, test = plan("demo"), plan("test")
    assert demo == {"extras": ["plot", "numpy"], "system": ["graphviz"]}
    assert "chromium" in test["system"] and "dev" in test["extras"]
    assert {"matplotlib", "numpy"} <= closure(*demo["extras"])


def test_dev_extra_holds_every_other_extra_and_the_tools() -> None:
    everything = set().union(*(closure(name) for name in extra_names() if name not in ("dev", *OUTSIDE_DEV)))
    assert everything <= closure("dev")
    assert {"pytest", "ruff", "mypy", "hypothesis", "playwright", "nbmake", "build"} <= closure("dev")


def test_an_unknown_profile_is_named() -> None:
    result = dev("setup", "everything")
    assert result.returncode != 0
    assert "demo, test" in result.stderr and "'everything'" in result.stderr


def test_make_runs_the_same_two_steps_as_the_python_commands() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:\n\t@bash scripts/bootstrap.sh demo$", makefile, re.M)
    assert re.search(r"^test:\n\t@bash scripts/bootstrap.sh test$", makefile, re.M)
    assert 'scripts/dev.py "$@"' in (ROOT / "scripts" / "bootstrap.sh").read_text()
    result = subprocess.run(
        ["bash", "scripts/bootstrap.sh", "plan", "demo"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and json.loads(result.stdout) == plan("demo"), result.stderr


def readme_python_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^python (scripts/dev\.py \w+)$", text, re.M)


def test_readme_gives_the_two_steps_without_make() -> None:
    assert readme_python_commands() == ["scripts/dev.py demo", "scripts/dev.py test"]


@pytest.mark.slow
def test_fresh_clone_demo_leaves_no_test_tools(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=SKIP)
    out = tmp_path / "pictures"
    command = readme_python_commands()[0].split()  # scripts/dev.py demo, as the README says
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [sys.executable, *command, "--epochs", "2", "--out", str(out)],
        cwd=clone, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "held-out accuracy" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["decision_boundary.png", "graph.svg", "loss_curve.png"]
    assert "chromium" not in (result.stdout + result.stderr).lower()

    python = clone / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    listing = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m, json; "
         "print(json.dumps([d.metadata['Name'].lower() for d in m.distributions()]))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    installed = {re.sub(r"[-_.]+", "-", name) for name in json.loads(listing.stdout)}
    demo_needs = closure(*plan("demo")["extras"])
    tools = closure("dev") - demo_needs
    assert {"pytest", "hypothesis", "ruff", "mypy", "playwright", "jupyterlab"} <= tools
    assert not installed & tools, f"the demo's install brought in {sorted(installed & tools)}"
    assert {"autograd-lite", "matplotlib", "numpy", "graphviz", "tqdm"} <= installed
