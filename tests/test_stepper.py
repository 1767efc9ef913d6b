"""Stepping through the backward pass: the same steps, order and gradients as backward()."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given

from autograd_lite import Value, apply, topological_order
from autograd_lite.ops import SUM, Op
from autograd_lite.rules import Sym, SymbolicError
from autograd_lite.stepper import Step, backward_steps, explore, export_steps_html, value_names
from autograd_lite.testing import Expression, expressions

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


def test_the_chain_rule_line_names_the_values_and_gives_the_numbers():
    w1, x1 = Value(-3.0, label="w1"), Value(2.0, label="x1")
    n = w1 * x1
    n.label = "n"
    loss = 0.5 * n
    loss.label = "L"
    steps = {step.child_name: step for step in backward_steps(loss)}
    assert steps["w1"].explain() == "dL/dw1 += dL/dn * dn/dw1 = 0.5 * 2.0 = 1.0"
    assert steps["x1"].explain() == "dL/dx1 += dL/dn * dn/dx1 = 0.5 * -3.0 = -1.5"
    assert steps["n"].explain() == "dL/dn += dL/dL * dL/dn = 1.0 * 0.5 = 0.5"
    assert "w1.grad = 1.0" in repr(steps["w1"])
    assert isinstance(steps["w1"], Step)


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


# -- Jupyter -------------------------------------------------------------------


def neuron():
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    out = (x * w + b).tanh()
    out.label = "o"
    return out, (x, w, b)


@needs_dot
def test_explore_steps_with_buttons_and_slider_and_leaves_grads_alone():
    out, leaves = neuron()
    for leaf in leaves:
        leaf.grad = 7.0  # stale grads: the walkthrough starts from zero and puts these back
    widget = explore(out)
    steps = widget.steps
    assert widget.slider.max == len(steps) == 5
    assert widget.previous.disabled and not widget.next.disabled
    assert "<svg" in widget.picture.value
    widget.next.click()
    widget.next.click()
    assert widget.slider.value == 2
    assert html.escape(steps[1].explain()) in widget.explanation.value
    node_id = re.search(r'id="(v\d+)_op" class="node op highlight', widget.picture.value)
    assert node_id, "the current step's op is highlighted"
    assert widget.picture.value.count("input highlight") == 1
    widget.slider.value = len(steps)
    assert html.escape(steps[-1].explain()) in widget.explanation.value
    assert widget.next.disabled
    widget.previous.click()
    assert widget.slider.value == len(steps) - 1
    assert all(leaf.grad == 7.0 for leaf in leaves)
    # the steps were taken from zero: the last step of x is w's value times the upstream
    x_step = next(s for s in steps if s.child_name == "x")
    assert x_step.grad_before == 0.0 and x_step.child_grad == pytest.approx(-1.2 * (1 - out.data**2))


# -- the HTML file -------------------------------------------------------------


@needs_dot
def test_export_writes_one_self_contained_file_with_a_frame_per_step(tmp_path: Path):
    out, _leaves = neuron()
    path = export_steps_html(out, tmp_path / "steps.html", title="A <neuron>")
    page = path.read_text()
    steps = list(backward_steps(out, zero_grad=True))
    templates = re.findall(r'<template id="frame-(\d+)">(.*?)</template>', page, re.S)
    assert [int(k) for k, _ in templates] == list(range(len(steps) + 1))
    assert all(svg.lstrip().startswith("<svg") for _, svg in templates)
    # frame k highlights the edge of step k
    for k, svg in templates[1:]:
        step = steps[int(k) - 1]
        (edge,) = re.findall(r'<g id="(v\d+_e\d+)" class="edge input highlight"', svg)
        assert edge.endswith(f"_e{step.position}")
        assert html.escape(step.explain()) in page
    # nothing from the network: no external scripts, styles or images
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page
    assert "A &lt;neuron&gt;" in page


def test_export_refuses_graphs_with_too_many_steps(tmp_path: Path):
    x = Value(0.1)
    y = x
    for _ in range(30):
        y = y.tanh()
    with pytest.raises(ValueError, match="max_steps=10"):
        export_steps_html(y, tmp_path / "big.html", max_steps=10)
    assert not (tmp_path / "big.html").exists()
    assert x.grad == 0.0
