"""A missing optional dependency is a ModuleNotFoundError that names the extra to install.

Each case runs in a fresh interpreter where the module is made unimportable
(``sys.modules[name] = None``), calls the feature, and reports the error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograd_lite._optional import EXTRAS, MissingOptionalDependency, install_hint, optional_dependency
from tests._pyproject import distributions, extra_names

ROOT = Path(__file__).resolve().parent.parent

# (module made missing, code that uses a feature needing it)
FEATURES = [
    ("matplotlib", "from autograd_lite.train import History; History(loss=[1.0]).plot()"),
    (
        "matplotlib",
        "import autograd_lite as al, tempfile, os\n"
        "al.export_steps_animation(al.Value(1.0) * 2, os.path.join(tempfile.mkdtemp(), 'a.gif'))",
    ),
    (
        "matplotlib",
        "from autograd_lite.demo import run_demo; run_demo(__import__('tempfile').mkdtemp(), epochs=1)",
    ),
    ("numpy", "from autograd_lite.compiler.backend import get_backend; get_backend('numpy')"),
    ("hypothesis", "from autograd_lite.testing import values; values()"),
    ("anywidget", "import autograd_lite as al; al.explore(al.Value(1.0) * 2)"),
    ("torch", "from autograd_lite.compiler.backend import get_backend; get_backend('torch')"),
]

RUN = """
import json, sys
sys.modules[{module!r}] = None
try:
{code}
except BaseException as error:
    print(json.dumps([type(error).__name__, [c.__name__ for c in type(error).__mro__], str(error)]))
else:
    print(json.dumps(None))
"""


def _error_without(module: str, code: str) -> tuple[str, list[str], str]:
    script = RUN.format(module=module, code=textwrap.indent(code, "    "))
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result is not None, f"the feature ran without {module}"
    return result[0], result[1], result[2]


@pytest.mark.parametrize(("module", "code"), FEATURES)
def test_missing_dependency_names_its_extra(module: str, code: str) -> None:
    name, mro, message = _error_without(module, code)
    assert name == "MissingOptionalDependency", (name, message)
    assert "ModuleNotFoundError" in mro and "ImportError" in mro
    assert f'pip install "autograd-lite[{EXTRAS[module]}]"' in message, message


def test_every_optional_module_has_a_feature_test_or_is_covered() -> None:
    covered = {module for module, _ in FEATURES} | {"traitlets", "ipywidgets", "imageio_ffmpeg"}  # see below
    assert set(EXTRAS) <= covered


def test_each_extra_named_exists_and_installs_its_module() -> None:
    """The extra a message names is in pyproject.toml and lists a distribution that provides the module."""
    provides = {
        "matplotlib": "matplotlib",
        "numpy": "numpy",
        "hypothesis": "hypothesis",
        "anywidget": "anywidget",
        "traitlets": "anywidget",  # a dependency of anywidget
        "ipywidgets": "ipywidgets",
        "imageio_ffmpeg": "imageio-ffmpeg",
        "torch": "torch",
    }
    for module, extra in EXTRAS.items():
        assert extra in extra_names(), f"{module}: no [{extra}] extra in pyproject.toml"
        wanted = provides[module]
        assert wanted in distributions(extra), f"[{extra}] does not install {wanted} (for {module})"


def test_other_import_errors_pass_through() -> None:
    with pytest.raises(ModuleNotFoundError) as caught:
        with optional_dependency("numpy", "a feature"):
            import autograd_lite_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert not isinstance(caught.value, MissingOptionalDependency)


def test_a_missing_module_becomes_the_named_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    expected = r'a feature needs numpy, which is not installed: pip install "autograd-lite\[numpy\]"'
    with pytest.raises(ImportError, match=expected) as caught:
        with optional_dependency("numpy", "a feature"):
            import numpy  # noqa: F401
    assert isinstance(caught.value, MissingOptionalDependency) and caught.value.name == "numpy"


def test_unknown_module_is_a_bug_caught_at_once() -> None:
    with pytest.raises(KeyError, match="not an optional dependency"):
        install_hint("nosuchmodule")


def test_mp4_hint_names_the_video_extra() -> None:
    from autograd_lite.animation import FFMPEG_HINT

    assert install_hint("imageio_ffmpeg") == 'pip install "autograd-lite[video]"'
    assert install_hint("imageio_ffmpeg") in FFMPEG_HINT


def test_the_readme_example_message_is_the_real_one() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    _, _, message = _error_without("matplotlib", FEATURES[0][1])
    assert f"e.g. `{message}`" in readme, message
