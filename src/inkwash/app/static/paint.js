// Pixels the page paints itself: hint and mask layers written exactly (no anti-aliasing), colour helpers, files.

/** A canvas whose pixels live in JS: strokes are written exactly (no anti-aliasing), so a hint's colour
 *  reaches the model unchanged and LazyBrush sees one label per colour. */
export class Layer {
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
  /** Replace the pixels with an image (a saved layer), drawn at the layer's size. */
  async load(blob) {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const c = document.createElement("canvas");
    c.width = this.width;
    c.height = this.height;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0, this.width, this.height);
    this.image = ctx.getImageData(0, 0, this.width, this.height);
    this.flush();
  }
}

/** Write a round-capped segment (a capsule of radius r) into the layer: pixels whose centre lies within r. */
export function stampSegment(layer, x0, y0, x1, y1, radius, rgba) {
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

export function unionRect(a, b) {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

export const hexToRgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
export const rgbToHex = (r, g, b) => "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");

/** "#abc", "abc", "#aabbcc" or "aabbcc" -> "#aabbcc"; anything else -> null. */
export function normHex(text) {
  let s = String(text || "").trim().toLowerCase();
  if (s.startsWith("#")) s = s.slice(1);
  if (/^[0-9a-f]{3}$/.test(s)) s = s.split("").map((c) => c + c).join("");
  return /^[0-9a-f]{6}$/.test(s) ? `#${s}` : null;
}

export function canvasBlob(canvas) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("could not encode the canvas"))), "image/png"));
}

/** A canvas of w x h holding `source` (canvas, bitmap) scaled to fill it; white underneath when `paper`. */
export function canvasOf(source, w, h, paper = false) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  if (paper) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
  }
  if (source) ctx.drawImage(source, 0, 0, w, h);
  return c;
}

export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
