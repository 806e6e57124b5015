// inkwash colouring page: paint colour hints (and a selection mask) over a lineart, or fill its regions with a
// click; the result follows each change. Two engines share this UI: the inkwash server (index.html,
// engine-server.js) and an exported ONNX model run in the browser (onnx.html, onnx-engine.js). Plain ES modules,
// no build step. Work is kept in the browser (store.js) and comes back after a reload.

import {
  Layer, canvasBlob, canvasOf, download, hexToRgb, normHex, rgbToHex, stampSegment, unionRect,
} from "./paint.js";
import { drawHintsDocument, hintsDocument } from "./hints-doc.js";
import { JobLine } from "./jobs.js";
import { loadPrefs as readPrefs, savePrefs as keepPrefs } from "./prefs.js";
import { View, attachGestures } from "./view.js";
import { RegionMap } from "./regions.js";
import { PaletteUI } from "./palette-ui.js";
import { ReferenceUI, matchWords } from "./reference-ui.js";
import { dropSession, loadSession, saveSession } from "./store.js";

const DEBOUNCE_MS = 300; // a pause this long after a stroke asks for a new result
const FILL_DELAY_MS = 30; // a fill is one click: ask at once (the page already shows its flats)
const AUTOSAVE_MS = 400;
const MAX_UNDO = 100;
const PREVIEW_PIXELS = 1_500_000; // live updates of a bigger drawing colour a copy this size; "Colour now": full
const MASK_RGBA = [64, 140, 255, 255]; // how the selection is shown; it is sent as white on black

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));

// ---------------------------------------------------------------------------------------------- state
const ui = {
  engine: null,
  info: null,
  name: "lineart",
  width: 0,
  height: 0,
  lineart: document.createElement("canvas"), // the lineart as loaded (alpha kept): what the model gets
  lineartBlob: null,
  grey: null, // Uint8Array: the lineart's grey on white, for the page's own flats preview
  base: null, // {canvas, blob}: a kept result (outside the mask)
  result: null, // {composite, flat, shading?} ImageBitmaps, width, height, full, gen
  previewShown: false, // the result canvas shows flats the page drew itself, ahead of the answer
  regions: null, // RegionMap of the drawing (server engine)
  regionsJob: null,
  view: "composite",
  layer: "hints",
  tool: "brush",
  strokes: [], // vector log of hint strokes in image pixels, for the JSON export; {erase}/{fill} entries too
  undo: [],
  redo: [],
  stroke: null,
  timer: 0,
  seq: 0,
  gen: 0, // edits so far: a result remembers the edit it shows
  dirty: false, // edits not saved to a file since
  saveTimer: 0,
  panKey: false,
  prefModel: "", // the model chosen last time, until the server lists its models
};
let layers = {};
let view = null;
let palettes = null; // PaletteUI (palette-ui.js)
let reference = null; // ReferenceUI (reference-ui.js): the coloured page the regions take colours from

function setStatus(text, state = "idle") {
  const s = $("#status");
  s.textContent = text;
  s.title = text;
  s.dataset.state = state;
}

const fail = (message) => setStatus(message, "error");
const currentModel = () => ui.info && ui.info.models.find((m) => m.key === $("#model").value);

// ------------------------------------------------------------------------------------------ long work
let jobs = null; // JobLine (jobs.js): the request the status line is about, its seconds and Cancel

/** Abort the request in flight and any scheduled one: a newer edit makes their result stale. */
function cancelPending() {
  clearTimeout(ui.timer);
  ui.timer = 0;
  jobs.abort();
}

function cancelByUser() {
  if (!jobs.running && !ui.timer) return;
  const label = jobs.running ? jobs.job.label.replace(/…$/, "") : "colouring";
  cancelPending();
  setStatus(`Cancelled ${label}. Colour now (Enter) to try again.`, "cancelled");
}

// ------------------------------------------------------------------------------------------- loading
async function loadLineart(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg|webp)$/.test(file.type)) {
    fail(`${file.name}: not a PNG, JPEG or WebP image`);
    return;
  }
  await openDrawing(file, file.name.replace(/\.[^.]+$/, "") || "lineart");
}

