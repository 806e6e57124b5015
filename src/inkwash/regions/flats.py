"""Flat colours on the region graph: hints colour their regions, several hints split a region by graph cut,
unhinted regions follow a policy, and colour also goes under the lines.

Rules, in order:
1. Hint strokes are read as LazyBrush reads them (its `stroke_labels`' greedy merge: close colours are one).
   A stroke pixel within `cross_tolerance` px of ink, in a region that does not hold most of its stroke, is
   dropped: a scribble that crosses an outline by a few pixels colours only the side it was drawn on.
2. A region whose remaining hints have one colour takes it. Colours with under `min_share` of a region's hint
   pixels (or under `min_pixels`) are strays (anti-aliased stroke rims) and are ignored.
3. A region with several colours is split between them by LazyBrush's Potts graph cut on that region's pixels
   only (`split.py`): the cut runs along ink inside the region (free: ink is not part of it) and across paper
   where it is narrowest, so boundaries follow the drawing, never blocks.
4. Given region colours (a reference frame's matched colours, `region_colours`) go to the regions no hint
   reached, border regions included: a reference that paints the background around its drawing says so.
   Regions still without a colour then follow the policy.
5. Unhinted regions: `paper` leaves them white; `neighbour` gives each the colour of the coloured neighbour it
   shares the most outline with (outline with no ink between, a closed gap, counts `1 + open_bonus` times),
   in rounds so regions several steps from a hint are reached; `model` gives each the median colour of a
   model's proposal over its pixels away from lines. Regions touching the image border stay paper unless
   hinted, whatever the policy: that is the paper around the drawing.
6. Every ink pixel takes the colour of its nearest paper pixel, so the flat layer has no white rims.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inkwash.errors import InkwashError
from inkwash.regions.engine import Regions
from inkwash.regions.split import potts_split
from inkwash.regions.stats import margin_px, region_medians, under_lines

UNHINTED = ("paper", "neighbour", "model")
SOURCES = ("paper", "hinted", "split", "neighbour", "model", "reference")  # Flats.source codes index this
PAPER, HINTED, SPLIT, NEIGHBOUR, MODEL, REFERENCE = range(len(SOURCES))
WHITE = np.ones(3, np.float32)


@dataclass(frozen=True)
class FlatConfig:
    """How hints and a policy colour the regions. Lengths in px."""

    unhinted: str = "neighbour"  # paper | neighbour | model: what enclosed regions without a hint get
    colour_tolerance: float = 0.08  # hint colours closer than this (RGB distance in [0,1]) are one (LazyBrush's)
    cross_tolerance: float = 3.0  # px at 512 px (never less): a stroke may cross a line by this much
    min_share: float = 0.01  # colours with under 1% of a region's hint pixels are strays (stroke rims, JPEG)
    min_pixels: int = 3  # ... or with fewer pixels than this
    # neighbour policy: outline with no ink between (a closed gap, a neck) weighs 1 + 20 times: what the gap
    # closing cut off is most likely the same part (colour error 5.10 -> 5.07 hand hints, 18.97 -> 18.94 strokes)
    open_bonus: float = 20.0
    line_margin: float = 1.5  # px at 512 px: model medians skip anti-aliased line edges
    min_median_pixels: int = 16  # regions with fewer pixels away from lines use all their pixels for a median
    k_factor: float = 2.0  # split cut: paper edges cost ~K = k_factor (w + h) (Sykora 2009, as LazyBrush)
    lambda_ratio: float = 0.95  # split cut: stroke data term lambda = 0.95 K (Sykora 2009)
    near_line_ratio: float = 0.05  # split cut: weak lambda of stroke pixels near a line (as LazyBrush)
    split_max_pixels: int = 1 << 17  # bigger regions are cut on blocks first (split.py): max-flow time grows fast
    split_band: int = 3  # blocks each side of the coarse cut re-cut at full resolution: room to straighten


@dataclass
class Flats:
    """A flat colour layer and where each region's colour came from."""

    colour: np.ndarray  # (H,W,3) float32 in [0,1], colour under the lines too
    region_colour: np.ndarray  # (n+1,3) float32: each region's colour (a split region: its largest part's)
    source: np.ndarray  # (n+1,) uint8 index into SOURCES: paper / hinted / split / neighbour / model / reference
    paper: np.ndarray  # (H,W) bool: pixels left paper (white because unhinted, not because a hint was white)


