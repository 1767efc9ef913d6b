"""Stepping through the backward pass: the same steps, order and gradients as backward()."""

from __future__ import annotations

import doctest
import json
import math
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite
from autograd_lite import Value, apply, custom_op, stepper, topological_order
from autograd_lite.nn import MLP
from autograd_lite.ops import BUILTIN_OPS, SUM, VARIADIC, Domain, Op, leaky_relu, pow_number
from autograd_lite.optim import SGD
from autograd_lite.rules import Sym, SymbolicError
from autograd_lite.stepper import (
    Step,
    backward_steps,
    explore,
    export_steps_html,
    forward_steps,
    gradient_sums,
    gradient_terms,
    local_formulas,
    update_steps,
    value_names,
)
from autograd_lite.testing import Expression, expressions
from tests.html_pages import page_data

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@given(expressions(3))
def test_after_the_last_step_every_grad_equals_backward(expression):
    stepped = expression(*[Value(x) for x in expression.point])
    reference = expression(*[Value(x) for x in expression.point])
    reference.backward()
    taken = list(backward_steps(stepped))
    stepped_nodes, reference_nodes = topological_order(stepped), topological_order(reference)
    assert len(stepped_nodes) == len(reference_nodes)
    for a, b in zip(stepped_nodes, reference_nodes):
        assert a.grad == b.grad  # the same arithmetic in the same order: equal, not just close
    # one step per edge of the graph
    assert len(taken) == sum(len(node._prev) for node in stepped_nodes)


@given(expressions(3))
def test_each_step_is_upstream_times_local_added_to_the_child(expression):
    root = expression(*[Value(x) for x in expression.point])
    seen: dict[Value, float] = {}
    for index, step in enumerate(backward_steps(root)):
        assert step.index == index
        assert step.node._prev[step.position] is step.child
        assert step.contribution == step.upstream * step.local
        assert step.child_grad == step.grad_before + step.contribution
        assert step.grad_before == seen.get(step.child, 0.0)  # leaves start at 0 here
        seen[step.child] = step.child_grad
        assert step.child.grad == step.child_grad  # applied before it is yielded
    for node in topological_order(root):
        if node is not root:
            assert node.grad == seen.get(node, 0.0)


def recording_graph(expression: Expression) -> tuple[Value, list[int]]:
    """The expression's graph, but every node has its own op that logs when its rule runs."""
    log: list[int] = []

    def recording(op: Op, k: int) -> Op:
        def rule(*args):
            if any(isinstance(a, Sym) for a in args):  # no symbolic form: the engine calls this rule itself
                raise SymbolicError("a rule that logs its calls")
            log.append(k)
            return op.rule(*args)

        return Op(f"{op}#{k}", op.forward, rule, op.arity, op.domain)

    nodes: list[Value] = [Value(x) for x in expression.point]
    for k, (op, refs) in enumerate(expression.steps):
        nodes.append(apply(recording(op, k), *[nodes[r] for r in refs]))
    root = apply(recording(SUM, len(nodes)), *[nodes[r] for r in expression.output])
    return root, log


@given(expressions(3))
def test_steps_come_in_the_order_backward_applies_the_rules(expression):
    root, log = recording_graph(expression)
    root.backward()
    order_of_backward = list(log)
    log.clear()
    taken = list(backward_steps(root))
    order_of_steps = [int(str(s.node._op).split("#")[1]) for s in taken]
    # the steps of one node are together, its inputs in _prev order
    nodes_in_step_order = [k for i, k in enumerate(order_of_steps) if i == 0 or order_of_steps[i - 1] != k]
    assert nodes_in_step_order == order_of_backward
    for node in {s.node for s in taken}:
        assert [s.position for s in taken if s.node is node] == list(range(len(node._prev)))