/** Show a lineart (a file, or a kept session's blob) with empty layers, or the kept session's layers. */
async function openDrawing(blob, name, saved = null) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    fail(`${name}: cannot be decoded as an image`);
    return false;
  }
  const limit = ui.info && ui.info.limits ? ui.info.limits.max_pixels : Infinity;
  if (bitmap.width * bitmap.height > limit) {
    fail(`${name}: ${bitmap.width}x${bitmap.height} is over the limit of ${(limit / 1e6).toFixed(1)} megapixels`);
    return false;
  }
  cancelPending();
  const w = bitmap.width, h = bitmap.height;
  ui.name = name;
  ui.width = w;
  ui.height = h;
  ui.lineart.width = w;
  ui.lineart.height = h;
  ui.lineart.getContext("2d", { willReadFrequently: true }).drawImage(bitmap, 0, 0);
  ui.lineartBlob = saved ? blob : await canvasBlob(ui.lineart);
  ui.grey = greyOf(ui.lineart);
  for (const layer of Object.values(layers)) layer.reset(w, h);
  Object.assign(ui, { strokes: [], undo: [], redo: [], base: null, result: null, previewShown: false, regions: null });
  const result = $("#result-canvas");
  result.width = w;
  result.height = h;
  result.hidden = false;
  $("#stack").hidden = false;
  $("#drop-text").hidden = true;
  $("#size-label").textContent = `${ui.name} · ${w}×${h}`;
  if (saved) await restoreLayers(saved);
  drawBackground();
  showResult();
  view.setImage(w, h);
  updateButtons();
  ui.dirty = Boolean(saved && saved.dirty);
  if (!saved) {
    document.body.dataset.gen = String(++ui.gen);
    autosaveSoon();
  }
  setStatus(saved ? `Your last session (${ui.name}) is back.`
    : "Paint colour strokes or fill regions; the result follows.");
  loadRegions();
  request(0);
  return true;
}

function greyOf(canvas) {
  const d = canvasOf(canvas, canvas.width, canvas.height, true).getContext("2d", { willReadFrequently: true })
    .getImageData(0, 0, canvas.width, canvas.height).data;
  const g = new Uint8Array(canvas.width * canvas.height);
  for (let i = 0; i < g.length; i++) g[i] = (d[i * 4] * 77 + d[i * 4 + 1] * 150 + d[i * 4 + 2] * 29) >> 8;
  return g;
}

function drawBackground() {
  const c = $("#background-canvas");
  c.width = ui.width;
  c.height = ui.height;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, ui.width, ui.height);
  ctx.drawImage(ui.base ? ui.base.canvas : ui.lineart, 0, 0);
  // the lines again over the hints, multiplied: a filled region keeps its outline, paper changes nothing
  const lines = $("#lines-canvas");
  lines.width = ui.width;
  lines.height = ui.height;
  lines.getContext("2d").drawImage(canvasOf(ui.lineart, ui.width, ui.height, true), 0, 0);
}

function closeDrawing() {
  if (!ui.width) return;
  if (ui.dirty && !window.confirm("Close this drawing? Work not saved to a file is lost.")) return;
  cancelPending();
  if (ui.regionsJob) ui.regionsJob.abort();
  dropSession(ui.engine.name).catch(() => {});
  Object.assign(ui, { width: 0, height: 0, strokes: [], undo: [], redo: [], base: null, result: null,
                      previewShown: false, regions: null, dirty: false });
  $("#stack").hidden = true;
  $("#result-canvas").hidden = true;
  $("#drop-text").hidden = false;
  $("#size-label").textContent = "";
  setRegionsState("none", "");
  updateButtons();
  setStatus("Open a lineart to start.");
}

// ------------------------------------------------------------------------------------------- regions
function setRegionsState(state, text) {
  const p = $("#regions-status");
  p.dataset.state = state;
  p.textContent = text;
  document.body.dataset.regions = state;
}

/** Ask the server for the drawing's regions (once per lineart and gap): the fill tool and its instant flats. */
async function loadRegions() {
  if (ui.regionsJob) ui.regionsJob.abort();
  ui.regions = null;
  if (!ui.width || !ui.engine.features.regions) {
    setRegionsState("none", "");
    return;
  }
  const job = new AbortController();
  ui.regionsJob = job;
  setRegionsState("loading", "Finding the drawing's regions…");
  try {
    const { blob, n, gap } = await ui.engine.regions(ui.lineartBlob, settingsParams().gap, job.signal);
    const map = await RegionMap.fromBlob(blob, n, gap);
    if (ui.regionsJob !== job) return;
    ui.regions = map;
    setRegionsState("ready", `${n} regions (gaps up to ${gap} px closed): Fill (F) colours one with a click.`);
  } catch (err) {
    if (err.name === "AbortError" || ui.regionsJob !== job) return;
    setRegionsState("error", `Regions: ${err.message || err}`);
  }
}

/** The result canvas' context (read back often: the fill's preview, the colour picker). */
const resultCtx = () => $("#result-canvas").getContext("2d", { willReadFrequently: true });

