"""Step through the backward pass one chain-rule step at a time.

``backward()`` applies ``child.grad += d(node)/d(child) * node.grad`` once per
edge of the graph. :func:`backward_steps` does exactly the same, in exactly
the same order, but pauses after each edge and tells you what it did: a
:class:`Step` with the node, the child, the upstream gradient, the local
derivative, the contribution and the child's gradient after it;
``step.explain()`` says it as one line of the chain rule::

    dL/dw1 += dL/dn * dn/dw1 = 0.5 * 2.0 = 1.0

:func:`explore` puts the steps on the graph picture in Jupyter (previous,
next, a slider and play; the current edge highlighted, the values whose
gradient is final shaded); :func:`export_steps_html` writes the same
walkthrough as one self-contained HTML file that any browser opens, with no
Python and no network.

Semantics (the same as ``backward()``): the walk first resets every interior
value's grad to 0 and seeds the root with 1; leaves *accumulate*, so stepping
over a graph whose leaves already hold gradients adds to them, as a second
``backward()`` would. Pass ``zero_grad=True`` to zero the leaves first.
:func:`explore` and :func:`export_steps_html` always show a walk from zero
leaf gradients and put every grad back as it was when they are done.

Example:
    >>> from autograd_lite import Value
    >>> from autograd_lite.stepper import backward_steps
    >>> x, w = Value(2.0, label="x"), Value(0.5, label="w")
    >>> L = x * w
    >>> L.label = "L"
    >>> for step in backward_steps(L):
    ...     print(step.explain())
    dL/dx += dL/dL * dL/dx = 1.0 * 0.5 = 0.5
    dL/dw += dL/dL * dL/dw = 1.0 * 2.0 = 2.0
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograd_lite.engine import Value, _interior_postorder, local_derivatives, topological_order

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["DEFAULT_MAX_STEPS", "Step", "backward_steps", "explore", "export_steps_html", "value_names"]

DEFAULT_MAX_STEPS = 400
""":func:`export_steps_html` draws one picture per step; more steps than this is refused."""


def _number(x: float) -> str:
    """A short, exact-enough number: ``0.5``, ``2.0``, ``-0.000123``, ``1.5e+20``."""
    text = f"{x:.6g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def value_names(root: Value) -> dict[Value, str]:
    """A name for every value in ``root``'s graph, as the stepper shows it.

    A value's label if it has one; otherwise ``L`` for the root and ``v<i>``
    for the others, ``i`` being the value's position in
    ``topological_order(root)`` (which is also its SVG id in a picture).
    """
    names = {}
    for i, node in enumerate(topological_order(root)):
        names[node] = node.label or ("L" if node is root else f"v{i}")
    return names


@dataclass(frozen=True, eq=False)
class Step:
    """One chain-rule step of the backward pass: one edge, ``node -> child``.

    Attributes:
        index: 0 for the first step of the pass, then 1, 2, ...
        node: the value whose gradient flows back (its grad is final).
        child: the input of ``node`` that receives it.
        position: ``child``'s position in ``node._prev`` (an input used twice,
            as in ``x * x``, gets one step per position).
        upstream: ``dL/dnode``, the gradient of the root with respect to ``node``.
        local: ``dnode/dchild``, the local derivative from the op's rule.
        contribution: ``upstream * local``, what this step adds to ``child.grad``.
        grad_before: ``child.grad`` before the step.
        child_grad: ``child.grad`` after the step.
        root_name, node_name, child_name: names used by :meth:`explain`.
    """

    index: int
    node: Value
    child: Value
    position: int
    upstream: float
    local: float
    contribution: float
    grad_before: float
    child_grad: float
    root_name: str
    node_name: str
    child_name: str

    def explain(self) -> str:
        """The step as one line of the chain rule, with names and numbers.

        ``dL/dw1 += dL/dn * dn/dw1 = 0.5 * 2.0 = 1.0``
        """
        root, node, child = self.root_name, self.node_name, self.child_name
        return (
            f"d{root}/d{child} += d{root}/d{node} * d{node}/d{child} = "
            f"{_number(self.upstream)} * {_number(self.local)} = {_number(self.contribution)}"
        )

    def __repr__(self) -> str:
        return f"Step({self.index}: {self.explain()}; {self.child_name}.grad = {_number(self.child_grad)})"


def backward_steps(root: Value, *, zero_grad: bool = False) -> Iterator[Step]:
    """Run ``root.backward()`` one edge at a time, yielding a :class:`Step` per edge.

    The steps come in exactly the order ``backward()`` applies them: interior
    values from the root back (reverse topological order), and within a
    value its inputs in ``_prev`` order. Each step updates ``child.grad``
    before it is yielded, with the same arithmetic as ``backward()``, so once
    the generator is exhausted every grad is what ``backward()`` gives.

    Args:
        root: the output to differentiate.
        zero_grad: set the leaves' grads to 0 before starting. By default they
            accumulate, as with ``backward()``; interior grads always start
            from 0.

    Nothing happens until the first step is asked for; stopping early leaves
    the gradients part-way.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: root must be a Value, got {type(root).__name__}")
    return _steps(root, zero_grad)


