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
SELF = re.compile(r"autograd-lite\[(.*)\]")


@cache
def pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def extra_names() -> list[str]:
    return list(pyproject()["project"]["optional-dependencies"])


def distributions(*names: str) -> set[str]:
    """The (lower-cased) distributions the extras ``names`` install, the package's own extras expanded."""
    table = pyproject()["project"]["optional-dependencies"]
    found: set[str] = set()
    todo = list(names)
    while todo:
        for requirement in table[todo.pop()]:
            inner = SELF.fullmatch(requirement)
            if inner:
                todo += inner.group(1).split(",")
            else:
                found.add(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower())
    return found