/** Show region r as `rgb` in the result at once, from the regions the page holds (the answer follows). */
function previewRegion(r, rgb) {
  const t0 = performance.now();
  const rect = ui.regions.rect(r);
  const c = $("#result-canvas");
  if (rect && (ui.view === "flat" || ui.view === "composite")) {
    const ctx = resultCtx(), img = ctx.getImageData(rect.x, rect.y, rect.w, rect.h);
    const mask = layers.mask.isEmpty() ? null : layers.mask.image.data;
    ui.regions.recolour(img, rect, r, rgb, ui.grey, ui.view === "composite", mask);
    ctx.putImageData(img, rect.x, rect.y);
    ui.previewShown = true;
  }
  c.dataset.previews = String(Number(c.dataset.previews) + 1);
  c.dataset.previewAt = String(performance.now()); // the flats are on the canvas from here (tests measure it)
  c.dataset.previewMs = (performance.now() - t0).toFixed(1);
}

function fillRegion(x, y) {
  if (!ui.regions) {
    setStatus(document.body.dataset.regions === "loading" ? "Still finding the drawing's regions…"
      : "Fill needs the drawing's regions (the inkwash server).", "idle");
    return;
  }
  const r = ui.regions.regionAt(x, y);
  const rect = r && ui.regions.rect(r);
  if (!rect) return;
  cancelPending();
  const layer = layers[ui.layer], hex = $("#color").value;
  const before = layer.copyRect(rect);
  ui.regions.fill(layer, r, brushRGBA());
  layer.flush(rect);
  const strokesBefore = ui.strokes;
  if (ui.layer === "hints") {
    ui.strokes = ui.strokes.concat([ui.tool === "eraser" ? { erase: true } : { fill: true, color: hex, region: r }]);
    previewRegion(r, hexToRgb(hex));
    usedColour(hex);
  }
  pushUndo({ layer: ui.layer, rect, before, after: layer.copyRect(rect), strokesBefore, strokesAfter: ui.strokes });
  edited(FILL_DELAY_MS);
}

// ------------------------------------------------------------------------------------------- drawing
function brushRGBA() {
  if (ui.tool === "eraser") return [0, 0, 0, 0];
  if (ui.layer === "mask") return MASK_RGBA;
  return [...hexToRgb($("#color").value), 255];
}

/** The brush's width in image px: its size is in screen px, whatever the zoom. */
const brushWidth = () => Number($("#size").value) / view.zoom;

function pointerDown(e) {
  if (!ui.width || e.button !== 0) return;
  const [x, y] = view.toImage(e.clientX, e.clientY, e.currentTarget);
  if (e.altKey || ui.tool === "picker") {
    pickColour(x, y);
    return;
  }
  if (e.currentTarget !== $("#drop")) return; // the result panel: view and pick only
  if (ui.tool === "fill") {
    fillRegion(x, y);
    return;
  }
  cancelPending();
  const layer = layers[ui.layer];
  const width = brushWidth();
  ui.stroke = {
    layer: ui.layer, before: layer.image.data.slice(), rect: null, last: [x, y], width, rgba: brushRGBA(),
    record: { color: $("#color").value, width: +width.toFixed(2), points: [[+x.toFixed(1), +y.toFixed(1)]] },
  };
  try {
    e.currentTarget.setPointerCapture(e.pointerId); // the stroke goes on outside the panel
  } catch {
    // a pointer the browser no longer tracks (it lifted already): the stroke ends with it
  }
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
  if (s.layer === "hints") {
    ui.strokes = ui.strokes.concat([ui.tool === "eraser" ? { erase: true } : s.record]);
    if (ui.tool !== "eraser") usedColour(s.record.color);
  }
  pushUndo({ layer: s.layer, rect: s.rect, before: layer.copyRect(s.rect, s.before), after: layer.copyRect(s.rect),
             strokesBefore, strokesAfter: ui.strokes });
  edited();
}

/** A second finger arrived: the first one was starting a pinch, not a stroke. */
function abandonStroke() {
  const s = ui.stroke;
  ui.stroke = null;
  if (s && s.rect) layers[s.layer].pasteRect(s.rect, layers[s.layer].copyRect(s.rect, s.before));
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
  edited();
}

const undo = () => undoRedo(ui.undo, ui.redo, "undo");
const redo = () => undoRedo(ui.redo, ui.undo, "redo");

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
  edited();
}

