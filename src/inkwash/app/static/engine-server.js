// The inkwash server as the page's engine: GET api/info, POST api/colorize (multipart) -> layers or an .ora file,
// POST api/regions -> the drawing's regions, POST api/reference -> a coloured reference's palette. A busy server
// (503 with Retry-After) is asked again when it says.

import { canvasBlob } from "./paint.js";

const SETTINGS = ["gap", "unhinted", "lock", "shade", "shading", "light"];

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
      reject(new DOMException("cancelled", "AbortError"));
    }, { once: true });
  });
}

async function errorOf(r) {
  try {
    const body = await r.json();
    return new Error(body.error ? body.error.message : `server answered ${r.status}`);
  } catch {
    return new Error(`server answered ${r.status}`);
  }
}

/** POST a form, asking again (up to 3 times) while the server says it is busy. */
async function post(url, form, signal, onStatus) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { method: "POST", body: form, signal });
    const wait = Number(r.headers.get("Retry-After"));
    if (r.ok || r.status !== 503 || !(wait > 0) || attempt >= 3) {
      if (!r.ok) throw await errorOf(r);
      return r;
    }
    onStatus(`server busy; trying again in ${wait} s`);
    await sleep(wait * 1000, signal);
  }
}

async function colorizeForm(inputs, params, output) {
  const form = new FormData();
  form.append("lineart", inputs.lineartBlob, "lineart.png");
  form.append("hints", await canvasBlob(inputs.hints), "hints.png");
  if (inputs.mask) form.append("mask", await canvasBlob(inputs.mask), "mask.png");
  if (inputs.mask && inputs.baseBlob) form.append("base", inputs.baseBlob, "base.png");
  const ref = inputs.referenceBlob;
  if (ref) form.append("reference", ref, ref.name || "reference.png");
  form.append("model", params.model);
  for (const k of ["seed", "steps", "strength", "preview", ...SETTINGS]) {
    if (params[k] !== undefined && params[k] !== null) form.append(k, String(params[k]));
  }
  form.append("output", output);
  return form;
}

export function createServerEngine({ onStatus }) {
  return {
    name: "server",
    features: { regions: true, ora: true, settings: true, preview: true, reference: true },
    async info() {
      const r = await fetch("api/info");
      if (!r.ok) throw await errorOf(r);
      return r.json();
    },
    /** -> {composite, flat, shading?} as ImageBitmaps, with width, height, seconds, model (and reference:
     *  {matched, unmatched} when coloured from one). */
    async colorize(inputs, params, signal) {
      const r = await post("api/colorize", await colorizeForm(inputs, params, "layers"), signal, onStatus);
      const body = await r.json();
      const names = ["composite", "flat", "shading"].filter((k) => body[k]);
      const bitmaps = await Promise.all(names.map((k) => createImageBitmap(b64ToBlob(body[k]))));
      const out = { width: body.width, height: body.height, seconds: body.seconds, model: body.model,
                    reference: body.reference };
      names.forEach((k, i) => { out[k] = bitmaps[i]; });
      return out;
    },
    /** The layers as an OpenRaster file (Blob), coloured at full size. */
    async ora(inputs, params, signal) {
      const r = await post("api/colorize", await colorizeForm(inputs, { ...params, preview: undefined }, "ora"),
                           signal, onStatus);
      return r.blob();
    },
    /** -> {blob: labels PNG, n, gap} (inkwash/app/regions.py says how the PNG packs them). */
    async regions(lineartBlob, gap, signal) {
      const form = new FormData();
      form.append("lineart", lineartBlob, "lineart.png");
      if (gap !== undefined && gap !== null) form.append("gap", String(gap));
      const r = await post("api/regions", form, signal, onStatus);
      const n = Number(r.headers.get("X-Inkwash-Regions")), used = Number(r.headers.get("X-Inkwash-Gap"));
      return { blob: await r.blob(), n, gap: used };
    },
    /** A coloured reference (Blob) read by the server (and kept there) -> {width, height, regions, gap, palette:
     *  [{colour, share, regions}]}. */
    async reference(blob, gap, signal) {
      const form = new FormData();
      form.append("reference", blob, blob.name || "reference.png");
      if (gap !== undefined && gap !== null) form.append("gap", String(gap));
      const r = await post("api/reference", form, signal, onStatus);
      return r.json();
    },
  };
}
