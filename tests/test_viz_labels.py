"""Labels are data, never markup: any label is drawn as its own text (issue 12).

A value's label (and so a module path made from it) can hold anything:
Graphviz escapes, record syntax, HTML-like label markup, HTML comments, NUL.
Each test renders the picture with ``dot`` and reads the SVG back: ``dot``
succeeds, the SVG parses, no element or attribute came from a label, and
every label, module path and op name reads as itself, with the one
documented change (:func:`autograd_lite.viz.visible_text`): characters that
SVG or Graphviz cannot carry are written as their Python escape, ``\\x00``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite.engine import topological_order
from autograd_lite.viz import _cluster_chain, draw_graph, module_paths, visible_text

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

ISSUE_LABELS = [
    '<<TABLE HREF="javascript:alert(1)">x</TABLE>>.w.0',
    "<!--<script>",
    "<!--<script>.w.0",
    "x\\",
    "x\\.w.0",
    "a\x00b",
    "\x00.w.0",
    "layers.0.<!--.1.w.0",
]
HOSTILE = [
    *ISSUE_LABELS,
    '<a href="javascript:alert(1)">click</a>',
    "<script>alert(1)</script>",
    "<<B>bold</B>>",
    "<>",
    "-->",
    "]]>",
    "&lt;b&gt; &amp; &#60; &#x3C;",
    '"',
    '\\"',
    "\\N \\G \\E \\T \\H \\L \\l \\r \\n",
    "{a|<p> b}",
    "  two  spaces  ",
    " ",
    "line\nbreak",
    "\n",
    "tab\there\r\x7f\x85\x1b",
    "\ufffe\uffff\ud800",
    "\xa0nbsp\u2028",
    "onload=alert(1)",
    "%41.w.0",
    "x label=<y>.w.0",
]
# Characters with a meaning to DOT, records, HTML, XML or Graphviz escapes, drawn often.
TRICKY = st.sampled_from([*'\\"<>&{}|\n\r\t .%;#!-[]Nlw0', *"\x00\x01\x7f\x85\ufffe\ud800\xa0\u2028"])
junk = st.one_of(st.text(), st.text(TRICKY), st.sampled_from(HOSTILE))
labels = st.one_of(
    junk,
    junk.map(lambda j: f"{j}.w.0"),
    junk.map(lambda j: f"layers.0.{j}.1.w.0"),
    junk.map(lambda j: f"layers.{j}.neurons.1.b"),
    st.just("layers.0.neurons.1.w.0"),
)


# -- what the picture should say -----------------------------------------------


def shown(text: str) -> str:
    """The documented replacement: what SVG (XML 1.0) or dot cannot carry, as its Python escape."""

    def drawable(c: str) -> bool:
        if c == "\n":
            return True
        return unicodedata.category(c) not in ("Cc", "Cs") and c not in "\ufffe\uffff"

    return "".join(c if drawable(c) else ascii(c)[1:-1] for c in text)


def lines(text: str) -> list[str]:
    """The <text> elements a label becomes: one per non-empty line."""
    return [normal(line) for line in shown(text).split("\n") if line]


def normal(text: str) -> str:
    return text.replace("\xa0", " ")  # Graphviz writes runs of spaces as space, no-break space


def texts(group: ET.Element) -> list[str]:
    return [normal(t.text or "") for t in group.iter(f"{SVG}text")]


def groups_with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if name in (g.get("class") or "").split()]


SAFE_TAGS = {"svg", "g", "title", "polygon", "polyline", "path", "ellipse", "text"}


def render(root: Value, **options) -> ET.Element:
    """The picture as parsed SVG, after checking that no label became markup."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # graphviz warns of DOT it expects dot to reject
        drawing = draw_graph(root, **options)
        source = drawing.source
        svg = drawing.pipe(format="svg", encoding="utf-8")  # dot succeeds
    # in the DOT source, the legend is the only HTML-like label
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source)
    assert unquoted.count("label=<") == (1 if options.get("legend", True) else 0)
    picture = ET.fromstring(svg)  # well-formed XML
    assert_no_markup_from_labels(picture)
    return picture


def assert_no_markup_from_labels(picture: ET.Element) -> None:
    for element in picture.iter():
        tag = element.tag.rpartition("}")[2]
        assert tag in SAFE_TAGS, f"<{tag}> in the picture"
        for name, value in element.attrib.items():
            local = name.rpartition("}")[2].lower()
            assert local != "href" and not local.startswith("on") and local != "style", (name, value)
            if local == "id":
                assert all(c.isascii() and (c.isalnum() or c in "_.-~%") for c in value), value
            if local == "class":
                assert all(c.isascii() and (c.isalpha() or c == " ") for c in value), value


