// inkwash colouring page: paint colour hints (and a selection mask) over a lineart; the result follows each
// stroke. Two engines share this UI: the inkwash server (index.html, POST api/colorize) and an exported
// ONNX model run in the browser (onnx.html, onnx-engine.js). Plain ES module, no build step.

const DEBOUNCE_MS = 300; // a pause this long after a stroke asks for a new result
const MAX_UNDO = 100;
const MASK_RGBA = [64, 140, 255, 255]; // how the selection is shown; it is sent as white on black
const PALETTE = ["#e0463c", "#f29e38", "#f5d547", "#7cc46b", "#3f9e8f", "#4f86d9",
                 "#8b6bd6", "#e38cc0", "#f3d2b3", "#8a5a3c", "#5a5f6a", "#1b1b1f"];

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));

// ------------------------------------------------------------------------------------------- layers
/** A canvas whose pixels live in JS: strokes are written exactly (no anti-aliasing), so a hint's colour
 *  reaches the model unchanged and LazyBrush sees one label per colour. */
class Layer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.image = new ImageData(1, 1);
  }
  reset(w, h) {
    this.canvas.width = w;
    this.canvas.height = h;
    this.image = new ImageData(w, h);
    this.flush();
  }
  get width() { return this.image.width; }
  get height() { return this.image.height; }
  flush(r) {
    if (r) this.ctx.putImageData(this.image, 0, 0, r.x, r.y, r.w, r.h);
    else this.ctx.putImageData(this.image, 0, 0);
  }
  isEmpty() {
    const d = this.image.data;
    for (let i = 3; i < d.length; i += 4) if (d[i]) return false;
    return true;
  }
  /** Pixels of rectangle r from `source` (this layer's data by default). */
  copyRect(r, source = this.image.data) {
    const out = new Uint8ClampedArray(r.w * r.h * 4);
    for (let y = 0; y < r.h; y++) {
      const from = ((r.y + y) * this.width + r.x) * 4;
      out.set(source.subarray(from, from + r.w * 4), y * r.w * 4);
    }
    return out;
  }
  pasteRect(r, pixels) {
    for (let y = 0; y < r.h; y++) {
      this.image.data.set(pixels.subarray(y * r.w * 4, (y + 1) * r.w * 4), ((r.y + y) * this.width + r.x) * 4);
    }
    this.flush(r);
  }
}

/** Write a round-capped segment (a capsule of radius r) into the layer: pixels whose centre lies within r. */
function stampSegment(layer, x0, y0, x1, y1, radius, rgba) {
  const w = layer.width, h = layer.height, d = layer.image.data;
  const r = Math.max(radius, 0.71); // at least the pixel under the pointer
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - r)), maxX = Math.min(w - 1, Math.ceil(Math.max(x0, x1) + r));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - r)), maxY = Math.min(h - 1, Math.ceil(Math.max(y0, y1) + r));
  if (minX > maxX || minY > maxY) return null;
  const dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, r2 = r * r;
  for (let y = minY; y <= maxY; y++) {
    const py = y + 0.5;
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5;
      let t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
      if (ex * ex + ey * ey <= r2) {
        const i = (y * w + x) * 4;
        d[i] = rgba[0]; d[i + 1] = rgba[1]; d[i + 2] = rgba[2]; d[i + 3] = rgba[3];
      }
    }
  }
  return { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 };
}

function unionRect(a, b) {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

const hexToRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const rgbToHex = (r, g, b) => "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");

function canvasBlob(canvas) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("could not encode the canvas"))), "image/png"));
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ------------------------------------------------------------------------------------- server engine
function b64ToBlob(dataUrl) {
  const [head, body] = dataUrl.split(",", 2);
  const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: head.slice(5).split(";")[0] });
}

/** Resolves after `ms`, or rejects with an AbortError as soon as `signal` aborts. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("superseded", "AbortError"));
    }, { once: true });
  });
}

/** The inkwash server: GET api/info, POST api/colorize (multipart) -> two PNG layers; a busy server (503 with
 *  Retry-After) is asked again when it says, up to 3 times. */
