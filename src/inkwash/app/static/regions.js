// The drawing's regions in the page: the server sends them once per lineart and gap (POST api/regions, one PNG,
// packing in inkwash/app/regions.py); a click then fills a region and shows the new flats without a round trip.

const INK_BIT = 1 << 23;
const ID_MASK = INK_BIT - 1;

export class RegionMap {
  /** packed: Uint8ClampedArray RGBA of the labels PNG; n regions; gap in px as the server used it. */
  constructor(width, height, packed, n, gap) {
    this.width = width;
    this.height = height;
    this.n = n;
    this.gap = gap;
    const size = width * height;
    this.near = new Int32Array(size); // region of the nearest paper pixel (what colour goes under a line)
    this.ink = new Uint8Array(size);
    // each region's box over `near` (its paper and the ink whose colour it gives): fills scan only that
    const box = new Int32Array((n + 1) * 4);
    for (let r = 0; r <= n; r++) box.set([width, height, -1, -1], r * 4);
    for (let y = 0, i = 0; y < height; y++) {
      for (let x = 0; x < width; x++, i++) {
        const v = (packed[i * 4] << 16) | (packed[i * 4 + 1] << 8) | packed[i * 4 + 2];
        const r = v & ID_MASK;
        this.near[i] = r;
        this.ink[i] = v & INK_BIT ? 1 : 0;
        if (r > n) continue;
        const b = r * 4;
        if (x < box[b]) box[b] = x;
        if (y < box[b + 1]) box[b + 1] = y;
        if (x > box[b + 2]) box[b + 2] = x;
        if (y > box[b + 3]) box[b + 3] = y;
      }
    }
    this.box = box;
  }

  /** Decode a labels PNG (no colour conversion: its values are ids). */
  static async fromBlob(blob, n, gap) {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const c = document.createElement("canvas");
    c.width = bitmap.width;
    c.height = bitmap.height;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    return new RegionMap(c.width, c.height, data, n, gap);
  }

  /** The region at image point (x, y): on ink, the region nearest to it; 0 outside the image. */
  regionAt(x, y) {
    const ix = Math.floor(x), iy = Math.floor(y);
    if (ix < 0 || iy < 0 || ix >= this.width || iy >= this.height) return 0;
    return this.near[iy * this.width + ix];
  }

  /** Region r's box {x, y, w, h} in image px, or null for an empty region. */
  rect(r) {
    const b = r * 4, box = this.box;
    if (r < 1 || r > this.n || box[b + 2] < 0) return null;
    return { x: box[b], y: box[b + 1], w: box[b + 2] - box[b] + 1, h: box[b + 3] - box[b + 1] + 1 };
  }

  /** Paint region r's paper pixels in a layer (RGBA bytes, same size) with rgba -> the box it touched. */
  fill(layer, r, rgba) {
    const rect = this.rect(r);
    if (!rect) return null;
    const d = layer.image.data, w = this.width;
    for (let y = rect.y; y < rect.y + rect.h; y++) {
      for (let x = rect.x, i = y * w + rect.x; x < rect.x + rect.w; x++, i++) {
        if (this.near[i] !== r || this.ink[i]) continue;
        const k = i * 4;
        d[k] = rgba[0]; d[k + 1] = rgba[1]; d[k + 2] = rgba[2]; d[k + 3] = rgba[3];
      }
    }
    return rect;
  }

  /** Region r shown as `rgb` in `img`, the ImageData of the result's box `at` {x, y, w, h}: where the region's
   *  colour goes (under its lines too), multiplied by the lines' grey when `lined` (the coloured view), and only
   *  inside `mask` (RGBA bytes of the image; alpha > 0 = selected) when there is one. */
  recolour(img, at, r, rgb, grey, lined, mask) {
    const d = img.data, w = this.width;
    for (let y = 0; y < at.h; y++) {
      for (let x = 0, i = (at.y + y) * w + at.x, k = y * at.w * 4; x < at.w; x++, i++, k += 4) {
        if (this.near[i] !== r || (mask && !mask[i * 4 + 3])) continue;
        const g = lined ? grey[i] / 255 : 1;
        d[k] = rgb[0] * g; d[k + 1] = rgb[1] * g; d[k + 2] = rgb[2] * g; d[k + 3] = 255;
      }
    }
  }
}
