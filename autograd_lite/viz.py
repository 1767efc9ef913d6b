"""Draw a computation graph with Graphviz: see every value, op and gradient.

:func:`draw_graph` (alias :func:`draw_dot`, micrograd's name) turns the graph
behind a :class:`~autograd_lite.Value` into a ``graphviz.Digraph``, which a
Jupyter notebook shows inline; :func:`save_graph` writes it to ``.svg``,
``.png`` or ``.pdf`` (or the DOT source to ``.dot``/``.gv``).

What the picture shows:

* each value is a box with its label, ``data`` and ``grad``; each op is a
  small oval of its own between its inputs and its output;
* the box's colour tells the gradient: red for positive, blue for negative,
  white for zero, darker the larger ``|grad|`` on a log scale (by default
  ``1e-4`` palest to ``1e2`` darkest) that is drawn as a legend in the
  picture, so vanishing and exploding gradients stand out;
* values computed by an ``nn`` module are grouped into a box per module
  (neuron inside layer), labelled with the module's path, found from the
  parameters' dotted labels (``layers.0.neurons.3.w.1``);
* the values an unrolled RNN computes at time step ``t`` are grouped into
  a box ``time step t`` instead (its cell's parameters are shared by every
  step, so they stay in their modules' boxes): the hidden states
  :meth:`autograd_lite.nn.RNN.unroll` labels ``h_t[j]`` mark the steps
  (:func:`autograd_lite.graph_model.time_steps`);
* a graph of more than ``max_nodes`` values (300 by default) is drawn
  collapsed, one box per module, with a note saying so;
  ``collapse=False`` draws every node anyway. An unrolled RNN collapses to
  one box per time step, one per module holding the shared parameters
  (``cell``, ``readout``), and its other values (inputs ``x_t``, the
  loss) as they are: the picture of backpropagation through time;
* labels are data, never markup: any label, op name or module path is drawn
  as its own text (Graphviz escapes, record syntax ``{}|<>``, HTML-like
  ``<...>``, ``&lt;`` and quotes included); only characters a picture cannot
  carry (NUL and other control characters, lone surrogates) are shown as
  their Python escape, ``\\x00`` (:func:`visible_text`).

Example:
    >>> from autograd_lite import Value
    >>> from autograd_lite.viz import draw_graph
    >>> x, w = Value(0.5, label="x"), Value(-1.2, label="w")
    >>> y = (x * w).tanh()
    >>> y.backward()
    >>> graph = draw_graph(y)  # displays inline in Jupyter
    >>> "tanh" in graph.source
    True
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union
from urllib.parse import quote

import graphviz

from autograd_lite.engine import Value, topological_order
from autograd_lite.graph_model import (
    GraphModel,
    ModelNode,
    box_paths,
    box_title,
    cluster_chain,
    graph_model,
    module_of_parameter,
    module_paths,
    time_step_of,
)

_cluster_chain = cluster_chain  # the name older code and tests use

__all__ = [
    "DEFAULT_MAX_NODES",
    "GRAD_SCALE",
    "DotNotFoundError",
    "GraphDrawing",
    "draw_dot",
    "draw_graph",
    "grad_colour",
    "module_of_parameter",
    "module_paths",
    "save_graph",
    "visible_text",
]

DEFAULT_MAX_NODES = 300
"""Graphs with more values than this are drawn collapsed (one box per module)."""

GRAD_SCALE: tuple[float, float] = (1e-4, 1e2)
"""``|grad|`` at or below the first number is drawn palest, at or above the second darkest."""

FIELDS = ("label", "data", "grad")
"""The fields a value's box can show, in this order."""

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the graph cannot be rendered to an image. "
    "Install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, Fedora `sudo dnf install graphviz`, "
    "macOS `brew install graphviz`, conda `conda install -c conda-forge graphviz`, "
    "Windows: the installer from graphviz.org. "
    "The DOT source is still available: `error.source`, `draw_graph(root).source`, "
    "or `save_graph(root, 'graph.dot')`."
)