def _steps(root: Value, zero_grad: bool) -> Iterator[Step]:
    names = value_names(root)
    if zero_grad:
        for node in names:
            if not node._prev:
                node.grad = 0.0
    order = _interior_postorder(root)  # also zeroes interior grads, as backward() does
    if not order:  # a leaf: backward() adds 1 to it and there is no edge
        root.grad += 1.0
        return
    root.grad = 1.0
    root_name = names[root]
    index = 0
    for node in reversed(order):
        upstream = node.grad
        for position, (child, local) in enumerate(zip(node._prev, local_derivatives(node))):
            before = child.grad
            contribution = upstream * local
            child.grad = before + contribution
            yield Step(index, node, child, position, upstream, local, contribution, before, child.grad,
                       root_name, names[node], names[child])  # fmt: skip
            index += 1


# ----------------------------------------------------------------------------
# A recorded walk: the state of every grad before and after each step.


class _Walkthrough:
    """All steps of one backward pass, and the graph's state at each frame.

    Frame 0 is the start (root seeded with 1, everything else 0); frame ``k``
    is the state after step ``k`` (1-based), with that step's edge
    highlighted. Recording leaves every grad as it was before.
    """

    def __init__(self, root: Value, max_steps: int | None = None) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"root must be a Value, got {type(root).__name__}")
        nodes = topological_order(root)
        saved = [(node, node.grad) for node in nodes]
        try:
            for node in nodes:
                node.grad = 0.0
            self.steps: list[Step] = []
            for step in backward_steps(root, zero_grad=True):
                self.steps.append(step)
                if max_steps is not None and len(self.steps) > max_steps:
                    raise ValueError(
                        f"this graph has more than max_steps={max_steps} backward steps; a walkthrough "
                        f"draws one picture per step. Pass a larger max_steps, or use a smaller graph."
                    )
        finally:
            for node, grad in saved:
                node.grad = grad
        self.root = root
        self.names = value_names(root)
        self.ids = {node: f"v{i}" for i, node in enumerate(nodes)}
        self.start = {node: 0.0 for node in nodes}
        self.start[root] = 1.0
        self.last_touch: dict[Value, int] = {}
        for step in self.steps:
            self.last_touch[step.child] = step.index + 1

    @property
    def frames(self) -> int:
        return len(self.steps) + 1

    def grads_at(self, frame: int) -> dict[Value, float]:
        grads = dict(self.start)
        for step in self.steps[:frame]:
            grads[step.child] = step.child_grad
        return grads

    def done_at(self, frame: int) -> set[Value]:
        """The values whose gradient is final after ``frame`` steps."""
        return {node for node in self.start if self.last_touch.get(node, 0) <= frame}

    def explain(self, frame: int) -> str:
        if frame == 0:
            root = self.names[self.root]
            return (
                f"d{root}/d{root} = 1.0: the backward pass starts at the output. Next applies the first step."
            )
        return self.steps[frame - 1].explain()

    def counter(self, frame: int) -> str:
        return f"step {frame} of {len(self.steps)}"

    def highlighted_edge(self, frame: int) -> str | None:
        if frame == 0:
            return None
        step = self.steps[frame - 1]
        return f"{self.ids[step.node]}_e{step.position}"

    def draw(self, frame: int, **options: Any) -> Any:
        from autograd_lite.viz import draw_graph

        highlight: list[Any] = [self.root] if frame == 0 else []
        if frame:
            step = self.steps[frame - 1]
            highlight = [step.node, (step.node, step.position)]
        options.setdefault("collapse", False)
        return draw_graph(self.root, grads=self.grads_at(frame), names=self.names, highlight=highlight,
                          shaded=self.done_at(frame), **options)  # fmt: skip