/** Pick the colour under the pointer: a hint there, else the result as shown (coloured or flats). */
function pickColour(x, y) {
  const ix = Math.min(ui.width - 1, Math.max(0, Math.floor(x)));
  const iy = Math.min(ui.height - 1, Math.max(0, Math.floor(y)));
  const hint = layers.hints.image.data.subarray((iy * ui.width + ix) * 4, (iy * ui.width + ix) * 4 + 4);
  let rgb = hint[3] ? [hint[0], hint[1], hint[2]] : null;
  if (!rgb && (ui.result || ui.previewShown)) {
    const p = resultCtx().getImageData(ix, iy, 1, 1).data;
    rgb = [p[0], p[1], p[2]];
  }
  if (rgb) setColour(rgbToHex(...rgb));
}

function moveCursor(e) {
  const cursor = $("#cursor");
  if (!ui.width || ui.tool === "fill" || ui.tool === "picker" || ui.panKey) {
    cursor.hidden = true;
    return;
  }
  const r = $("#drop").getBoundingClientRect();
  cursor.hidden = false;
  cursor.style.width = cursor.style.height = `${Math.max(3, Number($("#size").value))}px`;
  cursor.style.left = `${e.clientX - r.left}px`;
  cursor.style.top = `${e.clientY - r.top}px`;
}

// -------------------------------------------------------------------------------------- colour, tools
function setColour(hex, { keepTool = false } = {}) {
  $("#color").value = hex;
  if (document.activeElement !== $("#hex")) $("#hex").value = hex;
  for (const b of $$(".palette button")) b.classList.toggle("on", b.dataset.color === hex);
  if (!keepTool && (ui.layer !== "hints" || ui.tool === "eraser" || ui.tool === "picker")) {
    selectLayer("hints");
    if (ui.tool !== "fill") selectTool("brush");
  }
  savePrefs();
}

const usedColour = (hex) => palettes.used(hex);

function selectLayer(name) {
  ui.layer = name;
  for (const b of $$("[data-layer]")) b.classList.toggle("on", b.dataset.layer === name);
}

function selectTool(name) {
  ui.tool = name;
  document.body.dataset.tool = name;
  for (const b of $$("[data-tool]")) b.classList.toggle("on", b.dataset.tool === name);
}

// ---------------------------------------------------------------------------------- pipeline settings
/** The pipeline's settings the page sends (inkwash.infer.Settings); absent = the model's default. */
function settingsParams() {
  if (!ui.engine || !ui.engine.features.settings) return {};
  const p = { light: Number($("#light").value) };
  if (!$("#gap-auto").checked) p.gap = Number($("#gap").value);
  if ($("#unhinted").value) p.unhinted = $("#unhinted").value;
  if ($("#shade").value) p.shade = $("#shade").value;
  if ($("#shading").dataset.touched) p.shading = Number($("#shading").value);
  const model = currentModel();
  if (model && model.learned) p.lock = $("#lock").checked;
  return p;
}

function params() {
  const model = currentModel();
  const p = { model: $("#model").value, ...settingsParams() };
  for (const opt of model ? model.options : []) p[opt] = Number($(`#${opt}`).value);
  return p;
}

function showSettings() {
  $("#gap-out").textContent = $("#gap-auto").checked ? "auto" : `${$("#gap").value} px`;
  $("#gap").disabled = $("#gap-auto").checked;
  const touched = $("#shading").dataset.touched;
  $("#shading-out").textContent = touched ? `${Math.round(Number($("#shading").value) * 100)}%` : "default";
  $("#light-out").textContent = $("#light").value;
}

// ------------------------------------------------------------------------------------------ results
/** Something the result depends on changed (`content`: the drawing's layers, kept and not yet in a file; else a
 *  setting): colour again when live. */
function edited(delay = DEBOUNCE_MS, content = true) {
  document.body.dataset.gen = String(++ui.gen);
  if (content) {
    ui.dirty = true;
    autosaveSoon();
  }
  if ($("#auto").checked) request(delay);
}

