"""Typing: the package is clean under its own mypy configuration, and users' code under ``--strict``.

Two mypy runs, started together (they take tens of seconds when their caches
are cold; the caches live in the temporary directory, not in the tree):

* ``mypy autograd_lite`` with pyproject's ``[tool.mypy]`` (which warns of
  unused ``# type: ignore``): no error at all;
* ``mypy --strict`` on tests/typed_usage.py (the README's examples as a user
  types them) and tests/typed_misuse.py (misuses, each line marked with the
  error it must get), as a user's project sees the package: installed, its
  own code not checked (``follow_imports = silent``), its annotations read.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._pyproject import pyproject

ROOT = Path(__file__).resolve().parent.parent
USAGE = "tests/typed_usage.py"
MISUSE = "tests/typed_misuse.py"
STRICT_CONFIG = """\
[mypy]
strict = True

[mypy-autograd_lite.*]
follow_imports = silent
"""
# typed_usage.py differs from the README where mypy --strict needs it (beyond annotations, set
# aside by the comparison): a loop variable reused for another type gets a name of its own.
README_EDITS = {
    6: [("for step in backward_steps(o, zero_grad=True):", "for edge in backward_steps(o, zero_grad=True):"),
        ("    print(step.explain())           # the rule", "    print(edge.explain())           # the rule")],
}  # fmt: skip

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")


def _cache(name: str) -> Path:
    tree = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"autograd_lite-mypy-{tree}" / name


def _mypy(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    config = _cache("strict.ini")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(STRICT_CONFIG)
    started = {
        "package": _mypy("--cache-dir", str(_cache("package")), "autograd_lite"),
        "users": _mypy("--config-file", str(config), "--cache-dir", str(_cache("strict")), USAGE, MISUSE),
    }
    yield started
    for process in started.values():
        process.kill()
        process.wait()


def _output(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = process.communicate(timeout=600)
    return process.returncode, out


def _errors(out: str) -> set[tuple[str, int, str]]:
    """``(file, line, code)`` of each error mypy reported."""
    found = re.findall(r"^(\S+?):(\d+): error: .*?\[([\w-]+)\]$", out, re.M)
    return {(path.replace("\\", "/"), int(line), code) for path, line, code in found}


def test_package_is_clean_under_its_mypy_configuration(runs: dict[str, subprocess.Popen[str]]) -> None:
    assert pyproject()["tool"]["mypy"]["warn_unused_ignores"] is True
    code, out = _output(runs["package"])
    assert code == 0 and "error" not in out, out


def test_readme_examples_type_check_under_strict(runs: dict[str, subprocess.Popen[str]]) -> None:
    code, out = _output(runs["users"])
    assert code in (0, 1), out  # 2: mypy itself failed (a crash, a bad option)
    assert "error:" in out, "mypy found nothing wrong even in typed_misuse.py: it did not check it\n" + out
    wrong = [e for e in out.splitlines() if ": error:" in e and not e.startswith(MISUSE)]
    assert not wrong, "\n".join(wrong)


def test_mypy_reports_each_misuse_and_nothing_else(runs: dict[str, subprocess.Popen[str]]) -> None:
    _, out = _output(runs["users"])
    lines = (ROOT / MISUSE).read_text().splitlines()
    expected = {(MISUSE, n, m.group(1)) for n, line in enumerate(lines, 1)
                if (m := re.search(r"# expect: \[([\w-]+)\]$", line))}  # fmt: skip
    assert len(expected) >= 8
    got = {e for e in _errors(out) if e[0] == MISUSE}
    assert got == expected, f"missing: {sorted(expected - got)}, unexpected: {sorted(got - expected)}\n{out}"


# -- typed_usage.py holds the README's examples ---------------------------------------------------------


def _readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _without_annotations(tree: ast.Module) -> ast.Module:
    """The tree with every annotation set aside (``x: T = v`` becomes ``x = v``)."""

    class Strip(ast.NodeTransformer):
        def visit_arg(self, node: ast.arg) -> ast.arg:
            node.annotation = None
            return node

        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
            node.returns = None
            self.generic_visit(node)
            return node

        def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
            if node.value is None:
                return None
            return ast.Assign(targets=[node.target], value=self.visit(node.value), lineno=node.lineno)

    stripped: ast.Module = ast.fix_missing_locations(Strip().visit(tree))
    return stripped


def _statements(body: list[ast.stmt]) -> tuple[set[str], list[str]]:
    """The names imported (order aside, as isort sorts them) and the other statements, as dumps."""
    imports = {f"{getattr(s, 'module', '')}:{a.name}:{a.asname}" for s in body
               if isinstance(s, (ast.Import, ast.ImportFrom)) for a in s.names}  # fmt: skip
    rest = [ast.dump(s) for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    return imports, rest


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(any(s == w for w in it) for s in part)


def test_typed_usage_holds_every_readme_example() -> None:
    usage = _without_annotations(ast.parse((ROOT / USAGE).read_text()))
    functions = {f.name: f.body for f in ast.walk(usage) if isinstance(f, ast.FunctionDef)}
    examples = _readme_examples()
    assert len(examples) >= 10
    for n, source in enumerate(examples, 1):
        for old, new in README_EDITS.get(n, []):
            assert old in source, f"README example {n} changed: update README_EDITS ({old!r})"
            source = source.replace(old, new)
        name = f"readme_example_{n}"
        assert name in functions, f"{USAGE} has no {name}(): copy README example {n} into it"
        readme_imports, readme_rest = _statements(_without_annotations(ast.parse(source)).body)
        typed_imports, typed_rest = _statements(functions[name])
        assert readme_imports <= typed_imports, f"{name} lacks imports {readme_imports - typed_imports}"
        assert _is_subsequence(readme_rest, typed_rest), f"{name} differs from README example {n}"