def shown_name(node: Value, owner: dict[Value, str]) -> str:
    """A value's label as its box shows it: inside its module's box, without the module path."""
    path = owner.get(node)
    if path and node.label.startswith(path + "."):
        return node.label[len(path) + 1 :]
    return node.label


def check_full_picture(root: Value) -> None:
    picture = render(root)
    nodes = topological_order(root)
    owner = module_paths(nodes)
    ids = {g.get("id"): g for g in picture.iter(f"{SVG}g")}
    for i, node in enumerate(nodes):
        expected = [*lines(shown_name(node, owner)), f"data {node.data:.4f}", f"grad {node.grad:.4f}"]
        assert texts(ids[f"v{i}"]) == expected, (node.label, owner.get(node))
        if node._prev:
            assert texts(ids[f"v{i}_op"]) == lines(str(node._op))
    paths = {c for p in owner.values() for c in _cluster_chain(p)}
    clusters = {g.get("id"): texts(g) for g in groups_with_class(picture, "cluster")}
    assert clusters == {"cluster_" + quote(p, safe="", errors="surrogatepass"): lines(p) for p in paths}


# -- the documented replacement ------------------------------------------------


@given(st.one_of(st.text(), st.text(TRICKY), st.sampled_from(HOSTILE)))
def test_visible_text_replaces_exactly_what_a_picture_cannot_carry(text):
    assert visible_text(text) == shown(text)
    assert visible_text("a\x00b\tc\nd") == "a\\x00b\\tc\nd"


# -- every label, however hostile, is drawn as its text ---------------------------


@needs_dot
@settings(max_examples=60, deadline=None)
@given(x=labels, w=labels, b=labels, o=labels)
@example(**dict(zip("xwbo", ISSUE_LABELS[:4])))
@example(**dict(zip("xwbo", ISSUE_LABELS[4:])))
def test_any_labels_in_a_small_graph_are_drawn_as_their_text(x, w, b, o):
    vx, vw, vb = Value(0.5, label=x), Value(-1.2, label=w), Value(2.0, label=b)
    out = (vx * vw + vb).tanh()
    out.label = o
    out.backward()
    check_full_picture(out)


def nn_like(paths: list[str], extra: str) -> Value:
    """A layer of neurons whose module paths are ``paths``, and a loss; parameters labelled as nn does."""
    xs = [Value(1.0, label=extra), Value(-2.0)]
    outs = []
    for j, path in enumerate(paths):
        ws = [Value(0.3 * (j + 1) * (-1) ** i, label=f"{path}.w.{i}") for i in range(2)]
        outs.append(Value.dot(ws, xs, Value(0.1, label=f"{path}.b")).tanh())
    loss = (Value.sum(outs) - 1.0) ** 2
    loss.backward()
    return loss


module_path = st.one_of(
    junk,
    junk.map(lambda j: f"layers.0.neurons.{j}"),
    junk.map(lambda j: f"layers.{j}.neurons.0"),
    junk.map(lambda j: f"{j}.neurons.0"),
    st.sampled_from(["layers.0.neurons.0", "layers.0.neurons.1", "layers.1.neurons.0", "cell"]),
)


@needs_dot
@settings(max_examples=60, deadline=None)
@given(paths=st.lists(module_path, min_size=1, max_size=3), extra=labels)
@example(paths=['<<TABLE HREF="javascript:alert(1)">x</TABLE>>', "<!--<script>", "x\\"], extra="\x00")
@example(paths=["a.b", "a_b", "a%2Eb"], extra="a.b.w.0")  # distinct modules, similar names
def test_any_module_paths_are_drawn_as_text_in_their_own_boxes(paths, extra):
    check_full_picture(nn_like(paths, extra))


@needs_dot
@settings(max_examples=40, deadline=None)
@given(
    paths=st.lists(module_path, min_size=1, max_size=3),
    extra=labels,
    max_nodes=st.integers(1, 12),
)
@example(paths=['<<TABLE HREF="javascript:alert(1)">x</TABLE>>', "<!--<script>", "x\\"], extra="\x00",
         max_nodes=2)  # fmt: skip
