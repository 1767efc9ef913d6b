"""MkDocs hooks for the documentation site (``mkdocs.yml`` names this file under ``hooks:``).

* The notebooks live in ``notebooks/``, outside ``docs/``: :func:`on_files`
  adds each one to the site as ``notebooks/<name>/`` (before mkdocs-jupyter
  sees the files, which then renders them), so there is no copy to keep in step.
* The docstrings are written for plain text and Sphinx alike: a role such as
  ``:func:`~autograd_lite.viz.draw_graph``` means "the code ``draw_graph``".
  :func:`on_page_content` shows it as that code, without the role and the
  qualifying path, as Sphinx would.
* An ``Example:`` section (Napoleon's name, beside ``Examples:``) is read
  as griffe's examples section, so its ``>>>`` lines show as code:
  :class:`ExampleSections`, a griffe extension that ``mkdocs.yml`` loads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from griffe import Extension, Object
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = "notebooks"

# ':func:' before a code span, as Markdown renders ":func:`name`"; the name's '~' keeps its last part.
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):(<code>)(~?)([^<]*)(</code>)")

# A line that is only "Example:" (at any indent), the heading of a docstring section.
EXAMPLE = re.compile(r"^(\s*)Example:$", re.M)


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    """Add ``notebooks/*.ipynb`` of the repository to the site's files."""
    for notebook in sorted((ROOT / NOTEBOOKS).glob("*.ipynb")):
        files.append(
            File(
                f"{NOTEBOOKS}/{notebook.name}",
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def _code(match: re.Match[str]) -> str:
    opening, short, name, closing = match.groups()
    return f"{opening}{name.rsplit('.', 1)[-1] if short else name}{closing}"


def on_page_content(html: str, **kwargs: Any) -> str:
    """``:func:`~a.b.c``` rendered as the code ``c``, ``:class:`Value``` as ``Value``."""
    return ROLE.sub(_code, html)


class ExampleSections(Extension):
    """Rename each ``Example:`` section heading ``Examples:`` before griffe parses the docstring."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
