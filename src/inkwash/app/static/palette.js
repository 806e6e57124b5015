// Palettes: named sets of colours (one per character, say), kept in the browser and saved or loaded as JSON
// files {"name": "...", "colors": ["#rrggbb", ...]}; the colours used last; a palette taken from an image.

import { normHex, rgbToHex } from "./paint.js";

export const DEFAULT_PALETTE = ["#e0463c", "#f29e38", "#f5d547", "#7cc46b", "#3f9e8f", "#4f86d9",
                                "#8b6bd6", "#e38cc0", "#f3d2b3", "#8a5a3c", "#5a5f6a", "#1b1b1f"];
const STORAGE_KEY = "inkwash.palettes";
const MAX_RECENT = 12;
const MAX_COLOURS = 64; // per palette: a character sheet's worth, and a bound on a hostile file

export class Palettes {
  constructor(storage = window.localStorage) {
    this.storage = storage;
    this.sets = { Default: DEFAULT_PALETTE.slice() };
    this.current = "Default";
    this.recent = [];
    try {
      const saved = JSON.parse(storage.getItem(STORAGE_KEY) || "null");
      if (saved && saved.sets && typeof saved.sets === "object") {
        for (const [name, colours] of Object.entries(saved.sets)) {
          const clean = cleanColours(colours);
          if (name && clean) this.sets[name] = clean;
        }
        if (saved.current in this.sets) this.current = saved.current;
        this.recent = cleanColours(saved.recent) || [];
      }
    } catch {
      // an unreadable entry (another version, a full quota): start from the default palette
    }
  }

  save() {
    try {
      const kept = { sets: this.sets, current: this.current, recent: this.recent };
      this.storage.setItem(STORAGE_KEY, JSON.stringify(kept));
    } catch {
      // storage full or disabled: palettes still work for this visit
    }
  }

  names() { return Object.keys(this.sets); }
  colours(name = this.current) { return this.sets[name] || []; }

  select(name) {
    if (name in this.sets) this.current = name;
    this.save();
  }

  /** A new palette (a free name derived from `name`) holding `colours`; it becomes the current one. */
  create(name, colours = []) {
    let base = String(name || "").trim().slice(0, 60) || "Palette", free = base;
    for (let k = 2; free in this.sets; k++) free = `${base} ${k}`;
    this.sets[free] = (cleanColours(colours) || []).slice(0, MAX_COLOURS);
    this.current = free;
    this.save();
    return free;
  }

  remove(name = this.current) {
    delete this.sets[name];
    if (!Object.keys(this.sets).length) this.sets.Default = DEFAULT_PALETTE.slice();
    if (!(this.current in this.sets)) this.current = Object.keys(this.sets)[0];
    this.save();
  }

  addColour(hex) {
    const list = this.sets[this.current];
    if (!list || list.includes(hex) || list.length >= MAX_COLOURS) return;
    list.push(hex);
    this.save();
  }

  removeColour(hex) {
    const list = this.sets[this.current];
    if (!list) return;
    this.sets[this.current] = list.filter((c) => c !== hex);
    this.save();
  }

  used(hex) {
    this.recent = [hex, ...this.recent.filter((c) => c !== hex)].slice(0, MAX_RECENT);
    this.save();
  }

  toJSON(name = this.current) {
    return { name, colors: this.colours(name).slice() };
  }

  /** A palette file's contents -> the name it was added under; Error saying what is wrong otherwise. */
  fromJSON(doc, fallbackName) {
    const colours = cleanColours(doc && (doc.colors || doc.colours));
    if (!colours || !colours.length) throw new Error('expected {"name": "...", "colors": ["#rrggbb", ...]}');
    const name = String((doc && doc.name) || fallbackName || "Palette").slice(0, 60);
    if (name in this.sets) delete this.sets[name]; // loading a palette again replaces it
    return this.create(name, colours);
  }
}

function cleanColours(list) {
  if (!Array.isArray(list)) return null;
  const out = [];
  for (const c of list.slice(0, MAX_COLOURS)) {
    const hex = normHex(c);
    if (hex && !out.includes(hex)) out.push(hex);
  }
  return out;
}

/** Up to k colours that stand for an image (RGBA bytes): k-means on a sample of its opaque pixels, seeded so one
 *  image always gives one palette, the most common colours first; near-duplicates merged. */
export function extractPalette(data, k = 8, maxSamples = 20000) {
  const n = data.length / 4;
  const stride = Math.max(1, Math.floor(n / maxSamples));
  const pts = [];
  for (let i = 0; i < n; i += stride) {
    if (data[i * 4 + 3] >= 128) pts.push([data[i * 4], data[i * 4 + 1], data[i * 4 + 2]]);
  }
  if (!pts.length) return [];
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const dist2 = (a, b) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
  // k-means++ initialisation: each new centre far from the ones already chosen
  const centres = [pts[Math.floor(rand() * pts.length)].slice()];
  const best = pts.map((p) => dist2(p, centres[0]));
  while (centres.length < k) {
    const total = best.reduce((a, b) => a + b, 0);
    if (total === 0) break;
    let t = rand() * total, j = 0;
    while (j < pts.length - 1 && (t -= best[j]) > 0) j++;
    centres.push(pts[j].slice());
    for (let i = 0; i < pts.length; i++) best[i] = Math.min(best[i], dist2(pts[i], pts[j]));
  }
  const assign = new Int32Array(pts.length);
  let counts = [];
  for (let iter = 0; iter < 12; iter++) {
    const sums = centres.map(() => [0, 0, 0]);
    counts = centres.map(() => 0);
    for (let i = 0; i < pts.length; i++) {
      let bj = 0, bd = Infinity;
      for (let j = 0; j < centres.length; j++) {
        const d = dist2(pts[i], centres[j]);
        if (d < bd) { bd = d; bj = j; }
      }
      assign[i] = bj;
      counts[bj]++;
      for (let c = 0; c < 3; c++) sums[bj][c] += pts[i][c];
    }
    for (let j = 0; j < centres.length; j++) if (counts[j]) centres[j] = sums[j].map((s) => s / counts[j]);
  }
  const order = centres.map((c, j) => ({ c, count: counts[j] })).filter((e) => e.count)
    .sort((a, b) => b.count - a.count);
  const out = [];
  for (const { c } of order) {
    const rgb = c.map((v) => Math.round(v));
    if (out.every((o) => dist2(o, rgb) > 12 * 12)) out.push(rgb);
  }
  return out.map((rgb) => rgbToHex(...rgb));
}

/** The distinct colours of a flat layer (RGBA bytes), by area, at most `max`: the result's palette. */
export function flatColours(data, max = 16) {
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const minimum = data.length / 4 / 2000; // specks (anti-aliasing, split rims) are not colours of the result
  return Array.from(counts.entries()).filter(([key, c]) => c >= minimum && key !== 0xffffff)
    .sort((a, b) => b[1] - a[1]).slice(0, max)
    .map(([key]) => rgbToHex((key >> 16) & 255, (key >> 8) & 255, key & 255));
}
