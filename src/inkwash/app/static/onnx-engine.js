// In-browser engine of the colouring page: an ONNX model from `inkwash export` run by onnxruntime-web (WASM),
// with the pre/post-processing of inkwash.infer.PaintsTorchBackend and Colorizer.colorize_layers in JS:
// normalize the lineart, scale its short side to the model's resolution (area), pad with paper to a multiple
// of 16, downsample the hints to a quarter without mixing colour with paper, run, crop, scale back (bicubic),
// fill line pixels from their nearest paper pixel (flat layer), multiply the lines over, keep the base outside
// the mask. The graph's contract: lineart (1,1,H,W) in [0,1], hints (1,4,H/4,W/4) -> colour (1,3,H,W) in [0,1].

import * as ort from "./vendor/ort.wasm.min.mjs";

ort.env.wasm.wasmPaths = new URL("./vendor/", import.meta.url).href; // never a CDN
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which plain static hosting does not give

// ------------------------------------------------------------------------------------------- helpers
/** Python's round(): halves to even, so working sizes match the Python side exactly. */
function pyRound(v) {
  const f = Math.floor(v), d = v - f;
  if (Math.abs(d - 0.5) < 1e-9) return f % 2 === 0 ? f : f + 1;
  return Math.round(v);
}

/** inkwash.infer.working_size: (h, w) with the short side `short` (never enlarged), multiples of `m`. */
export function workingSize(h, w, short, m = 16) {
  const s = Math.min(1, short / Math.min(h, w));
  return [Math.max(m, pyRound((h * s) / m) * m), Math.max(m, pyRound((w * s) / m) * m)];
}

function percentileFromHistogram(hist, n, p) {
  // numpy's default (linear) percentile over values k/255 given by their counts
  const rank = (p / 100) * (n - 1), lo = Math.floor(rank), hi = Math.ceil(rank);
  const valueAt = (r) => {
    let seen = 0;
    for (let k = 0; k < 256; k++) {
      seen += hist[k];
      if (seen > r) return k / 255;
    }
    return 1;
  };
  const a = valueAt(lo), b = valueAt(hi);
  return a + (b - a) * (rank - lo);
}

/** inkwash.lineart.normalize_lineart on RGBA pixels -> lines (H*W) in [0,1], 1 = paper, quantized to 8 bits. */
export function normalizeLineart(rgba, n) {
  const v = new Float32Array(n);
  const hist = new Float64Array(256);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3] / 255; // transparent paper is white
    const r = rgba[i * 4] * a + 255 * (1 - a), g = rgba[i * 4 + 1] * a + 255 * (1 - a), b = rgba[i * 4 + 2] * a + 255 * (1 - a);
    const l = Math.round((r * 299 + g * 587 + b * 114) / 1000);
    v[i] = l / 255;
    hist[l]++;
  }
  if (percentileFromHistogram(hist, n, 50) < 0.4) { // light lines on dark paper
    hist.reverse();
    for (let i = 0; i < n; i++) v[i] = 1 - v[i];
  }
  const paper = percentileFromHistogram(hist, n, 90);
  const dark = new Float64Array(256);
  let nDark = 0, vmin = 1;
  for (let k = 0; k < 256; k++) {
    if (hist[k] && k / 255 < vmin) vmin = k / 255;
    if (k / 255 < paper * 0.6) { dark[k] = hist[k]; nDark += hist[k]; }
  }
  let ink = nDark >= 16 ? percentileFromHistogram(dark, nDark, 5) : vmin;
  if (paper - ink < 0.15) ink = 0;
  const out = new Float32Array(n);
  if (paper <= ink) return out.fill(1);
  for (let i = 0; i < n; i++) {
    const t = Math.min(1, Math.max(0, (v[i] - ink) / (paper - ink)));
    out[i] = Math.floor(t * 255 + 0.5) / 255;
  }
  return out;
}

