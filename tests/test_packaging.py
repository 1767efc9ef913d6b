"""Packaging, import cost, lint, and the README's two commands."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

import autograd_lite
from tests._pyproject import pyproject

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
        [sys.executable, "-m", "ruff", "check", "autograd_lite", "tests", "benchmarks", "scripts"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if "No module named ruff" in ruff.stderr:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_ruff_format_is_clean():
    """The code is as `ruff format` writes it (CI runs this through the test suite)."""
    trees = ["autograd_lite", "tests", "benchmarks", "scripts"]
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *trees], cwd=ROOT, capture_output=True, text=True
    )
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


# -- the versions it claims ---------------------------------------------------------------------------


def matrix_list() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "matrix.py"), "--list"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_requires_python_is_the_oldest_version_the_matrix_runs() -> None:
    listed = matrix_list()
    lower = re.fullmatch(r">=\s*(3\.\d+)", pyproject()["project"]["requires-python"])
    assert lower, pyproject()["project"]["requires-python"]
    versions = sorted(listed["versions"], key=_version_key)
    assert lower.group(1) == listed["requires-python"] == versions[0]
    minors = [_version_key(v)[1] for v in versions]
    assert minors == list(range(minors[0], minors[-1] + 1)), f"a supported version is missing: {versions}"


@pytest.fixture
def matrix(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module("matrix")


def test_matrix_skips_a_missing_version_and_fails_a_failing_one(matrix: Any, monkeypatch, capsys) -> None:
    monkeypatch.setattr(matrix, "main_version", lambda: "3.11")
    monkeypatch.setattr(matrix, "supported_versions", lambda: ["3.11", "3.97", "3.98", "3.99"])
    assert matrix.find_python("3.99") is None  # no such Python anywhere
    found = {"3.98": sys.executable, "3.97": sys.executable}
    monkeypatch.setattr(matrix, "find_python", found.get)

    def check(version: str, python: str) -> dict[str, float]:
        if version == "3.98":
            raise SystemExit("dev: failed (1): pytest")
        return {"tests": 1.0}

    monkeypatch.setattr(matrix, "check", check)
    assert matrix.run_matrix() == 1
    out = capsys.readouterr()
    assert "3.99 not found (skipped)" in out.out and "3.98 FAILED" in out.out and "3.97 passed" in out.out
    assert "3.11" not in out.out.split("runs on 3.11")[1]  # .venv's version is not checked twice
    monkeypatch.setattr(matrix, "supported_versions", lambda: ["3.97", "3.99"])
    assert matrix.run_matrix() == 0  # a missing version alone does not fail


def test_matrix_finds_the_running_python(matrix: Any) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = matrix.find_python(version)
    assert found is None or matrix._probe([found], version) == found


# -- releasable: licence, version, changelog, urls, wheel and sdist ----------------------------------


def test_license_is_mit_by_spdx_and_shipped() -> None:
    project = pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the autograd_lite authors" in text
    requires = pyproject()["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(7[7-9]|[89]\d|\d{3})(\.\d+)*", r) for r in requires), requires


def test_the_version_is_written_once() -> None:
    project = pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "autograd_lite.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", autograd_lite.__version__)


def test_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n") and "keepachangelog.com" in text
    assert "\n## [Unreleased]\n" in text
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, re.M)
    assert all(_version_key(v) <= _version_key(autograd_lite.__version__) for v in released)


def test_project_urls() -> None:
    urls = pyproject()["project"]["urls"]
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert urls["Changelog"].endswith("CHANGELOG.md")


def test_contributing_names_files_that_exist() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    paths = set(re.findall(r"`((?:autograd_lite|tests|benchmarks|scripts|notebooks)/[\w./]+\.\w+)`", text))
    assert len(paths) > 10
    assert not [p for p in paths if not (ROOT / p).exists()]
    for section in (
        "## Add an op",
        "## Add a compile backend",
        "## Add a visualisation",
        "## Benchmarks",
        "## Docs",
    ):
        assert section in text


def test_readme_gives_pip_install_and_its_extras_exist() -> None:
    text = (ROOT / "README.md").read_text()
    assert "\npip install autograd-lite\n" in text
    named = set(re.findall(r"^\| `(\w+)` \|", text, re.M)) | {
        extra for group in re.findall(r"autograd-lite\[([\w,]+)\]", text) for extra in group.split(",")
    }
    assert {"plot", "numpy", "testing", "notebooks", "dev"} <= named
    assert named <= set(pyproject()["project"]["optional-dependencies"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it by `python -m build`, from a copy of the tree."""
    pytest.importorskip("build", reason="the build package is in [dev]")
    tmp = tmp_path_factory.mktemp("release")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*COPY_SKIP))
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Deprecat" not in result.stdout + result.stderr  # no licence (or other) deprecation banners
    return tmp / "dist"


