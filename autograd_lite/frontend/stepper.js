// The backprop stepper's front end: one SVG laid out once, each step applied as data.
//
// Used two ways with the same code: as an anywidget module (explore() in Jupyter:
// JupyterLab, Notebook 7, VS Code, Colab) and inside the self-contained HTML file
// that export_steps_html() writes. Both call render({ model, el }) where
// model.get("data") holds the walkthrough (see autograd_lite/walkthrough.py):
//   data.svg    the picture laid out by the system `dot`, or null;
//   data.dot    the DOT source, laid out here with Viz.js (WebAssembly Graphviz) when svg is null;
//   data.steps  one object per step: the current edge and node ids, the text, and the
//               changed value's text and colours before and after the step.
// Values and edges keep the SVG ids the picture gives them (v3, v3_op, v3_e0); the
// current step's edge and node carry the CSS class "current".

const ZOOM_STEP = 1.25;
const MIN_READABLE_ZOOM = 0.6; // fitting a wide graph never shrinks text below about 8 px

function svgFrom(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  return document.importNode(doc.documentElement, true);
}

async function loadViz(vizSource) {
  if (!globalThis.Viz && vizSource) {
    // Viz.js's global build defines globalThis.Viz; run it once per page.
    const url = URL.createObjectURL(new Blob([vizSource], { type: "text/javascript" }));
    await new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load Viz.js"));
      document.head.appendChild(script);
    });
  }
  return globalThis.Viz ? globalThis.Viz.instance() : null;
}

async function layOut(data, vizSource) {
  if (data.svg) return svgFrom(data.svg);
  const viz = await loadViz(vizSource);
  if (!viz) throw new Error("no system Graphviz picture and no Viz.js to lay the graph out");
  return viz.renderSVGElement(data.dot);
}

// -- module boxes that collapse: the picture's DOT put together again ------------------------

// The graph's pieces (walkthrough.py's _recomposable) and which module boxes are collapsed.
class Modules {
  constructor(graph) {
    this.graph = graph;
    this.byPath = new Map(graph.clusters.map((c) => [c.path, c]));
    this.byId = new Map(graph.clusters.map((c) => [c.id, c]));
    this.home = new Map(graph.items.map(([path, name]) => [name, path]));
    this.collapsed = new Set();
    this.rank = new Map(graph.clusters.map((c, i) => [c.name, i])); // modules in their natural order
    this.stepOf = new Map(graph.clusters.map((c) => [c.name, c.step ?? null])); // a time step's box -> t
  }

  depth(path) {
    let d = 0;
    for (let c = this.byPath.get(path); c; c = this.byPath.get(c.parent)) d++;
    return d;
  }

  // The outermost collapsed box around module `path`, or null when every box around it is open.
  hiddenBy(path) {
    let hidden = null;
    for (let c = this.byPath.get(path); c; c = this.byPath.get(c.parent)) {
      if (this.collapsed.has(c.path)) hidden = c;
    }
    return hidden;
  }

  // What stands for the element `id` (v3, v3_op, v3_e0) in the picture: itself, or a collapsed box.
  shownAs(id) {
    const value = /^v\d+/.exec(id);
    const path = value ? this.home.get(value[0]) : null;
    const box = path ? this.hiddenBy(path) : null;
    return box ? box.id : id;
  }

  // The DOT source with the collapsed boxes drawn as one node each.
  dot() {
    const g = this.graph;
    const inside = new Map(); // module path (or "") -> its lines
    const add = (path, line) => {
      const key = path ?? "";
      if (!inside.has(key)) inside.set(key, []);
      inside.get(key).push(line);
    };
    const nodeOf = new Map(); // a hidden node's name -> the name of the box standing for it
    for (const [path, name, line] of g.items) {
      const box = path ? this.hiddenBy(path) : null;
      if (box) nodeOf.set(name, box.name);
      else add(path, line);
    }
    // Collapsed boxes, last first: with the crossing minimisation kept short (below), Graphviz
    // stacks boxes side by side (a layer's neurons) in the reverse of their order in the source, so
    // neurons.0 comes out on top. Left to itself, it rotates them (neurons.0 in the middle).
    for (const c of [...g.clusters].reverse()) {
      if (!this.hiddenBy(c.parent) && this.collapsed.has(c.path)) add(c.parent, c.closed);
    }
    const nest = (path) => {
      const lines = [...(inside.get(path ?? "") || [])];
      for (const c of g.clusters) {
        if (c.parent === path && !this.hiddenBy(c.path)) lines.push(c.open, ...nest(c.path), "}\n");
      }
      return lines;
    };
    const keepOrder = this.collapsed.size ? "\tgraph [remincross=false mclimit=0.01]\n" : "";
    return [g.header, keepOrder, ...nest(null), ...this.edgeLines(nodeOf), g.footer].join("");
  }