def test_the_chain_rule_line_names_the_values_and_gives_the_rule_the_numbers_and_the_running_total():
    w1, x1 = Value(-3.0, label="w1"), Value(2.0, label="x1")
    n = w1 * x1
    n.label = "n"
    loss = 0.5 * n
    loss.label = "L"
    half = loss._prev[0]
    steps = {step.child_name: step for step in backward_steps(loss)}
    assert steps["w1"].explain() == "dL/dw1 += dL/dn * dn/dw1 = 0.5 * (x1 = 2.0) = 1.0; w1.grad: 0.0 -> 1.0"
    assert (
        steps["x1"].explain() == "dL/dx1 += dL/dn * dn/dx1 = 0.5 * (w1 = -3.0) = -1.5; x1.grad: 0.0 -> -1.5"
    )
    half_name = value_names(loss)[half]
    assert (
        steps["n"].explain()
        == f"dL/dn += dL/dL * dL/dn = 1.0 * ({half_name} = 0.5) = 0.5; n.grad: 0.0 -> 0.5"
    )
    assert steps["w1"].formula == "d (w1*x1)/dw1 = x1" and steps["w1"].rule == "x1"
    assert "w1.grad: 0.0 -> 1.0" in repr(steps["w1"])
    assert isinstance(steps["w1"], Step)


def test_a_rule_that_is_a_constant_shows_only_its_value():
    a, b = Value(1.5, label="a"), Value(2.0, label="b")
    out = a - b
    out.label = "d"
    first, second = backward_steps(out)
    assert first.formula == "d (a-b)/da = 1" and second.formula == "d (a-b)/db = -1"
    assert first.explain() == "dd/da += dd/dd * dd/da = 1.0 * 1.0 = 1.0; a.grad: 0.0 -> 1.0"
    assert second.explain() == "dd/db += dd/dd * dd/db = 1.0 * -1.0 = -1.0; b.grad: 0.0 -> -1.0"


def test_a_reused_value_gets_one_line_per_use_each_with_its_formula_and_running_total():
    x = Value(3.0, label="x")
    square = x * x
    y = square + x
    y.label = "y"
    into_x = [s for s in backward_steps(y) if s.child is x]
    assert [(s.grad_before, s.child_grad) for s in into_x] == [(0.0, 1.0), (1.0, 4.0), (4.0, 7.0)]
    assert [s.formula for s in into_x] == ["d (v1+x)/dx = 1", "d (x*x)/dx = x", "d (x*x)/dx = x"]
    lines = [s.explain() for s in into_x]
    assert lines == [
        "dy/dx += dy/dy * dy/dx = 1.0 * 1.0 = 1.0; x.grad: 0.0 -> 1.0",
        "dy/dx += dy/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0; x.grad: 1.0 -> 4.0",
        "dy/dx += dy/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0; x.grad: 4.0 -> 7.0",
    ]
    assert len(set(lines)) == 3  # the two uses by x*x read differently: their running totals
    assert x.grad == 7.0


def test_parts_give_the_step_as_plain_data():
    x = Value(3.0, label="x")
    y = (x * x).tanh()
    y.label = "y"
    step = next(backward_steps(y))
    parts = step.parts()
    assert parts == {
        "index": 0, "root": "y", "node": "y", "child": "v1", "position": 0,
        "formula": "d tanh(v1)/dv1 = 1 - y**2", "rule": "1 - y**2",
        "local": step.local, "upstream": 1.0, "contribution": step.contribution,
        "before": 0.0, "after": step.child_grad, "text": step.explain(),
    }  # fmt: skip
    json.dumps(parts)  # plain data


def test_unlabelled_values_get_the_names_of_their_picture_ids():
    x = Value(1.5, label="x")
    y = (x * 2).tanh()  # root unlabelled: "L"
    names = value_names(y)
    order = topological_order(y)
    assert names[y] == "L" and names[x] == "x"
    assert names[order[1]] == "v1"  # the constant 2
    assert [s.explain().split(" += ")[0] for s in backward_steps(y)] == ["dL/dv2", "dL/dx", "dL/dv1"]


def test_an_input_used_twice_gets_a_step_per_use():
    x = Value(3.0, label="x")
    y = x * x
    steps = list(backward_steps(y))
    assert [(s.child_name, s.position, s.child_grad) for s in steps] == [("x", 0, 3.0), ("x", 1, 6.0)]
    assert x.grad == 6.0