def _svg(graph: Any) -> str:
    """The SVG element alone (no XML prolog), ready to inline in HTML."""
    text = graph.pipe(format="svg", encoding="utf-8")
    return text[text.index("<svg") :]


# ----------------------------------------------------------------------------
# Jupyter.


def explore(root: Value, **options: Any) -> ipywidgets.VBox:
    """An ``ipywidgets`` control to step through ``root``'s backward pass in Jupyter.

    Previous/next buttons, a slider and a play button move through the
    steps; the picture highlights the current edge (and its node), shades the
    values whose gradient is final, and the chain-rule line is shown above.
    The walk starts from zero leaf gradients; the graph's grads are left as
    they were. ``options`` go to :func:`autograd_lite.viz.draw_graph`.

    Returns:
        The widget (display it, or make it the last line of a cell). Its
        ``slider``, ``previous``, ``next``, ``play``, ``explanation`` and
        ``picture`` children are also attributes, for code and tests.
    """
    import ipywidgets as widgets

    from autograd_lite.viz import DotNotFoundError

    walk = _Walkthrough(root)
    last = walk.frames - 1

    @lru_cache(maxsize=64)
    def picture_html(frame: int) -> str:
        graph = walk.draw(frame, **options)
        try:
            return _svg(graph)
        except DotNotFoundError as error:
            return f"<p>{html.escape(str(error))}</p><pre>{html.escape(error.source)}</pre>"

    play = widgets.Play(value=0, min=0, max=last, step=1, interval=900, description="play")
    slider = widgets.IntSlider(value=0, min=0, max=last, step=1, description="step", continuous_update=True)
    widgets.jslink((play, "value"), (slider, "value"))
    previous = widgets.Button(description="previous", icon="step-backward")
    following = widgets.Button(description="next", icon="step-forward")
    counter = widgets.Label()
    explanation = widgets.HTML()
    picture = widgets.HTML()

    def show(frame: int) -> None:
        counter.value = walk.counter(frame)
        explanation.value = f"<code>{html.escape(walk.explain(frame))}</code>"
        picture.value = picture_html(frame)
        previous.disabled = frame == 0
        following.disabled = frame == last

    def on_slider(change: dict[str, Any]) -> None:
        show(change["new"])

    def step_by(delta: int) -> None:
        slider.value = min(last, max(0, slider.value + delta))

    slider.observe(on_slider, names="value")
    previous.on_click(lambda _: step_by(-1))
    following.on_click(lambda _: step_by(1))
    show(0)
    box = widgets.VBox([widgets.HBox([previous, play, following, slider, counter]), explanation, picture])
    box.slider, box.play, box.previous, box.next = slider, play, previous, following  # type: ignore[attr-defined]
    box.explanation, box.picture, box.steps = explanation, picture, walk.steps  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------
# A self-contained HTML file.

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
.controls {{ display: flex; gap: .5em; align-items: center; flex-wrap: wrap; }}
.controls input[type=range] {{ width: 22em; }}
#explain {{ font-family: ui-monospace, monospace; font-size: 1.1em; background: #fff4e5;
  border-left: 4px solid #ff7f00; padding: .5em .8em; }}