/** 1-D area-resampling weights (OpenCV INTER_AREA when shrinking): [{i0, w: [...]}] per output index. */
function areaWeights(src, dst) {
  const s = src / dst, rows = [];
  for (let j = 0; j < dst; j++) {
    const a = j * s, b = (j + 1) * s, i0 = Math.floor(a), w = [];
    for (let i = i0; i < Math.min(src, Math.ceil(b - 1e-9)); i++) w.push((Math.min(b, i + 1) - Math.max(a, i)) / s);
    rows.push({ i0, w });
  }
  return rows;
}

/** 1-D bicubic weights (OpenCV INTER_CUBIC, a = -0.75, edges replicated). */
function cubicWeights(src, dst) {
  const A = -0.75, s = src / dst, rows = [];
  const k = (x) => {
    x = Math.abs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
  };
  for (let j = 0; j < dst; j++) {
    const f = (j + 0.5) * s - 0.5, i = Math.floor(f), t = f - i;
    rows.push({ idx: [i - 1, i, i + 1, i + 2].map((q) => Math.min(src - 1, Math.max(0, q))), w: [k(1 + t), k(t), k(1 - t), k(2 - t)] });
  }
  return rows;
}

/** Separable resampling of C planes (C,h,w) -> (C,H,W) with `kind` "area" or "cubic". */
function resample(src, c, h, w, H, W, kind) {
  const rowsX = kind === "area" ? areaWeights(w, W) : cubicWeights(w, W);
  const rowsY = kind === "area" ? areaWeights(h, H) : cubicWeights(h, H);
  const tmp = new Float32Array(c * h * W), out = new Float32Array(c * H * W);
  const apply = (row, get) => {
    let acc = 0;
    if (row.idx) for (let q = 0; q < 4; q++) acc += row.w[q] * get(row.idx[q]);
    else for (let q = 0; q < row.w.length; q++) acc += row.w[q] * get(row.i0 + q);
    return acc;
  };
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const base = (ch * h + y) * w;
      for (let x = 0; x < W; x++) tmp[(ch * h + y) * W + x] = apply(rowsX[x], (i) => src[base + i]);
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) out[(ch * H + y) * W + x] = apply(rowsY[y], (i) => tmp[(ch * h + i) * W + x]);
    }
  }
  return out;
}

/** Squared-distance transform along one line (Felzenszwalb & Huttenlocher 2012) with the arg-min kept. */
function dt1d(f, n, d, arg) {
  const v = new Int32Array(n), z = new Float64Array(n + 1);
  let k = 0;
  v[0] = 0; z[0] = -Infinity; z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (f[v[0]] === Infinity) { v[0] = q; continue; }
    let s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) { k--; s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]); }
    k++; v[k] = q; z[k] = s; z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = f[v[k]] === Infinity ? Infinity : (q - v[k]) ** 2 + f[v[k]];
    arg[q] = v[k];
  }
}

/** inkwash.infer.fill_line_pixels: colour (3,H,W) planes; ink pixels (lines < 0.5) take their nearest paper pixel's colour. */
function fillLinePixels(colour, lines, H, W) {
  const n = H * W;
  let anyInk = false, anyPaper = false;
  for (let i = 0; i < n; i++) (lines[i] < 0.5 ? (anyInk = true) : (anyPaper = true));
  if (!anyInk || !anyPaper) return colour;
  // columns: nearest paper row per pixel; rows: minimise (x - x')^2 + dy(x')^2 over x'
  const colD = new Float64Array(n), colArg = new Int32Array(n);
  const f = new Float64Array(Math.max(H, W)), d = new Float64Array(Math.max(H, W)), arg = new Int32Array(Math.max(H, W));
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) f[y] = lines[y * W + x] < 0.5 ? Infinity : 0;
    dt1d(f, H, d, arg);
    for (let y = 0; y < H; y++) { colD[y * W + x] = d[y]; colArg[y * W + x] = arg[y]; }
  }
  const out = colour.slice();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) f[x] = colD[y * W + x];
    dt1d(f, W, d, arg);
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (lines[i] >= 0.5) continue;
      const sx = arg[x], sy = colArg[y * W + sx], j = sy * W + sx;
      for (let c = 0; c < 3; c++) out[c * n + i] = colour[c * n + j];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- engine
