// The reference panel: a coloured page whose matching regions give their colours to this drawing (the server's
// inkwash.reference). Set from a file or a drop, it is read once by api/reference (its palette shows as swatches
// that pick the brush colour), then sent with every colouring until it is cleared.

const $ = (sel) => document.querySelector(sel);
const IMAGE_TYPE = /^image\/(png|jpeg|webp)$/;

export class ReferenceUI {
  /** engine(): the page's engine; gap(): the gap the page asks for (px, or undefined = automatic);
   *  swatch(hex): a palette button that picks the colour; status(text, state): the status line;
   *  changed(): the reference was set or cleared (colour again). */
  constructor({ engine, gap, swatch, status, changed }) {
    Object.assign(this, { engine, gap, swatch, status, changed });
    this.blob = null; // the reference sent with each colouring, once the server has read it
    this.name = "";
    this.job = null;
    this.thumbUrl = "";
  }

  /** Offered by engines that colour from a reference (the server), hidden elsewhere. */
  get available() {
    const e = this.engine();
    return Boolean(e && e.features.reference);
  }

  async set(file) {
    if (!file || !this.available) return;
    if (!IMAGE_TYPE.test(file.type)) {
      this.status(`${file.name}: not a PNG, JPEG or WebP image`, "error");
      return;
    }
    if (this.job) this.job.abort();
    const job = new AbortController();
    this.job = job;
    this.show("loading", `Reading ${file.name}…`);
    try {
      const info = await this.engine().reference(file, this.gap(), job.signal);
      if (this.job !== job) return;
      this.job = null;
      Object.assign(this, { blob: file, name: file.name });
      if (this.thumbUrl) URL.revokeObjectURL(this.thumbUrl);
      this.thumbUrl = URL.createObjectURL(file);
      $("#reference-thumb").src = this.thumbUrl;
      $("#reference-palette").replaceChildren(...info.palette.map((row) => {
        const b = this.swatch(row.colour);
        b.title = `${row.colour}: ${Math.round(row.share * 100)}% of the reference`;
        return b;
      }));
      this.show("ready", `${file.name}: ${info.palette.length} colours in ${info.regions} regions; regions that ` +
                         "match take them.");
      this.changed();
    } catch (err) {
      if (err.name === "AbortError" || this.job !== job) return;
      this.job = null;
      this.show(this.blob ? "ready" : "none", this.blob ? `${this.name} (kept)` : "");
      this.status(`Reference ${file.name}: ${err.message || err}`, "error");
    }
  }

  clear() {
    if (this.job) this.job.abort();
    this.job = null;
    const had = Boolean(this.blob);
    Object.assign(this, { blob: null, name: "" });
    if (this.thumbUrl) URL.revokeObjectURL(this.thumbUrl);
    this.thumbUrl = "";
    $("#reference-thumb").removeAttribute("src");
    $("#reference-palette").replaceChildren();
    this.show("none", "");
    if (had) this.changed();
  }

  show(state, text) {
    const panel = $("#reference-panel");
    panel.dataset.state = state;
    document.body.dataset.reference = state;
    $("#reference-status").textContent = text || "Drop a coloured page here: matching regions take its colours.";
    $("#reference-thumb").hidden = state !== "ready";
    $("#reference-clear").hidden = state === "none";
  }

  /** The panel shows only for an engine that takes references. */
  showAvailable() {
    $("#reference-panel").hidden = !this.available;
  }

  wire() {
    $("#reference-file").addEventListener("change", (e) => { this.set(e.target.files[0]); e.target.value = ""; });
    $("#reference-clear").addEventListener("click", () => this.clear());
    const drop = $("#reference-panel");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      this.set(e.dataTransfer.files[0]);
    });
    this.show("none", "");
    this.showAvailable();
  }
}

/** The status line's words for a result coloured from a reference ({matched, unmatched}: enclosed regions). */
export function matchWords(summary) {
  if (!summary) return "";
  const all = summary.matched + summary.unmatched;
  return ` · reference: ${summary.matched} of ${all} regions matched`;
}
