"""Reference colouring benchmark: colour a deformed copy of each outline drawing from the drawing itself.

For every test drawing of an outline dataset (`inkwash data openclipart-outlines`: truth, lines and flats) and
every strength (small, medium, large; reference/deform.py), a seeded warp makes the new frame: its lines warped
bilinearly, its truth flats by nearest neighbour (the same map). The coloured reference is the flats with the
lines over them (`colours="flats"`: a model sheet, flat colours as a studio paints them) or the drawing as
published (`"truth"`: gradients, highlights and textures that the flats round to one colour, so a region's
median colour may differ from its flat colour); its lineart is the dataset's lines ("given") or read from the
coloured reference ("extracted", extract.py). The new frame is coloured from the reference alone: no hints.

Metrics, as BasicPBC (Dai et al., CVPR 2024) and DACoN report them, on the warped truth flats:
- segment accuracy: the share of the new frame's segments coloured right. As in those papers a segment is an area
  the lines enclose: a 4-connected component of the new lineart's paper (no gap closing, so independent of our
  region engine), counted on its pixels at least `line_margin` px from the lines, if it has `min_segment` px. Its
  true colour is the flat colour covering most of it; it is right when the output's median colour over it is
  within `delta_e` (CIEDE2000) of that.
- flat segment accuracy: the same over the truth flats' own segments (4-connected areas of one flat colour). Open
  Clip Art colours many areas no line encloses (a highlight, sprinkles on icing), which no region fill can get:
  the oracle row shows that ceiling.
- pixel accuracy: the share of counted paper pixels whose output colour is within `delta_e` of the truth.
The page (segments touching the image border in near-white) is never counted: leaving paper white is no match.
- paper flood: the share of the truth's white paper away from the lines that the output colours (evaluate.metrics:
  more than 10 CIEDE2000 from white), so a match that paints the page around a drawing is seen.
An oracle row colours each region of the new frame with the median of the reference warped by the true map: the
best a region fill can do with perfect matching.
Deformations are generated from the seed by code (nothing shipped but this file), so anyone can rebuild them.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from inkwash.errors import InkwashError
from inkwash.reference.deform import LEVELS, PRESETS, Warp, make_warp, random_warp
from inkwash.regions.stats import LUMA

LINEARTS = ("given", "extracted")
COLOURS = ("flats", "truth")


@dataclass(frozen=True)
class ReferenceBenchConfig:
    """What the benchmark runs and how it scores. Lengths in px at 512 px (scaled with the short side)."""

    levels: tuple[str, ...] = LEVELS
    lineart: str = "given"  # given (the dataset's lines) | extracted (read from the coloured reference)
    colours: str = "flats"  # the coloured reference: flats (flat colours x lines, a model sheet) | truth
    seed: int = 0
    limit: int = 0  # drawings, evenly spread over the split (0 = all)
    split: str = "test"
    size: int = 0  # short side in px the drawings are resized to (0 = as stored, 512); 1024 for the timing
    delta_e: float = 10.0  # CIEDE2000: under ~10 is the same flat colour (anti-aliasing, a median's rounding)
    line_margin: float = 1.5  # px at 512: segment pixels this far from the new lines (no anti-aliased rims)
    min_segment: float = 24.0  # px^2 at 512: smaller truth segments (specks between lines) are not counted
    unhinted: str = "neighbour"  # the CLI's default for a fill
    sequence: int = 0  # > 0: also colour a sequence of this many frames to the large warp, chained
    oracle: bool = True


# ---------------------------------------------------------------------------------------------- helpers
def item_seed(seed: int, item_id: str) -> int:
    """A drawing's warp seed: stable across machines, dataset orders and subsets."""
    return int.from_bytes(hashlib.sha1(f"{seed}:{item_id}".encode()).digest()[:8], "big") >> 1


def _lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(np.clip(np.asarray(rgb, np.float64), 0, 1).reshape(-1, 1, 3)).reshape(-1, 3)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between rows of (P,3) RGB in [0,1]."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(_lab(a), _lab(b))


def _packed(u8: np.ndarray) -> np.ndarray:
    u = u8.astype(np.int64)
    return (u[..., 0] << 16) | (u[..., 1] << 8) | u[..., 2]


def _unpack(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=-1).astype(np.float64) / 255.0