COPY_SKIP = (".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*cache*", ".hypothesis")


@pytest.mark.slow
def test_wheel_holds_license_and_py_typed(built: Path) -> None:
    (wheel,) = built.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    info = f"autograd_lite-{autograd_lite.__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    assert "autograd_lite/py.typed" in names
    assert "autograd_lite/frontend/stepper.js" in names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert f"\nVersion: {autograd_lite.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata and "\nLicense-File: LICENSE\n" in metadata
    assert "\nProject-URL: Changelog, " in metadata
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]


@pytest.mark.slow
def test_sdist_holds_license_and_its_tests_collect(built: Path, tmp_path: Path) -> None:
    (sdist,) = built.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = tmp_path.iterdir()
    for needed in (
        "LICENSE",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
        "Makefile",
        "scripts/dev.py",
        "benchmarks/bench_core.py",
        "mkdocs.yml",
        "docs/index.md",
    ):
        assert (unpacked / needed).exists(), needed
    tests = {p.name for p in (unpacked / "tests").glob("test_*.py")}
    assert tests == {p.name for p in (ROOT / "tests").glob("test_*.py")}
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=unpacked, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^\d{3,} tests collected", result.stdout, re.M), result.stdout[-500:]
    imported = subprocess.run(
        [sys.executable, "-c", "import autograd_lite; print(autograd_lite.__file__)"],
        cwd=unpacked, capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert Path(imported.stdout.strip()).is_relative_to(unpacked)  # the sdist's own code was collected


def test_readme_describes_the_matrix_it_runs(matrix: Any) -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"`autograd-lite[{','.join(matrix.EXTRAS)}]` and pytest" in readme
    assert f"runs the demo for {matrix.DEMO_EPOCHS} epochs" in readme
    assert matrix.TESTS == [
        "tests/test_engine.py",
        "tests/test_compile.py",
        "tests/test_compiler_backends.py",
    ]
    assert "runs the engine and compile tests" in readme
    versions = sorted(matrix_list()["versions"], key=_version_key)
    assert f"CPython from {versions[0]} to {versions[-1]}" in readme
    assert f"Needs CPython {versions[0]} to {versions[-1]}." in readme


def test_every_module_postpones_its_annotations() -> None:
    """What keeps `X | None` annotations legal on the oldest Python (the matrix checks the rest)."""
    modules = [*(ROOT / "autograd_lite").rglob("*.py"), *(ROOT / "scripts").glob("*.py")]
    missing = [
        str(m.relative_to(ROOT)) for m in modules if "from __future__ import annotations" not in m.read_text()
    ]
    assert not missing


def test_readme_extras_table_lists_what_each_extra_installs() -> None:
    from tests._pyproject import distributions
    from tests.test_setup import OUTSIDE_DEV

    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", (ROOT / "README.md").read_text(), re.M)
    assert len(rows) >= 6
    for extra, installs in rows:
        named = {name.strip().lower() for name in installs.split(",")}
        if "all of the above" in named:
            named.remove("all of the above")
            others = [other for other, _ in rows if other not in OUTSIDE_DEV]
            assert all(distributions(other) <= distributions(extra) for other in others)
        assert named <= distributions(extra), (extra, named - distributions(extra))