Highlight = Union[Value, tuple[Value, Value], tuple[Value, int]]
"""A value, an edge ``(node, child)`` (either order), or ``(node, position in node._prev)``."""

_POSITIVE = (178, 24, 43)  # ColorBrewer RdBu's ends: red for grad > 0
_NEGATIVE = (33, 102, 172)  # blue for grad < 0
_WHITE = (247, 247, 247)
_HIGHLIGHT = "#ff7f00"


class DotNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` program and it is not installed.

    The message says how to install it; ``source`` holds the DOT source,
    which can be saved and rendered elsewhere.
    """

    def __init__(self, source: str) -> None:
        RuntimeError.__init__(self, INSTALL_HINT)
        self.source = source


class GraphDrawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering explains a missing ``dot``.

    Everything ``graphviz.Digraph`` does works as usual (``.source``,
    ``.pipe()``, ``.render()``, inline display in Jupyter); when the ``dot``
    program is missing, ``pipe`` and ``render`` raise :class:`DotNotFoundError`.
    """

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, DotNotFoundError):
                raise
            raise DotNotFoundError(self.source) from error

    def render(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, DotNotFoundError):
                raise
            raise DotNotFoundError(self.source) from error


# ----------------------------------------------------------------------------
# Colour: a diverging scale by the sign and size of the gradient.


def _mix(deep: tuple[int, int, int], strength: float) -> str:
    rgb = (round(w + strength * (d - w)) for w, d in zip(_WHITE, deep))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _strength(grad: float, scale: tuple[float, float]) -> float:
    """0 for a zero grad; otherwise 0.15 (palest) to 1 (darkest), log-linear in |grad|."""
    size = abs(grad)
    if size == 0:
        return 0.0
    low, high = math.log10(scale[0]), math.log10(scale[1])
    position = 1.0 if math.isinf(size) else (math.log10(size) - low) / (high - low)
    return 0.15 + 0.85 * min(1.0, max(0.0, position))


def grad_colour(grad: float, scale: tuple[float, float] = GRAD_SCALE) -> str:
    """The fill colour (``#rrggbb``) for a gradient.

    Red for ``grad > 0``, blue for ``grad < 0``, near-white for 0, and grey
    for NaN. The shade grows with ``log10(|grad|)`` from ``scale[0]`` (pale)
    to ``scale[1]`` (darkest); sizes outside the scale are clamped.
    """
    if not 0 < scale[0] < scale[1]:
        raise ValueError(f"grad scale must be two increasing positive numbers, got {scale!r}")
    if math.isnan(grad):
        return "#969696"
    if grad == 0:
        return _mix(_POSITIVE, 0.0)
    return _mix(_POSITIVE if grad > 0 else _NEGATIVE, _strength(grad, scale))


def _font_colour(grad: float, scale: tuple[float, float]) -> str:
    return "white" if not math.isnan(grad) and _strength(grad, scale) > 0.6 else "black"


def _legend(scale: tuple[float, float]) -> str:
    """An HTML-like label: swatches from -scale[1] to +scale[1], with their numbers."""
    low, high = math.log10(scale[0]), math.log10(scale[1])
    ticks = [10 ** (low + (high - low) * i / 3) for i in range(4)]
    values = [-t for t in reversed(ticks)] + [0.0] + ticks
    cells = "".join(
        f'<TD BGCOLOR="{grad_colour(v, scale)}"><FONT COLOR="{_font_colour(v, scale)}" POINT-SIZE="9">'
        f"{v:+.0e}</FONT></TD>"
        if v
        else f'<TD BGCOLOR="{grad_colour(0.0, scale)}"><FONT POINT-SIZE="9">0</FONT></TD>'
        for v in values
    )
    caption = (
        f"grad colour: red &gt; 0, blue &lt; 0, log scale of |grad| "
        f"from {scale[0]:.0e} (palest) to {scale[1]:.0e} (darkest)"
    )
    return (
        f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        f'<TR><TD COLSPAN="{len(values)}" BORDER="0"><FONT POINT-SIZE="10">{caption}</FONT></TD></TR>'
        f"<TR>{cells}</TR></TABLE>>"
    )


# ----------------------------------------------------------------------------
# Modules: which nn module (neuron, layer) a value belongs to.


# ----------------------------------------------------------------------------
# Drawing.


# Labels are data, never markup. Every text that reaches the DOT source (labels,
# op names, module paths, numbers) goes through _plain_label or _record_label,
# so that Graphviz draws it as its own text, whatever it holds:
#
# * the characters a picture cannot carry are shown as escapes (visible_text);
# * backslashes are doubled (graphviz.escape), so "\N", "\l" or a trailing
#   backslash are text, not Graphviz escapes or a broken string;
# * "&" becomes "&amp;": Graphviz decodes entities such as "&lt;" in plain labels;
# * a newline becomes DOT's "\n" (a centred line break);
# * double quotes are escaped by graphviz's own quoting, and a label is never
#   written as an HTML-like label "<...>" (graphviz.nohtml), so "<<TABLE ...>>"
#   or "<!--" are text too.
#
# Record labels (the value boxes) also escape the record syntax "{}|<>" and
# write the spaces the record parser would drop or merge as "&#32;": runs of
# spaces, trailing spaces, and every space before the field's first ASCII
# character other than a space (Graphviz 2.43 drops those after "é" or "\xa0").

_INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_RECORD_SYNTAX = re.compile(r"[{}|<>]")
_FRAGILE_SPACES = re.compile(r"\A[^!-~]+| +\Z| {2,}")  # before the first ASCII non-space, at the end, runs


def visible_text(text: str) -> str:
    r"""``text`` as a picture shows it: characters that cannot be drawn are written as escapes.

    Control characters other than the newline (NUL, tab, carriage return,
    DEL, the C1 controls), lone surrogates and U+FFFE/U+FFFF, which Graphviz
    or SVG (XML) cannot carry, are replaced by their Python escape, so they
    stay visible: ``"a\x00b\t"`` is drawn as ``a\x00b\t`` (with the
    backslashes). A newline is drawn as a line break. Everything else is
    drawn as it is.
    """
    return _INVISIBLE.sub(lambda m: ascii(m.group())[1:-1], text)


def _plain_label(text: str) -> str:
    """``text`` as a quoted (never HTML-like) Graphviz label that draws exactly ``text``."""
    escaped = graphviz.escape(visible_text(text)).replace("&", "&amp;").replace("\n", "\\n")
    return graphviz.nohtml(escaped)


def _record_field(text: str) -> str:
    """``text`` as one field of a record label that draws exactly ``text``."""
    escaped = graphviz.escape(visible_text(text)).replace("&", "&amp;")
    escaped = _RECORD_SYNTAX.sub(r"\\\g<0>", escaped)
    escaped = _FRAGILE_SPACES.sub(lambda m: m.group().replace(" ", "&#32;"), escaped)
    return escaped.replace("\n", "\\n")


def _record_label(fields: Iterable[str], braced: bool = True) -> str:
    """A record label of ``fields`` (texts).

    Braced (a value's box), they lie across the graph's direction: left to
    right in a left-to-right graph, top to bottom in a top-to-bottom one.
    Unbraced, along it.
    """
    inner = " | ".join(_record_field(f) for f in fields)
    return graphviz.nohtml("{ " + inner + " }" if braced else inner)


def _resolve_highlights(items: Iterable[Any]) -> tuple[set[Value], set[tuple[int, Any]]]:
    """Split ``highlight=`` into values and edges ``(id(node), position or child id)``."""
    values: set[Value] = set()
    edges: set[tuple[int, Any]] = set()
    for item in items:
        if isinstance(item, Value):
            values.add(item)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Value):
            a, b = item
            if isinstance(b, int) and not isinstance(b, bool):
                edges.add((id(a), ("pos", b)))
            elif isinstance(b, Value):
                parent, child = (a, b) if any(k is b for k in a._prev) else (b, a)
                edges.add((id(parent), ("child", id(child))))
            else:
                raise TypeError(f"highlight: an edge is (node, child) or (node, position), got {item!r}")
        else:
            raise TypeError(f"highlight: expected Values or edges (node, child), got {item!r}")
    return values, edges


def _check_options(root: Any, rankdir: str, show: Sequence[str], number_format: str, max_nodes: int) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph: root must be a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be one of LR, RL, TB, BT; got {rankdir!r}")
    unknown = [f for f in show if f not in FIELDS]
    if unknown:
        raise ValueError(f"show: unknown field(s) {unknown}; choose from {FIELDS}")
    try:
        format(1.0, number_format)
    except (ValueError, TypeError):
        raise ValueError(f"number_format {number_format!r} is not a float format spec like '.4f'") from None
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")


def draw_graph(
    root: Value,
    *,
    rankdir: str = "LR",
    show: Sequence[str] = FIELDS,
    number_format: str = ".4f",
    highlight: Iterable[Highlight] = (),
    shaded: Iterable[Value] = (),
    grads: Mapping[Value, float] | None = None,
    names: Mapping[Value, str] | None = None,
    clusters: bool = True,
    collapse: bool | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    legend: bool = True,
    grad_scale: tuple[float, float] = GRAD_SCALE,
    format: str = "svg",
) -> GraphDrawing:
    """Draw the graph that computed ``root``.

    Args:
        root: the output value.
        rankdir: layout direction, ``"LR"`` (inputs left, output right),
            ``"RL"``, ``"TB"`` or ``"BT"``.
        show: which fields each value's box shows, out of ``"label"``,
            ``"data"``, ``"grad"``.
        number_format: format spec for data and grad (``".4f"``, ``".3g"``).
        highlight: values and edges drawn emphasised (thick, orange). An edge
            is ``(node, child)`` (either order) or ``(node, i)`` for the
            ``i``-th input of ``node``; highlighting a value also highlights
            its op.
        shaded: values drawn with a thick dark border (SVG class ``done``):
            the stepper's "gradient already final".
        grads: gradients to show and colour by instead of ``.grad``.
        names: names to show instead of labels (the stepper names unlabelled
            values).
        clusters: group values into a box per ``nn`` module.
        collapse: ``None`` (default) collapses when the graph has more than
            ``max_nodes`` values; ``True`` always; ``False`` never. On an
            unrolled RNN the collapsed picture has one box per time step.
        max_nodes: the collapse threshold.
        legend: draw the colour scale.
        grad_scale: ``(palest, darkest)`` sizes of ``|grad|`` for the colour.
        format: the drawing's output format for ``.render()`` (micrograd's
            ``draw_dot(root, format="png")``).

    Returns:
        A :class:`GraphDrawing` (a ``graphviz.Digraph``): Jupyter shows it
        inline; ``.source`` is the DOT text. Every value node has the SVG id
        ``v<i>`` (``i`` its position in ``topological_order(root)``), its op
        ``v<i>_op``, the edge from its ``k``-th input ``v<i>_e<k>``; nodes
        and edges carry the SVG classes ``highlight`` and ``done``. A
        module's box has the SVG id ``cluster_<path>``, the path
        percent-encoded (``urllib.parse.quote(path, safe="")``, which keeps
        ``layers.0.neurons.3`` as it is).
    """
    _check_options(root, rankdir, show, number_format, max_nodes)
    grad_colour(0.0, grad_scale)  # validates the scale
    nodes = topological_order(root)
    why = f" (over max_nodes={max_nodes})" if collapse is None else ""
    if collapse is None:
        collapse = len(nodes) > max_nodes
    graph = GraphDrawing(
        name="autograd_lite", format=format, graph_attr={"rankdir": rankdir, "fontname": "Helvetica"}
    )
    graph.attr("node", fontname="Helvetica")
    graph.attr("edge", color="#404040")
    if collapse:
        owner = box_paths(nodes)
        _draw_collapsed(graph, nodes, owner, (max_nodes, why, rankdir), grads, grad_scale, number_format)
    else:
        model = graph_model(root, grads=grads, names=names, clusters=clusters)
        statements, edges = full_statements(
            model,
            show=show,
            number_format=number_format,
            highlight=highlight,
            shaded=shaded,
            grad_scale=grad_scale,
        )
        _clustered(graph, statements)
        for tail, head, attrs in edges:
            graph.edge(tail, head, **attrs)
    if legend:
        graph.node("legend", label=_legend(grad_scale), shape="plaintext", id="legend")
    return graph


draw_dot = draw_graph
"""micrograd's name for :func:`draw_graph`, so its notebooks work unchanged."""


Statements = dict[Union[str, None], list[tuple[str, dict[str, str]]]]
"""Node statements ``(name, attributes)`` by the module path whose box holds them (``None``: outside)."""

Edges = list[tuple[str, str, dict[str, str]]]
"""Edge statements ``(tail, head, attributes)``."""


def cluster_attributes(path: str) -> dict[str, str]:
    """The attributes of the box ``path``: its label (``box_title(path)``), style and SVG id.

    The SVG id is ``cluster_`` and the path percent-encoded
    (``urllib.parse.quote(path, safe="")``: ``cluster_layers.0.neurons.3``).
    """
    ident = "cluster_" + quote(path, safe="", errors="surrogatepass")
    return {"label": _plain_label(box_title(path)), "style": "rounded,dashed", "color": "#7f7f7f",
            "fontname": "Helvetica", "fontsize": "14", "id": ident}  # fmt: skip


def _clustered(graph: graphviz.Digraph, statements: Statements) -> None:
    """Add node statements to ``graph``, each module's inside nested cluster boxes.

    A module's box is the subgraph ``cluster_<path>`` with ``.`` and every other
    character outside ``[A-Za-z0-9_]`` written ``_`` (and a number appended
    if two paths meet), with :func:`cluster_attributes`.
    """
    subgraphs: dict[str, graphviz.Digraph] = {}
    names: set[str] = set()
    for path in statements:
        if path is None:
            continue
        for cluster in cluster_chain(path):
            if cluster not in subgraphs:
                name = base = "cluster_" + re.sub(r"[^A-Za-z0-9_]", "_", cluster)
                number = 1
                while name in names:
                    name, number = f"{base}_{number}", number + 1
                names.add(name)
                sub = graphviz.Digraph(name=name)
                sub.attr(**cluster_attributes(cluster))
                subgraphs[cluster] = sub
    for path, items in statements.items():
        target = graph if path is None else subgraphs[cluster_chain(path)[-1]]
        for name, attrs in items:
            target.node(name, **attrs)
    for cluster in sorted(subgraphs, key=lambda p: -len(cluster_chain(p))):
        chain = cluster_chain(cluster)
        parent = graph if len(chain) == 1 else subgraphs[chain[-2]]
        parent.subgraph(subgraphs[cluster])


def full_statements(
    model: GraphModel,
    *,
    show: Sequence[str] = FIELDS,
    number_format: str = ".4f",
    highlight: Iterable[Highlight] = (),
    shaded: Iterable[Value] = (),
    grad_scale: tuple[float, float] = GRAD_SCALE,
) -> tuple[Statements, Edges]:
    """Every value's box, op and edges as Graphviz statements, grouped by module.

    The one place the picture's look is decided: :func:`draw_graph` nests
    them in module boxes, and the stepper's front end recomposes them when a
    module box is collapsed or expanded.
    """
    hot_values, hot_edges = _resolve_highlights(highlight)
    done = set(shaded)
    statements: Statements = {}
    edges: Edges = []
    for node in model.nodes:
        value = node.value
        hot, shade = value in hot_values, value in done
        classes = ["value"] + (["highlight"] if hot else []) + (["done"] if shade else [])
        attrs = _value_box(node, show, number_format, grad_scale, hot, shade)
        attrs["class"] = " ".join(classes)
        statements.setdefault(node.module, []).append((node.id, attrs))
        if node.op is None:
            continue
        statements[node.module].append((f"{node.id}_op", _op_oval(node, hot, classes)))
        out_attrs = {"id": f"{node.id}_out", "class": "output"}
        if hot:
            out_attrs.update(color=_HIGHLIGHT, penwidth="3", **{"class": "output highlight"})
        edges.append((f"{node.id}_op", node.id, out_attrs))
        for position, (child_id, child) in enumerate(zip(node.inputs, value._prev)):
            attrs = {"id": f"{node.id}_e{position}", "class": "input"}
            if (id(value), ("pos", position)) in hot_edges or (id(value), ("child", id(child))) in hot_edges:
                attrs.update(color=_HIGHLIGHT, penwidth="3", **{"class": "input highlight"})
            edges.append((child_id, f"{node.id}_op", attrs))
    return statements, edges


def _value_box(
    node: Any,
    show: Sequence[str],
    number_format: str,
    grad_scale: tuple[float, float],
    hot: bool,
    shade: bool,
) -> dict[str, str]:
    """A value's record box: its name (inside its module's box, "w.0" says enough), data and grad."""
    name = node.name
    if node.module and name.startswith(node.module + "."):
        name = name[len(node.module) + 1 :]
    fields = []
    for field in show:
        if field == "label" and name:
            fields.append(name)
        elif field == "data":
            fields.append(f"data {format(node.data, number_format)}")
        elif field == "grad":
            fields.append(f"grad {format(node.grad, number_format)}")
    attrs = {
        "label": _record_label(fields) if fields else "{ }",
        "shape": "record",
        "style": "filled,bold" if shade else "filled",
        "fillcolor": grad_colour(node.grad, grad_scale),
        "fontcolor": _font_colour(node.grad, grad_scale),
        "id": node.id,
    }
    if hot:
        attrs.update(color=_HIGHLIGHT, penwidth="3")
    elif shade:
        attrs.update(color="#202020", penwidth="2.5")
    return attrs


def _op_oval(node: ModelNode, hot: bool, classes: list[str]) -> dict[str, str]:
    attrs = {
        "label": _plain_label(node.op or ""),
        "shape": "ellipse",
        "fontsize": "12",
        "height": "0.3",
        "style": "filled",
        "fillcolor": "white",
        "id": f"{node.id}_op",
        "class": " ".join(["op", *classes[1:]]),
    }
    if hot:
        attrs.update(color=_HIGHLIGHT, penwidth="3")
    return attrs


def _draw_collapsed(
    graph: GraphDrawing,
    nodes: list[Value],
    owner: Mapping[Value, str],
    how: tuple[int, str, str],
    grads: Mapping[Value, float] | None,
    grad_scale: tuple[float, float],
    number_format: str,
) -> None:
    """One box per module (plus the values outside modules), and a note saying so.

    With time steps (an unrolled RNN), one box per time step and one per
    outermost module, which then holds only the parameters every step shares.
    ``how`` is ``(max_nodes, why the view is collapsed, rankdir)``. Each box
    stacks its lines top to bottom, whatever the direction, so the boxes
    stay narrow.
    """
    max_nodes, why, rankdir = how
    timed = any(time_step_of(p) is not None for p in owner.values())

    def grad_of(v: Value) -> float:
        return v.grad if grads is None else grads.get(v, v.grad)

    def group_by(level: int) -> dict[Value, str]:
        groups = {}
        for i, node in enumerate(nodes):
            path = owner.get(node)
            if path is not None:
                outermost = level >= 2 or (timed and time_step_of(path) is None)
                groups[node] = "module:" + (cluster_chain(path)[0] if outermost else path)
            elif level >= 1:
                groups[node] = "inputs:" if not node._prev else "op:" + str(node._op)
            else:
                groups[node] = f"value:{i}"
        return groups

    level = 0
    groups = group_by(level)
    while len(set(groups.values())) > max_nodes and level < 2:
        level += 1
        groups = group_by(level)
    members: dict[str, list[Value]] = {}
    for node in nodes:
        members.setdefault(groups[node], []).append(node)
    group_ids = {key: f"g{i}" for i, key in enumerate(members)}
    statements: dict[str | None, list[tuple[str, dict[str, str]]]] = {}
    for key, values in members.items():
        kind, _, rest = key.partition(":")
        params = [v for v in values if not v._prev and v in owner]
        shown = params or values
        strongest = max((grad_of(v) for v in shown), key=lambda g: abs(g) if not math.isnan(g) else -1.0)
        if kind == "module":
            text = [box_title(rest), _box_size(rest, len(values), len(params), timed),
                    f"largest grad {format(strongest, number_format)}"]  # fmt: skip
        elif kind == "inputs":
            text = [f"{len(values)} inputs and constants"]
        elif kind == "op":
            text = [f"{len(values)} x {rest}"]
        else:
            v = values[0]
            text = [v.label or (str(v._op) if v._prev else "input"), f"data {format(v.data, number_format)}",
                    f"grad {format(grad_of(v), number_format)}"]  # fmt: skip
        attrs = {
            "label": _record_label(text, braced=rankdir in ("TB", "BT")),  # top to bottom
            "shape": "record",
            "style": "filled,rounded" if kind == "module" else "filled",
            "fillcolor": grad_colour(strongest, grad_scale),
            "fontcolor": _font_colour(strongest, grad_scale),
            "id": group_ids[key],
            "class": "module time-step" if time_step_of(rest) is not None else kind,
        }
        if kind == "module":
            parent = cluster_chain(rest)
            path: str | None = parent[-2] if len(parent) > 1 else None
        else:
            path = None
        statements.setdefault(path, []).append((group_ids[key], attrs))
    _clustered(graph, statements)
    edges = {
        (groups[child], groups[node])
        for node in nodes
        for child in node._prev
        if groups[child] != groups[node]
    }
    for tail, head in sorted(edges):
        graph.edge(group_ids[tail], group_ids[head], **_carries(tail, head))
    per = "one per time step and\none per module's shared parameters" if timed else "one per module"
    note = (
        f"Collapsed view: {len(nodes)} values{why},\ndrawn as {len(members)} boxes, "
        f"{per}.\ndraw_graph(root, collapse=False)\ndraws every value."
    )
    graph.node("note", label=note, shape="note", fontsize="10", id="note")


def _carries(tail: str, head: str) -> dict[str, str]:
    """An arrow from time step ``t``'s box to the next one's carries the hidden state: labelled ``h_t``."""
    step = time_step_of(tail.partition(":")[2]) if tail.startswith("module:") else None
    if step is None or not head.startswith("module:") or time_step_of(head.partition(":")[2]) is None:
        return {}
    return {"label": f"h_{step}", "fontname": "Helvetica", "fontsize": "12", "penwidth": "2",
            "class": "hidden-state"}  # fmt: skip


def _box_size(path: str, values: int, params: int, timed: bool) -> str:
    """What a collapsed box holds: ``5 values, 3 parameters``; ``4 values`` (a time step);
    ``8 parameters`` and ``shared by every step`` on two lines (an unrolled RNN's cell)."""
    if time_step_of(path) is not None:
        return f"{values} values"
    if timed and values == params:
        return f"{params} parameters\nshared by every step"
    return f"{values} values, {params} parameters"


# ----------------------------------------------------------------------------
# Files.

IMAGE_FORMATS = ("svg", "png", "pdf")
SOURCE_FORMATS = ("dot", "gv")


def save_graph(root: Value, path: str | os.PathLike[str], **options: Any) -> Path:
    """Draw ``root``'s graph and write it to ``path``; the extension picks the format.

    ``.svg``, ``.png`` and ``.pdf`` are rendered with Graphviz's ``dot``
    (:class:`DotNotFoundError` if it is missing; nothing is written then);
    ``.dot`` and ``.gv`` write the DOT source, which needs no Graphviz.
    ``options`` are those of :func:`draw_graph`. Returns the path written.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS + SOURCE_FORMATS:
        raise ValueError(
            f"save_graph: cannot tell the format from {str(path)!r}; "
            f"use one of the extensions {', '.join('.' + f for f in IMAGE_FORMATS + SOURCE_FORMATS)}"
        )
    graph = draw_graph(root, **options)
    if fmt in SOURCE_FORMATS:
        target.write_text(graph.source, encoding="utf-8")
        return target
    data = graph.pipe(format=fmt)
    target.write_bytes(data)
    return target
