"""The quick check on every supported CPython found on this machine, but .venv's own.

    python scripts/matrix.py           # run it (`make test` does, before the whole suite)
    python scripts/matrix.py --list    # the supported versions and the interpreter found for each (JSON)

The supported versions are the ``Programming Language :: Python :: 3.N``
classifiers of ``pyproject.toml`` (``requires-python`` starts at the oldest;
a test checks). For each one other than ``.venv``'s, an interpreter is looked
for: ``python3.N`` on PATH, pyenv's versions (``$PYENV_ROOT`` or
``~/.pyenv``), and on Windows the ``py -3.N`` launcher. A version that is not
found is reported and skipped; a version that fails fails the run.

Each version gets its own environment, ``.venv-py3.N``, with only what the
check needs (the package with ``[plot,numpy,testing]``, and pytest), installed
by ``scripts/dev.py``. The check: import every module of the package, run the
demo for a few epochs, and run the engine and compile tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dev

EXTRAS = ["plot", "numpy", "testing"]
MORE = ["pytest"]  # its minimum version is [dev]'s
TESTS = ["tests/test_engine.py", "tests/test_compile.py", "tests/test_compiler_backends.py"]
DEMO_EPOCHS = 3

IMPORT_ALL = """
import importlib, pkgutil, traceback, autograd_lite
from autograd_lite._optional import MissingOptionalDependency
failed = 0
for module in pkgutil.walk_packages(autograd_lite.__path__, "autograd_lite."):
    try:
        importlib.import_module(module.name)
    except MissingOptionalDependency as error:  # an extra this check does not install (torch)
        print(f"import {module.name}: skipped, {error}")
    except Exception:
        failed += 1
        print(f"import {module.name} failed:"); traceback.print_exc()
raise SystemExit(failed)
"""

PROBE = (
    "import platform, sys, venv; "
    "print(platform.python_implementation(), '%d.%d' % sys.version_info[:2]); print(sys.executable)"
)


def _pyproject() -> str:
    return (dev.ROOT / "pyproject.toml").read_text(encoding="utf-8")


def supported_versions() -> list[str]:
    """``["3.9", "3.10", ...]``, from the classifiers, oldest first."""
    found = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', _pyproject())
    return sorted(set(found), key=lambda v: tuple(map(int, v.split("."))))


def requires_python_lower_bound() -> str:
    match = re.search(r'^requires-python\s*=\s*">=\s*(3\.\d+)"', _pyproject(), re.M)
    if not match:
        raise SystemExit('matrix: pyproject.toml has no requires-python = ">=3.N"')
    return match.group(1)


def _probe(cmd: list[str], version: str) -> str | None:
    """The interpreter's path if ``cmd`` runs CPython ``version`` with venv, else None."""
    try:
        out = subprocess.run([*cmd, "-c", PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split("\n")
    return lines[1].strip() if out.returncode == 0 and lines[0] == f"CPython {version}" else None


def _candidates(version: str) -> list[list[str]]:
    found = [[path] for path in [shutil.which(f"python{version}")] if path]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in dict.fromkeys(r for r in roots if r):
        installs = Path(root, "versions").glob(f"{version}.*")
        exact = [p for p in installs if re.fullmatch(rf"{re.escape(version)}\.\d+", p.name)]
        for install in sorted(exact, key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True):
            found += [[str(install / "bin" / f"python{version}")], [str(install / "python.exe")]]
    if shutil.which("py"):
        found.append(["py", f"-{version}"])
    return found


def find_python(version: str) -> str | None:
    """An interpreter of CPython ``version`` on this machine, or None."""
    for cmd in _candidates(version):
        if os.path.isabs(cmd[0]) and not os.path.exists(cmd[0]):
            continue
        path = _probe(cmd, version)
        if path:
            return path
    return None


def main_version() -> str:
    """The version of ``.venv`` (the whole suite's), else of the Python running this script."""
    python = dev.venv_python(dev.VENV)
    if python.exists():
        out = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, check=True)
        return out.stdout.split()[1]
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def check(version: str, python: str) -> dict[str, float]:
    """Set up ``.venv-py<version>`` and run the quick check; seconds per part. SystemExit on failure."""
    times = {}
    start = time.perf_counter()
    interpreter = dev.install(dev.ROOT / f".venv-py{version}", python, EXTRAS, MORE)
    times["set-up"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as out:
        parts: dict[str, list[str | Path]] = {
            "imports": [interpreter, "-c", IMPORT_ALL],
            "demo": [interpreter, "-m", "autograd_lite", "demo", "--epochs", str(DEMO_EPOCHS), "--out", out],
            "tests": [interpreter, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        }
        for name, cmd in parts.items():
            start = time.perf_counter()
            dev.check(cmd)
            times[name] = time.perf_counter() - start
    return times


def run_matrix() -> int:
    """Check every supported version but .venv's; 1 if any failed."""
    own = main_version()
    results = []
    for version in supported_versions():
        if version == own:
            continue
        python = find_python(version)
        if python is None:
            results.append(f"{version} not found (skipped)")
            dev.log(f"matrix: Python {version} is not on this machine: skipped")
            continue
        dev.log(f"matrix: Python {version} ({python})")
        try:
            times = check(version, python)
        except SystemExit as error:
            results.append(f"{version} FAILED")
            print(f"dev: matrix: Python {version} failed: {error}", file=sys.stderr)
            continue
        parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in times.items())
        results.append(f"{version} passed in {sum(times.values()):.0f} s ({parts})")
    dev.log(f"matrix (the whole suite runs on {own}): " + "; ".join(results))
    return 1 if any("FAILED" in r for r in results) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--list", action="store_true", help="print the versions and interpreters, run nothing"
    )
    if parser.parse_args().list:
        versions = {v: find_python(v) for v in supported_versions()}
        print(json.dumps({"requires-python": requires_python_lower_bound(), "versions": versions}))
        return 0
    return run_matrix()


if __name__ == "__main__":
    sys.exit(main())