#graph svg {{ max-width: 100%; height: auto; }}
#lines li {{ font-family: ui-monospace, monospace; color: #888; }}
#lines li.done {{ color: #222; }}
#lines li.current {{ color: #000; font-weight: bold; background: #fff4e5; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Each step applies the chain rule to one edge, in the order <code>backward()</code> does:
the highlighted edge is the current step, shaded values have their final gradient.
Keys: &larr; and &rarr;.</p>
<div class="controls">
<button id="first" type="button">&#x23EE; start</button>
<button id="prev" type="button">&#x25C0; previous</button>
<button id="play" type="button">&#x25B6; play</button>
<button id="next" type="button">next &#x25B6;</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<span id="counter"></span>
</div>
<p id="explain"></p>
<div id="graph"></div>
<details><summary>All steps</summary><ol id="lines">{lines}</ol></details>
{templates}
<script type="application/json" id="frames">{data}</script>
<script>
(function () {{
  "use strict";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var last = frames.length - 1, current = 0, timer = null;
  var slider = document.getElementById("slider"), graph = document.getElementById("graph");
  var explain = document.getElementById("explain"), counter = document.getElementById("counter");
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  var play = document.getElementById("play"), first = document.getElementById("first");
  var lines = document.getElementById("lines").children;
  function show(k) {{
    current = Math.max(0, Math.min(last, k));
    var template = document.getElementById("frame-" + current);
    graph.replaceChildren(template.content.cloneNode(true));
    slider.value = current;
    explain.textContent = frames[current].explain;
    counter.textContent = frames[current].counter;
    prev.disabled = first.disabled = current === 0;
    next.disabled = current === last;
    for (var i = 0; i < lines.length; i++) {{
      lines[i].className = i + 1 < current ? "done" : (i + 1 === current ? "current" : "");
    }}
    document.body.setAttribute("data-frame", String(current));
    if (current === last) stop();
  }}
  function stop() {{
    if (timer !== null) {{ clearInterval(timer); timer = null; }}
    play.innerHTML = "&#x25B6; play";
  }}
  function toggle() {{
    if (timer !== null) {{ stop(); return; }}
    if (current === last) show(0);
    play.innerHTML = "&#x23F8; pause";
    timer = setInterval(function () {{ show(current + 1); }}, 900);
  }}
  first.addEventListener("click", function () {{ stop(); show(0); }});
  prev.addEventListener("click", function () {{ stop(); show(current - 1); }});
  next.addEventListener("click", function () {{ stop(); show(current + 1); }});
  play.addEventListener("click", toggle);
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowRight") {{ stop(); show(current + 1); }}
    if (e.key === "ArrowLeft") {{ stop(); show(current - 1); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""


def export_steps_html(
    root: Value,
    path: str | os.PathLike[str],
    *,
    title: str = "Stepping through backprop",
    max_steps: int = DEFAULT_MAX_STEPS,
    **options: Any,
) -> Path:
    """Write a walkthrough of ``root``'s backward pass as one self-contained HTML file.

    The file holds one inline SVG picture per step (drawn with Graphviz's
    ``dot``), the chain-rule line of each step and a little JavaScript for
    the controls (start, previous, play, next, a slider, the arrow keys). It
    loads nothing from the network, so it can be shared and opened anywhere.

    Args:
        root: the output to differentiate.
        path: the ``.html`` file to write.
        title: the page's title.
        max_steps: refuse graphs with more backward steps than this
            (``ValueError``), since each step is one picture.
        options: passed to :func:`autograd_lite.viz.draw_graph`.

    Returns:
        The path written. The graph's grads are left as they were.

    Raises:
        autograd_lite.viz.DotNotFoundError: Graphviz's ``dot`` is missing
            (nothing is written).
    """
    walk = _Walkthrough(root, max_steps=max_steps)
    graphs = [walk.draw(frame, **options) for frame in range(walk.frames)]
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        svgs = list(pool.map(_svg, graphs))  # each picture is one `dot` process
    templates = "\n".join(f'<template id="frame-{k}">{svg}</template>' for k, svg in enumerate(svgs))
    data = [
        {"explain": walk.explain(k), "counter": walk.counter(k), "edge": walk.highlighted_edge(k)}
        for k in range(walk.frames)
    ]
    page = _PAGE.format(
        title=html.escape(title),
        last=walk.frames - 1,
        lines="".join(f"<li>{html.escape(step.explain())}</li>" for step in walk.steps),
        templates=templates,
        data=json.dumps(data).replace("</", "<\\/"),
    )
    target = Path(path)
    target.write_text(page, encoding="utf-8")
    return target
