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

async function layOut(data, vizSource) {
  if (data.svg) return svgFrom(data.svg);
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
  if (!globalThis.Viz) throw new Error("no system Graphviz picture and no Viz.js to lay the graph out");
  const viz = await globalThis.Viz.instance();
  return viz.renderSVGElement(data.dot);
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
  constructor(el, data, picture) {
    this.data = data;
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

  // A value's whole gradient: the sum over its uses, one backward step (term) each.
  onClick(event) {
    const group = event.target.closest("g.node");
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
    for (const id of step.current) this.picture.mark(id, "current", on);
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
    const boxes = ids.map((id) => this.picture.byId(id)).filter(Boolean).map((e) => e.getBoundingClientRect());
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
  let svg;
  try {
    svg = await layOut(data, model.get("viz_js"));
  } catch (error) {
    el.append(element("pre", "al-error", String(error)));
    return;
  }
  const stepper = new Stepper(el, data, new Picture(svg));
  requestAnimationFrame(() => {
    stepper.fit();
    stepper.goto(data.start || 0);
  });
  el.autogradLiteStepper = stepper; // for tests and the curious
}

export default { render };
