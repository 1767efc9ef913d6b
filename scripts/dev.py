"""The README's two steps, as Python commands: works wherever Python 3.9+ runs (Windows too).

    python scripts/dev.py demo [demo options]      # what `make demo` does
    python scripts/dev.py test [pytest options]    # what `make test` does
    python scripts/dev.py docs [serve]             # what `make docs` does: the site in site/
    python scripts/dev.py setup demo|test          # only the set-up part
    python scripts/dev.py plan demo|test           # what set-up would install, as JSON

Each step sets up what it needs first, once: a virtual environment in ``.venv``
(made with the Python running this script) holding the package and the
extras of its *profile*, and the system programs the profile needs, from the
system's package manager when one is usable (apt-get as root or with sudo,
Homebrew), else a message saying how to install them.

* ``demo``: the package with ``[plot,numpy]`` (matplotlib for the pictures,
  NumPy for the compiled fast path) and Graphviz's ``dot``. No test or lint
  tools, no browser.
* ``test``: ``[dev]`` (everything the tests and the linters use) and, besides
  ``dot``, Chromium for the browser tests. The suite runs in ``.venv`` on its
  Python; before it, ``scripts/matrix.py`` runs a quick subset on every other
  supported CPython found on the machine (``--no-matrix`` skips that).
* ``docs``: ``[docs]`` (MkDocs, Material, mkdocstrings, mkdocs-jupyter);
  builds the documentation site into ``site/`` with ``mkdocs build --strict``
  (a warning fails the build, as in CI); ``docs serve`` serves it with live
  reload instead.

Only the standard library is used here, so any Python 3.9+ can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"

PROFILES: dict[str, dict[str, list[str]]] = {
    "demo": {"extras": ["plot", "numpy"], "system": ["graphviz"]},
    "test": {"extras": ["dev"], "system": ["graphviz", "chromium"]},
    "docs": {"extras": ["docs"], "system": []},
}
"""What each step installs: the package's extras, and system packages (Debian names)."""

# A system package -> the program that shows it is there, and how to get it by hand.
SYSTEM = {
    "graphviz": (
        "dot",
        "Graphviz (the 'dot' program) draws the graph pictures: "
        "Debian/Ubuntu `sudo apt-get install graphviz`, macOS `brew install graphviz`, "
        "Windows `winget install graphviz` (or graphviz.org), then put dot on PATH",
    ),
    "chromium": (
        "/usr/bin/chromium",
        "Chromium at /usr/bin/chromium runs the browser tests (skipped without it, outside CI): "
        "Debian/Ubuntu `sudo apt-get install chromium`",
    ),
}


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment, on POSIX or Windows."""
    windows = venv / "Scripts" / "python.exe"
    return windows if windows.exists() or os.name == "nt" else venv / "bin" / "python"


def log(message: str) -> None:
    print(f"dev: {message}", flush=True)


def run(cmd: Sequence[str | os.PathLike[str]], **kwargs: object) -> int:
    """Run ``cmd`` in the repository, streaming its output; its exit code."""
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def check(cmd: Sequence[str | os.PathLike[str]]) -> None:
    code = run(cmd)
    if code:
        raise SystemExit(f"dev: failed ({code}): {' '.join(str(c) for c in cmd)}")


def plan(profile: str) -> dict[str, list[str]]:
    """What ``setup(profile)`` installs."""
    if profile not in PROFILES:
        raise SystemExit(f"dev: the profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return PROFILES[profile]


# ----------------------------------------------------------------------------
# System programs


def _present(program: str) -> bool:
    return os.access(program, os.X_OK) if os.path.isabs(program) else shutil.which(program) is not None


def _as_root(cmd: list[str]) -> list[str] | None:
    """``cmd`` as root: itself when we are root, through passwordless sudo, or None."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return cmd
    if shutil.which("sudo") and subprocess.call(["sudo", "-n", "true"], stderr=subprocess.DEVNULL) == 0:
        return ["sudo", "-n", *cmd]
    return None


def _apt(args: list[str]) -> bool:
    cmd = _as_root(["apt-get", *args])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = subprocess.DEVNULL
    return cmd is not None and subprocess.call(cmd, env=env, stdout=quiet, stderr=quiet) == 0