def test_the_collapsed_picture_draws_hostile_module_paths_as_text(paths, extra, max_nodes):
    loss = nn_like(paths, extra)
    picture = render(loss, collapse=True, max_nodes=max_nodes)
    assert any(g.get("id") == "note" for g in picture.iter(f"{SVG}g"))  # it is the collapsed picture
    nodes = topological_order(loss)
    owner = module_paths(nodes)
    paths_drawn = {c for p in owner.values() for c in _cluster_chain(p)}
    names = {
        tuple(lines(v.label or (str(v._op) if v._prev else "input"))) for v in nodes
    }  # a value's own box, if it gets one
    for box in groups_with_class(picture, "module"):
        *path, counts, largest = texts(box)
        assert tuple(path) in {tuple(lines(p)) for p in paths_drawn}
        assert counts.endswith(" parameters") and largest.startswith("largest grad ")
    for box in groups_with_class(picture, "value"):
        assert tuple(texts(box)[:-2]) in names
    for cluster in groups_with_class(picture, "cluster"):
        assert tuple(texts(cluster)) in {tuple(lines(p)) for p in paths_drawn}
    if owner and max_nodes == 1:
        assert groups_with_class(picture, "module")


@needs_dot
def test_the_labels_from_issue_12_are_text_and_nothing_else():
    xs = [Value(1.0, label=label) for label in ISSUE_LABELS]
    out = Value.sum([x * x for x in xs])
    out.backward()
    picture = render(out)
    clusters = {tuple(texts(g)) for g in groups_with_class(picture, "cluster")}
    assert ('<<TABLE HREF="javascript:alert(1)">x</TABLE>>',) in clusters
    assert ("<!--<script>",) in clusters and ("x\\",) in clusters and ("\\x00",) in clusters
    values = {tuple(texts(g)[:-2]) for g in groups_with_class(picture, "value")}
    assert {("<!--<script>",), ("x\\",), ("a\\x00b",), ("w.0",)} <= values


# -- the browser lays out the same DOT (Viz.js, a newer Graphviz) -----------------

VIZ_JS = Path(__file__).resolve().parent.parent / "autograd_lite" / "frontend" / "vendor" / "viz-global.js"
# One Viz.js instance per graph, as the stepper does (one layout per page or widget): Viz.js
# 3.31.0's WebAssembly can fail ("table index is out of bounds") on the sixth of these graphs
# laid out one after another in a single instance, though each alone lays out fine.
RUN_VIZ_JS = """
const Viz = require(process.argv[2]);
const sources = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const out = [];
  for (const s of sources) {
    const viz = await Viz.instance();
    const r = viz.render(s, {format: "svg"});
    out.push(r.status === "success" ? r.output : "FAILED " + JSON.stringify(r.errors));
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None or not VIZ_JS.exists(), reason="needs node and Viz.js")
def test_viz_js_draws_hostile_labels_as_their_text_too(tmp_path: Path):
    cases = [HOSTILE[i : i + 4] for i in range(0, len(HOSTILE), 4)]
    roots = []
    for labels_ in cases:
        vs = [Value(0.5 + k, label=label) for k, label in enumerate(labels_)]
        out = Value.sum([v * v for v in vs])
        out.backward()
        roots.append(out)
    roots.append(nn_like(['<<TABLE HREF="javascript:alert(1)">x</TABLE>>', "<!--<script>", "x\\"], "\x00"))
    script = tmp_path / "render.js"
    script.write_text(RUN_VIZ_JS)
    sources = [draw_graph(r).source for r in roots] + [draw_graph(roots[-1], max_nodes=2).source]
    run = subprocess.run(["node", str(script), str(VIZ_JS)], input=json.dumps(sources), capture_output=True,
                         text=True, timeout=300, check=True)  # fmt: skip
    svgs = json.loads(run.stdout)
    for root, svg in zip(roots, svgs):
        assert not svg.startswith("FAILED"), svg
        picture = ET.fromstring(svg)
        assert_no_markup_from_labels(picture)
        nodes = topological_order(root)
        owner = module_paths(nodes)
        ids = {g.get("id"): g for g in picture.iter(f"{SVG}g")}
        for i, node in enumerate(nodes):
            assert texts(ids[f"v{i}"])[:-2] == lines(shown_name(node, owner))
    assert not svgs[-1].startswith("FAILED") and "Collapsed" in svgs[-1]
    assert_no_markup_from_labels(ET.fromstring(svgs[-1]))