def test_leaves_accumulate_like_backward_unless_zeroed_first():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.backward()
    once = x.grad
    list(backward_steps(y))  # like a second backward(): leaves accumulate, interior grads are fresh
    assert x.grad == 2 * once
    assert y._prev[0].grad == 1 - y.data**2
    list(backward_steps(y, zero_grad=True))
    assert x.grad == once


def test_a_leaf_root_has_no_steps_and_gets_its_seed():
    x = Value(1.0)
    assert list(backward_steps(x)) == []
    assert x.grad == 1.0
    with pytest.raises(TypeError, match="must be a Value"):
        backward_steps(1.0)  # type: ignore[arg-type]


def test_stepping_is_lazy():
    x = Value(2.0)
    y = x * 3
    steps = backward_steps(y)
    assert x.grad == 0.0
    first = next(steps)
    assert first.child is x and x.grad == 3.0


# -- formulas: every op of the table ------------------------------------------

TABLE = [*BUILTIN_OPS, pow_number(2), pow_number(3), pow_number(-1), pow_number(0.5), leaky_relu(0.1)]


def point_in(domain: Domain, k: int) -> float:
    """A point inside ``domain``, away from its kinks, a different one for each input ``k``."""
    x = domain.low + (0.31 + 0.17 * k) * (domain.high - domain.low)
    if domain.integer:
        x = float(round(x))
    if any(abs(x - kink) < 0.05 for kink in domain.kinks):
        x += 0.5
    return x


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


MATH = ("exp", "log", "log1p", "sqrt", "sin", "cos", "tanh")
FORMULA_NAMESPACE = {"inf": math.inf, "sigmoid": sigmoid, **{f: getattr(math, f) for f in MATH}}


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("op", TABLE, ids=str)
def test_every_op_of_the_table_gives_each_step_its_formula_and_the_formula_computes_the_local(op: Op):
    count = 3 if op.arity == VARIADIC else op.arity
    names = ["a", "b", "c"][:count]
    inputs = [Value(point_in(op.domain[min(k, len(op.domain) - 1)], k), label=names[k]) for k in range(count)]
    out = apply(op, *inputs)
    out.label = "o"
    steps = list(backward_steps(out))
    assert [s.position for s in steps] == list(range(count))
    for step, name in zip(steps, names):
        assert step.formula == op.formulas(names, out="o")[step.position]
        assert step.formula.startswith(f"d {op.display(names)}/d{name} = ")
        assert step.formula == f"d {op.display(names)}/d{name} = {step.rule}"
        # the formula is the rule: evaluated at the point it gives the step's local derivative
        at = {**FORMULA_NAMESPACE, **{v.label: v.data for v in inputs}, "o": out.data}
        assert eval(step.rule, at) == pytest.approx(step.local, rel=1e-12, abs=1e-12), step.rule
        local = stepper._number(step.local)
        if is_number(step.rule):  # a constant rule shows as its value alone
            assert f" * {local} = " in step.explain()
        else:
            assert f" * ({step.rule} = {local}) = " in step.explain()


def test_an_op_whose_rule_has_no_formula_steps_without_one():
    @custom_op
    def clipped(x: float) -> float:
        return min(x, 1.0)

    @clipped.defderivative
    def _clipped_derivative(out, x):
        return 1.0 if x < 1.0 else 0.0  # Python's if: no symbolic form, no formula

    x = Value(0.5, label="x")
    y = clipped(x)
    y.label = "y"
    (step,) = backward_steps(y)
    assert step.formula is None and step.rule is None
    assert step.explain() == "dy/dx += dy/dy * dy/dx = 1.0 * 1.0 = 1.0; x.grad: 0.0 -> 1.0"


class MicrogradStyleValue(Value):
    """A value made the micrograd way: its ``_op`` is a plain string, with no formulas."""


