// The palette controls of the tool column: the palette menu, its swatches, recent colours, new / add / delete,
// save and load as JSON, a palette from a reference image or from the result (palette.js does the work).

import { canvasOf, download } from "./paint.js";
import { Palettes, extractPalette, flatColours } from "./palette.js";

const $ = (sel) => document.querySelector(sel);

export class PaletteUI {
  /** pick(hex): use a colour; status(text, state): the status line; flats(): the result's flat layer as
   *  {data, name} (RGBA bytes, a name for the palette) or null. */
  constructor({ pick, status, flats }) {
    this.palettes = new Palettes();
    this.pick = pick;
    this.status = status;
    this.flats = flats;
  }

  swatch(hex, onRemove) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.color = hex;
    b.title = hex;
    b.style.background = hex;
    b.classList.toggle("on", hex === $("#color").value);
    b.addEventListener("click", (e) => (e.shiftKey && onRemove ? onRemove(hex) : this.pick(hex)));
    if (onRemove) b.addEventListener("contextmenu", (e) => { e.preventDefault(); onRemove(hex); });
    return b;
  }

  show() {
    const p = this.palettes, select = $("#palette-select");
    select.replaceChildren(...p.names().map((n) => new Option(n, n)));
    select.value = p.current;
    const remove = (c) => { p.removeColour(c); this.show(); };
    $("#palette").replaceChildren(...p.colours().map((hex) => this.swatch(hex, remove)));
    $("#recent").replaceChildren(...p.recent.map((hex) => this.swatch(hex)));
  }

  /** A colour went into a stroke or a fill: first among the recent ones. */
  used(hex) {
    this.palettes.used(hex);
    this.show();
  }

  async loadFile(file) {
    if (!file) return;
    try {
      this.palettes.fromJSON(JSON.parse(await file.text()), file.name.replace(/(\.palette)?\.json$/i, ""));
      this.show();
      this.status(`Palette ${this.palettes.current} loaded.`, "idle");
    } catch (err) {
      this.status(`${file.name}: not a palette file (${err.message})`, "error");
    }
  }

  async fromImage(file) {
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      const s = Math.min(1, 256 / Math.max(bitmap.width, bitmap.height)); // k-means needs no more
      const w = Math.max(1, Math.round(bitmap.width * s)), h = Math.max(1, Math.round(bitmap.height * s));
      const ctx = canvasOf(bitmap, w, h).getContext("2d", { willReadFrequently: true });
      const pixels = ctx.getImageData(0, 0, w, h).data;
      const colours = extractPalette(pixels, 8);
      this.palettes.create(file.name.replace(/\.[^.]+$/, ""), colours);
      this.show();
      this.status(`A palette of ${colours.length} colours from ${file.name}.`, "idle");
    } catch {
      this.status(`${file.name}: cannot be decoded as an image`, "error");
    }
  }

  fromResult() {
    const flat = this.flats();
    if (!flat) return;
    this.palettes.create(`${flat.name} colours`, flatColours(flat.data));
    this.show();
  }

  wire() {
    const p = this.palettes;
    const onFile = (id, fn) => $(id).addEventListener("change", (e) => { fn(e.target.files[0]); e.target.value = ""; });
    onFile("#palette-file", (f) => this.loadFile(f));
    onFile("#palette-image", (f) => this.fromImage(f));
    $("#palette-select").addEventListener("change", (e) => { p.select(e.target.value); this.show(); });
    $("#palette-add").addEventListener("click", () => { p.addColour($("#color").value); this.show(); });
    $("#palette-new").addEventListener("click", () => {
      p.create($("#palette-name").value || "Palette");
      $("#palette-name").value = "";
      this.show();
    });
    $("#palette-delete").addEventListener("click", () => { p.remove(); this.show(); });
    $("#palette-save").addEventListener("click", () => {
      const doc = p.toJSON();
      download(new Blob([JSON.stringify(doc, null, 1)], { type: "application/json" }), `${doc.name}.palette.json`);
    });
    $("#palette-result").addEventListener("click", () => this.fromResult());
    this.show();
  }
}