const serverEngine = {
  async info() {
    const r = await fetch("api/info");
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : `server answered ${r.status}`);
    return body;
  },
  async colorize(inputs, params, signal) {
    const form = new FormData();
    form.append("lineart", inputs.lineartBlob, "lineart.png");
    form.append("hints", await canvasBlob(inputs.hints), "hints.png");
    if (inputs.mask) form.append("mask", await canvasBlob(inputs.mask), "mask.png");
    if (inputs.mask && inputs.baseBlob) form.append("base", inputs.baseBlob, "base.png");
    form.append("model", params.model);
    for (const k of ["seed", "steps", "strength"]) if (params[k] !== undefined) form.append(k, String(params[k]));
    form.append("output", "layers");
    let r, body;
    for (let attempt = 0; ; attempt++) {
      r = await fetch("api/colorize", { method: "POST", body: form, signal });
      body = await r.json();
      const wait = Number(r.headers.get("Retry-After"));
      if (r.status !== 503 || !body.error || body.error.code !== "busy" || !(wait > 0) || attempt >= 3) break;
      setStatus(`server busy; trying again in ${wait} s`, "busy"); // a newer stroke still cancels the wait
      await sleep(wait * 1000, signal);
    }
    if (!r.ok) throw new Error(body.error ? body.error.message : `server answered ${r.status}`);
    const [composite, flat] = await Promise.all([body.composite, body.flat].map((u) => createImageBitmap(b64ToBlob(u))));
    return { composite, flat, seconds: body.seconds, model: body.model };
  },
};

// ---------------------------------------------------------------------------------------------- state
const ui = {
  engine: null,
  info: null,
  name: "lineart",
  width: 0,
  height: 0,
  lineart: document.createElement("canvas"), // the lineart as loaded (alpha kept): what the model gets
  lineartBlob: null,
  base: null, // {canvas, blob}: a kept result (outside the mask)
  result: null, // {composite, flat} as ImageBitmap or canvas
  view: "composite",
  layer: "hints",
  tool: "brush",
  strokes: [], // vector log of hint strokes in image pixels, for the JSON export; {erase: true} marks erasing
  undo: [],
  redo: [],
  stroke: null,
  timer: 0,
  controller: null,
  seq: 0,
};
let layers = {};

function setStatus(text, state = "idle") {
  const s = $("#status");
  s.textContent = text;
  s.title = text;
  s.dataset.state = state;
}

function fail(message) {
  setStatus(message, "error");
}

// ------------------------------------------------------------------------------------------- loading
async function loadLineart(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg|webp)$/.test(file.type)) {
    fail(`${file.name}: not a PNG, JPEG or WebP image`);
    return;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    fail(`${file.name}: cannot be decoded as an image`);
    return;
  }
  const limit = ui.info && ui.info.limits ? ui.info.limits.max_pixels : Infinity;
  if (bitmap.width * bitmap.height > limit) {
    fail(`${file.name}: ${bitmap.width}x${bitmap.height} is over the limit of ${(limit / 1e6).toFixed(1)} megapixels`);
    return;
  }
  const w = bitmap.width, h = bitmap.height;
  ui.name = file.name.replace(/\.[^.]+$/, "") || "lineart";
  ui.width = w;
  ui.height = h;
  ui.lineart.width = w;
  ui.lineart.height = h;
  ui.lineart.getContext("2d", { willReadFrequently: true }).drawImage(bitmap, 0, 0);
  ui.lineartBlob = await canvasBlob(ui.lineart);
  for (const layer of Object.values(layers)) layer.reset(w, h);
  ui.strokes = [];
  ui.undo = [];
  ui.redo = [];
  ui.base = null;
  ui.result = null;
  const result = $("#result-canvas");
  result.width = w;
  result.height = h;
  result.getContext("2d").clearRect(0, 0, w, h);
  result.hidden = false;
  $("#stack").hidden = false;
  $("#drop-text").hidden = true;
  $("#size-label").textContent = `${ui.name} · ${w}×${h}`;
  drawBackground();
  updateButtons();
  fitView();
  setStatus("Paint colour strokes; the result follows.", "idle");
  request(0);
}