def test_a_plain_string_op_has_no_formula_and_is_written_as_micrograd_writes_it():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = MicrogradStyleValue(a.data * b.data, label="c")
    c._prev, c._op = (a, b), "*"
    assert local_formulas(c, value_names(c)) == [(None, None), (None, None)]
    assert local_formulas(a, value_names(a)) == []
    (step,) = forward_steps(c)
    assert step.explain() == "c = a*b = 2.0*(-3.0) = -6.0"


# -- a value's whole gradient, term by term -------------------------------------


@given(expressions(3))
def test_gradient_terms_add_up_to_the_grad_backward_gives_one_term_per_use(expression):
    root = expression(*[Value(x) for x in expression.point])
    reference = expression(*[Value(x) for x in expression.point])
    reference.backward()
    sums = gradient_sums(root)
    nodes, reference_nodes = topological_order(root), topological_order(reference)
    assert list(sums) == nodes
    assert all(node.grad == 0.0 for node in nodes)  # every grad put back as it was
    uses = {node: [(n, k) for n in nodes for k, c in enumerate(n._prev) if c is node] for node in nodes}
    for node, reference_node in zip(nodes, reference_nodes):
        gradient = sums[node]
        assert gradient.total == reference_node.grad  # exactly: the same arithmetic, in the same order
        assert sorted((id(t.node), t.position) for t in gradient.terms) == sorted(
            (id(n), k) for n, k in uses[node]
        )
        running = 1.0 if node is root else 0.0
        for term in gradient.terms:
            assert term.child is node and term.grad_before == running
            assert term.upstream == reference_nodes[nodes.index(term.node)].grad  # dL/dnode
            running = term.grad_before + term.upstream * term.local
        assert running == gradient.total


def test_gradient_terms_of_a_reused_value_shows_each_use():
    x = Value(3.0, label="x")
    L = x * x + x
    L.label = "L"
    x.grad = 5.0  # a stale grad: left alone
    gradient = gradient_terms(L, x)
    assert gradient.total == 7.0 and len(gradient.terms) == 3 and x.grad == 5.0
    assert gradient.explain() == (
        "dL/dx = 7.0, the sum over its 3 uses:\n"
        "  dL/dL * dL/dx = 1.0 * 1.0 = 1.0 (d (v1+x)/dx = 1)\n"
        "  dL/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0 (d (x*x)/dx = x)\n"
        "  dL/dv1 * dv1/dx = 1.0 * (x = 3.0) = 3.0 (d (x*x)/dx = x)"
    )
    parts = gradient.parts()
    assert (
        parts["value"] == "x" and parts["total"] == 7.0 and [t["after"] for t in parts["terms"]] == [1, 4, 7]
    )
    json.dumps(parts)