/** The model run on one lineart: {lines, hints (H,W,4 planes), mask, base} -> {composite, flat} ImageData. */
export async function colorizeArrays(session, meta, inputs) {
  const { lines, hints, mask, base, H, W } = inputs;
  const res = meta.resolution;
  const [h, w] = workingSize(H, W, res);
  const scale = Math.min(1, res / Math.min(H, W));
  const ch = Math.min(h, Math.max(1, pyRound(H * scale))), cw = Math.min(w, Math.max(1, pyRound(W * scale)));
  const small = resample(lines, 1, H, W, ch, cw, "area");
  const canvas = new Float32Array(h * w).fill(1); // paper padding
  for (let y = 0; y < ch; y++) canvas.set(small.subarray(y * cw, (y + 1) * cw), y * w);

  // hints: area-average colour*mask and mask, colour = ratio where any hint falls (inkwash.infer.downsample_hints)
  const hq = Math.max(1, Math.floor(ch / 4)), wq = Math.max(1, Math.floor(cw / 4)), n = H * W;
  const weighted = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const m = hints[3 * n + i];
    for (let c = 0; c < 3; c++) weighted[c * n + i] = hints[c * n + i] * m;
    weighted[3 * n + i] = m;
  }
  const q = resample(weighted, 4, H, W, hq, wq, "area");
  const h4 = h / 4, w4 = w / 4, nq = hq * wq;
  const hintCanvas = new Float32Array(4 * h4 * w4);
  for (let y = 0; y < hq; y++) {
    for (let x = 0; x < wq; x++) {
      const k = y * wq + x, mk = q[3 * nq + k], hit = mk > 1e-3;
      for (let c = 0; c < 3; c++) {
        hintCanvas[(c * h4 + y) * w4 + x] = hit ? Math.min(1, Math.max(0, q[c * nq + k] / Math.max(mk, 1e-6))) : 0;
      }
      hintCanvas[(3 * h4 + y) * w4 + x] = hit ? 1 : 0;
    }
  }

  const feeds = {
    lineart: new ort.Tensor("float32", canvas, [1, 1, h, w]),
    hints: new ort.Tensor("float32", hintCanvas, [1, 4, h4, w4]),
  };
  const y = (await session.run(feeds)).colour.data; // (1,3,h,w) in [0,1]
  const crop = new Float32Array(3 * ch * cw);
  for (let c = 0; c < 3; c++) {
    for (let yy = 0; yy < ch; yy++) {
      for (let x = 0; x < cw; x++) crop[(c * ch + yy) * cw + x] = Math.min(1, Math.max(0, y[(c * h + yy) * w + x]));
    }
  }
  let colour = resample(crop, 3, ch, cw, H, W, "cubic");
  for (let i = 0; i < colour.length; i++) colour[i] = Math.min(1, Math.max(0, colour[i]));
  const linesOver = meta.lines_over !== false;
  if (linesOver) colour = fillLinePixels(colour, lines, H, W);

  const composite = new ImageData(W, H), flat = new ImageData(W, H);
  const to8 = (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255 + 0.5);
  for (let i = 0; i < n; i++) {
    const m = mask ? mask[i] : 1;
    for (let c = 0; c < 3; c++) {
      const col = colour[c * n + i];
      const comp = linesOver ? col * lines[i] : col;
      const keep = base ? base[c * n + i] : lines[i];
      composite.data[i * 4 + c] = to8(m * comp + (1 - m) * keep);
      flat.data[i * 4 + c] = to8(m * col + (1 - m));
    }
    composite.data[i * 4 + 3] = flat.data[i * 4 + 3] = 255;
  }
  return { composite, flat };
}