function drawBackground() {
  const c = $("#background-canvas");
  c.width = ui.width;
  c.height = ui.height;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, ui.width, ui.height);
  ctx.drawImage(ui.base ? ui.base.canvas : ui.lineart, 0, 0);
}

/** Scale the drawing stack and the result to fit their panels, keeping the image's proportions. */
function fitView() {
  if (!ui.width) return;
  for (const [el, box] of [[$("#stack"), $("#stack").parentElement], [$("#result-canvas"), $("#result-canvas").parentElement]]) {
    const s = Math.min((box.clientWidth - 8) / ui.width, (box.clientHeight - 8) / ui.height);
    el.style.width = `${Math.max(1, Math.floor(ui.width * s))}px`;
    el.style.height = `${Math.max(1, Math.floor(ui.height * s))}px`;
  }
  $("#background-canvas").style.width = "100%";
  $("#background-canvas").style.height = "100%";
}

// ------------------------------------------------------------------------------------------- drawing
function imagePoint(e) {
  const r = $("#stack").getBoundingClientRect();
  return [(e.clientX - r.left) * (ui.width / r.width), (e.clientY - r.top) * (ui.height / r.height)];
}

function brushRGBA() {
  if (ui.tool === "eraser") return [0, 0, 0, 0];
  if (ui.layer === "mask") return MASK_RGBA;
  return [...hexToRgb($("#color").value), 255];
}

function beginStroke(e) {
  if (!ui.width || e.button !== 0) return;
  const [x, y] = imagePoint(e);
  if (e.altKey) {
    pickColour(x, y);
    return;
  }
  cancelPending();
  const layer = layers[ui.layer];
  const width = Number($("#size").value);
  ui.stroke = {
    layer: ui.layer, before: layer.image.data.slice(), rect: null, last: [x, y], width,
    rgba: brushRGBA(), record: { color: $("#color").value, width, points: [[+x.toFixed(1), +y.toFixed(1)]] },
  };
  e.currentTarget.setPointerCapture(e.pointerId);
  extendStroke(x, y);
}

function extendStroke(x, y) {
  const s = ui.stroke;
  const layer = layers[s.layer];
  const r = stampSegment(layer, s.last[0], s.last[1], x, y, s.width / 2, s.rgba);
  if (r) {
    s.rect = unionRect(s.rect, r);
    layer.flush(r);
  }
  if (x !== s.last[0] || y !== s.last[1]) s.record.points.push([+x.toFixed(1), +y.toFixed(1)]);
  s.last = [x, y];
}

function endStroke() {
  const s = ui.stroke;
  ui.stroke = null;
  if (!s || !s.rect) return;
  const layer = layers[s.layer];
  const strokesBefore = ui.strokes;
  if (s.layer === "hints") ui.strokes = ui.strokes.concat([ui.tool === "eraser" ? { erase: true } : s.record]);
  pushUndo({ layer: s.layer, rect: s.rect, before: layer.copyRect(s.rect, s.before), after: layer.copyRect(s.rect),
             strokesBefore, strokesAfter: ui.strokes });
  changed();
}

function pushUndo(entry) {
  ui.undo.push(entry);
  if (ui.undo.length > MAX_UNDO) ui.undo.shift();
  ui.redo = [];
  updateButtons();
}

function undoRedo(from, to, which) {
  const entry = from.pop();
  if (!entry) return;
  cancelPending();
  layers[entry.layer].pasteRect(entry.rect, which === "undo" ? entry.before : entry.after);
  ui.strokes = which === "undo" ? entry.strokesBefore : entry.strokesAfter;
  to.push(entry);
  updateButtons();
  changed();
}

