"""Optional dependencies: a missing one is an error that says which extra to install.

The core (``Value``, ``nn``, training, the ``python`` compile backend) needs
only the standard library, ``graphviz`` and ``tqdm``. Each feature below
imports what it needs when it is used, inside :func:`optional_dependency`::

    with optional_dependency("matplotlib", "History.plot"):
        import matplotlib.pyplot as plt

If the module is not installed, the ``ModuleNotFoundError`` becomes a
:class:`MissingOptionalDependency` (still a ``ModuleNotFoundError``, so
``except ImportError`` keeps working) whose message names the extra, e.g.
``pip install "autograd-lite[plot]"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXTRAS", "MissingOptionalDependency", "install_hint", "optional_dependency"]

EXTRAS: dict[str, str] = {
    "matplotlib": "plot",
    "numpy": "numpy",
    "hypothesis": "testing",
    "anywidget": "notebooks",
    "traitlets": "notebooks",
    "ipywidgets": "notebooks",
    "imageio_ffmpeg": "video",
    "torch": "torch",
}
"""Each optional top-level module -> the extra of ``pyproject.toml`` that installs it."""


class MissingOptionalDependency(ModuleNotFoundError):
    """An optional dependency is not installed; the message says what to ``pip install``."""


def install_hint(module: str) -> str:
    """The pip command that installs ``module``'s extra: ``pip install "autograd-lite[plot]"``."""
    top = module.partition(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{top!r} is not an optional dependency of autograd_lite (known: {sorted(EXTRAS)})")
    return f'pip install "autograd-lite[{EXTRAS[top]}]"'


@contextmanager
def optional_dependency(module: str, feature: str) -> Iterator[None]:
    """Imports inside the block that fail because ``module`` is missing name ``feature`` and the extra.

    Only a missing ``module`` itself (or one of its submodules) is translated:
    any other import error, such as a broken installation, passes through.
    """
    hint = install_hint(module)  # an unknown module is a bug here, caught before any import
    top = module.partition(".")[0]
    try:
        yield
    except ModuleNotFoundError as error:
        if isinstance(error, MissingOptionalDependency) or (error.name or "").partition(".")[0] != top:
            raise
        raise MissingOptionalDependency(
            f"{feature} needs {top}, which is not installed: {hint}", name=top
        ) from error