function request(delay, full = false) {
  cancelPending();
  ui.timer = setTimeout(() => { ui.timer = 0; colorize(full); }, delay);
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

function inputs() {
  return { lineart: ui.lineart, lineartBlob: ui.lineartBlob, hints: layers.hints.canvas, mask: maskCanvas(),
           base: ui.base && ui.base.canvas, baseBlob: ui.base && ui.base.blob, referenceBlob: reference.blob };
}

/** Colour the drawing as it is now -> the result, or null when superseded, cancelled or failed. A big drawing
 *  is coloured at preview size while it is being edited, at full size when `full`. */
async function colorize(full = false) {
  clearTimeout(ui.timer);
  ui.timer = 0;
  if (!ui.width || !ui.engine || !$("#model").value) return null;
  const preview = !full && ui.engine.features.preview && ui.width * ui.height > PREVIEW_PIXELS;
  const job = jobs.start(preview ? "colouring a preview…" : "colouring…");
  const seq = ++ui.seq, gen = ui.gen;
  try {
    const out = await ui.engine.colorize(inputs(), { ...params(), preview: preview ? PREVIEW_PIXELS : undefined },
                                         job.controller.signal);
    if (seq !== ui.seq || job.controller.signal.aborted) return null; // superseded while it was running
    const w = out.width || ui.width, h = out.height || ui.height;
    Object.assign(out, { full: w === ui.width && h === ui.height, gen });
    ui.result = out;
    showResult();
    const total = (performance.now() - job.t0) / 1000;
    const result = $("#result-canvas");
    result.dataset.count = String(Number(result.dataset.count) + 1);
    result.dataset.gen = String(gen); // the edit it shows: current when equal to body[data-gen]
    jobs.end(job);
    const size = out.full ? "" : ` · preview at ${w}×${h}: Colour now for full size`;
    setStatus(`${out.model}: ${total.toFixed(2)} s (model ${Number(out.seconds).toFixed(2)} s)` +
              `${matchWords(out.reference)}${size}`, "done");
    return out;
  } catch (err) {
    if (err.name === "AbortError" || seq !== ui.seq) return null;
    jobs.end(job);
    fail(err.message || String(err));
    return null;
  } finally {
    jobs.end(job);
  }
}

/** The result at full size for the drawing as it is now (coloured again if need be), or null. */
async function fullResult() {
  const r = ui.result;
  if (r && r.full && r.gen === ui.gen && !ui.timer && !jobs.running) return r;
  return colorize(true);
}

function showResult() {
  const c = $("#result-canvas");
  const ctx = resultCtx();
  ctx.clearRect(0, 0, c.width, c.height);
  ui.previewShown = false;
  if (ui.view === "lines") {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.drawImage(ui.lineart, 0, 0, c.width, c.height);
  } else if (ui.result && ui.result[ui.view]) {
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(ui.result[ui.view], 0, 0, c.width, c.height);
  } else if (ui.view === "composite" || ui.view === "flat") { // nothing yet: paper (and the lines)
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    if (ui.view === "composite" && ui.width) ctx.drawImage(ui.lineart, 0, 0, c.width, c.height);
  }
  updateButtons();
}

function selectView(name) {
  ui.view = name;
  for (const o of $$("[data-view]")) o.classList.toggle("on", o.dataset.view === name);
  showResult();
}

async function useResultAsBase() {
  const result = await fullResult();
  if (!result) return;
  const c = canvasOf(result.composite, ui.width, ui.height);
  ui.base = { canvas: c, blob: await canvasBlob(c) };
  drawBackground();
  updateButtons();
  setStatus("Base kept: paint a mask where colour may change, and hints inside it.", "idle");
  edited();
}

function dropBase() {
  ui.base = null;
  drawBackground();
  updateButtons();
  edited();
}

function updateButtons() {
  const loaded = ui.width > 0, result = Boolean(ui.result);
  $("#undo").disabled = !ui.undo.length;
  $("#redo").disabled = !ui.redo.length;
  for (const id of ["#clear-hints", "#clear-mask", "#save-hints", "#save-mask", "#save-lines", "#close"]) {
    $(id).disabled = !loaded;
  }
  for (const id of ["#save-result", "#save-flat", "#use-base", "#palette-result"]) $(id).disabled = !result;
  $("#save-shading").disabled = !(result && ui.result.shading);
  $("[data-view=shading]").disabled = !(result && ui.result.shading);
  $("#save-ora").disabled = !loaded;
  $("#drop-base").hidden = !ui.base;
}

// --------------------------------------------------------------------------------------------- saving
function saved(blob, name) {
  download(blob, name);
  ui.dirty = false;
  autosaveSoon();
}

async function saveLayer(which) {
  if (!ui.width) return;
  if (which === "lines") {
    saved(await canvasBlob(canvasOf(ui.lineart, ui.width, ui.height, true)), `${ui.name}_lines.png`);
    return;
  }
  const result = await fullResult();
  if (!result || !result[which]) return;
  const names = { composite: "coloured", flat: "flats", shading: "shading" };
  saved(await canvasBlob(canvasOf(result[which], ui.width, ui.height)), `${ui.name}_${names[which]}.png`);
}

async function saveOra() {
  if (!ui.width) return;
  if (!ui.engine.features.ora) {
    fail("Layers (.ora) are written by the inkwash server; save the layers as PNGs here.");
    return;
  }
  const job = jobs.start("writing layers (.ora)…");
  try {
    const blob = await ui.engine.ora(inputs(), params(), job.controller.signal);
    jobs.end(job);
    saved(blob, `${ui.name}.ora`);
    setStatus(`Saved ${ui.name}.ora: lines, shading, flats and the result as layers.`, "done");
  } catch (err) {
    if (err.name === "AbortError") return;
    jobs.end(job);
    fail(err.message || String(err));
  }
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
  const layer = layers.hints, rect = { x: 0, y: 0, w: ui.width, h: ui.height };
  const before = layer.copyRect(rect);
  const added = drawHintsDocument(layer, doc);
  const strokesBefore = ui.strokes;
  ui.strokes = ui.strokes.concat(added);
  pushUndo({ layer: "hints", rect, before, after: layer.copyRect(rect), strokesBefore, strokesAfter: ui.strokes });
  edited();
}

// ------------------------------------------------------------------------------------- kept in browser
function autosaveSoon() {
  clearTimeout(ui.saveTimer);
  ui.saveTimer = setTimeout(autosave, AUTOSAVE_MS);
}

/** Keep the drawing, its layers and strokes in IndexedDB (see store.js). */
async function autosave() {
  if (!ui.width || !ui.engine) return;
  const gen = ui.gen;
  try {
    const blobOf = async (layer) => (layer.isEmpty() ? null : canvasBlob(layer.canvas));
    await saveSession(ui.engine.name, {
      version: 1, name: ui.name, width: ui.width, height: ui.height, lineart: ui.lineartBlob,
      hints: await blobOf(layers.hints), mask: await blobOf(layers.mask), base: ui.base ? ui.base.blob : null,
      strokes: ui.strokes, dirty: ui.dirty, savedAt: Date.now(),
    });
    document.body.dataset.autosaved = String(gen);
  } catch (err) {
    setStatus(`Could not keep your work in this browser (${err.message || err}); save it to files.`, "error");
  }
}

async function restoreLayers(s) {
  if (s.hints) await layers.hints.load(s.hints);
  if (s.mask) await layers.mask.load(s.mask);
  if (s.base) ui.base = { canvas: canvasOf(await createImageBitmap(s.base), ui.width, ui.height), blob: s.base };
  ui.strokes = Array.isArray(s.strokes) ? s.strokes : [];
}

/** Tool and pipeline settings, kept whenever one changes (prefs.js). */
function savePrefs() {
  keepPrefs({ tool: ui.tool, layer: ui.layer, view: ui.view, model: $("#model").value || ui.prefModel });
}

function loadPrefs() {
  const prefs = readPrefs();
  if (!prefs) return null;
  $("#size-out").textContent = $("#size").value;
  if (["brush", "eraser", "fill", "picker"].includes(prefs.tool)) selectTool(prefs.tool);
  if (["hints", "mask"].includes(prefs.layer)) selectLayer(prefs.layer);
  if (["composite", "flat", "shading", "lines"].includes(prefs.view)) ui.view = prefs.view;
  ui.prefModel = prefs.model || "";
  return prefs;
}

// ---------------------------------------------------------------------------------------------- models
function showModels(info, preferred) {
  ui.info = info;
  const select = $("#model");
  const previous = preferred || select.value;
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

/** The model's own options, and the pipeline settings that apply to it. */
function showOptions() {
  const model = currentModel();
  for (const el of $$(".option")) el.hidden = !(model && model.options.includes(el.dataset.option));
  const features = ui.engine ? ui.engine.features : {};
  $("#pipeline").hidden = !features.settings;
  $("[data-tool=fill]").hidden = !features.regions;
  $("#save-ora").hidden = !features.ora;
  reference.showAvailable();
  const learned = Boolean(model && model.learned);
  $("#lock-field").hidden = !learned;
  for (const sel of ["#unhinted", "#shade"]) {
    for (const opt of $(sel).querySelectorAll("[data-learned]")) opt.disabled = !learned;
    if ($(sel).selectedOptions[0] && $(sel).selectedOptions[0].disabled) $(sel).value = "";
  }
}

// ------------------------------------------------------------------------------------------ shortcuts
const TEXT_TYPES = new Set(["text", "number", "search", "email", "url", "password", "tel", ""]);

/** Typing goes to the control; every other control (sliders, colour, buttons, selects) leaves keys to us. */
function typingIn(el) {
  if (!el || el === document.body) return false;
  if (el.isContentEditable || el.tagName === "TEXTAREA") return true;
  return el.tagName === "INPUT" && TEXT_TYPES.has(el.getAttribute("type") || "");
}

function changeSize(step) {
  const s = $("#size");
  s.value = String(Math.max(1, Math.min(Number(s.max), Number(s.value) + step)));
  $("#size-out").textContent = s.value;
  savePrefs();
}

function onKeyDown(e) {
  if (typingIn(e.target)) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  const k = e.key.toLowerCase(), mod = e.ctrlKey || e.metaKey;
  if (k === " ") {
    ui.panKey = true;
    document.body.classList.add("pan-key");
    $("#cursor").hidden = true;
  } else if (mod && k === "z") (e.shiftKey ? redo : undo)();
  else if (mod && k === "y") redo();
  else if (mod && k === "s") saveOra();
  else if (mod || e.altKey) return;
  else if (k === "enter") {
    if (e.target.matches("button, select, summary, a")) return; // Enter presses the focused control
    request(0, true);
  } else if (k === "escape") cancelByUser();
  else if (k === "b") selectTool("brush");
  else if (k === "e") selectTool("eraser");
  else if (k === "f" && !$("[data-tool=fill]").hidden) selectTool("fill");
  else if (k === "i") selectTool("picker");
  else if (k === "h") selectLayer("hints");
  else if (k === "m") selectLayer("mask");
  else if (k === "[" || k === "]") changeSize(k === "]" ? 2 : -2);
  else if (k === "+" || k === "=") view.zoomBy(1.25);
  else if (k === "-" || k === "_") view.zoomBy(0.8);
  else if (k === "0") view.fit();
  else if (k === "1") view.actual();
  else return;
  e.preventDefault();
}

function onKeyUp(e) {
  if (e.key === " ") {
    ui.panKey = false;
    document.body.classList.remove("pan-key");
    if (!typingIn(e.target)) e.preventDefault(); // a focused button must not take the space as a click
  }
}

// ------------------------------------------------------------------------------------------------ wiring
function wire() {
  layers = { hints: new Layer($("#hints-canvas")), mask: new Layer($("#mask-canvas")) };
  jobs = new JobLine(setStatus, $("#cancel"));
  const drop = $("#drop"), resultView = $("#result-view");
  view = new View([{ viewport: drop, target: $("#stack") }, { viewport: resultView, target: $("#result-canvas") }],
                  (v) => { $("#zoom-label").textContent = `${Math.round(v.zoom * 100)}%`; });
  for (const vp of [drop, resultView]) {
    attachGestures(view, vp, { isPanKey: () => ui.panKey, onPinchStart: abandonStroke });
    vp.addEventListener("pointerdown", pointerDown);
  }
  drop.addEventListener("pointermove", (e) => {
    moveCursor(e);
    if (!ui.stroke) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) extendStroke(...view.toImage(ev.clientX, ev.clientY, drop));
  });
  drop.addEventListener("pointerup", endStroke);
  drop.addEventListener("pointercancel", endStroke);
  drop.addEventListener("pointerleave", () => { $("#cursor").hidden = true; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    loadLineart(e.dataTransfer.files[0]);
  });

  const onFile = (id, fn) => $(id).addEventListener("change", (e) => { fn(e.target.files[0]); e.target.value = ""; });
  onFile("#file", loadLineart);
  onFile("#hints-file", loadHintsFile);

  for (const b of $$("[data-layer]")) b.addEventListener("click", () => { selectLayer(b.dataset.layer); savePrefs(); });
  for (const b of $$("[data-tool]")) b.addEventListener("click", () => { selectTool(b.dataset.tool); savePrefs(); });
  for (const b of $$("[data-view]")) b.addEventListener("click", () => { selectView(b.dataset.view); savePrefs(); });
  $("#color").addEventListener("input", (e) => setColour(e.target.value));
  $("#hex").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const hex = normHex(e.target.value);
    if (hex) setColour(hex);
    else fail(`${e.target.value}: not a hex colour (#rrggbb or #rgb)`);
    e.target.value = hex || $("#color").value;
  });
  $("#hex").addEventListener("blur", (e) => { e.target.value = $("#color").value; });
  $("#size").addEventListener("input", (e) => { $("#size-out").textContent = e.target.value; savePrefs(); });

  palettes = new PaletteUI({
    pick: (hex) => setColour(hex), status: setStatus,
    flats: () => ui.result && {
      name: ui.name, data: canvasOf(ui.result.flat, ui.width, ui.height, true)
        .getContext("2d", { willReadFrequently: true }).getImageData(0, 0, ui.width, ui.height).data,
    },
  });
  palettes.wire();
  reference = new ReferenceUI({
    engine: () => ui.engine, gap: () => settingsParams().gap, swatch: (hex) => palettes.swatch(hex),
    status: setStatus, changed: () => { if (ui.width) edited(0, false); },
  });
  reference.wire();

  const settingChanged = () => { showSettings(); savePrefs(); if (ui.width) edited(0, false); };
  $("#gap-auto").addEventListener("change", () => { settingChanged(); loadRegions(); });
  $("#gap").addEventListener("change", () => { settingChanged(); loadRegions(); });
  $("#gap").addEventListener("input", showSettings);
  $("#shading").addEventListener("input", (e) => { e.target.dataset.touched = "1"; showSettings(); });
  $("#light").addEventListener("input", showSettings);
  for (const id of ["#unhinted", "#shade", "#shading", "#light", "#lock"]) {
    $(id).addEventListener("change", settingChanged);
  }

  $("#undo").addEventListener("click", undo);
  $("#redo").addEventListener("click", redo);
  $("#clear-hints").addEventListener("click", () => clearLayer("hints"));
  $("#clear-mask").addEventListener("click", () => clearLayer("mask"));
  $("#use-base").addEventListener("click", useResultAsBase);
  $("#drop-base").addEventListener("click", dropBase);
  $("#close").addEventListener("click", closeDrawing);
  $("#save-ora").addEventListener("click", saveOra);
  for (const [id, which] of [["#save-result", "composite"], ["#save-flat", "flat"], ["#save-shading", "shading"],
                             ["#save-lines", "lines"]]) {
    $(id).addEventListener("click", () => saveLayer(which));
  }
  $("#save-hints").addEventListener("click", () => {
    const doc = hintsDocument(layers.hints, ui.strokes);
    saved(new Blob([JSON.stringify(doc)], { type: "application/json" }), `${ui.name}.hints.json`);
  });
  $("#save-mask").addEventListener("click", async () => {
    const c = maskCanvas();
    if (c) saved(await canvasBlob(c), `${ui.name}.mask.png`);
    else fail("The mask is empty: paint on the Mask layer first.");
  });
  $("#model").addEventListener("change", () => { showOptions(); savePrefs(); edited(0, false); });
  for (const id of ["#steps", "#strength", "#seed"]) $(id).addEventListener("change", () => edited(0, false));
  $("#new-seed").addEventListener("click", () => {
    $("#seed").value = String(Math.floor(Math.random() * 2 ** 31));
    edited(0, false);
  });
  $("#run").addEventListener("click", () => request(0, true));
  $("#cancel").addEventListener("click", cancelByUser);
  $("#auto").addEventListener("change", (e) => { savePrefs(); if (e.target.checked) request(0); });
  $("#zoom-in").addEventListener("click", () => view.zoomBy(1.25));
  $("#zoom-out").addEventListener("click", () => view.zoomBy(0.8));
  $("#zoom-fit").addEventListener("click", () => view.fit());
  $("#zoom-100").addEventListener("click", () => view.actual());
  window.addEventListener("resize", () => view.fit());
  window.addEventListener("keydown", onKeyDown);
  window.addEventListener("keyup", onKeyUp);
  window.addEventListener("blur", () => { ui.panKey = false; document.body.classList.remove("pan-key"); });
  window.addEventListener("beforeunload", (e) => {
    if (!ui.width || !ui.dirty) return;
    e.preventDefault();
    e.returnValue = ""; // the browser asks before leaving: these edits are in no file yet
  });
  window.addEventListener("pagehide", () => { if (ui.width) autosave(); });
  updateButtons();
}

async function main() {
  wire();
  const prefs = loadPrefs();
  showSettings();
  setColour($("#color").value, { keepTool: true });
  selectView(ui.view);
  selectTool(ui.tool);
  try {
    if (document.body.dataset.engine === "onnx") {
      const { createOnnxEngine } = await import("./onnx-engine.js");
      ui.engine = await createOnnxEngine({ onStatus: setStatus, onModels: showModels });
    } else {
      const { createServerEngine } = await import("./engine-server.js");
      ui.engine = createServerEngine({ onStatus: (text) => jobs.relabel(text) });
    }
    showModels(await ui.engine.info(), prefs && prefs.model);
    if (ui.info.models.length) setStatus("Open a lineart to start.", "idle");
    const session = await loadSession(ui.engine.name).catch(() => null);
    if (session && session.lineart) await openDrawing(session.lineart, session.name || "lineart", session);
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