function clearLayer(name) {
  const layer = layers[name];
  if (!ui.width || layer.isEmpty()) return;
  const rect = { x: 0, y: 0, w: ui.width, h: ui.height };
  const before = layer.copyRect(rect);
  layer.image.data.fill(0);
  layer.flush();
  const strokesBefore = ui.strokes;
  if (name === "hints") ui.strokes = [];
  pushUndo({ layer: name, rect, before, after: layer.copyRect(rect), strokesBefore, strokesAfter: ui.strokes });
  changed();
}

/** Alt+click: take the colour under the pointer from the result (or the hints where there is no result). */
function pickColour(x, y) {
  const ix = Math.min(ui.width - 1, Math.max(0, Math.floor(x))), iy = Math.min(ui.height - 1, Math.max(0, Math.floor(y)));
  const hint = layers.hints.image.data.subarray((iy * ui.width + ix) * 4, (iy * ui.width + ix) * 4 + 4);
  let rgb = hint[3] ? [hint[0], hint[1], hint[2]] : null;
  if (!rgb && ui.result) {
    const p = $("#result-canvas").getContext("2d").getImageData(ix, iy, 1, 1).data;
    rgb = [p[0], p[1], p[2]];
  }
  if (rgb) setColour(rgbToHex(...rgb));
}

function setColour(hex) {
  $("#color").value = hex;
  for (const b of $$("#palette button")) b.classList.toggle("on", b.dataset.color === hex);
  if (ui.layer !== "hints" || ui.tool !== "brush") {
    selectLayer("hints");
    selectTool("brush");
  }
}

function selectLayer(name) {
  ui.layer = name;
  for (const b of $$("[data-layer]")) b.classList.toggle("on", b.dataset.layer === name);
}

function selectTool(name) {
  ui.tool = name;
  for (const b of $$("[data-tool]")) b.classList.toggle("on", b.dataset.tool === name);
}

function moveCursor(e) {
  const cursor = $("#cursor");
  if (!ui.width) return;
  const r = $("#stack").getBoundingClientRect();
  const d = Number($("#size").value) * (r.width / ui.width);
  cursor.hidden = false;
  cursor.style.width = cursor.style.height = `${Math.max(3, d)}px`;
  cursor.style.left = `${e.clientX - r.left}px`;
  cursor.style.top = `${e.clientY - r.top}px`;
}

// ------------------------------------------------------------------------------------------ results
function changed() {
  if ($("#auto").checked) request(DEBOUNCE_MS);
}

/** Abort the request in flight and any scheduled one: a newer stroke makes their result stale. */
function cancelPending() {
  clearTimeout(ui.timer);
  if (ui.controller) ui.controller.abort();
  ui.controller = null;
}

function request(delay) {
  cancelPending();
  ui.timer = setTimeout(colorize, delay);
}

function maskCanvas() {
  if (layers.mask.isEmpty()) return null;
  const c = document.createElement("canvas");
  c.width = ui.width;
  c.height = ui.height;
  const out = new ImageData(ui.width, ui.height), src = layers.mask.image.data, d = out.data;
  for (let i = 0; i < d.length; i += 4) {
    const v = src[i + 3] ? 255 : 0;
    d[i] = d[i + 1] = d[i + 2] = v;
    d[i + 3] = 255;
  }
  c.getContext("2d", { willReadFrequently: true }).putImageData(out, 0, 0);
  return c;
}

function params() {
  const model = ui.info && ui.info.models.find((m) => m.key === $("#model").value);
  const p = { model: $("#model").value };
  for (const opt of model ? model.options : []) p[opt] = Number($(`#${opt}`).value);
  return p;
}

