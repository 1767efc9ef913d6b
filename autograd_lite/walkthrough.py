"""The backprop walkthrough as data: the graph laid out once, each step a small record.

:func:`explore` (a Jupyter widget, through ``anywidget``) and
:func:`export_steps_html` (one self-contained HTML file) share one front end,
``frontend/stepper.js`` and ``frontend/stepper.css`` in this package. It takes
what :func:`walkthrough_data` returns:

* the picture: ``svg``, drawn once by the system ``dot`` from the same
  drawing as :func:`autograd_lite.viz.draw_graph` (so every value keeps the
  SVG id ``v<i>``, its op ``v<i>_op`` and the edge from its ``k``-th input
  ``v<i>_e<k>``), or, with no system Graphviz, ``svg`` is ``None`` and the
  browser lays out ``dot`` (the DOT source) with Viz.js, Graphviz compiled to
  WebAssembly, vendored in ``frontend/vendor`` with its licence;
* ``steps``: one record per chain-rule step, in the order ``backward()``
  applies them (:func:`autograd_lite.stepper.backward_steps`): the ids of the
  edge, the node and the child, the step's text, and the child's grad as
  shown (text, fill and font colour) before and after the step. The front end
  applies a step by changing those few attributes and moving the CSS class
  ``current``; it never lays the graph out again.

Nothing here changes the graph: the walk runs on zeroed leaf gradients and
every ``.grad`` is put back as it was.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import graphviz
from graphviz.quoting import attr_list, quote, quote_edge

from autograd_lite._optional import optional_dependency
from autograd_lite.engine import Value, topological_order
from autograd_lite.graph_model import GraphModel, box_title, cluster_chain, graph_model, time_step_of
from autograd_lite.stepper import (
    Step,
    UpdateStep,
    backward_steps,
    forward_steps,
    update_steps,
    value_names,
)
from autograd_lite.viz import (
    GRAD_SCALE,
    _box_size,
    _font_colour,
    _plain_label,
    cluster_attributes,
    draw_graph,
    full_statements,
    grad_colour,
)

__all__ = ["explore", "export_steps_html", "walkthrough_data"]

INTRO = (
    "Step through backward(): each step adds  d(root)/d(node) * d(node)/d(child)  into child.grad,\n"
    "edge by edge, in the order backward() does. Use the buttons, the slider or the arrow keys (← →);\n"
    "click a value to see its gradient term by term."
)


def _frontend(name: str) -> str:
    return resources.files("autograd_lite").joinpath("frontend", name).read_text(encoding="utf-8")


def _shown(grad: float, number_format: str, scale: tuple[float, float]) -> dict[str, str]:
    """How a value's grad appears: its box's grad text, fill and font colour."""
    return {
        "text": f"grad {format(grad, number_format)}",
        "fill": grad_colour(grad, scale),
        "font": _font_colour(grad, scale),
    }


def _walk(
    root: Value, params: Sequence[Value] | None, lr: float, names: dict[Value, str]
) -> tuple[list[Step], list[UpdateStep]]:
    """Every backward step from zeroed leaves, and the updates they lead to; every .grad put back."""
    nodes = topological_order(root)
    saved = {v: v.grad for v in nodes}
    try:
        steps = list(backward_steps(root, zero_grad=True))
        updates = update_steps(params, lr, names=names) if params is not None else []
    finally:
        for v, g in saved.items():
            v.grad = g
    return steps, updates


def walkthrough_data(
    root: Value,
    *,
    forward: bool = False,
    params: Sequence[Value] | None = None,
    lr: float = 0.1,
    number_format: str = ".4f",
    rankdir: str = "LR",
    grad_scale: tuple[float, float] = GRAD_SCALE,
    layout: str = "auto",
    interval_ms: int = 600,
    collapse: bool = False,
) -> dict[str, Any]:
    """The walkthrough of ``root``'s backward pass as JSON-ready data (see the module docstring).

    Args:
        root: the output ``Value``.
        forward: step through the forward pass first (each node computed from
            its inputs), then the backward pass from the seed ``dL/dL = 1``.
        params: parameters (``Value``s of the graph, or a module) to finish
            with the gradient-descent update ``w <- w - lr * grad`` of each.
            Shown only: no ``.data`` changes.
        lr: the learning rate of that update.
        number_format, rankdir, grad_scale: as for :func:`autograd_lite.viz.draw_graph`.
        layout: ``"auto"`` (the system ``dot`` if present, else Viz.js in the
            browser), ``"dot"`` (require the system ``dot``) or ``"browser"``
            (always Viz.js).
        interval_ms: time between steps when playing.
        collapse: start with every outermost box collapsed (needs Viz.js,
            which comes along): one box per layer of an MLP; on an unrolled
            RNN one box per time step and one per module of shared
            parameters. The menu and clicks open them as usual.
    """
    if not isinstance(root, Value):
        raise TypeError(f"walkthrough: root must be a Value, got {type(root).__name__}")
    if layout not in ("auto", "dot", "browser"):
        raise ValueError(f"walkthrough: layout must be 'auto', 'dot' or 'browser', got {layout!r}")
    if not isinstance(collapse, bool):
        raise TypeError(f"walkthrough: collapse must be True or False, got {collapse!r}")
    nodes = topological_order(root)
    ids = {v: f"v{i}" for i, v in enumerate(nodes)}  # the picture's ids (draw_graph's rule)
    names = value_names(root)
    if params is not None:
        params = _params_in(params, ids)
    steps, updates = _walk(root, params, lr, names)
    start = {v: 0.0 for v in nodes}
    start[root] = 0.0 if forward else 1.0  # backward() seeds the root first
    drawing = draw_graph(
        root,
        grads=start,
        names=names,
        collapse=False,
        rankdir=rankdir,
        number_format=number_format,
        grad_scale=grad_scale,
    )
    model = graph_model(root, grads=start, names=names)
    svg = None
    if layout != "browser":
        try:
            svg = _compact(drawing.pipe(format="svg").decode("utf-8"))
        except graphviz.ExecutableNotFound:
            if layout == "dot":
                raise
    show = lambda g: _shown(g, number_format, grad_scale)
    records: list[dict[str, Any]] = []
    initial: list[list[Any]] = []
    if forward:
        initial, records = _forward_records(root, ids, number_format)
        rid = ids[root]
        seed = f"d{names[root]}/d{names[root]} = 1: the backward pass starts at the output"
        records.append(
            {
                "kind": "backward",
                "text": seed,
                "current": [rid],
                "focus": rid,
                "set": [[rid, "grad", show(1.0)]],
            }
        )
    records += _backward_records(steps, ids, show)
    for u in updates:
        pid = ids[u.param]
        records.append(
            {
                "kind": "update",
                "text": u.explain(),
                "current": [pid],
                "focus": pid,
                "set": [[pid, "data", {"text": f"data {format(u.after, number_format)}"}]],
            }
        )
    dot = drawing.source if svg is None else None  # only what the browser needs to lay it out itself
    return {
        "svg": svg,
        "dot": dot,
        "start": initial,
        "steps": records,
        "names": {ids[v]: names[v] for v in nodes},
        "graph": _recomposable(model, drawing, number_format, grad_scale),
        "intro": INTRO,
        "interval_ms": interval_ms,
        "collapse": [path for path in model.modules if model.parent(path) is None] if collapse else [],
    }


def _recomposable(
    model: GraphModel, drawing: graphviz.Digraph, number_format: str, grad_scale: tuple[float, float]
) -> dict[str, Any]:
    """The picture as DOT pieces the front end puts together again when module boxes collapse.

    The same statements as ``drawing`` (:func:`autograd_lite.viz.full_statements`):
    ``header`` (the graph's attributes), ``clusters`` (each module, parents
    first: its path, parent, SVG id, the opening of its box, the one
    node standing for it when collapsed, and its time step or ``None``), ``items`` (``[module path or None,
    node name, statement]``), ``edges`` (``[tail, head, statement]``) and
    ``footer`` (the legend and the closing brace). ``stepper.js``'s
    ``composeDot`` nests them, leaving out what a collapsed box hides.
    """
    statements, edges = full_statements(model, number_format=number_format, grad_scale=grad_scale)
    lines = drawing.source.splitlines(keepends=True)
    body = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("v", "subgraph", "legend")))
    header = "".join(lines[:body])
    sizes = _module_sizes(model)
    timed = any(time_step_of(path) is not None for path in model.modules)
    clusters = []
    for i, path in enumerate(model.modules):
        attrs = cluster_attributes(path)
        values, params = sizes[path]
        text = f"{box_title(path)}\n{_box_size(path, values, params, timed)}\nclick to expand"
        closed = {  # a plain box, not a record: Graphviz cannot keep records in order side by side
            "label": _plain_label(text),
            "shape": "box", "style": "filled,rounded", "fillcolor": "#ececec", "color": "#7f7f7f",
            "fontsize": "12", "id": attrs["id"], "class": "collapsed",
        }  # fmt: skip
        clusters.append({
            "path": path, "parent": model.parent(path), "id": attrs["id"],
            "open": f"subgraph cluster_{i} {{\n\tgraph{attr_list(None, kwargs=attrs)}\n",
            "closed": f"m{i}{attr_list(None, kwargs=closed)}\n",
            "name": f"m{i}", "step": time_step_of(path),
        })  # fmt: skip
    items = [[path, name, f"{quote(name)}{attr_list(None, kwargs=a)}\n"]
             for path, group in statements.items() for name, a in group]  # fmt: skip
    arrows = [[t, h, f"{quote_edge(t)} -> {quote_edge(h)}{attr_list(None, kwargs=a)}\n"] for t, h, a in edges]
    legend = next((line for line in lines if line.lstrip().startswith("legend")), "")
    return {"header": header, "clusters": clusters, "items": items, "edges": arrows, "footer": legend + "}\n"}


def _module_sizes(model: GraphModel) -> dict[str, tuple[int, int]]:
    """For each module: how many values it holds (its submodules' included), and how many are parameters."""
    sizes = dict.fromkeys(model.modules, (0, 0))
    for node in model.nodes:
        if node.module is None:
            continue
        for path in cluster_chain(node.module):
            values, params = sizes[path]
            sizes[path] = (values + 1, params + (node.op is None))
    return sizes


def _params_in(params: Any, ids: dict[Value, str]) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    params = list(params)
    outside = [p for p in params if not isinstance(p, Value) or p not in ids]
    if outside:
        raise ValueError(f"walkthrough: params must be values of root's graph; {outside[0]!r} is not")
    return params


def _forward_records(root: Value, ids: dict[Value, str], number_format: str) -> tuple[list[Any], list[Any]]:
    """The forward pass as steps: each interior value's data appears as it is computed."""
    initial, records = [], []
    for f in forward_steps(root):
        nid = ids[f.node]
        initial.append([nid, "data", {"text": "data ?"}])
        edges = [f"{nid}_e{k}" for k in range(len(f.inputs))]
        records.append(
            {
                "kind": "forward",
                "text": f.explain(),
                "current": [nid, f"{nid}_op", *edges],
                "focus": f"{nid}_op",
                "set": [[nid, "data", {"text": f"data {format(f.output, number_format)}"}]],
            }
        )
    return initial, records


def _backward_records(steps: list[Step], ids: dict[Value, str], show: Any) -> list[dict[str, Any]]:
    """Backward steps in their short form (see stepper.js's normalize)."""
    records, started = [], set()
    for s in steps:
        node = ids[s.node]
        records.append(
            {
                "edge": f"{node}_e{s.position}",
                "node": node,
                "child": ids[s.child],
                "first": node not in started,
                "text": s.explain(),
                "after": show(s.child_grad),
            }
        )
        started.add(node)
    return records


def _compact(svg: str) -> str:
    """Graphviz's SVG without its comments and <title> tooltips (node names such as v3): a third smaller."""
    return re.sub(r"<!--.*?-->\n?|<title>[^<]*</title>\n?", "", svg, flags=re.S)


# ----------------------------------------------------------------------------
# Two homes for one front end.


def _packed(text: str) -> str:
    """``text`` gzipped and in base64, for inside a <script> element: a third of its size, and inert.

    The page unpacks it with the browser's ``DecompressionStream``. Base64
    holds no ``<``, so nothing inside can close the element, whatever the
    labels say.
    """
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def export_steps_html(
    root: Value, path: str | os.PathLike[str], *, title: str = "Stepping through backprop", **options: Any
) -> Path:
    """Write the walkthrough as one self-contained HTML file (no network, no Python needed to open it).

    Options are those of :func:`walkthrough_data`. The data and Viz.js
    (which lays the picture out when there is no system ``dot``, and again
    whenever a module box is collapsed or expanded) are stored gzipped, so
    the walkthrough of ``MLP(2, [16, 16, 1])`` on one sample stays under 1 MB.
    The file is written whole or not at all.

    Returns:
        The path written.
    """
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"export_steps_html: the path must end in .html, got {str(path)!r}")
    data = walkthrough_data(root, **options)
    parts = {
        "/*CSS*/": _frontend("stepper.css"),
        "/*DATA*/": _packed(json.dumps(data)),
        "/*VIZ*/": _packed(_frontend("vendor/viz-global.js")),
        "/*MODULE*/": _frontend("stepper.js"),
        "/*TITLE*/": html.escape(title),
    }
    if "</script" in parts["/*MODULE*/"].lower():
        raise RuntimeError("export_steps_html: the front end's module would close its <script> element")
    page = _frontend("page.html")
    # One pass: text put in is never searched for markers again (a label may read "/*VIZ*/").
    page = re.sub(r"/\*(CSS|DATA|VIZ|MODULE|TITLE)\*/", lambda m: parts[m.group(0)], page)
    tmp = target.with_name(target.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


def explore(root: Value, **options: Any) -> Any:
    """The walkthrough as a Jupyter widget (``anywidget``): JupyterLab, Notebook 7, VS Code, Colab.

    Options are those of :func:`walkthrough_data`. Buttons, a slider, play,
    zoom and fit; the arrow keys step once when the widget has focus.
    """
    with optional_dependency("anywidget", "explore"):
        import anywidget
        import traitlets

    data = walkthrough_data(root, **options)

    class StepperWidget(anywidget.AnyWidget):
        _esm = _frontend("stepper.js")
        _css = _frontend("stepper.css")
        data = traitlets.Dict().tag(sync=True)
        viz_js = traitlets.Unicode("").tag(sync=True)

    return StepperWidget(data=data, viz_js=_frontend("vendor/viz-global.js"))