  // Every edge between shown nodes; edges into or out of collapsed boxes merged, one per pair.
  edgeLines(nodeOf) {
    const lines = [];
    const merged = new Map();
    for (const [tail, head, line] of this.graph.edges) {
      const t = nodeOf.get(tail) ?? tail;
      const h = nodeOf.get(head) ?? head;
      if (t === tail && h === head) lines.push(line);
      else if (t !== h) merged.set(`${t} -> ${h}`, [this.rank.get(t) ?? -1, this.rank.get(h) ?? -1]);
    }
    const inOrder = [...merged].sort(([, a], [, b]) => a[1] - b[1] || a[0] - b[0]);
    for (const [pair] of inOrder) lines.push(`${pair} ${this.carries(...pair.split(" -> "))}\n`);
    return lines;
  }

  // The merged arrow standing for the edge from value `tail` into value `head`'s op when a collapsed
  // box hides either end (its SVG id), or null.
  mergedEdge(tail, head) {
    const boxOf = (name) => {
      const path = this.home.get(name);
      const box = path ? this.hiddenBy(path) : null;
      return box ? box.name : null;
    };
    const t = boxOf(tail), h = boxOf(head);
    if ((!t && !h) || t === h) return null;
    return this.edgeId(t ?? tail, h ?? `${head}_op`);
  }

  edgeId(tail, head) {
    return `${tail}__${head}`;
  }

