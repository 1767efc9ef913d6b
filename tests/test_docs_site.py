"""The documentation site builds with warnings as errors, and has what it promises.

`mkdocs build --strict` (as `make docs` and CI run it) builds the site from
`mkdocs.yml` into a temporary directory; the tests then read the pages: an
API page per main module holding every name the module exports, the
notebooks rendered with their stored outputs, the pictures, and the docs
pages' examples, which are run here and must print what the page says.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_lite import Value
from tests.optional import require

for _package in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter"):
    require(_package, extra="docs")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# API page (docs/api/<page>.md) -> the module it documents.
API_PAGES = {
    "engine": "autograd_lite.engine",
    "nn": "autograd_lite.nn",
    "losses": "autograd_lite.losses",
    "optim": "autograd_lite.optim",
    "train": "autograd_lite.train",
    "data": "autograd_lite.data",
    "functional": "autograd_lite.functional",
    "anomaly": "autograd_lite.anomaly",
    "micrograd": "autograd_lite.micrograd.engine",
    "custom": "autograd_lite.custom",
    "viz": "autograd_lite.viz",
    "stepper": "autograd_lite.stepper",
    "animation": "autograd_lite.animation",
    "testing": "autograd_lite.testing",
    "compile": "autograd_lite.compiler",
    "interop": "autograd_lite.interop",
}

# The names a reader looks for first, each on its module's page.
KEY_NAMES = [
    "autograd_lite.engine.Value",
    "autograd_lite.engine.Value.backward",
    "autograd_lite.engine.no_grad",
    "autograd_lite.nn.MLP",
    "autograd_lite.nn.Module.parameters",
    "autograd_lite.losses.cross_entropy",
    "autograd_lite.optim.SGD",
    "autograd_lite.optim.Adam",
    "autograd_lite.train.fit",
    "autograd_lite.train.History",
    "autograd_lite.viz.draw_graph",
    "autograd_lite.stepper.backward_steps",
    "autograd_lite.stepper.explore",
    "autograd_lite.testing.gradcheck",
    "autograd_lite.compiler.compile",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built by `mkdocs build --strict` from outside the tree (nothing is written into it)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=out.parent, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    assert "WARNING" not in log, log[-5000:]
    return out


def page(site: Path, path: str) -> str:
    html = site / path / "index.html"
    assert html.exists(), f"no page {path}/ in the site"
    return html.read_text(encoding="utf-8")


def anchors(html: str) -> set[str]:
    return set(re.findall(r'id="(autograd_lite\.[\w.]+)"', html))


def test_home_getting_started_and_pictures_pages(site: Path) -> None:
    assert "backpropagation made visible" in (site / "index.html").read_text(encoding="utf-8")
    assert "Getting started" in page(site, "getting-started")
    assert "Stepping through backprop" in page(site, "pictures")


@pytest.mark.parametrize("name", API_PAGES)
def test_api_page_documents_every_exported_name(site: Path, name: str) -> None:
    module = importlib.import_module(API_PAGES[name])
    ids = anchors(page(site, f"api/{name}"))
    assert module.__name__ in ids
    # the module's own objects, and objects shown on their own (interop's PyTorch part, loaded on first
    # use, is documented where it is defined): not members of a class on the page
    shown = {
        i.rsplit(".", 1)[1]
        for i in ids
        if i.rsplit(".", 1)[0] == module.__name__ or i.rsplit(".", 1)[0] not in ids
    }
    missing = [n for n in module.__all__ if n not in shown]
    assert not missing, f"{name}: exported but not on the page: {missing}"


def test_key_api_names_are_documented(site: Path) -> None:
    ids = set().union(*(anchors(page(site, f"api/{name}")) for name in API_PAGES))
    assert not [name for name in KEY_NAMES if name not in ids]
    assert "autograd_lite.engine" in anchors(page(site, "api/engine"))


def test_docstrings_render_as_markdown(site: Path) -> None:
    """Sphinx roles show as plain code, and ``Example:`` sections as highlighted doctest code."""
    for name in API_PAGES:
        html = page(site, f"api/{name}")
        assert not re.search(r":(?:class|func|meth|mod|attr|data|exc):", html), name
    engine = page(site, "api/engine")
    assert '<span class="gp">&gt;&gt;&gt; </span>' in engine
    assert "<code>autograd_lite.ops</code>" in engine  # was :mod:`autograd_lite.ops`


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_rendered_with_its_outputs(site: Path, notebook: Path) -> None:
    import nbformat

    html = page(site, f"notebooks/{notebook.stem}")
    nb = nbformat.read(notebook, as_version=4)
    title = next(c.source for c in nb.cells if c.cell_type == "markdown").splitlines()[0].lstrip("# ")
    assert f"<title>{title}" in html.replace("&#39;", "'"), title
    missing = [cell.id for cell in nb.cells if f'id="cell-id={cell.id}"' not in html]
    assert not missing, f"cells not on the page: {missing}"
    if any(cell.get("outputs") for cell in nb.cells):  # stored outputs are shown, not re-run
        assert "jp-OutputArea-output" in html


def test_every_picture_is_shown(site: Path) -> None:
    pictures = sorted(p for p in DOCS.rglob("*") if p.suffix in (".png", ".svg"))
    assert len(pictures) >= 7
    pages = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    for picture in pictures:
        relative = picture.relative_to(DOCS).as_posix()
        assert (site / relative).exists(), relative
        assert re.search(rf'src="[./]*{re.escape(relative)}"', pages), relative


def examples(markdown: str) -> list[tuple[str, str | None]]:
    """Each ```python block of a page and the ```text block right after it (what it prints), if any."""
    found = re.findall(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```)?", markdown, re.S)
    return [(code, printed or None) for code, printed in found]


@pytest.mark.parametrize("name", ["index.md", "getting-started.md"])
def test_page_examples_print_what_the_page_says(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = examples((DOCS / name).read_text())
    assert blocks and all(printed for code, printed in blocks if "print(" in code)
    for code, printed in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, name, "exec"), {"__name__": "__docs__"})
        if printed is not None:
            assert out.getvalue() == printed, code


def test_getting_started_chain_rule_claim() -> None:
    """The page, after its first example: do/dx = w (1 - o^2), do/dw = x (1 - o^2), do/db = 1 - o^2."""
    code, _ = examples((DOCS / "getting-started.md").read_text())[0]
    scope: dict[str, Value] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, scope)
    o, x, w, b = (scope[k] for k in "oxwb")
    local = 1 - o.data**2
    assert (x.grad, w.grad, b.grad) == pytest.approx((w.data * local, x.data * local, local))


def test_readme_links_to_the_docs_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    links = set(re.findall(r"\]\((docs/[^)#\s]+)", readme))
    assert {"docs/index.md", "docs/getting-started.md", "docs/api/index.md"} <= links
    assert not [link for link in links if not (ROOT / link).exists()]
    assert "make docs" in readme
