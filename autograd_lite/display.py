"""How a ``Value`` shows itself in Jupyter: a card with its numbers, and its graph when small.

A bare ``Value`` at the end of a cell shows its label, data, grad and op
(``Value._repr_html_``); a graph of at most :data:`SMALL_GRAPH` values is
drawn under it with :func:`autograd_lite.viz.draw_graph` when Graphviz's
``dot`` is installed. Text only, anywhere else (``repr``).
"""

from __future__ import annotations

import html

import graphviz

from autograd_lite.engine import Value, topological_order

__all__ = ["SMALL_GRAPH", "value_card"]

SMALL_GRAPH = 30
"""Graphs of at most this many values are drawn in a Value's card."""


def value_card(value: Value) -> str:
    """HTML for ``value``: label, data, grad, the op that made it, and a picture of a small graph."""
    nodes = topological_order(value)
    op = f"{html.escape(str(value._op))} of {len(value._prev)} inputs" if value._prev else "a leaf"
    rows = [
        ("label", html.escape(value.label) if value.label else "<i>none</i>"),
        ("data", html.escape(repr(value.data))),
        ("grad", html.escape(repr(value.grad))),
        ("made by", op),
        ("graph", f"{len(nodes)} values"),
    ]
    table = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    card = f"<div class='autograd-lite-value'><b>Value</b><table>{table}</table>"
    if 1 < len(nodes) <= SMALL_GRAPH:
        card += _picture(value)
    return card + "</div>"


def _picture(value: Value) -> str:
    from autograd_lite.viz import draw_graph

    try:
        svg = draw_graph(value, legend=False).pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        return ""
    return svg[svg.index("<svg") :]