  // An arrow from time step t's box to the next step's box carries the hidden state: labelled h_t.
  carries(tail, head) {
    const id = `id="${this.edgeId(tail, head)}"`;
    const t = this.stepOf.get(tail);
    if (t == null || this.stepOf.get(head) == null) return `[class=collapsed ${id}]`;
    return `[class="collapsed hidden-state" ${id} label="h_${t}" fontname=Helvetica fontsize=12 penwidth=2]`;
  }

}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, title, onClick) {
  const b = element("button", "al-button", label);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

// -- the picture: find a value's grad text and fill, set them -------------------------------

class Picture {
  constructor(svg) {
    this.svg = svg;
    this.width = svg.viewBox.baseVal.width || svg.getBBox().width;
    this.height = svg.viewBox.baseVal.height || svg.getBBox().height;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    this.cache = new Map();
  }

  byId(id) {
    if (!this.cache.has(id)) this.cache.set(id, id ? this.svg.querySelector(`[id="${CSS.escape(id)}"]`) : null);
    return this.cache.get(id);
  }

  // A value's box: its texts, the one showing `field` ("grad 0.21", "data 1.4"), its shape.
  parts(id, field) {
    const group = this.byId(id);
    if (!group) return null;
    const texts = [...group.querySelectorAll("text")];
    return {
      texts,
      fieldText: texts.find((t) => t.textContent.startsWith(`${field} `)),
      shape: group.querySelector("polygon, path, ellipse"),
    };
  }

  // What a value shows now for `field`: the text and, for its grad, its colours.
  shownValue(id, field) {
    const p = this.parts(id, field);
    if (!p) return null;
    const shown = { text: p.fieldText ? p.fieldText.textContent : "" };
    if (field === "grad") {
      shown.fill = p.shape ? p.shape.getAttribute("fill") : "";
      shown.font = p.texts.length ? p.texts[0].getAttribute("fill") || "black" : "black";
    }
    return shown;
  }

  setValue(id, field, shown) {
    const p = this.parts(id, field);
    if (!p || !shown) return;
    if (p.fieldText) p.fieldText.textContent = shown.text;
    if (shown.fill && p.shape) p.shape.setAttribute("fill", shown.fill);
    if (shown.font) for (const t of p.texts) t.setAttribute("fill", shown.font);
  }

  mark(id, cls, on) {
    const node = this.byId(id);
    if (node) node.classList.toggle(cls, on);
  }

  zoomTo(zoom) {
    this.svg.style.width = `${this.width * zoom}px`;
    this.svg.style.height = `${this.height * zoom}px`;
  }
}

// -- the stepper: state, navigation, view -------------------------------------------------------

// A step as data: `current` (ids marked "current"), `focus` (ids kept in view), `done` (an id whose
// grad is final from then on), `set` ([id, "grad" | "data", shown] changes). A backward step may
// come in its short form, {edge, node, child, first, after}, filled in here.
function normalize(step) {
  if (!step.current) step.current = [step.edge, step.node, `${step.node}_op`, step.child];
  if (!step.set) step.set = [[step.child, "grad", step.after]];
  // kept in view: all of them when they fit together, else the last (the value that changes)
  if (!step.focus) step.focus = step.edge ? [`${step.node}_op`, step.child] : [step.current[0]];
  if (!Array.isArray(step.focus)) step.focus = [step.focus];
  if (step.first) step.done = step.node;
}

class Stepper {
  constructor(el, data, picture, viz) {
    this.data = data;
    this.viz = viz; // Viz.js, to lay the picture out again when a module box collapses; or null
    this.modules = data.graph ? new Modules(data.graph) : null;
    this.steps = data.steps;
    this.picture = picture;
    this.at = 0; // steps applied; 0 = before the first
    for (const [id, field, shown] of data.start || []) picture.setValue(id, field, shown);
    // Each change's "before": what the value showed after the last change to it, or at the start.
    const last = new Map();
    for (const step of this.steps) {
      normalize(step);
      step.unset = step.set.map(([id, field, shown]) => {
        const key = `${id} ${field}`;
        if (!last.has(key)) last.set(key, picture.shownValue(id, field));
        const before = last.get(key);
        last.set(key, shown);
        return [id, field, before];
      });
    }
    this.zoom = 1;
    this.build(el);
  }

  build(el) {
    this.root = element("div", "al-stepper");
    this.root.tabIndex = 0;
    const bar = element("div", "al-bar");
    this.counter = element("span", "al-counter");
    this.slider = element("input", "al-slider");
    Object.assign(this.slider, { type: "range", min: 0, max: this.steps.length, value: 0 });
    this.slider.addEventListener("input", () => this.goto(Number(this.slider.value)));
    this.playButton = button("play", "play / pause", () => this.togglePlay());
    bar.append(
      button("|◀", "to the start (Home)", () => this.goto(0)),
      button("◀", "previous step (←)", () => this.goto(this.at - 1)),
      button("▶", "next step (→)", () => this.goto(this.at + 1)),
      this.playButton,
      this.slider,
      this.counter,
      button("−", "zoom out", () => this.setZoom(this.zoom / ZOOM_STEP)),
      button("fit", "fit the width", () => this.fit()),
      button("+", "zoom in", () => this.setZoom(this.zoom * ZOOM_STEP)),
    );
    if (this.viz && this.modules && this.modules.graph.clusters.length) bar.append(this.levelChooser());
    this.text = element("pre", "al-text");
    this.viewport = element("div", "al-viewport");
    this.viewport.append(this.picture.svg);
    this.root.append(bar, this.text, this.viewport);
    el.append(this.root);
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    this.picture.svg.addEventListener("click", (event) => this.onClick(event));
  }

  onKey(event) {
    if (event.key === "ArrowRight") this.goto(this.at + 1);
    else if (event.key === "ArrowLeft") this.goto(this.at - 1);
    else if (event.key === "Home") this.goto(0);
    else if (event.key === "End") this.goto(this.steps.length);
    else return;
    event.preventDefault();
  }

  // Collapse module boxes by depth: every value, or each module at depth d drawn as one box.
  levelChooser() {
    const chooser = element("select", "al-levels");
    chooser.title = "collapse module boxes (or click a box)";
    const depths = new Map();
    for (const c of this.modules.graph.clusters) {
      const d = this.modules.depth(c.path);
      if (!depths.has(d)) depths.set(d, c.path);
    }
    const mixed = new Option("boxes collapsed by clicks", "");
    mixed.disabled = mixed.hidden = true;
    chooser.append(mixed, new Option("show every value", "0"));
    const timed = new Set(this.modules.graph.clusters.filter((c) => c.step != null).map((c) => this.modules.depth(c.path)));
    for (const [d, example] of [...depths].sort((a, b) => b[0] - a[0])) {
      // "layers.0.neurons.3" is one of the "neurons"; an unrolled RNN's "t=3" a time step
      const kind = /([^.]+)\.\d+$/.exec(example);
      const what = timed.has(d) ? "time step" : kind ? kind[1].replace(/s$/, "") : example;
      chooser.append(new Option(`one box per ${what}`, String(d)));
    }
    chooser.addEventListener("change", () => {
      const d = Number(chooser.value);
      const paths = this.modules.graph.clusters.filter((c) => this.modules.depth(c.path) === d).map((c) => c.path);
      this.relayout(new Set(paths));
    });
    this.levels = chooser;
    return chooser;
  }

  // A click on a module's box collapses it, on a collapsed box expands it; on a value, shows its
  // gradient term by term.
  onClick(event) {
    const group = event.target.closest("g.node");
    const box = this.modules && this.viz ? this.modules.byId.get((group || event.target.closest("g.cluster"))?.id) : null;
    if (box) {
      const collapsed = new Set(this.modules.collapsed);
      if (collapsed.has(box.path)) {
        // open one level: the modules inside it come as one box each
        collapsed.delete(box.path);
        for (const c of this.modules.graph.clusters) if (c.parent === box.path) collapsed.add(c.path);
      } else {
        for (const path of collapsed) if (path.startsWith(`${box.path}.`)) collapsed.delete(path); // inside it
        collapsed.add(box.path);
      }
      this.relayout(collapsed);
      return;
    }
    this.showSum(group);
  }

  // A value's whole gradient: the sum over its uses, one backward step (term) each.
  showSum(group) {
    const name = group && this.data.names[group.id];
    if (!name) return;
    const terms = this.steps.filter((step) => step.kind === undefined && step.child === group.id);
    const uses = terms.length === 1 ? "its 1 use" : `its ${terms.length} uses`;
    this.text.textContent = terms.length
      ? [`${name}.grad is the sum over ${uses}, term by term:`, ...terms.map((t) => `  ${t.text}`)].join("\n")
      : `${name}: no term adds into its grad (the root is seeded with 1; other values are not used).`;
    this.root.dataset.showing = group.id;
  }

  // -- moving: each step applied (or undone) as data --

  apply(step, forward) {
    const p = this.picture;
    const changes = forward ? step.set : [...step.unset].reverse();
    for (const [id, field, shown] of changes) p.setValue(id, field, shown);
    if (step.done) p.mark(step.done, "done", forward);
  }

  goto(target) {
    const started = performance.now();
    target = Math.max(0, Math.min(this.steps.length, target));
    this.highlight(false);
    while (this.at < target) this.apply(this.steps[this.at++], true);
    while (this.at > target) this.apply(this.steps[--this.at], false);
    this.highlight(true);
    this.show();
    this.root.dataset.stepMs = (performance.now() - started).toFixed(2);
    this.root.dataset.step = String(this.at);
  }

  current() {
    return this.at > 0 ? this.steps[this.at - 1] : null;
  }

  highlight(on) {
    const step = this.current();
    if (!step) return;
    for (const id of step.current) this.picture.mark(this.shownAs(id), "current", on);
    const merged = step.edge && this.modules ? this.modules.mergedEdge(step.child, step.node) : null;
    if (merged) this.picture.mark(merged, "current", on); // the arrow into or out of a collapsed box
  }

  shownAs(id) {
    return this.modules ? this.modules.shownAs(id) : id;
  }

  // Lay the picture out again with the module boxes `collapsed` drawn as one box each, and show on it
  // what the steps so far have shown.
  async relayout(collapsed) {
    const previous = new Set(this.modules.collapsed);
    this.modules.collapsed = collapsed;
    this.root.dataset.layout = "busy";
    let svg;
    try {
      svg = this.viz.renderSVGElement(this.modules.dot());
    } catch (error) {
      this.modules.collapsed = previous; // the picture stays as it was
      this.text.textContent = `could not lay the graph out again: ${error}`;
      this.root.dataset.layout = "failed";
      return;
    }
    const picture = new Picture(svg);
    for (const [id, field, shown] of this.data.start || []) picture.setValue(id, field, shown);
    for (const step of this.steps.slice(0, this.at)) {
      for (const [id, field, shown] of step.set) picture.setValue(id, field, shown);
      if (step.done) picture.mark(step.done, "done", true);
    }
    this.picture.svg.replaceWith(svg);
    this.picture = picture;
    svg.addEventListener("click", (event) => this.onClick(event));
    this.picture.zoomTo(this.zoom);
    this.highlight(true);
    this.show();
    if (this.levels) {
      const depths = new Set([...collapsed].map((p) => this.modules.depth(p)));
      const whole = depths.size === 1 && [...depths][0] === Number(this.levels.value);
      if (!collapsed.size) this.levels.value = "0";
      else if (!whole) this.levels.value = "";
    }
    this.root.dataset.layout = "done";
    this.root.dataset.collapsed = [...collapsed].sort().join(" ");
  }

  show() {
    const step = this.current();
    this.counter.textContent = `step ${this.at} of ${this.steps.length}`;
    this.slider.value = String(this.at);
    this.text.textContent = step ? step.text : this.data.intro;
    this.root.dataset.kind = step ? step.kind || "backward" : "start";
    if (step) this.keepInView(step.focus);
  }

  // Scroll so that the elements `ids` are in view, all of them when they fit together (a step's op
  // and the value it changes), else the last; leave the view alone when they are in it already.
  keepInView(ids) {
    const boxes = ids.map((id) => this.picture.byId(this.shownAs(id))).filter(Boolean).map((e) => e.getBoundingClientRect());
    if (!boxes.length) return;
    const view = this.viewport.getBoundingClientRect();
    const union = {
      left: Math.min(...boxes.map((b) => b.left)), right: Math.max(...boxes.map((b) => b.right)),
      top: Math.min(...boxes.map((b) => b.top)), bottom: Math.max(...boxes.map((b) => b.bottom)),
    };
    const fits = union.right - union.left <= view.width && union.bottom - union.top <= view.height;
    const box = fits ? union : boxes[boxes.length - 1];
    // a margin where there is room for one, so the target does not sit on the very edge
    const marginX = Math.max(0, Math.min(24, (view.width - (box.right - box.left)) / 2));
    const marginY = Math.max(0, Math.min(24, (view.height - (box.bottom - box.top)) / 2));
    const inside =
      box.left >= view.left + marginX && box.right <= view.right - marginX &&
      box.top >= view.top + marginY && box.bottom <= view.bottom - marginY;
    if (inside) return;
    this.viewport.scrollLeft += (box.left + box.right) / 2 - (view.left + view.width / 2);
    this.viewport.scrollTop += (box.top + box.bottom) / 2 - (view.top + view.height / 2);
  }

  // -- view --

  setZoom(zoom) {
    this.zoom = Math.max(0.05, Math.min(8, zoom));
    this.picture.zoomTo(this.zoom);
    this.show();
  }

  fit() {
    const width = this.viewport.clientWidth - 8;
    this.setZoom(Math.max(Math.min(1.5, width / this.picture.width), MIN_READABLE_ZOOM));
  }

  togglePlay() {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.playButton.textContent = "play";
      return;
    }
    if (this.at >= this.steps.length) this.goto(0);
    this.playButton.textContent = "pause";
    this.timer = setInterval(() => {
      if (this.at >= this.steps.length) this.togglePlay();
      else this.goto(this.at + 1);
    }, this.data.interval_ms || 600);
  }
}

async function render({ model, el }) {
  const data = model.get("data");
  let svg, viz;
  try {
    svg = await layOut(data, model.get("viz_js"));
    viz = await loadViz(model.get("viz_js"));
  } catch (error) {
    el.append(element("pre", "al-error", String(error)));
    return;
  }
  const stepper = new Stepper(el, data, new Picture(svg), viz);
  requestAnimationFrame(async () => {
    if (data.collapse && data.collapse.length && stepper.levels) {
      // start with the outermost boxes collapsed (an unrolled RNN: one box per time step)
      stepper.levels.value = String(Math.max(...data.collapse.map((p) => stepper.modules.depth(p))));
      await stepper.relayout(new Set(data.collapse));
    }
    stepper.fit();
    stepper.goto(0);
  });
  el.autogradLiteStepper = stepper; // for tests and the curious
}

export default { render };