def truth_segments(flats: np.ndarray, lines: np.ndarray, cfg: ReferenceBenchConfig
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Segments of truth flats on a frame's paper: (labels (H,W) int32, 0 = not counted; colour (k+1,3) in [0,1]).

    flats: (H,W,3) uint8 (nearest-neighbour warped, so only true colours); lines: (H,W) in [0,1], 1 = paper.
    """
    h, w = lines.shape
    s = min(h, w) / 512.0
    paper = lines >= 0.5
    dist = cv2.distanceTransform(paper.astype(np.uint8), cv2.DIST_L2, 3)
    keep = dist > max(1.0, cfg.line_margin * s)
    key = _packed(flats)
    labels = np.zeros((h, w), np.int32)
    colours = [np.ones(3)]
    next_id = 1
    min_px = cfg.min_segment * s * s
    for k in np.unique(key[keep]):
        n, cc = cv2.connectedComponents((keep & (key == k)).astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
        if n <= 1:
            continue
        area = np.bincount(cc.ravel(), minlength=n)
        border = np.zeros(n, bool)
        for edge in (cc[0], cc[-1], cc[:, 0], cc[:, -1]):
            border[edge] = True
        colour = _unpack(np.array([k]))[0]
        page = float(colour @ LUMA) > 0.96 and float(colour.max() - colour.min()) < 0.04
        ok = (area >= min_px) & ~(border & page)
        ok[0] = False
        ids = np.flatnonzero(ok)
        lut = np.zeros(n, np.int32)
        lut[ids] = np.arange(next_id, next_id + ids.size)
        np.copyto(labels, lut[cc], where=lut[cc] > 0)
        colours.extend([colour] * ids.size)
        next_id += ids.size
    return labels, np.asarray(colours)


def line_segments(flats: np.ndarray, lines: np.ndarray, cfg: ReferenceBenchConfig
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Segments the lines enclose, with the flat colour covering most of each: (labels (H,W) int32, 0 = not
    counted; colour (k+1,3) in [0,1]). flats: (H,W,3) uint8; lines: (H,W) in [0,1], 1 = paper."""
    h, w = lines.shape
    s = min(h, w) / 512.0
    paper = lines >= 0.5
    keep = cv2.distanceTransform(paper.astype(np.uint8), cv2.DIST_L2, 3) > max(1.0, cfg.line_margin * s)
    n, cc = cv2.connectedComponents(paper.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    cc = np.where(keep, cc, 0)
    key = _packed(flats)
    sel = cc > 0
    pairs, count = np.unique(cc[sel].astype(np.int64) << 24 | key[sel], return_counts=True)
    seg, col = pairs >> 24, pairs & ((1 << 24) - 1)
    order = np.lexsort((count, seg))  # by segment, then count: the last of each segment is its majority colour
    last = order[np.r_[seg[order][1:] != seg[order][:-1], True]]
    colour = np.ones((n, 3))
    colour[seg[last]] = _unpack(col[last])
    area = np.bincount(cc.ravel(), minlength=n)
    border = np.zeros(n, bool)
    for edge in (cc[0], cc[-1], cc[:, 0], cc[:, -1]):
        border[edge] = True
    page = (colour @ LUMA > 0.96) & (colour.max(axis=1) - colour.min(axis=1) < 0.04)
    ok = (area >= cfg.min_segment * s * s) & ~(border & page)
    ok[0] = False
    ids = np.flatnonzero(ok)
    lut = np.zeros(n, np.int32)
    lut[ids] = np.arange(1, ids.size + 1)
    return lut[cc], np.concatenate([np.ones((1, 3)), colour[ids]])


def _segment_medians(out_u8: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k+1,3) median output colour per segment, from 256-bin histograms (exact to 1/255, as the flats')."""
    sel = labels > 0
    med = np.zeros((k + 1, 3))
    lab = labels[sel].astype(np.int64)
    for c in range(3):
        hist = np.bincount(lab * 256 + out_u8[..., c][sel], minlength=(k + 1) * 256).reshape(k + 1, 256)
        cdf = np.cumsum(hist, axis=1)
        med[:, c] = np.argmax(2 * cdf >= np.maximum(cdf[:, -1:], 1), axis=1) / 255.0
    return med


def score_frame(output: np.ndarray, flats: np.ndarray, lines: np.ndarray, cfg: ReferenceBenchConfig) -> dict:
    """Segment, flat segment and pixel accuracy of output (H,W,3) in [0,1] against truth flats (H,W,3) uint8 on
    the new frame's lines (H,W) in [0,1] (module doc)."""
    out_u8 = (np.clip(output, 0, 1) * 255 + 0.5).astype(np.uint8)
    row: dict = {}
    for name, (labels, colours) in (("", line_segments(flats, lines, cfg)),
                                    ("flat_", truth_segments(flats, lines, cfg))):
        k = colours.shape[0] - 1
        right = (delta_e(_segment_medians(out_u8, labels, k)[1:], colours[1:]) <= cfg.delta_e) if k else np.zeros(0)
        row[f"{name}segments"], row[f"{name}correct"] = int(k), int(right.sum())
        row[f"{name}segment_acc"] = float(right.mean()) if k else float("nan")
        if name == "flat_":
            sel = labels > 0
    # pixels (of the flat segments: all counted paper): ΔE of each distinct (output, truth) colour pair
    pair = _packed(out_u8[sel]) * (1 << 24) + _packed(flats[sel])
    pairs, count = np.unique(pair, return_counts=True)
    ok = delta_e(_unpack(pairs >> 24), _unpack(pairs & ((1 << 24) - 1))) <= cfg.delta_e
    row["pixel_acc"] = float(count[ok].sum() / count.sum()) if count.size else float("nan")
    # the page: segments are never counted there, so a match that paints the paper around the drawing shows here
    from inkwash.evaluate.metrics import paper_flood

    row["paper_flood"] = float(paper_flood(np.clip(output, 0, 1), flats.astype(np.float32) / 255.0, lines))
    return row


def oracle_output(coloured: np.ndarray, warp: Warp, new_lines: np.ndarray, gap: float | None = None) -> np.ndarray:
    """Each region of the new frame in the median of the coloured reference (H,W,3) in [0,1] warped by the true map
    (perfect matching)."""
    from inkwash.regions import RegionConfig, cached_regions
    from inkwash.regions.stats import margin_px, region_medians

    regions = cached_regions(new_lines, RegionConfig(gap=gap))
    warped = warp.image(coloured.astype(np.float32))
    med = region_medians(regions, warped, margin_px(regions, 1.5), 16)
    return med[regions.nearest]


def _layer(store, i: int, name: str):
    """An outline dataset's layer; ImageStore.layer where it exists (the outline data work adds it)."""
    if hasattr(store, "layer"):
        return store.layer(i, name)
    import io

    from PIL import Image

    from inkwash.io import to_rgb

    item = store.items[i]
    member = item.get("layers", {}).get(name)
    if member is None or "shard" not in item:
        raise InkwashError(f"{store.root}: item {item['id']} has no {name!r} layer; give an outline dataset "
                           "(inkwash data openclipart-outlines)")
    fh = store._tar(item["shard"]).extractfile(member)
    img = Image.open(io.BytesIO(fh.read()))
    img.load()
    return to_rgb(img)


def _resized(img, size: int, nearest: bool = False):
    from PIL import Image

    if size <= 0 or min(img.size) == size:
        return img
    f = size / min(img.size)
    return img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))),
                      Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS)