def _install_system(package: str) -> bool:
    """Install one Debian package (or, for Graphviz, its Homebrew formula); whether that worked."""
    if shutil.which("apt-get"):
        install = ["install", "-y", "-qq", package]
        return _apt(install) or (_apt(["update", "-qq"]) and _apt(install))
    if shutil.which("brew") and package == "graphviz":
        return subprocess.call(["brew", "install", package]) == 0
    return False


def setup_system(packages: list[str]) -> None:
    """Make sure each system package's program is there, installing it when we can."""
    for package in packages:
        program, how = SYSTEM[package]
        if _present(program):
            continue
        log(f"installing {package} ({program})...")
        if not (_install_system(package) and _present(program)):
            print(f"dev: could not install {package}; {how}.", file=sys.stderr)


# ----------------------------------------------------------------------------
# The virtual environment


def make_venv(venv: Path, python: str | os.PathLike[str]) -> Path:
    """Create ``venv`` with ``python`` (if it has no interpreter yet) and a current pip; its interpreter."""
    interpreter = venv_python(venv)
    if not interpreter.exists():
        log(f"creating {venv.name} with {python}...")
        check([python, "-m", "venv", venv])
        # An old pip (Python 3.9 ships 23.0) can backtrack for many minutes on [dev].
        check([interpreter, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    return interpreter


def install(venv: Path, python: str | os.PathLike[str], extras: list[str], more: Sequence[str] = ()) -> Path:
    """The package (editable) with ``extras`` and ``more`` in ``venv``; re-done only when they change."""
    interpreter = make_venv(venv, python)
    stamp = venv / ".autograd_lite-installed.json"
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    done = json.loads(stamp.read_text()) if stamp.exists() else {}
    wanted = sorted(extras) + sorted(more)
    if done.get("pyproject") == key and set(wanted) <= set(done.get("installed", [])):
        return interpreter
    target = f".[{','.join(extras)}]"
    log(f"installing {' '.join(['autograd_lite' + target[1:], *more])} into {venv.name}...")
    check([interpreter, "-m", "pip", "install", "-q", "-e", target, *more])
    previous = done.get("installed", []) if done.get("pyproject") == key else []
    stamp.write_text(json.dumps({"pyproject": key, "installed": sorted(set(previous) | set(wanted))}))
    return interpreter


def setup(profile: str) -> Path:
    """Everything ``profile`` needs; the interpreter of ``.venv``."""
    what = plan(profile)
    setup_system(what["system"])
    return install(VENV, sys.executable, what["extras"])


# ----------------------------------------------------------------------------
# The steps


def demo(args: list[str]) -> int:
    python = setup("demo")
    return run([python, "-m", "autograd_lite", "demo", *args])


def test(args: list[str]) -> int:
    """The quick subset on every other Python (unless --no-matrix), then the whole suite in .venv."""
    matrix = "--no-matrix" not in args
    args = [a for a in args if a != "--no-matrix"]
    python = setup("test")
    failed = run([python, str(ROOT / "scripts" / "matrix.py")]) if matrix else 0
    code = run([python, "-m", "pytest", "-q", *args])
    if failed and not code:
        print("dev: the suite passed on .venv, but the version matrix failed (see above)", file=sys.stderr)
    return code or failed


def docs(args: list[str]) -> int:
    """``mkdocs build --strict`` into ``site/`` (options passed on), or ``mkdocs serve`` for ``serve``."""
    python = setup("docs")
    command = ["serve", *args[1:]] if args[:1] == ["serve"] else ["build", "--strict", *args]
    quiet = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about MkDocs 2, on every build
    return run([python, "-m", "mkdocs", *command], env=quiet)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/dev.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["demo", "test", "docs", "setup", "plan"])
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="demo/test/docs: passed on; else the profile")
    ns = parser.parse_args(argv)
    if ns.step == "demo":
        return demo(ns.rest)
    if ns.step == "test":
        return test(ns.rest)
    if ns.step == "docs":
        return docs(ns.rest)
    profile = ns.rest[0] if len(ns.rest) == 1 else "?"
    if ns.step == "plan":
        print(json.dumps(plan(profile)))
        return 0
    setup(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
