"""Optional packages for the interop tests: skipped where they are missing, a failure under CI."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(name: str, extra: str = "interop") -> ModuleType:
    """Import ``name``; skip the test module if it is missing, unless ``CI`` is set: then fail."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        reason = f"{name} is not installed (pip install -e '.[{extra}]' or '.[dev]'): {error}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the {name} tests, but {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
