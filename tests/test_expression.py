"""The expression parser (a whitelist over ``ast``, never eval) and the ``graph`` command."""

from __future__ import annotations

import builtins
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd_lite import Value
from autograd_lite.__main__ import main
from autograd_lite.expression import (
    FUNCTIONS,
    ExpressionError,
    evaluate_expression,
    parse_assignments,
    parse_expression,
)
from autograd_lite.testing import numerical_grad
from tests.html_pages import page_data

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


# -- good input ----------------------------------------------------------------


def test_value_and_gradients_of_the_neuron_example():
    out, leaves = evaluate_expression("tanh(x*w + b)", {"x": 0.5, "w": -1.2, "b": 2.0})
    t = math.tanh(0.5 * -1.2 + 2.0)
    assert out.data == pytest.approx(t)
    assert leaves["x"].grad == pytest.approx(-1.2 * (1 - t * t))
    assert leaves["w"].grad == pytest.approx(0.5 * (1 - t * t))
    assert leaves["b"].grad == pytest.approx(1 - t * t)
    assert list(leaves) == ["x", "w", "b"]  # in order of first appearance
    assert all(leaf.label == name for name, leaf in leaves.items())


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("-x**2 + 3*y", lambda x, y: -(x**2) + 3 * y),
        ("x / y - y / x", lambda x, y: x / y - y / x),
        ("2**x * y**-1", lambda x, y: 2**x * y**-1),
        ("x**y", lambda x, y: x**y),
        ("+x - -y", lambda x, y: x + y),
        ("(x + y) * (x - y) / 4.5e-1", lambda x, y: (x + y) * (x - y) / 0.45),
        ("sigmoid(x) * relu(y) + softplus(x*y)", None),
        ("exp(x) + log(y) + sqrt(y) + sin(x) * cos(y) + abs(x - y)", None),
    ],
)
def test_expressions_follow_python_precedence_and_differentiate_correctly(text, python):
    point = {"x": 1.3, "y": 0.7}
    out, leaves = evaluate_expression(text, point)
    if python is not None:
        assert out.data == pytest.approx(python(**point))

    expected = numerical_grad(lambda x, y: _rebuild(text, x, y), [point["x"], point["y"]])
    got = [leaves[name].grad if name in leaves else 0.0 for name in ("x", "y")]
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-7)


def _rebuild(text: str, x: Value, y: Value) -> Value:
    out, _ = parse_expression(text).evaluate({"x": x.data, "y": y.data})
    return out


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_is_the_engines(name):
    out, leaves = evaluate_expression(f"{name}(x)", {"x": 0.8})
    reference = Value(0.8)
    expected = FUNCTIONS[name](reference)
    expected.backward()
    assert out._op == expected._op
    assert out.data == expected.data and leaves["x"].grad == reference.grad


def test_an_expression_without_variables_is_a_constant():
    out, leaves = evaluate_expression("2 * (3 + 4)", {})
    assert out.data == 14.0 and leaves == {}


def test_a_very_long_sum_needs_no_recursion():
    out, leaves = evaluate_expression("+".join(["x"] * 1500), {"x": 0.5})
    assert out.data == pytest.approx(750.0) and leaves["x"].grad == 1500.0


def test_eval_and_exec_are_never_used(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must not be called")

    for name in ("eval", "exec"):  # (ast.parse itself uses compile, which only parses)
        monkeypatch.setattr(builtins, name, forbidden)
    out, _ = evaluate_expression("tanh(x) * 2", {"x": 0.1})
    assert out.data == pytest.approx(2 * math.tanh(0.1))


# -- hostile input ------------------------------------------------------------

HOSTILE = [
    # (expression, a phrase of the message, the part the pointer must underline)
    ("__import__('os').system('ls')", "may be called", "__import__('os').system"),
    ("tanh(os.system('ls'))", "may be called", "os.system"),
    ("x.__class__", "attribute", "x.__class__"),
    ("x.__class__.__mro__[1]", "indexing", "x.__class__.__mro__[1]"),
    ("open('/etc/passwd')", "unknown function 'open'", "open"),
    ("exec('1')", "unknown function 'exec'", "exec"),
    ("eval('x')", "unknown function 'eval'", "eval"),
    ("foo(x)", "unknown function 'foo'", "foo"),
    ("(lambda: 1)()", "may be called", "lambda: 1"),
    ("x + (lambda: 1)", "lambda", "lambda: 1"),
    ("sum([i for i in x])", "unknown function 'sum'", "sum"),
    ("x * [i for i in y]", "comprehension", "[i for i in y]"),
    ("x + (i for i in y)", "comprehension", "(i for i in y)"),
    ("x + 'abc'", "a string", "'abc'"),
    ("x + b'abc'", "a string", "b'abc'"),
    ("x + f'{y}'", "f-string", "f'{y}'"),
    ("x if y else 1", "conditional", "x if y else 1"),
    ("x < y", "comparison", "x < y"),
    ("x and y", "and/or", "x and y"),
    ("x // 2", "operator //", "x // 2"),
    ("x % 2", "operator %", "x % 2"),
    ("x @ y", "operator @", "x @ y"),
    ("x ^ y", "operator ^", "x ^ y"),
    ("~x", "operator ~", "~x"),
    ("not x", "operator not", "not x"),
    ("(y := 2) * x", "assignment", "y := 2"),
    ("x + [1, 2]", "a list", "[1, 2]"),
    ("x + (1, 2)", "a tuple", "(1, 2)"),
    ("x + {1: 2}", "a dict", "{1: 2}"),
    ("tanh(*x)", "unpacking", "*x"),
    ("tanh(x=1)", "keyword", "x=1"),
    ("tanh(x, y)", "exactly one argument", "tanh(x, y)"),
    ("tanh()", "exactly one argument", "tanh()"),
    ("tanh + x", "is a function", "tanh"),
    ("x + True", "True", "True"),
    ("x + None", "None", "None"),
    ("x + 1j", "1j", "1j"),
    ("x * 1e999", "too large", "1e999"),
    ("x +", "not a valid expression", ""),
    ("import os", "not a valid expression", "import"),
    ("x = 1", "not a valid expression", None),
    ("(x", "not a valid expression", None),
    ("tänh(x)", "unknown function 'tänh'", "tänh"),
]


@pytest.mark.parametrize(("text", "phrase", "offending"), HOSTILE)
def test_hostile_expressions_are_rejected_pointing_at_the_offending_part(text, phrase, offending):
    with pytest.raises(ExpressionError) as caught:
        evaluate_expression(text, {"x": 1.0, "y": 2.0})
    error = caught.value
    assert phrase in error.reason
    assert error.expression == text and error.start is not None
    lines = str(error).splitlines()
    assert lines[1] == f"  {text}"
    caret = lines[2][2:]
    assert set(caret.strip()) == {"^"}
    if offending is not None:
        underlined = text[caret.index("^") : len(caret)]
        assert underlined == offending or (offending == "" and caret.index("^") >= len(text.rstrip()))


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x\n+ 1", "one line"),
        ("x" * 20_000, "limit"),
        ("(" * 500 + "x" + ")" * 500, "not a valid expression|nested"),
    ],
)
def test_empty_multiline_huge_or_too_deep_expressions_are_refused(text, phrase):
    with pytest.raises(ExpressionError, match=phrase):
        parse_expression(text)