# ---------------------------------------------------------------------------------------------- helpers
def stroke_colours(hints: np.ndarray, tolerance: float, max_labels: int = 250
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hint pixels and their merged colours, as LazyBrush's `stroke_labels` (same greedy merge, same ids), but
    from packed 24-bit colours: a 1-D unique instead of a row-wise one (~10x faster on a 2048 px hint map).

    hints: (H,W,4) float in [0,1], or uint8 levels. Returns (flat index (P,) int64, colour id (P,) int32,
    palette (L,3) float32 in [0,1]).
    """
    flat = hints.reshape(-1, hints.shape[-1])
    eight_bit = hints.dtype == np.uint8
    at = np.flatnonzero(hints[..., 3] > (127 if eight_bit else 0.5))
    if at.size == 0:
        return at, np.zeros(0, np.int32), np.zeros((0, 3), np.float32)
    q = flat[at, :3].astype(np.int32) if eight_bit else (np.clip(flat[at, :3], 0, 1) * 255.0 + 0.5).astype(np.int32)
    key = (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    colours = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1).astype(np.float32)
    centres: list[np.ndarray] = []
    assign = np.empty(len(colours), np.int32)
    tol = tolerance * 255.0
    for i in np.argsort(-counts, kind="stable"):
        c = colours[i]
        if centres:
            d = np.linalg.norm(np.asarray(centres) - c, axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol or len(centres) >= max_labels:
                assign[i] = j
                continue
        centres.append(c)
        assign[i] = len(centres) - 1
    return at, assign[inverse.reshape(-1)], np.asarray(centres, np.float32) / 255.0


def _hint_pixels(regions: Regions, at: np.ndarray, col: np.ndarray, tol: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stroke pixels that count (rule 1): (flat index, region, colour id) of each, all (P,) arrays."""
    if at.size == 0:
        return at, at.astype(np.int32), col
    reg = regions.labels.reshape(-1).take(at)
    near = regions.dist.reshape(-1).take(at) <= tol
    if near.any():
        # Strokes = connected pieces of one colour; a near-line pixel outside its stroke's main region is a crossing.
        w = regions.shape[1]
        y0, y1 = int(at[0]) // w, int(at[-1]) // w + 1
        mask = np.zeros((y1 - y0) * w, np.uint8)
        mask[at - y0 * w] = 1
        cc = cv2.connectedComponents(mask.reshape(y1 - y0, w), connectivity=8, ltype=cv2.CV_32S)[1]
        comp = cc.reshape(-1).take(at - y0 * w)
        n_col, n_reg = int(col.max()) + 1, regions.n + 1
        stroke_ids, stroke = np.unique(comp.astype(np.int64) * n_col + col, return_inverse=True)
        stroke = stroke.reshape(-1)
        # Main region of each stroke: its (stroke, region) pair with the most pixels (ink holds no stroke).
        pairs, count = np.unique((stroke * n_reg + reg)[reg > 0], return_counts=True)
        main = np.zeros(stroke_ids.size, np.int64)
        if pairs.size:  # else every stroke pixel lies on ink: no stroke has a main region
            order = np.lexsort((count, pairs // n_reg))
            last = order[np.r_[(pairs // n_reg)[order][1:] != (pairs // n_reg)[order][:-1], True]]
            main[pairs[last] // n_reg] = pairs[last] % n_reg
        keep = ~near | (reg == main[stroke])
        at, col, reg = at[keep], col[keep], reg[keep]
    on = reg > 0
    return at[on], reg[on], col[on]


def _region_hints(regions: Regions, reg: np.ndarray, col: np.ndarray, n_col: int,
                  cfg: FlatConfig) -> np.ndarray:
    """(n+1, L) bool: colour l is one of region r's hint colours (rule 2)."""
    count = np.bincount(reg.astype(np.int64) * n_col + col, minlength=(regions.n + 1) * n_col)
    count = count.reshape(regions.n + 1, n_col)
    total = count.sum(axis=1, keepdims=True)
    return (count >= cfg.min_pixels) & (count >= cfg.min_share * total)


def _split(regions: Regions, r: int, seeds: np.ndarray, tol: float, colours: np.ndarray, palette: np.ndarray,
           out: np.ndarray, cfg: FlatConfig) -> np.ndarray:
    """Graph-cut region r between its hint colours (rule 3), writing its pixels into out (H,W,3).

    seeds: (H,W) int32 colour id of each stroke pixel that counts, -1 elsewhere. Returns the pixel count per
    colour in `colours` (k,).
    """
    inside = regions.labels == r  # its box from one comparison: no scipy import on a colorize's path
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    active = inside[y0:y1, x0:x1]
    local = np.full(palette.shape[0], -1, np.int32)
    local[colours] = np.arange(colours.size)
    s = seeds[y0:y1, x0:x1]
    s = np.where(active & (s >= 0), local.take(np.maximum(s, 0)), -1).astype(np.int32)
    # Stroke pixels near a line weigh little (a user's scribble along an edge), as in LazyBrush.
    near = regions.dist[y0:y1, x0:x1] <= tol
    lam = np.where(s >= 0, np.where(near, cfg.near_line_ratio, cfg.lambda_ratio), 0.0).astype(np.float32)
    intensity = regions.intensity[y0:y1, x0:x1] / np.float32(255.0)
    k = cfg.k_factor * (active.shape[0] + active.shape[1])
    lab = potts_split(intensity, active, s, lam, colours.size, k, cfg.split_max_pixels, cfg.split_band)
    view = out[y0:y1, x0:x1]
    view[active] = palette[colours][lab[active]]
    return np.bincount(lab[active], minlength=colours.size)


def _neighbour_fill(regions: Regions, source: np.ndarray, colour: np.ndarray, todo: np.ndarray,
                    cfg: FlatConfig) -> None:
    """Rule 4, `neighbour`: rounds of 'take the colour of the coloured neighbour with the most outline'."""
    adj = regions.adjacency
    a = np.concatenate([adj.a, adj.b])
    b = np.concatenate([adj.b, adj.a])
    w = np.concatenate([adj.length, adj.length]) + cfg.open_bonus * np.concatenate([adj.open, adj.open])
    coloured = source != PAPER
    todo = todo.copy()
    while True:
        ok = coloured[a] & todo[b]
        if not ok.any():
            return
        src, dst, wt = a[ok], b[ok], w[ok]
        order = np.lexsort((-src, wt, dst))  # by target, then weight; ties go to the smaller region id
        last = np.flatnonzero(np.r_[dst[order][1:] != dst[order][:-1], True])
        pick_src, pick_dst = src[order][last], dst[order][last]
        colour[pick_dst] = colour[pick_src]
        source[pick_dst] = NEIGHBOUR
        coloured[pick_dst], todo[pick_dst] = True, False


# ------------------------------------------------------------------------------------------- main thing
def flat_colours(regions: Regions, hints: np.ndarray, config: FlatConfig | None = None,
                 proposal: np.ndarray | None = None, region_colours: np.ndarray | None = None) -> Flats:
    """The flat colour layer of a drawing's regions from hint strokes.

    hints: (H,W,4) float RGB in [0,1] + mask in {0,1}, or uint8 levels; proposal (for unhinted="model"): a model's
    colours, (H,W,3) float in [0,1], or already one colour per region, (n+1,3) (e.g. `region_medians` computed
    once for several uses); region_colours: (n+1,3) float in [0,1], NaN rows for none, colours for regions no hint
    reaches (rule 4: a reference frame's matched colours). Returns Flats; see the module doc for the rules.
    """
    cfg = config or FlatConfig()
    if cfg.unhinted not in UNHINTED:
        raise InkwashError(f"unhinted regions: {cfg.unhinted!r} is not one of {', '.join(UNHINTED)}")
    h, w = regions.shape
    hints = np.asarray(hints)
    if hints.shape != (h, w, 4):
        raise ValueError(f"hints of shape {hints.shape} for regions of shape {(h, w)}: expected {(h, w, 4)}")
    if cfg.unhinted == "model":
        if proposal is None:
            raise InkwashError("unhinted='model' needs a model's colours: pick a learned method, or leave unhinted "
                               "regions to 'neighbour' or 'paper'")
        if np.shape(proposal) not in ((h, w, 3), (regions.n + 1, 3)):
            raise ValueError(f"proposal of shape {np.shape(proposal)}: expected {(h, w, 3)} or {(regions.n + 1, 3)}")
    n = regions.n
    hint_at, hint_col, palette = stroke_colours(hints, cfg.colour_tolerance)
    tol = max(cfg.cross_tolerance, cfg.cross_tolerance * min(h, w) / 512.0)
    at, reg, col = _hint_pixels(regions, hint_at, hint_col, tol)

    region_colour = np.tile(WHITE, (n + 1, 1))
    source = np.full(n + 1, PAPER, np.uint8)
    split: list[int] = []
    if palette.shape[0]:
        has = _region_hints(regions, reg, col, palette.shape[0], cfg)
        k = has.sum(axis=1)
        one = np.flatnonzero(k == 1)
        region_colour[one] = palette[has[one].argmax(axis=1)]
        source[one] = HINTED
        split = np.flatnonzero(k > 1).tolist()
        source[split] = SPLIT

    if region_colours is not None:
        given = np.asarray(region_colours, np.float32)
        if given.shape != (n + 1, 3):
            raise ValueError(f"region_colours of shape {given.shape}: expected {(n + 1, 3)}")
        take = (source == PAPER) & ~np.isnan(given).any(axis=1)
        take[0] = False
        region_colour[take] = np.clip(given[take], 0.0, 1.0)
        source[take] = REFERENCE
    todo = (source == PAPER) & ~regions.border
    todo[0] = False
    if cfg.unhinted == "neighbour":
        _neighbour_fill(regions, source, region_colour, todo, cfg)
    elif cfg.unhinted == "model":
        proposal = np.asarray(proposal, np.float32)
        med = proposal if proposal.shape == (n + 1, 3) else region_medians(
            regions, proposal, margin_px(regions, cfg.line_margin), cfg.min_median_pixels)
        region_colour[todo] = med[todo]
        source[todo] = MODEL

    colour = region_colour.astype(np.float32).take(regions.nearest, axis=0)
    if split:
        kept = np.full(h * w, -1, np.int32)  # only the stroke pixels that count seed the cut
        kept[at] = col
        kept = kept.reshape(h, w)
        has_split = np.zeros(n + 1, bool)
        for r in split:
            colours = np.flatnonzero(has[r])
            sizes = _split(regions, r, kept, tol, colours, palette, colour, cfg)
            region_colour[r] = palette[colours[sizes.argmax()]]
            has_split[r] = True
        under_lines(regions, colour, only=has_split)
    return Flats(colour=colour, region_colour=region_colour.astype(np.float32), source=source,
                 paper=(source == PAPER).take(regions.nearest))