function planes(imageData, channels) {
  // RGBA bytes -> (C,H,W) floats in [0,1]
  const n = imageData.width * imageData.height, out = new Float32Array(channels * n), d = imageData.data;
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[c * n + i] = d[i * 4 + c] / 255;
  return out;
}

const pixels = (canvas) => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);

/** The engine the page talks to: info() -> models, colorize(inputs, params, signal) -> layers. */
export async function createOnnxEngine({ onStatus }) {
  let session = null, meta = null, label = "", queue = Promise.resolve();

  async function open(modelBytes, metaJson, name) {
    onStatus(`loading ${name}…`, "busy");
    meta = { resolution: 512, lines_over: true, ...(metaJson || {}) };
    session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
    label = `${meta.source_model || name} (ONNX in this browser)`;
  }

  // beside the page, only where `inkwash export --page` wrote one (it marks the page: <body data-model="...">);
  // the page the server offers (static/onnx.html) has none and asks for nothing: the user opens a model file
  const beside = document.body.dataset.model;
  if (beside && /^[\w.-]+\.onnx$/.test(beside)) {
    try {
      const sidecar = beside.replace(/\.onnx$/, ".json");
      const [bytes, m] = await Promise.all([
        fetch(beside).then((x) => { if (!x.ok) throw new Error(`${beside} missing`); return x.arrayBuffer(); }),
        fetch(sidecar).then((x) => (x.ok ? x.json() : null)),
      ]);
      await open(new Uint8Array(bytes), m, beside);
    } catch (err) {
      onStatus(`could not load ${beside} beside the page (${err.message}); open one with Model file`, "error");
    }
  }

  const engine = {
    name: "onnx",
    features: { regions: false, ora: false, settings: false, preview: false },
    info() {
      document.querySelector("#model-file-field").hidden = false;
      const models = session ? [{ key: "onnx", label, model: meta.source_model || "onnx", options: [] }] : [];
      return {
        default: session ? "onnx" : null, models, unavailable: [],
        limits: { max_pixels: 4096 * 4096 },
        message: "Open a model.onnx made by `inkwash export` (Model file, top bar).",
      };
    },
    async loadFiles(files) {
      const onnx = files.find((f) => f.name.endsWith(".onnx"));
      const json = files.find((f) => f.name.endsWith(".json"));
      if (!onnx) throw new Error("choose a .onnx file (and its .json settings) made by inkwash export");
      await open(new Uint8Array(await onnx.arrayBuffer()), json ? JSON.parse(await json.text()) : null, onnx.name);
      onStatus(`${onnx.name} loaded${json ? "" : " (no .json: working at 512 px)"}`, "idle");
      return engine.info();
    },
    colorize(inputs, params, signal) {
      // one run at a time (WASM cannot be interrupted); a run superseded while waiting is skipped
      const job = queue.then(async () => {
        if (signal.aborted) throw new DOMException("superseded", "AbortError");
        if (!session) throw new Error("no model loaded: open a model.onnx");
        const t0 = performance.now();
        const lineart = pixels(inputs.lineart), W = lineart.width, H = lineart.height, n = W * H;
        const hintPx = pixels(inputs.hints);
        const hints = planes(hintPx, 4);
        for (let i = 0; i < n; i++) hints[3 * n + i] = hintPx.data[i * 4 + 3] >= 128 ? 1 : 0;
        const out = await colorizeArrays(session, meta, {
          lines: normalizeLineart(lineart.data, n), hints, H, W,
          mask: inputs.mask ? planes(pixels(inputs.mask), 1) : null,
          base: inputs.mask && inputs.base ? planes(pixels(inputs.base), 3) : null,
        });
        const [composite, flat] = await Promise.all([createImageBitmap(out.composite), createImageBitmap(out.flat)]);
        return { composite, flat, seconds: (performance.now() - t0) / 1000, model: label };
      });
      queue = job.catch(() => {});
      return job;
    },
  };
  return engine;
}
