"""Graph pictures: the SVG that Graphviz draws is parsed and checked."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

from autograd_lite import Value
from autograd_lite.nn import MLP
from autograd_lite.viz import (
    DEFAULT_MAX_NODES,
    DotNotFoundError,
    draw_dot,
    draw_graph,
    grad_colour,
    module_of_parameter,
    save_graph,
)

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


# -- reading the SVG -----------------------------------------------------------


class Picture:
    """The parts of a Graphviz SVG that the tests look at."""

    def __init__(self, svg: str) -> None:
        self.root = ET.fromstring(svg)
        self.groups = [g for g in self.root.iter(f"{SVG}g") if g.get("class")]

    def with_class(self, name: str) -> list[ET.Element]:
        return [g for g in self.groups if name in g.get("class", "").split()]

    def by_id(self, ident: str) -> ET.Element:
        (found,) = [g for g in self.groups if g.get("id") == ident]
        return found

    @staticmethod
    def texts(group: ET.Element) -> list[str]:
        return [t.text or "" for t in group.iter(f"{SVG}text")]

    @staticmethod
    def fill(group: ET.Element) -> str:
        shape = next(iter(group.iter(f"{SVG}polygon")))
        return shape.get("fill", "")

    @staticmethod
    def stroke(group: ET.Element) -> str:
        return next(e for e in group if e.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse")).get(
            "stroke"
        )

    @staticmethod
    def box(group: ET.Element) -> tuple[float, float, float, float]:
        """Bounding box (x0, y0, x1, y1) of the group's first polygon or ellipse."""
        for e in group:
            if e.tag == f"{SVG}polygon":
                xs, ys = zip(*(map(float, p.split(",")) for p in e.get("points").split()))
                return min(xs), min(ys), max(xs), max(ys)
            if e.tag == f"{SVG}path" and "cluster" in group.get("class", ""):  # rounded box
                xs, ys = zip(
                    *((float(a), float(b)) for a, b in re.findall(r"(-?[\d.]+),(-?[\d.]+)", e.get("d")))
                )
                return min(xs), min(ys), max(xs), max(ys)
            if e.tag == f"{SVG}ellipse":
                cx, cy, rx, ry = (float(e.get(k)) for k in ("cx", "cy", "rx", "ry"))
                return cx - rx, cy - ry, cx + rx, cy + ry
        raise AssertionError("no shape in group")

    def clusters(self) -> dict[str, ET.Element]:
        return {self.texts(g)[0]: g for g in self.with_class("cluster")}


def inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def picture(root: Value, **options) -> Picture:
    return Picture(draw_graph(root, **options).pipe(format="svg", encoding="utf-8"))


