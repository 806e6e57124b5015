// The hints as the JSON stroke document inkwash reads (`inkwash colorize --hints`, inkwash.hints), and back.

import { hexToRgb, normHex, rgbToHex, stampSegment } from "./paint.js";

/** {width, height, strokes}: the strokes as drawn (`strokes`, image px), or, once anything was erased or
 *  filled, one 1-px stroke per run of equal colour in the layer's pixels (exact for any painting). */
export function hintsDocument(layer, strokes) {
  const w = layer.width, h = layer.height;
  const doc = { width: w, height: h, strokes: [] };
  if (!strokes.some((s) => s.erase || s.fill)) {
    doc.strokes = strokes.map((s) => ({ color: s.color, width: s.width, points: s.points }));
    return doc;
  }
  const d = layer.image.data;
  for (let y = 0; y < h; y++) {
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

/** Draw a stroke document (its own width/height scale it to the layer) into the layer -> the strokes added,
 *  in the layer's pixels; strokes without a readable colour or points are skipped. */
export function drawHintsDocument(layer, doc) {
  const sx = doc.width ? layer.width / doc.width : 1, sy = doc.height ? layer.height / doc.height : 1;
  const added = [];
  for (const s of doc.strokes) {
    const color = Array.isArray(s.color) ? rgbToHex(...s.color.map(Math.round)) : normHex(s.color);
    if (!color || !Array.isArray(s.points) || !s.points.length) continue;
    const width = Math.max(1, Math.round((Number(s.width) || 8) * Math.sqrt(sx * sy)));
    const pts = s.points.map(([x, y]) => [x * sx, y * sy]);
    const rgba = [...hexToRgb(color), 255];
    for (let k = 0; k < pts.length; k++) {
      const a = pts[Math.max(0, k - 1)], b = pts[k];
      stampSegment(layer, a[0], a[1], b[0], b[1], width / 2, rgba);
    }
    added.push({ color, width, points: pts });
  }
  layer.flush();
  return added;
}