@dataclass
class Drawing:
    """One test drawing: truth (H,W,3) float in [0,1], lines (H,W) float in [0,1], flats (H,W,3) uint8."""

    id: str
    truth: np.ndarray
    lines: np.ndarray
    flats: np.ndarray


def load_drawings(data: str | Path, cfg: ReferenceBenchConfig) -> list[Drawing]:
    """The outline dataset's drawings of cfg.split (cfg.limit of them, evenly spread), at cfg.size."""
    from inkwash.data.store import ImageStore
    from inkwash.lineart import lineart_array, load_lineart

    store = ImageStore(data, split=cfg.split)
    if store.meta.get("kind") != "outlines":
        raise InkwashError(f"{data}: not an outline dataset (kind {store.meta.get('kind', 'images')!r}); build one "
                           "with `inkwash data openclipart-outlines`")
    idx = list(range(len(store)))
    if 0 < cfg.limit < len(idx):
        idx = sorted({int(round(v)) for v in np.linspace(0, len(idx) - 1, cfg.limit)})
    out = []
    for i in idx:
        truth = _resized(store[i], cfg.size)
        lines = lineart_array(load_lineart(_resized(_layer(store, i, "lines"), cfg.size)))
        flats = np.asarray(_resized(_layer(store, i, "flats"), cfg.size, nearest=True), np.uint8)
        out.append(Drawing(store.items[i]["id"], np.asarray(truth, np.float32) / 255.0, lines, flats))
    return out