async function colorize() {
  if (!ui.width || !ui.engine || !$("#model").value) return;
  const controller = new AbortController();
  ui.controller = controller;
  const seq = ++ui.seq;
  setStatus("colouring…", "busy");
  const t0 = performance.now();
  try {
    const inputs = { lineart: ui.lineart, lineartBlob: ui.lineartBlob, hints: layers.hints.canvas, mask: maskCanvas(),
                     base: ui.base && ui.base.canvas, baseBlob: ui.base && ui.base.blob };
    const out = await ui.engine.colorize(inputs, params(), controller.signal);
    if (seq !== ui.seq || controller.signal.aborted) return; // superseded while it was running
    ui.result = out;
    showResult();
    const total = (performance.now() - t0) / 1000;
    const result = $("#result-canvas");
    result.dataset.count = String(Number(result.dataset.count) + 1);
    setStatus(`${out.model}: ${total.toFixed(2)} s (model ${Number(out.seconds).toFixed(2)} s)`, "done");
  } catch (err) {
    if (err.name === "AbortError" || seq !== ui.seq) return;
    fail(err.message || String(err));
  } finally {
    if (ui.controller === controller) ui.controller = null;
  }
}

function showResult() {
  const c = $("#result-canvas");
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (ui.result) ctx.drawImage(ui.result[ui.view], 0, 0, c.width, c.height);
  updateButtons();
}

async function useResultAsBase() {
  if (!ui.result) return;
  const c = document.createElement("canvas");
  c.width = ui.width;
  c.height = ui.height;
  c.getContext("2d", { willReadFrequently: true }).drawImage(ui.result.composite, 0, 0, ui.width, ui.height);
  ui.base = { canvas: c, blob: await canvasBlob(c) };
  drawBackground();
  updateButtons();
  setStatus("Base kept: paint a mask where colour may change, and hints inside it.", "idle");
  changed();
}

function dropBase() {
  ui.base = null;
  drawBackground();
  updateButtons();
  changed();
}

function updateButtons() {
  const loaded = ui.width > 0;
  $("#undo").disabled = !ui.undo.length;
  $("#redo").disabled = !ui.redo.length;
  for (const id of ["#clear-hints", "#clear-mask", "#save-hints", "#save-mask"]) $(id).disabled = !loaded;
  for (const id of ["#save-result", "#save-flat", "#use-base"]) $(id).disabled = !ui.result;
  $("#drop-base").hidden = !ui.base;
}

// --------------------------------------------------------------------------------------------- saving
/** The hints as the JSON stroke document inkwash reads (`inkwash colorize --hints`): the strokes as drawn,
 *  or, once anything was erased, one 1-px stroke per run of equal colour (exact for any painting). */
function hintsDocument() {
  const doc = { width: ui.width, height: ui.height, strokes: [] };
  if (!ui.strokes.some((s) => s.erase)) {
    doc.strokes = ui.strokes.map((s) => ({ color: s.color, width: s.width, points: s.points }));
    return doc;
  }
  const d = layers.hints.image.data, w = ui.width;
  for (let y = 0; y < ui.height; y++) {
    let x = 0;
    while (x < w) {
      const i = (y * w + x) * 4;
      if (!d[i + 3]) { x++; continue; }
      let end = x;
      const same = (j) => d[j + 3] && d[j] === d[i] && d[j + 1] === d[i + 1] && d[j + 2] === d[i + 2];
      while (end + 1 < w && same((y * w + end + 1) * 4)) end++;
      doc.strokes.push({ color: rgbToHex(d[i], d[i + 1], d[i + 2]), width: 1, points: [[x, y], [end, y]] });
      x = end + 1;
    }
  }
  return doc;
}

async function saveLayer(which) {
  if (!ui.result) return;
  const c = document.createElement("canvas");
  c.width = ui.width;
  c.height = ui.height;
  c.getContext("2d").drawImage(ui.result[which], 0, 0, ui.width, ui.height);
  download(await canvasBlob(c), which === "flat" ? `${ui.name}_flat.png` : `${ui.name}_coloured.png`);
}