def test_gradient_terms_of_the_root_is_the_seed_and_bad_values_are_refused():
    x = Value(2.0, label="x")
    y = x.tanh()
    y.label = "y"
    seed = gradient_terms(y, y)
    assert seed.total == 1.0 and seed.terms == ()
    assert seed.explain() == "dy/dy = 1.0: the seed, where the backward pass starts"
    with pytest.raises(ValueError, match="not in the graph"):
        gradient_terms(y, Value(1.0))
    with pytest.raises(TypeError, match="must be a Value"):
        gradient_terms(y, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a Value"):
        gradient_sums(2.0)  # type: ignore[arg-type]


# -- the forward pass ----------------------------------------------------------


@given(expressions(3))
def test_forward_steps_visit_every_interior_node_after_its_inputs_with_the_graphs_data(expression):
    root = expression(*[Value(x) for x in expression.point])
    steps = forward_steps(root)
    assert [s.node for s in steps] == [n for n in topological_order(root) if n._prev]
    assert [s.index for s in steps] == list(range(len(steps)))
    assert steps[-1].node is root
    computed: set[Value] = set()
    for step in steps:
        assert all(x in computed or not x._prev for x in step.inputs)  # inputs come first
        assert step.op is step.node._op and step.inputs == step.node._prev
        assert step.input_data == tuple(x.data for x in step.inputs)
        assert step.output == step.node.data == step.op.forward(*step.input_data)
        computed.add(step.node)
    assert all(node.grad == 0.0 for node in topological_order(root))


def test_forward_steps_say_each_node_with_names_and_numbers():
    out, (x, w, b) = neuron()
    n = out._prev[0]
    n.label = "n"
    lines = [s.explain() for s in forward_steps(out)]
    assert lines == [
        "v2 = x*w = 0.5*(-1.2) = -0.6",
        "n = v2+b = (-0.6)+2.0 = 1.4",
        "o = tanh(n) = tanh(1.4) = 0.885352",
    ]
    square = Value(-2.0, label="a") ** 2
    square.label = "s"
    assert forward_steps(square)[0].explain() == "s = a**2 = (-2.0)**2 = 4.0"
    neuron_sum = Value.dot([w, b], [x, x], bias=1.0)
    neuron_sum.label = "d"
    (step,) = forward_steps(neuron_sum)
    assert step.explain() == "d = dot(w, b, x, x, v3) = dot(-1.2, 2.0, 0.5, 0.5, 1.0) = 1.4"
    parts = step.parts()
    assert parts["expression"] == "dot(w, b, x, x, v3)" and parts["inputs"] == ["w", "b", "x", "x", "v3"]
    assert parts["output"] == neuron_sum.data and parts["text"] == step.explain()
    assert forward_steps(x) == []
    with pytest.raises(TypeError, match="must be a Value"):
        forward_steps(1.0)  # type: ignore[arg-type]


# -- the update ----------------------------------------------------------------


def test_update_steps_describe_sgd_and_change_nothing_until_applied():
    model, twin = MLP(2, [2, 1], seed=3), MLP(2, [2, 1], seed=3)
    for m in (model, twin):
        loss = (m([0.5, -1.0]) - 1.0) ** 2
        loss.backward()
    before = [p.data for p in model.parameters()]
    steps = update_steps(model, 0.1)
    assert [p.data for p in model.parameters()] == before  # nothing applied yet
    assert [s.param for s in steps] == model.parameters()
    assert [s.name for s in steps] == [p.label for p in model.parameters()]
    for step in steps:
        assert step.before == step.param.data and step.grad == step.param.grad and step.lr == 0.1
        assert step.after == step.before - 0.1 * step.grad
        step.apply()
    SGD(twin.parameters(), lr=0.1).step()
    # exactly SGD's arithmetic
    assert [p.data for p in model.parameters()] == [p.data for p in twin.parameters()]
    moved = next(s for s in steps if s.grad != 0.0)
    with pytest.raises(ValueError, match="applied twice"):
        moved.apply()
    assert moved.param.data == moved.after


def test_an_update_step_reads_as_the_gradient_descent_rule():
    w = Value(0.5, label="w.0")
    w.grad = 0.2
    (step,) = update_steps([w], lr=0.1)
    assert step.explain() == "w.0 <- w.0 - 0.1 * grad = 0.5 - 0.1 * 0.2 = 0.48"
    assert step.parts() == {"index": 0, "param": "w.0", "lr": 0.1, "grad": 0.2, "before": 0.5,
                            "after": step.after, "text": step.explain()}  # fmt: skip
    assert repr(step) == f"UpdateStep(0: {step.explain()})"
    unnamed = Value(1.0)
    assert [s.name for s in update_steps([w, unnamed], 1)] == ["w.0", "p1"]
    assert update_steps([unnamed], 1, names={unnamed: "v7"})[0].name == "v7"


@pytest.mark.parametrize("lr", [0, -0.1, True, "0.1", None])
def test_update_steps_refuse_a_learning_rate_that_is_not_a_positive_number(lr):
    with pytest.raises(ValueError, match="lr must be a positive number"):
        update_steps([Value(1.0)], lr)


def test_update_steps_refuse_what_is_not_a_parameter_list():
    w = Value(1.0)
    with pytest.raises(TypeError, match="must be Values"):
        update_steps([w, 2.0], 0.1)
    with pytest.raises(ValueError, match="listed twice"):
        update_steps([w, w], 0.1)
    assert update_steps([], 0.1) == []


@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(1e-4, 10.0))
def test_update_arithmetic_is_sgds(data: float, grad: float, lr: float):
    p, q = Value(data), Value(data)
    p.grad = q.grad = grad
    (step,) = update_steps([p], lr)
    SGD([q], lr=lr).step()
    step.apply()
    assert p.data == q.data