# ------------------------------------------------------------------------------------------- main thing
def coloured_reference(d: Drawing, cfg: ReferenceBenchConfig) -> np.ndarray:
    """The coloured reference of a drawing: (H,W,3) float in [0,1], its flats under its lines, or its truth."""
    if cfg.colours == "truth":
        return d.truth
    return (d.flats.astype(np.float32) / 255.0) * d.lines[..., None]


def _reference_of(d: Drawing, cfg: ReferenceBenchConfig):
    from inkwash.reference import reference_from_images

    return reference_from_images(coloured_reference(d, cfg), d.lines if cfg.lineart == "given" else None)


def run_drawing(d: Drawing, cfg: ReferenceBenchConfig) -> list[dict]:
    """Rows {id, level, method, segments, correct, segment_acc, pixel_acc, seconds, regions, unmatched} of one
    drawing at every level (and its sequence)."""
    from inkwash.reference import colour_from_reference

    rows = []
    seed = item_seed(cfg.seed, d.id)
    ref = _reference_of(d, cfg)
    for level in cfg.levels:
        warp = random_warp(d.lines, level, seed)
        new_lines, target = warp.lines(d.lines), warp.image(d.flats, nearest=True)
        t = time.perf_counter()
        res = colour_from_reference(new_lines, ref, unhinted=cfg.unhinted)
        seconds = time.perf_counter() - t
        row = {"id": d.id, "level": level, "method": "reference", **score_frame(res.flats.colour, target, new_lines, cfg),
               "seconds": seconds, "regions": res.regions.n, "unmatched": int(res.match.unmatched(res.regions).size)}
        rows.append(row)
        if cfg.oracle:
            rows.append({"id": d.id, "level": level, "method": "oracle",
                         **score_frame(oracle_output(coloured_reference(d, cfg), warp, new_lines), target,
                                       new_lines, cfg),
                         "seconds": float("nan"), "regions": res.regions.n, "unmatched": 0})
    if cfg.sequence > 0:
        rows += run_sequence(d, ref, seed, cfg)
    return rows