async function loadHintsFile(file) {
  if (!file || !ui.width) return;
  let doc;
  try {
    doc = JSON.parse(await file.text());
    if (!doc || !Array.isArray(doc.strokes)) throw new Error('expected {"strokes": [...]}');
  } catch (err) {
    fail(`${file.name}: not a hints JSON file (${err.message})`);
    return;
  }
  const sx = doc.width ? ui.width / doc.width : 1, sy = doc.height ? ui.height / doc.height : 1;
  const layer = layers.hints, rect = { x: 0, y: 0, w: ui.width, h: ui.height };
  const before = layer.copyRect(rect), added = [];
  for (const s of doc.strokes) {
    const color = Array.isArray(s.color) ? rgbToHex(...s.color.map(Math.round)) : String(s.color || "");
    if (!/^#[0-9a-fA-F]{6}$/.test(color) || !Array.isArray(s.points) || !s.points.length) continue;
    const width = Math.max(1, Math.round((Number(s.width) || 8) * Math.sqrt(sx * sy)));
    const pts = s.points.map(([x, y]) => [x * sx, y * sy]);
    const rgba = [...hexToRgb(color), 255];
    for (let k = 0; k < pts.length; k++) {
      const a = pts[Math.max(0, k - 1)], b = pts[k];
      stampSegment(layer, a[0], a[1], b[0], b[1], width / 2, rgba);
    }
    added.push({ color: color.toLowerCase(), width, points: pts });
  }
  layer.flush();
  const strokesBefore = ui.strokes;
  ui.strokes = ui.strokes.concat(added);
  pushUndo({ layer: "hints", rect, before, after: layer.copyRect(rect), strokesBefore, strokesAfter: ui.strokes });
  changed();
}

// ---------------------------------------------------------------------------------------------- models
function showModels(info) {
  ui.info = info;
  const select = $("#model");
  const previous = select.value;
  select.replaceChildren(...info.models.map((m) => new Option(m.label, m.key)));
  select.value = info.models.some((m) => m.key === previous) ? previous : info.default || "";
  select.disabled = !info.models.length;
  const list = $("#unavailable ul");
  list.replaceChildren(...(info.unavailable || []).map((u) => {
    const li = document.createElement("li");
    li.textContent = `${u.key}: ${u.error}`;
    return li;
  }));
  $("#unavailable").hidden = !(info.unavailable || []).length;
  showOptions();
  if (!info.models.length) fail(info.message || "No model could be loaded; see Unavailable models.");
}

function showOptions() {
  const model = ui.info && ui.info.models.find((m) => m.key === $("#model").value);
  for (const el of $$(".option")) el.hidden = !(model && model.options.includes(el.dataset.option));
}

// ------------------------------------------------------------------------------------------------ wiring
function wire() {
  layers = { hints: new Layer($("#hints-canvas")), mask: new Layer($("#mask-canvas")) };
  const stack = $("#stack");
  stack.addEventListener("pointerdown", beginStroke);
  stack.addEventListener("pointermove", (e) => {
    moveCursor(e);
    if (!ui.stroke) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) extendStroke(...imagePoint(ev));
  });
  stack.addEventListener("pointerup", endStroke);
  stack.addEventListener("pointercancel", endStroke);
  stack.addEventListener("pointerleave", () => { $("#cursor").hidden = true; });

  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    loadLineart(e.dataTransfer.files[0]);
  });
  $("#file").addEventListener("change", (e) => { loadLineart(e.target.files[0]); e.target.value = ""; });
  $("#hints-file").addEventListener("change", (e) => { loadHintsFile(e.target.files[0]); e.target.value = ""; });

  for (const b of $$("[data-layer]")) b.addEventListener("click", () => selectLayer(b.dataset.layer));
  for (const b of $$("[data-tool]")) b.addEventListener("click", () => selectTool(b.dataset.tool));
  for (const b of $$("[data-view]")) {
    b.addEventListener("click", () => {
      ui.view = b.dataset.view;
      for (const o of $$("[data-view]")) o.classList.toggle("on", o === b);
      showResult();
    });
  }
  $("#palette").replaceChildren(...PALETTE.map((hex) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.color = hex;
    b.title = hex;
    b.style.background = hex;
    b.addEventListener("click", () => setColour(hex));
    return b;
  }));
  $("#color").addEventListener("input", (e) => setColour(e.target.value));
  $("#size").addEventListener("input", (e) => { $("#size-out").textContent = e.target.value; });
  $("#undo").addEventListener("click", () => undoRedo(ui.undo, ui.redo, "undo"));
  $("#redo").addEventListener("click", () => undoRedo(ui.redo, ui.undo, "redo"));
  $("#clear-hints").addEventListener("click", () => clearLayer("hints"));
  $("#clear-mask").addEventListener("click", () => clearLayer("mask"));
  $("#use-base").addEventListener("click", useResultAsBase);
  $("#drop-base").addEventListener("click", dropBase);
  $("#save-result").addEventListener("click", () => saveLayer("composite"));
  $("#save-flat").addEventListener("click", () => saveLayer("flat"));
  $("#save-hints").addEventListener("click", () => {
    download(new Blob([JSON.stringify(hintsDocument())], { type: "application/json" }), `${ui.name}.hints.json`);
  });
  $("#save-mask").addEventListener("click", async () => {
    const c = maskCanvas();
    if (c) download(await canvasBlob(c), `${ui.name}.mask.png`);
    else fail("The mask is empty: paint on the Mask layer first.");
  });
  $("#model").addEventListener("change", () => { showOptions(); request(0); });
  for (const id of ["#steps", "#strength", "#seed"]) $(id).addEventListener("change", () => request(0));
  $("#new-seed").addEventListener("click", () => {
    $("#seed").value = String(Math.floor(Math.random() * 2 ** 31));
    request(0);
  });
  $("#run").addEventListener("click", () => request(0));
  $("#auto").addEventListener("change", (e) => { if (e.target.checked) request(0); });
  window.addEventListener("resize", fitView);
  window.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea")) return;
    const k = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && k === "z") undoRedo(...(e.shiftKey ? [ui.redo, ui.undo, "redo"] : [ui.undo, ui.redo, "undo"]));
    else if ((e.ctrlKey || e.metaKey) && k === "y") undoRedo(ui.redo, ui.undo, "redo");
    else if (e.ctrlKey || e.metaKey || e.altKey) return;
    else if (k === "b") selectTool("brush");
    else if (k === "e") selectTool("eraser");
    else if (k === "h") selectLayer("hints");
    else if (k === "m") selectLayer("mask");
    else if (k === "[" || k === "]") {
      const s = $("#size");
      s.value = String(Math.max(1, Math.min(120, Number(s.value) + (k === "]" ? 2 : -2))));
      $("#size-out").textContent = s.value;
    } else if (k === "enter") request(0);
    else return;
    e.preventDefault();
  });
  updateButtons();
}

async function main() {
  wire();
  setColour($("#color").value);
  try {
    if (document.body.dataset.engine === "onnx") {
      const { createOnnxEngine } = await import("./onnx-engine.js");
      ui.engine = await createOnnxEngine({ onStatus: setStatus, onModels: showModels });
    } else {
      ui.engine = serverEngine;
    }
    showModels(await ui.engine.info());
    if (ui.info.models.length) setStatus("Open a lineart to start.", "idle");
  } catch (err) {
    fail(err.message || String(err));
  }
  $("#model-file").addEventListener("change", async (e) => {
    if (!ui.engine.loadFiles) return;
    try {
      showModels(await ui.engine.loadFiles(Array.from(e.target.files)));
      request(0);
    } catch (err) {
      fail(err.message || String(err));
    }
  });
  document.body.dataset.ready = "1";
}

main();