def rgb(colour: str) -> tuple[int, int, int]:
    assert re.fullmatch(r"#[0-9a-f]{6}", colour), colour
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def neuron():
    """o = tanh(x*w + b) with x > 0 and w < 0: x gets a negative grad, w and b positive."""
    x, w, b = Value(0.5, label="x"), Value(-1.2, label="w"), Value(2.0, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    o.backward()
    return o, x, w, b


# -- what the picture shows ----------------------------------------------------


def test_draw_dot_is_draw_graph_and_returns_a_digraph():
    o, *_ = neuron()
    assert draw_dot is draw_graph
    graph = draw_dot(o)
    assert isinstance(graph, graphviz.Digraph)
    assert graph.source.startswith("digraph")
    assert draw_dot(o, format="png", rankdir="TB").format == "png"  # micrograd's signature


@needs_dot
def test_one_box_per_value_one_oval_per_op_and_an_edge_per_input():
    o, *_ = neuron()
    pic = picture(o)
    # x, w, x*w, b, x*w+b, tanh(...): six values; the ops *, +, tanh
    assert len(pic.with_class("value")) == 6
    ops = pic.with_class("op")
    assert sorted(pic.texts(op)[0] for op in ops) == ["*", "+", "tanh"]
    # one edge into an op per input (2 + 2 + 1), one out of each op (3)
    assert len(pic.with_class("input")) == 5
    assert len(pic.with_class("output")) == 3


@needs_dot
def test_each_box_shows_label_data_and_grad():
    o, x, w, _b = neuron()
    pic = picture(o)
    texts = {" ".join(pic.texts(g)) for g in pic.with_class("value")}
    assert f"x data 0.5000 grad {x.grad:.4f}" in texts
    assert f"w data -1.2000 grad {w.grad:.4f}" in texts
    assert "o data 0.8854 grad 1.0000" in texts


@needs_dot
def test_fields_and_number_format_options():
    o, x, *_ = neuron()
    pic = picture(o, show=("label", "grad"), number_format=".2f")
    texts = {" ".join(pic.texts(g)) for g in pic.with_class("value")}
    assert f"x grad {x.grad:.2f}" in texts
    assert not any("data" in t for t in texts)


def test_rankdir_and_bad_options():
    o, *_ = neuron()
    assert "rankdir=TB" in draw_graph(o, rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(o, rankdir="sideways")
    with pytest.raises(ValueError, match="unknown field"):
        draw_graph(o, show=("label", "colour"))
    with pytest.raises(ValueError, match="number_format"):
        draw_graph(o, number_format="%d")
    with pytest.raises(TypeError, match="root must be a Value"):
        draw_graph(3.0)  # type: ignore[arg-type]


@needs_dot
def test_colour_is_red_for_positive_blue_for_negative_white_for_zero():
    o, x, w, _b = neuron()
    assert x.grad < 0 < w.grad
    zero = Value(0.0, label="zero")
    root = o + zero * 0  # zero.grad stays 0 after backward
    root.backward()
    pic = picture(root)
    fills = {pic.texts(g)[0]: rgb(pic.fill(g)) for g in pic.with_class("value") if pic.texts(g)[0].isalpha()}
    red, green, blue = fills["w"]
    assert red > blue + 60 and red > green
    red, green, blue = fills["x"]
    assert blue > red + 60 and blue > green
    red, green, blue = fills["zero"]
    assert min(red, green, blue) > 240 and max(red, green, blue) - min(red, green, blue) < 5


def test_colour_grows_darker_with_the_size_of_the_grad_on_the_stated_scale():
    def darkness(g: float) -> int:
        return 765 - sum(rgb(grad_colour(g)))

    sizes = [1e-6, 1e-4, 1e-3, 1e-1, 1.0, 10.0, 100.0, 1e4]
    shades = [darkness(s) for s in sizes]
    assert shades[0] == shades[1] > 0  # at or below the scale's low end: palest, still tinted
    assert shades[1:-1] == sorted(shades[1:-1]) and len(set(shades[1:-1])) == len(shades) - 2
    assert shades[-1] == shades[-2]  # clamped at the high end
    negative = [darkness(-s) for s in sizes]  # the same scale for negative grads, in blue
    assert negative == sorted(negative) and negative[0] == negative[1] and negative[-1] == negative[-2]
    assert grad_colour(float("inf")) == grad_colour(1e9)
    with pytest.raises(ValueError, match="grad scale"):
        grad_colour(1.0, (1.0, 0.1))


@needs_dot
def test_the_picture_states_the_colour_scale():
    o, *_ = neuron()
    pic = picture(o, grad_scale=(1e-3, 1e1))
    legend = " ".join(pic.texts(pic.by_id("legend")))
    assert "red" in legend and "blue" in legend and "log scale" in legend
    assert "1e-03" in legend and "1e+01" in legend
    assert "legend" not in draw_graph(o, legend=False).source


@needs_dot
def test_highlight_values_and_edges():
    o, _x, w, b = neuron()
    product = next(k for k in o._prev[0]._prev if k._prev)  # x*w
    pic = picture(o, highlight=[b, (product, w), (o._prev[0], 1)])
    hot_values = [g for g in pic.with_class("highlight") if "value" in g.get("class").split()]
    assert [pic.texts(g)[0] for g in hot_values] == ["b"]
    edges = [g for g in pic.with_class("highlight") if "input" in g.get("class")]
    assert len(edges) == 2
    for edge in edges:
        assert pic.stroke(edge) == "#ff7f00"
    plain = [g for g in pic.with_class("input") if "highlight" not in g.get("class")]
    assert plain and all(pic.stroke(e) != "#ff7f00" for e in plain)
    with pytest.raises(TypeError, match="highlight"):
        draw_graph(o, highlight=["b"])


# -- modules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "module"),
    [
        ("layers.0.neurons.3.w.1", "layers.0.neurons.3"),
        ("layers.0.neurons.3.b", "layers.0.neurons.3"),
        ("cell.units.neurons.2.w.0", "cell.units.neurons.2"),
        ("w.0", None),
        ("b", None),
        ("x", None),
        ("w1", None),
    ],
)
def test_module_of_parameter(label, module):
    assert module_of_parameter(label) == module


def hand_made_mlp():
    """Two layers by hand, parameters labelled as nn labels them: 2 -> 2 -> 1."""
    xs = [Value(1.0), Value(-2.0)]
    hidden = []
    for j in range(2):
        ws = [Value(0.3 * (j + 1) * (-1) ** i, label=f"layers.0.neurons.{j}.w.{i}") for i in range(2)]
        b = Value(0.1, label=f"layers.0.neurons.{j}.b")
        hidden.append(Value.dot(ws, xs, b).tanh())
    ws = [Value(0.7, label="layers.1.neurons.0.w.0"), Value(-0.4, label="layers.1.neurons.0.w.1")]
    out = Value.dot(ws, hidden, Value(0.0, label="layers.1.neurons.0.b"))
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss


@needs_dot
def test_values_of_a_module_are_boxed_together_and_nested_by_path():
    loss = hand_made_mlp()
    pic = picture(loss)
    clusters = pic.clusters()
    assert set(clusters) == {"layers.0", "layers.0.neurons.0", "layers.0.neurons.1", "layers.1",
                             "layers.1.neurons.0"}  # fmt: skip
    box = {name: pic.box(g) for name, g in clusters.items()}
    assert inside(box["layers.0.neurons.0"], box["layers.0"])
    assert inside(box["layers.0.neurons.1"], box["layers.0"])
    assert inside(box["layers.1.neurons.0"], box["layers.1"])
    assert not inside(box["layers.1.neurons.0"], box["layers.0"])
    values = {g.get("id"): g for g in pic.with_class("value")}
    # inside its neuron's box a weight is shown by its short name
    w = next(g for g in values.values() if pic.texts(g)[0] == "w.1" and inside(pic.box(g), box["layers.1"]))
    assert inside(pic.box(w), box["layers.1.neurons.0"])
    # the tanh of a hidden neuron sits in that neuron's box, with the dot node
    tanh_ops = [g for g in pic.with_class("op") if pic.texts(g)[0] == "tanh"]
    assert len(tanh_ops) == 2
    assert all(any(inside(pic.box(t), box[f"layers.0.neurons.{j}"]) for j in (0, 1)) for t in tanh_ops)
    # inputs and the loss are outside every module
    for op in pic.with_class("op"):
        if pic.texts(op)[0] in ("-", "**2"):
            assert not any(inside(pic.box(op), b) for b in box.values())
    assert "cluster" not in draw_graph(loss, clusters=False).source


@needs_dot
def test_an_mlp_draws_a_cluster_per_layer_and_neuron():
    model = MLP(2, [3, 2, 1], seed=0)
    out = model([0.5, -1.0])
    loss = (out - 1.0) ** 2
    loss.backward()
    pic = picture(loss)
    clusters = pic.clusters()
    expected = {"layers.0", "layers.1", "layers.2"}
    expected |= {f"layers.0.neurons.{j}" for j in range(3)} | {f"layers.1.neurons.{j}" for j in range(2)}
    expected |= {"layers.2.neurons.0"}
    assert set(clusters) == expected
    box = {name: pic.box(g) for name, g in clusters.items()}
    # every parameter is drawn inside its neuron's box, which is inside its layer's
    neuron_boxes = {name: b for name, b in box.items() if "neurons" in name}
    params = [g for g in pic.with_class("value") if re.fullmatch(r"(w\.\d+|b)", pic.texts(g)[0])]
    assert len(params) == len(model.parameters())
    for g in params:
        assert sum(inside(pic.box(g), b) for b in neuron_boxes.values()) == 1
    for name, b in neuron_boxes.items():
        assert inside(b, box[name.rsplit(".neurons", 1)[0]])
    # the ReLUs of the hidden layers are in neuron boxes: 3 + 2 of them
    relus = [g for g in pic.with_class("op") if pic.texts(g)[0] == "ReLU"]
    assert len(relus) == 5
    assert all(any(inside(pic.box(r), b) for b in neuron_boxes.values()) for r in relus)


def test_unfused_neurons_keep_their_whole_chain_in_the_module_box():
    model = MLP(3, [1], output_activation="tanh", fused=False, seed=1)
    out = model([1.0, 2.0, 3.0])
    source = draw_graph(out).source
    body = source[source.index("subgraph cluster_layers_0_neurons_0 {") :]
    cluster = body[: body.index("\n\t\t}")]
    # 3 products, 3 sums (b + w0x0, + w1x1, + w2x2), the tanh: each value node and its op
    assert cluster.count("class=op") == 7
    assert len(re.findall(r"class=\"?value", cluster)) == 3 + 1 + 7


# -- big graphs ----------------------------------------------------------------


def test_large_graphs_are_collapsed_to_one_box_per_module_with_a_note():
    model = MLP(2, [16, 16, 1], seed=0)
    out = model([1.0, -2.0])
    out.backward()
    graph = draw_graph(out)
    source = graph.source
    n_neurons = 16 + 16 + 1
    assert len(re.findall(r"class=module", source)) == n_neurons
    assert "layers.0.neurons.15" in source
    assert len(re.findall(r"class=value", source)) == 2  # the two inputs, outside the modules
    note = re.search(r'note \[label="([^"]*)"', source).group(1)
    assert "Collapsed" in note and f"max_nodes={DEFAULT_MAX_NODES}" in note and "collapse=False" in note
    full = draw_graph(out, collapse=False).source
    assert len(re.findall(r"class=\"?value", full)) > DEFAULT_MAX_NODES
    assert "note" not in full


def test_the_collapse_threshold_is_an_option():
    o, *_ = neuron()
    assert "note" not in draw_graph(o).source
    assert "Collapsed" in draw_graph(o, max_nodes=3).source
    assert "Collapsed" in draw_graph(o, collapse=True).source
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(o, max_nodes=0)


def test_a_huge_graph_outside_any_module_collapses_by_op():
    x = Value(1.0, label="x")
    total = x
    for i in range(400):
        total = (total * 0.5 + Value(float(i))).tanh()
    source = draw_graph(total).source
    boxes = re.findall(r"^\s*g\d+ \[", source, re.M)
    assert len(boxes) <= 6  # inputs, *, +, tanh groups
    assert re.search(r"400 x tanh", source)


@needs_dot
def test_collapsed_picture_renders_quickly_enough_to_be_readable():
    model = MLP(2, [16, 16, 1], seed=0)
    out = model([1.0, -2.0])
    pic = Picture(draw_graph(out).pipe(format="svg", encoding="utf-8"))
    assert len(pic.with_class("module")) == 33
    assert {"layers.0", "layers.1", "layers.2"} <= set(pic.clusters())


# -- files ---------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_save_graph_picks_the_format_from_the_extension(tmp_path: Path, suffix, magic):
    o, *_ = neuron()
    path = save_graph(o, tmp_path / f"graph{suffix}")
    assert path.read_bytes().startswith(magic)


def test_save_graph_writes_dot_source_and_rejects_unknown_extensions(tmp_path: Path):
    o, *_ = neuron()
    path = save_graph(o, tmp_path / "graph.dot", rankdir="TB")
    assert path.read_text().startswith("digraph") and "rankdir=TB" in path.read_text()
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        save_graph(o, tmp_path / "graph.jpeg")
    assert not (tmp_path / "graph.jpeg").exists()


def test_without_dot_rendering_says_how_to_install_it_and_keeps_the_source(tmp_path: Path, monkeypatch):
    o, *_ = neuron()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # hide Graphviz
    with pytest.raises(DotNotFoundError) as caught:
        save_graph(o, tmp_path / "graph.png")
    message = str(caught.value)
    assert "dot" in message and "apt-get install graphviz" in message and "brew install graphviz" in message
    assert isinstance(caught.value, graphviz.ExecutableNotFound)
    assert caught.value.source.startswith("digraph") and "tanh" in caught.value.source
    assert not (tmp_path / "graph.png").exists()
    graph = draw_graph(o)
    assert "tanh" in graph.source
    with pytest.raises(DotNotFoundError, match="not found"):
        graph.pipe(format="svg")
    with pytest.raises(DotNotFoundError):
        graph._repr_image_svg_xml()  # what Jupyter calls to show it
    assert save_graph(o, tmp_path / "graph.gv").exists()