def run_sequence(d: Drawing, ref, seed: int, cfg: ReferenceBenchConfig) -> list[dict]:
    """Frames 1..T moving towards the large warp; each coloured from the key and the previous coloured frame
    ("chained") and from the key alone ("key only"). Rows for the last frame, level "sequence-T"."""
    from inkwash.reference import colour_from_reference, previous_frame

    full = random_warp(d.lines, "large", seed).params
    prev = None
    rows = []
    for k in range(1, cfg.sequence + 1):
        warp = make_warp(d.lines.shape, full.at(k / cfg.sequence))
        new_lines, target = warp.lines(d.lines), warp.image(d.flats, nearest=True)
        t = time.perf_counter()
        res = colour_from_reference(new_lines, [ref] + ([prev] if prev is not None else []), unhinted=cfg.unhinted)
        seconds = time.perf_counter() - t
        prev = previous_frame(res.lines, res.regions, res.flats.colour, res.match, res.flats.source)
        if k == cfg.sequence:
            alone = colour_from_reference(new_lines, ref, unhinted=cfg.unhinted)
            level = f"sequence-{cfg.sequence}"
            rows.append({"id": d.id, "level": level, "method": "reference (chained)",
                         **score_frame(res.flats.colour, target, new_lines, cfg), "seconds": seconds,
                         "regions": res.regions.n, "unmatched": int(res.match.unmatched(res.regions).size)})
            rows.append({"id": d.id, "level": level, "method": "reference (key only)",
                         **score_frame(alone.flats.colour, target, new_lines, cfg), "seconds": float("nan"),
                         "regions": alone.regions.n, "unmatched": int(alone.match.unmatched(alone.regions).size)})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per (level, method): drawings, segments, mean segment accuracy over drawings, pooled segment accuracy,
    mean pixel accuracy, median seconds per frame."""
    out = []
    keys = list(dict.fromkeys((r["level"], r["method"]) for r in rows))
    for level, method in keys:
        sel = [r for r in rows if r["level"] == level and r["method"] == method and r["segments"] > 0]
        if not sel:
            continue
        secs = [r["seconds"] for r in sel if not math.isnan(r["seconds"])]
        flat = [r for r in sel if r["flat_segments"] > 0]
        out.append({"level": level, "method": method, "drawings": len(sel),
                    "segments": sum(r["segments"] for r in sel),
                    "segment_acc": float(np.mean([r["segment_acc"] for r in sel])),
                    "segment_acc_pooled": sum(r["correct"] for r in sel) / sum(r["segments"] for r in sel),
                    "flat_segment_acc": float(np.mean([r["flat_segment_acc"] for r in flat])) if flat else math.nan,
                    "pixel_acc": float(np.nanmean([r["pixel_acc"] for r in sel])),
                    "paper_flood": float(np.nanmean([r.get("paper_flood", math.nan) for r in sel])),
                    "seconds": float(np.median(secs)) if secs else float("nan")})
    return out


def table_markdown(summary: list[dict]) -> str:
    """Segment accuracy = mean over drawings; pooled = over all segments of all drawings."""
    lines = ["| deformation | method | drawings | segments | segment acc. | pooled | flat segment acc. | pixel acc. "
             "| paper flood | s / frame |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        sec = "–" if math.isnan(s["seconds"]) else f"{s['seconds']:.3f}"
        lines.append(f"| {s['level']} | {s['method']} | {s['drawings']} | {s['segments']} | "
                     f"{100 * s['segment_acc']:.1f} % | {100 * s['segment_acc_pooled']:.1f} % | "
                     f"{100 * s['flat_segment_acc']:.1f} % | {100 * s['pixel_acc']:.1f} % | "
                     f"{100 * s['paper_flood']:.1f} % | {sec} |")
    return "\n".join(lines) + "\n"


def evaluate_reference(data: str | Path, out: str | Path | None = None, config: ReferenceBenchConfig | None = None,
                       on_step: Callable[[int, int], None] | None = None) -> tuple[list[dict], list[dict]]:
    """Run the benchmark -> (rows per drawing and level, summary rows); with out, write reference.csv,
    reference.md and reference.json (config) there."""
    cfg = config or ReferenceBenchConfig()
    if cfg.lineart not in LINEARTS:
        raise InkwashError(f"lineart {cfg.lineart!r}: use one of {', '.join(LINEARTS)}")
    if cfg.colours not in COLOURS:
        raise InkwashError(f"colours {cfg.colours!r}: use one of {', '.join(COLOURS)}")
    bad = [lv for lv in cfg.levels if lv not in PRESETS]
    if bad:
        raise InkwashError(f"levels {', '.join(bad)}: use {', '.join(PRESETS)}")
    drawings = load_drawings(data, cfg)
    rows: list[dict] = []
    for k, d in enumerate(drawings):
        rows += run_drawing(d, cfg)
        if on_step is not None:
            on_step(k + 1, len(drawings))
    summary = summarise(rows)
    if out is not None:
        write_report(Path(out), rows, summary, cfg, str(data))
    return rows, summary


def write_report(out: Path, rows: list[dict], summary: list[dict], cfg: ReferenceBenchConfig, data: str) -> None:
    import csv
    import io
    import json

    from inkwash.io import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    fields = ["id", "level", "method", "segments", "correct", "segment_acc", "flat_segments", "flat_correct",
              "flat_segment_acc", "pixel_acc", "paper_flood", "seconds", "regions", "unmatched"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in fields})
    for name, text in (("reference.csv", buf.getvalue()),
                       ("reference.md", f"Reference colouring on {data} ({cfg.split} split, reference {cfg.colours} "
                                        f"with lineart {cfg.lineart}, seed {cfg.seed}, ΔE00 <= {cfg.delta_e:g})\n\n"
                                        + table_markdown(summary)),
                       ("reference.json", json.dumps({"data": data, "config": asdict(cfg), "summary": summary},
                                                     indent=1))):
        with atomic_path(out / name, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