# -- docs and exports -------------------------------------------------------------


def test_the_stepper_docstring_examples_run():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    ours = {"autograd_lite.stepper", "autograd_lite.stepper.gradient_terms"}
    tests = [t for t in finder.find(stepper) if t.name in ours and t.examples]
    assert {t.name for t in tests} == ours
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_new_step_functions_are_exported_from_the_package():
    for name in ("forward_steps", "gradient_terms", "update_steps"):
        assert getattr(autograd_lite, name) is getattr(stepper, name)
        assert name in autograd_lite.__all__


# -- Jupyter -------------------------------------------------------------------


def neuron():
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    out = (x * w + b).tanh()
    out.label = "o"
    return out, (x, w, b)


@needs_dot
def test_explore_is_a_widget_holding_the_picture_once_and_every_step_as_data():
    out, leaves = neuron()
    for leaf in leaves:
        leaf.grad = 7.0  # stale grads: the walkthrough starts from zero and puts these back
    widget = explore(out)
    steps = list(backward_steps(out, zero_grad=True))
    for leaf in leaves:
        leaf.grad = 7.0
    assert widget.data["svg"].count("<svg") == 1  # laid out once
    assert [s["text"] for s in widget.data["steps"]] == [s.explain() for s in steps]
    # a system dot drew it; Viz.js comes along to lay it out again when a module box collapses
    assert widget.viz_js.startswith("/*!\nViz.js") and widget.data["graph"]["items"]
    assert "export default" in widget._esm and ".al-viewport" in widget._css
    assert all(leaf.grad == 7.0 for leaf in leaves)
    # the steps were taken from zero: the last step of x is w's value times the upstream
    x_step = next(s for s in steps if s.child_name == "x")
    assert x_step.grad_before == 0.0 and x_step.child_grad == pytest.approx(-1.2 * (1 - out.data**2))


def test_explore_without_dot_sends_webassembly_graphviz_to_the_browser(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out, _ = neuron()
    widget = explore(out)
    assert widget.data["svg"] is None and widget.data["dot"].startswith("digraph")
    assert widget.viz_js.startswith("/*!\nViz.js")


# -- the HTML file -------------------------------------------------------------


@needs_dot
def test_export_writes_one_self_contained_file_with_the_picture_once(tmp_path: Path):
    out, _leaves = neuron()
    path = export_steps_html(out, tmp_path / "steps.html", title="A <neuron>")
    page = path.read_text()
    data = page_data(page)
    assert data["svg"].count("<svg") == 1  # the picture once; the steps are data
    assert [s["text"] for s in data["steps"]] == [s.explain() for s in backward_steps(out, zero_grad=True)]
    # nothing from the network: no external scripts, styles or images
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page
    assert "<title>A &lt;neuron&gt;</title>" in page


@needs_dot
def test_export_has_no_step_cap(tmp_path: Path):
    x = Value(0.1)
    y = x
    for _ in range(500):
        y = y.tanh()
    path = export_steps_html(y, tmp_path / "deep.html")
    steps = page_data(path.read_text())["steps"]
    assert sum(1 for s in steps if s["edge"].startswith("v")) == 500  # every step, none refused
    assert x.grad == 0.0


def test_the_readme_stepper_example_prints_what_its_comments_say():
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text[text.index("## Seeing the graph and stepping") :]
    claimed = re.findall(r"^# (do/d.*)$", section, re.M)
    assert claimed, "the README's stepper example should show explain() lines"
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    printed = [step.explain() for step in backward_steps(o, zero_grad=True)]
    assert set(claimed) <= set(printed)
    assert "v2 = x*w = 0.5*(-1.2) = -0.6" in section and forward_steps(o)[0].explain() in section
