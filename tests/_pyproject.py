"""pyproject.toml, read once for the tests (tomllib from Python 3.11, tomli before)."""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


@cache
def pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def extras() -> dict[str, set[str]]:
    """Each extra -> the (lower-cased) names of the distributions it lists."""
    table = pyproject()["project"]["optional-dependencies"]
    return {name: {_name(req) for req in reqs} for name, reqs in table.items()}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
