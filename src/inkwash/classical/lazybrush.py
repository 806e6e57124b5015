"""LazyBrush (Sykora, Dingliana, Collins 2009): stroke-driven flat colour fill of a lineart by graph cuts.

Cited in the thesis' related work (III.1) as the classical tool artists use. The labelling c minimizes a
Potts energy on the 4-connected pixel grid

    E(c) = sum_{p,q} w_pq [c_p != c_q] + sum_p D_p(c_p),   w_pq = 1 + K min(I_p, I_q),   K = 2 (w + h)

so cutting across dark line pixels (I ~ 0) costs ~1 per edge and cutting white paper (I = 1) costs ~K.
Strokes are soft: D_p(c) = lambda [c != s_p] with lambda = 0.95 K, so a stray blob of stroke is dropped
when cutting around it costs more than ignoring it. A gap of g px is cut for ~g K, far less than flooding
a region, which is why small gaps do not leak.

Two additions of ours, each needed for what users expect of a bucket-fill tool:
- stroke pixels within `cross_tolerance` px of a line get a weak lambda: a stroke that slightly crosses a
  line carries no weight on the far side, so it cannot drag colour there;
- unhinted regions stay white: regions are found as connected cores of paper farther than ~max_gap/2 from
  any line (so gaps up to max_gap px close), and a core that no stroke reaches is seeded with a "paper"
  label; with fill_unhinted it is seeded with the colour of its nearest stroke instead.

Minimization is the paper's sequential scheme: order the labels, and for each solve one two-label cut
"this label vs the rest" on the still-unlabelled pixels (PyMaxflow). Large images are solved coarse to
fine: the cut runs on a min-pooled copy (lines stay dark), then again at full resolution only inside a
band around the coarse label boundaries, with the labels outside the band held fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import maxflow
import numpy as np

PAPER = np.ones(3, np.float32)  # colour of the unhinted "paper" label


@dataclass
class LazyBrushConfig:
    """LazyBrush parameters; the first two are Sykora et al. 2009, section 3 (thesis III.1 cites the paper)."""

    k_factor: float = 2.0  # K = k_factor * (w + h): paper cuts cost ~K per edge (Sykora 2009)
    lambda_ratio: float = 0.95  # stroke data term lambda = 0.95 K (Sykora 2009)
    near_line_ratio: float = 0.05  # lambda of stroke pixels near a line, as a fraction of K (ours, see module doc)
    cross_tolerance: float = 3.0  # px: stroke pixels this close to a line may be on the wrong side of it
    max_gap: float = 4.0  # px: gaps in lines up to about this size separate regions
    line_level: float = 0.5  # intensity below which a pixel counts as line for distances and regions
    colour_tolerance: float = 0.08  # hint colours closer than this (RGB distance in [0,1]) are one label
    max_labels: int = 250  # label ids must fit in uint8 for OpenCV's morphology
    coarse_max_side: int = 256  # solve at most this size first; 0 disables coarse-to-fine
    band: int = 2  # px of full-resolution refinement beyond one coarse pixel around boundaries
    fill_unhinted: bool = False  # unhinted regions take their nearest stroke's colour instead of white


# ---------------------------------------------------------------------------------------------- helpers
def stroke_labels(hints: np.ndarray, cfg: LazyBrushConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hints (H,W,4) -> (seeds (H,W) int32 label id or -1, palette (L,3) float32 in [0,1]).

    Colours are merged greedily from the most frequent, so anti-aliased or JPEG'd strokes give few labels.
    """
    mask = hints[..., 3] > 0.5
    seeds = np.full(mask.shape, -1, np.int32)
    if not mask.any():
        return seeds, np.zeros((0, 3), np.float32)
    q = (np.clip(hints[..., :3][mask], 0, 1) * 255.0 + 0.5).astype(np.int32)
    colours, inverse, counts = np.unique(q, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    centres: list[np.ndarray] = []
    assign = np.empty(len(colours), np.int32)
    tol = cfg.colour_tolerance * 255.0
    for i in np.argsort(-counts, kind="stable"):
        c = colours[i].astype(np.float32)
        if centres:
            d = np.linalg.norm(np.asarray(centres) - c, axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol or len(centres) >= cfg.max_labels:
                assign[i] = j
                continue
        centres.append(c)
        assign[i] = len(centres) - 1
    seeds[mask] = assign[inverse]
    return seeds, np.asarray(centres, np.float32) / 255.0


def _edge_weights(intensity: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """w_pq = 1 + K min(I_p, I_q) for right (H,W-1) and down (H-1,W) neighbours."""
    wx = 1.0 + k * np.minimum(intensity[:, :-1], intensity[:, 1:])
    wy = 1.0 + k * np.minimum(intensity[:-1, :], intensity[1:, :])
    return wx.astype(np.float64), wy.astype(np.float64)


def region_seeds(intensity: np.ndarray, seeds: np.ndarray, strength: np.ndarray, n_colours: int,
                 cfg: LazyBrushConfig) -> tuple[np.ndarray, np.ndarray]:
    """Add a seed to every paper region no stroke reaches: the paper label n_colours, or the nearest colour.

    intensity: (H,W) in [0,1]; seeds: (H,W) int32 (-1 none); strength: (H,W) lambda / K per seed.
    Returns new (seeds, strength); stroke seeds always win over region seeds.
    """
    paper = (intensity >= cfg.line_level).astype(np.uint8)
    dist = cv2.distanceTransform(paper, cv2.DIST_L2, 5)
    core = dist > max(cfg.max_gap / 2.0, 1.0) + 0.5
    n_cc, cc = cv2.connectedComponents(core.astype(np.uint8), connectivity=4)
    reach = (seeds >= 0) & core & (dist > cfg.cross_tolerance)
    hinted = np.zeros(n_cc, bool)
    hinted[np.unique(cc[reach])] = True
    hinted[0] = True  # label 0 of connectedComponents is "not core"
    if hinted.all():
        return seeds, strength
    fill = np.full(n_cc, n_colours, np.int32)
    if cfg.fill_unhinted:
        if n_colours == 0:
            return seeds, strength
        from scipy import ndimage  # 0.6 s to import: only this option needs it

        # Nearest stroke pixel of every pixel; an unhinted core takes the label of the stroke nearest to it.
        d_stroke, (iy, ix) = ndimage.distance_transform_edt(seeds < 0, return_indices=True)
        nearest = seeds[iy, ix]
        order = np.lexsort((d_stroke.reshape(-1), cc.reshape(-1)))  # by component, then distance
        first = np.searchsorted(cc.reshape(-1)[order], np.arange(n_cc))
        fill[1:] = nearest.reshape(-1)[order[first[1:]]]
    region = (~hinted[cc]) & (seeds < 0)
    seeds, strength = seeds.copy(), strength.copy()
    seeds[region] = fill[cc[region]]
    strength[region] = cfg.lambda_ratio
    return seeds, strength


def sequential_cut(intensity: np.ndarray, seeds: np.ndarray, strength: np.ndarray, n_labels: int, k: float,
                   active: np.ndarray | None = None, fixed: np.ndarray | None = None) -> np.ndarray:
    """Minimize the Potts energy by one two-label graph cut per label (Sykora 2009's sequential scheme).

    intensity: (H,W) in [0,1]; seeds: (H,W) int (-1 none); strength: (H,W) lambda / K of each seed;
    active: (H,W) bool pixels to label (all when None); fixed: (H,W) labels held outside `active`.
    Returns labels (H,W) int32 in [0, n_labels).
    """
    h, w = intensity.shape
    if active is None:
        active = np.ones((h, w), bool)
    if fixed is None:
        fixed = np.zeros((h, w), np.int32)
    labels = fixed.astype(np.int32).copy()
    n = int(active.sum())
    if n == 0:
        return labels
    idx = np.full((h, w), -1, np.int64)
    idx[active] = np.arange(n)
    wx, wy = _edge_weights(intensity, k)

    # Unary costs D (n, L): soft seeds, plus the Potts cost towards fixed neighbours (exact: their label is known).
    cost = np.zeros((n, n_labels), np.float64)
    s_act, lam = seeds[active], strength[active] * k
    has = s_act >= 0
    cost[has] += lam[has, None]
    cost[np.flatnonzero(has), s_act[has]] -= lam[has]
    present_mask = np.zeros(n_labels, bool)
    ei, ej, ew = [], [], []
    for a_sl, b_sl, wt in (((slice(None), slice(None, -1)), (slice(None), slice(1, None)), wx),
                           ((slice(None, -1), slice(None)), (slice(1, None), slice(None)), wy)):
        act_a, act_b = active[a_sl], active[b_sl]
        ia, ib = idx[a_sl], idx[b_sl]
        both = act_a & act_b
        ei.append(ia[both])
        ej.append(ib[both])
        ew.append(wt[both])
        for mine, other_act, mine_idx, other_lab in ((act_a, act_b, ia, fixed[b_sl]), (act_b, act_a, ib, fixed[a_sl])):
            edge = mine & ~other_act
            p, wv, lab = mine_idx[edge], wt[edge], other_lab[edge]
            np.add.at(cost, p, wv[:, None])
            np.add.at(cost, (p, lab), -wv)
            present_mask[lab] = True
    ei, ej, ew = np.concatenate(ei), np.concatenate(ej), np.concatenate(ew)

    # Only labels with a seed in the active set or a fixed neighbour can win; the paper label (last) goes last.
    present_mask[s_act[has]] = True
    present = np.flatnonzero(present_mask)
    if present.size == 0:
        present = np.array([n_labels - 1])
    out = np.full(n, int(present[-1]), np.int32)
    remaining = np.ones(n, bool)
    for t, c in enumerate(present[:-1]):
        r = np.flatnonzero(remaining)
        if r.size == 0:
            break
        loc = np.full(n, -1, np.int64)
        loc[r] = np.arange(r.size)
        cost_c = cost[r, c]
        cost_rest = cost[np.ix_(r, present[t + 1:])].min(axis=1)
        g = maxflow.Graph[float](r.size, ei.size)
        nodes = np.asarray(g.add_nodes(r.size)).reshape(-1)  # ids 0..m-1 in a fresh graph
        keep = remaining[ei] & remaining[ej]
        if keep.any():
            g.add_edges(loc[ei[keep]], loc[ej[keep]], ew[keep], ew[keep])
        base = np.minimum(cost_c, cost_rest)  # only differences matter; keeps capacities small and >= 0
        g.add_grid_tedges(nodes, cost_rest - base, cost_c - base)
        g.maxflow()
        is_c = ~g.get_grid_segments(nodes)  # source side = this label
        out[r[is_c]] = c
        remaining[r[is_c]] = False
    labels[active] = out
    return labels


def _downsample(intensity: np.ndarray, seeds: np.ndarray, strength: np.ndarray, s: int):
    """Min-pool the lineart (lines must stay dark) and keep each block's strongest seed. Shapes (H/s, W/s)."""
    h, w = intensity.shape
    hc, wc = -(-h // s), -(-w // s)
    pad = ((0, hc * s - h), (0, wc * s - w))

    def blocks(a: np.ndarray, fill) -> np.ndarray:  # (hc, wc, s*s): the pixels of each coarse block
        return np.pad(a, pad, constant_values=fill).reshape(hc, s, wc, s).transpose(0, 2, 1, 3).reshape(hc, wc, s * s)

    i_c = blocks(intensity, 1.0).min(axis=2)
    sb, lb = blocks(seeds, -1), blocks(strength, 0.0)
    score = np.where(sb >= 0, lb + 1.0, 0.0)
    pick = np.argmax(score, axis=2)[..., None]
    return i_c, np.take_along_axis(sb, pick, 2)[..., 0], np.take_along_axis(lb, pick, 2)[..., 0]


# ------------------------------------------------------------------------------------------- main thing
def lazybrush_labels(intensity: np.ndarray, hints: np.ndarray, config: LazyBrushConfig | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Label every pixel with a hint colour or paper.

    intensity: (H,W) float in [0,1], 1 = paper; hints: (H,W,4) RGB in [0,1] + mask in [0,1].
    Returns (labels (H,W) int32, palette (L,3) float32 in [0,1]) with palette[labels] the flat colour layer.
    """
    cfg = config or LazyBrushConfig()
    intensity = np.clip(np.asarray(intensity, np.float32), 0.0, 1.0)
    h, w = intensity.shape
    if hints.shape[:2] != (h, w):
        raise ValueError(f"hints {hints.shape[:2]} and lineart {(h, w)} differ in size")
    seeds, palette = stroke_labels(hints, cfg)
    n_col = len(palette)
    palette = np.concatenate([palette, PAPER[None]], axis=0)  # paper is the last label
    if n_col == 0:
        return np.full((h, w), 0, np.int32), palette
    # Stroke confidence falls near lines: a slight crossing must not pull colour to the far side.
    dist = cv2.distanceTransform((intensity >= cfg.line_level).astype(np.uint8), cv2.DIST_L2, 5)
    strength = np.where(dist > cfg.cross_tolerance, cfg.lambda_ratio, cfg.near_line_ratio).astype(np.float32)
    strength[seeds < 0] = 0.0
    seeds, strength = region_seeds(intensity, seeds, strength, n_col, cfg)
    n_labels = n_col + 1

    s = math.ceil(max(h, w) / cfg.coarse_max_side) if cfg.coarse_max_side > 0 else 1
    if s <= 1:
        return sequential_cut(intensity, seeds, strength, n_labels, cfg.k_factor * (w + h)), palette
    i_c, s_c, l_c = _downsample(intensity, seeds, strength, s)
    coarse = sequential_cut(i_c, s_c, l_c, n_labels, cfg.k_factor * sum(i_c.shape))
    up = np.repeat(np.repeat(coarse, s, axis=0), s, axis=1)[:h, :w].astype(np.int32)
    # Refine where the coarse answer may be wrong: near its boundaries and where a strong seed disagrees.
    r = s + cfg.band
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1))
    up8 = up.astype(np.uint8)
    active = cv2.dilate(up8, kernel) != cv2.erode(up8, kernel)
    disagree = ((seeds >= 0) & (seeds != up) & (strength >= cfg.lambda_ratio)).astype(np.uint8)
    active |= cv2.dilate(disagree, kernel).astype(bool)
    return sequential_cut(intensity, seeds, strength, n_labels, cfg.k_factor * (w + h), active, up), palette


def lazybrush(intensity: np.ndarray, hints: np.ndarray, config: LazyBrushConfig | None = None) -> np.ndarray:
    """Flat colour layer of a lineart from hint strokes.

    intensity: (H,W) float in [0,1], 1 = paper; hints: (H,W,4) in [0,1]. Returns flat: (H,W,3) float32 in
    [0,1], white where unhinted (unless config.fill_unhinted).
    """
    labels, palette = lazybrush_labels(intensity, hints, config)
    return palette[labels]


class LazyBrushModel:
    """`--model lazybrush` for `inkwash.infer.Colorizer`: a flat fill at the lineart's own resolution, no weights.

    solver "regions" (default): the pipeline's region engine (inkwash.regions: gap-closed regions, hints per
    region, a graph cut only inside regions with several hint colours, a policy for unhinted regions); this model
    then only says so (`fill_only`). solver "classic": the whole-image LazyBrush of Sykora et al. 2009 as above,
    with `LazyBrushConfig`'s options (what inkwash did before the region engine). Deterministic: no seed.
    """

    resolution, multiple, hint_scale = None, 1, 1  # the full-resolution lineart and hints, no padding
    lines_over, paints_lines, proposes = True, False, False  # a flat layer under the lines; no colour of its own

    def __init__(self, weights: object = None, solver: str = "regions", **options: object):
        from inkwash.errors import InkwashError

        if weights is not None:
            raise InkwashError("lazybrush has no weights; use --model lazybrush without a path")
        if solver not in ("regions", "classic"):
            raise InkwashError(f"lazybrush solver {solver!r}: use regions (default) or classic")
        if options and solver != "classic":
            raise InkwashError(f"lazybrush: {', '.join(sorted(options))} apply to solver=classic (the whole-image "
                               "LazyBrush); the region engine takes --gap and --unhinted")
        self.solver = solver
        self.fill_only = solver == "regions"
        try:
            self.config = LazyBrushConfig(**options)  # type: ignore[arg-type]
        except TypeError as exc:
            raise InkwashError(f"lazybrush: unknown option ({exc})") from None

    def run(self, canvas, seed: int | None = None) -> np.ndarray:
        """canvas.lines (H,W) in [0,1], canvas.hints (H,W,4) -> the flat colour layer (H,W,3) in [0,1]."""
        return lazybrush(canvas.lines, canvas.hints, self.config)
