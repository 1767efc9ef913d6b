"""Layout: Graphviz once, for positions and edge splines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

from autograd_lite.animation.style import _CHAR, _NAME_CHARS, _OP_FONT, _VALUE_FONT, _printable
from autograd_lite.animation.walk import _Walk
from autograd_lite.engine import Value
from autograd_lite.viz import DotNotFoundError, draw_graph, module_paths


@dataclass(frozen=True)
class _Box:
    x: float  # centre, in graph points
    y: float
    width: float
    height: float


@dataclass
class _Layout:
    width: float
    height: float
    values: dict[Value, _Box]
    ops: dict[Value, _Box]
    edges: dict[str, tuple[list[tuple[float, float]], tuple[float, float] | None]]  # spline, arrow tip
    clusters: list[tuple[str, tuple[float, float, float, float], tuple[float, float] | None]]


def _box_text(walk: _Walk, number_format: str) -> dict[Value, list[str]]:
    """Each value's three lines (name, data, the widest grad it will show), to size its box."""
    paths = module_paths(walk.nodes)
    widest = {node: format(grad, number_format) for node, grad in walk.start_grads().items()}
    for step in walk.steps:
        text = format(step.child_grad, number_format)
        if len(text) > len(widest[step.child]):
            widest[step.child] = text
    lines = {}
    for node in walk.nodes:
        name, path = walk.names[node], paths.get(node)
        if path and name.startswith(path + "."):
            name = name[len(path) + 1 :]  # inside its module's box, "w.0" says enough
        name = _printable(name)
        if len(name) > _NAME_CHARS:
            name = name[: _NAME_CHARS - 1] + "\u2026"
        lines[node] = [name, f"data {format(node.data, number_format)}", f"grad {widest[node]}"]
    return lines


def _value_size(lines: Sequence[str]) -> tuple[float, float]:
    chars = max(len(line) for line in lines)
    return chars * _CHAR * _VALUE_FONT + 14.0, len(lines) * 1.3 * _VALUE_FONT + 8.0


def _op_size(op: str) -> tuple[float, float]:
    return max(3, len(op)) * _CHAR * _OP_FONT + 16.0, 22.0


def _op_text(node: Value) -> str:
    text = _printable(str(node._op))
    return text if len(text) <= 8 else text[:7] + "\u2026"


def _sized_node(graph: Any, name: str, shape: str, size: tuple[float, float]) -> None:
    """Make node ``name`` an empty ``shape`` of exactly ``size`` (points), for our own text."""
    width, height = size
    graph.node(
        name, label="", shape=shape, fixedsize="true", width=f"{width / 72:.4f}", height=f"{height / 72:.4f}"
    )


def _layout(walk: _Walk, lines: dict[Value, list[str]], rankdir: str) -> _Layout:
    """Lay out draw_graph's picture with boxes sized for our text; one ``dot`` run."""
    graph = draw_graph(walk.root, rankdir=rankdir, names=walk.names, collapse=False, legend=False)
    graph.attr(nodesep="0.15", ranksep="0.35")  # a little tighter than the picture: frames are small
    ids = {}
    for i, node in enumerate(walk.nodes):  # viz's contract: value i of topological_order is "v<i>"
        ids[f"v{i}"], ids[f"v{i}_op"] = node, node
        _sized_node(graph, f"v{i}", "box", _value_size(lines[node]))
        if node._prev:
            _sized_node(graph, f"v{i}_op", "ellipse", _op_size(_op_text(node)))
    try:
        data = json.loads(graph.pipe(format="json0", encoding="utf-8"))
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, DotNotFoundError):
            raise
        raise DotNotFoundError(graph.source) from error
    width, height = _numbers(data["bb"])[2:]
    layout = _Layout(width, height, values={}, ops={}, edges={}, clusters=[])
    for item in data.get("objects", []):
        _place(layout, item, ids)
    for edge in data.get("edges", []):
        if "id" in edge and "pos" in edge:
            layout.edges[edge["id"]] = _spline(edge["pos"])
    missing = [node for node in walk.nodes if node not in layout.values]
    if missing:
        raise RuntimeError(f"the Graphviz layout has no position for {len(missing)} value(s)")
    return layout


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def _place(layout: _Layout, item: dict[str, Any], ids: dict[str, Value]) -> None:
    """Record one object of ``dot -Tjson0``: a value's box, an op's oval or a cluster."""
    name = str(item.get("id", item.get("name", "")))
    if "bb" in item and str(item.get("name", "")).startswith("cluster"):
        x0, y0, x1, y1 = _numbers(item["bb"])
        label_pos = _numbers(item["lp"]) if "lp" in item else None
        point = (label_pos[0], label_pos[1]) if label_pos else None
        layout.clusters.append((_printable(str(item.get("label", ""))), (x0, y0, x1, y1), point))
        return
    if name not in ids or "pos" not in item:
        return
    x, y = _numbers(item["pos"])
    box = _Box(x, y, float(item["width"]) * 72, float(item["height"]) * 72)
    (layout.ops if name.endswith("_op") else layout.values)[ids[name]] = box


def _spline(pos: str) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
    """Graphviz's edge ``pos`` (``e,x,y`` then cubic Bezier points): the first piece and its arrow tip."""
    points, tip = [], None
    for token in pos.split(";")[0].split():
        if token.startswith("e,"):
            x, y = _numbers(token[2:])
            tip = (x, y)
        elif not token.startswith("s,"):
            x, y = _numbers(token)
            points.append((x, y))
    return points, tip