def test_failing_ops_point_at_the_call():
    with pytest.raises(ExpressionError) as caught:
        evaluate_expression("1 + log(x - 3)", {"x": 1.0})
    assert "log" in caught.value.reason and "-2.0" in caught.value.reason
    start, end = caught.value.start, caught.value.end
    assert "1 + log(x - 3)"[start:end] == "log(x - 3)"
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate_expression("x / (y - y)", {"x": 1.0, "y": 2.0})


# -- variable values -----------------------------------------------------------


def test_a_missing_variable_is_reported_by_name():
    with pytest.raises(ExpressionError, match=r"no value for variables w, b: pass w=<number> b=<number>"):
        evaluate_expression("tanh(x*w + b)", {"x": 1.0})


def test_a_value_for_a_variable_the_expression_does_not_have_is_reported():
    with pytest.raises(ExpressionError, match=r"value given for z, but the expression has no such variable"):
        evaluate_expression("x * 2", {"x": 1.0, "z": 3.0})


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["x=abc"], "variable x: 'abc' is not a number"),
        (["x=1", "w=1,5"], "variable w: '1,5' is not a number"),
        (["b=nan"], "variable b: 'nan' is not a finite number"),
        (["b=inf"], "variable b: 'inf' is not a finite number"),
        (["w="], "variable w has no value"),
        (["x"], "name=number"),
        (["2x=1"], "name=number"),
        (["x=1", "x=2"], "variable x is given twice"),
    ],
)
def test_bad_variable_values_are_reported_by_name(items, message):
    with pytest.raises(ExpressionError, match=message):
        parse_assignments(items)


def test_assignments_parse_numbers():
    assert parse_assignments(["x=0.5", "w=-1.2", " b = 2 ", "c=1e-3"]) == {
        "x": 0.5,
        "w": -1.2,
        "b": 2.0,
        "c": 1e-3,
    }


# -- the command ---------------------------------------------------------------


@needs_dot
def test_graph_command_prints_gradients_and_writes_the_picture_and_steps(tmp_path: Path, capsys):
    svg, steps = tmp_path / "graph.svg", tmp_path / "steps.html"
    status = main(["graph", "tanh(x*w + b)", "x=0.5", "w=-1.2", "b=2", "-o", str(svg), "--steps", str(steps)])
    out = capsys.readouterr().out
    assert status == 0
    t = math.tanh(0.5 * -1.2 + 2.0)
    assert f"tanh(x*w + b) = {t:.6g}" in out
    assert f"d/dx = {-1.2 * (1 - t * t):.6g}" in out
    assert f"d/dw = {0.5 * (1 - t * t):.6g}" in out
    assert f"d/db = {1 - t * t:.6g}" in out
    assert f"wrote {svg}" in out and f"wrote {steps}" in out
    root = ET.parse(svg).getroot()
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"x", "w", "b", "tanh", "*", "+"} <= texts
    records = page_data(steps.read_text())["steps"]
    assert sum(1 for r in records if r["edge"].startswith("v")) == 5  # one per backward step of tanh(x*w + b)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["graph", "x.__class__", "x=1"], "attribute access"),
        (["graph", "tanh(x*w)", "x=1"], "no value for variable w"),
        (["graph", "x*w", "x=1", "w=abc"], "variable w: 'abc' is not a number"),
        (["graph", "x*2", "x=1", "-o", "graph.bmp"], "cannot tell the format"),
    ],
)
def test_graph_command_reports_bad_input_and_writes_nothing(
    argv, message, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.startswith("autograd-lite graph: error:")
    assert list(tmp_path.iterdir()) == []


def test_graph_command_without_dot_explains_and_exits_1(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = main(["graph", "x*2", "x=1", "-o", str(tmp_path / "g.png")])
    captured = capsys.readouterr()
    assert status == 1
    assert "apt-get install graphviz" in captured.err
    assert "x*2 = 2" in captured.out  # the numbers are still printed
    assert not (tmp_path / "g.png").exists()


def test_graph_command_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "autograd_lite", "graph", "x*y + y", "x=3", "y=-2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines() == ["x*y + y = -8", "  d/dx = -2", "  d/dy = 4"]
