"""Regions of a new frame -> the colours of the matching regions of coloured references.

For one reference (a key drawing, or the previous coloured frame of a sequence):
1. correspondence (align.py): every new pixel's place in the reference;
2. votes: each new region's pixels away from its lines, plus its most interior point, land in reference regions.
   A landing point also votes, less, for the regions a few px around it (weights exp(-d^2 / 2 spread^2)): an
   alignment a few px off must still find a key of a keyboard, not only the board around it. Each pixel weighs
   min(distance to ink, cap): a region's middle is surer than its rim. v[j, i] = the share of new region j's votes
   that reference region i gets;
3. fit of the pair: f[j, i] = exp(-area_weight * |log(k A_j / A_i)|), k the area scale of the alignment: a region
   must land in a region of about its size, so a new shape drawn inside a big region (a mouth on a face) does not
   take the face's colour; a new region larger than its partner pays half (area_weight_larger): the reference's
   region may be cut by a line the new frame lacks (extracted lines catch texture strokes); s = v * f;
4. graph consistency, a few rounds of relaxation: a pair (j, i) whose neighbours match neighbours of i is kept,
       s'[j, i] = s[j, i] * (gamma + support[j, i]) / (gamma + 1),
       support[j, i] = sum_{j' ~ j} w[j, j'] sum_{i' ~ i} p[j', i'] / sum_{j' ~ j} w[j, j'],
   p the row-normalised scores and w the outline length shared by j and j';
5. colours, not regions, are decided: P[j, c] = sum of p[j, i] * trust[i] over the reference regions i of colour
   c, so two eyes of one colour that swap places still give the right colour; likewise the evidence
   V[j, c] = sum v[j, i] trust[i] and the fit F[j, c] = sum v f trust / V (the vote-weighted fit of the colour).
   Several references add theirs, each weighted by its weight times the correlation of its aligned lines.
A region takes its best colour when P leads the second colour's by min_margin, F >= min_fit and V >= min_evidence;
otherwise it is left to the unhinted policy (FlatConfig.unhinted) like any region no hint reaches. A region on
the image border whose best colour is white is the page: it stays paper, as flats leave unhinted border regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, sparse

from inkwash.reference.align import AlignConfig, Correspondence, correspond
from inkwash.regions.engine import Regions
from inkwash.regions.stats import margin_px, region_medians


@dataclass(frozen=True)
class MatchConfig:
    """How regions are matched and when a match is trusted."""

    align: AlignConfig = field(default_factory=AlignConfig)
    line_margin: float = 1.5  # px at 512 px: votes and colour medians skip anti-aliased line edges
    vote_cap_at_512: float = 6.0  # px: a pixel's vote weighs min(distance to ink, cap): the rim counts less
    spread_at_512: float = 4.0  # px: landing points also vote for regions this far around (alignment error)
    area_weight: float = 0.7  # fit of a new region smaller than its partner: exp(-0.7 |log ratio|), 1/10: 0.2
    area_weight_larger: float = 0.35  # ... larger: milder, a reference region cut by an extra line still fits
    relax_rounds: int = 3
    relax_gamma: float = 0.5  # a pair none of whose neighbours agree keeps 1/3 of its score
    min_margin: float = 0.15  # the best colour's share must lead the second's by this much
    min_fit: float = 0.3  # ... its regions fit in size (0.3: within ~5x; a new shape inside a big region fails)
    min_evidence: float = 0.1  # ... and get at least this share of the votes
    candidates: int = 8  # reference regions kept per new region (by score), the rest are noise
    min_alignment_weight: float = 0.05  # several references weigh weight x alignment correlation, at least this
    paper_level: float = 0.96  # a colour with every channel above this is paper


@dataclass
class Reference:
    """A coloured drawing to take colours from: its regions and a colour per region.

    regions: of the reference lineart (its own size); colour: (n+1,3) float32 in [0,1]; trust: (n+1,) float32
    in [0,1], how sure each colour is (1 for a key drawing; a previous frame's matched regions their confidence);
    weight: this reference's say against the others.
    """

    regions: Regions
    colour: np.ndarray
    trust: np.ndarray
    weight: float = 1.0
    lines: np.ndarray | None = None  # (H,W) float32 in [0,1]: the lineart the regions came from

    @classmethod
    def from_colours(cls, lines: np.ndarray, regions: Regions, coloured: np.ndarray, trust: np.ndarray | None = None,
                     weight: float = 1.0, line_margin: float = 1.5) -> "Reference":
        """Region colours = median of coloured (H,W,3) in [0,1] over each region's pixels away from its lines."""
        coloured = np.asarray(coloured, np.float32)
        colour = region_medians(regions, coloured, margin_px(regions, line_margin), 16)
        _page_colours(regions, coloured, colour)
        t = np.ones(regions.n + 1, np.float32) if trust is None else np.array(trust, np.float32)
        t[0] = 0.0
        return cls(regions, colour, t, weight, np.asarray(lines, np.float32))


def _page_colours(regions: Regions, coloured: np.ndarray, colour: np.ndarray, min_pixels: int = 8) -> None:
    """A region on the image border takes the colour its pixels *on the border* have (in place): the page's. An
    open outline joins a drawing's body to the page around it; the median over the whole region is then the
    body's colour, and a match would paint the page with it. A painted background, or a body cut by the frame,
    has that colour on the border too and keeps it."""
    lab = regions.labels
    edge = np.concatenate([lab[0], lab[-1], lab[1:-1, 0], lab[1:-1, -1]])
    rgb = np.concatenate([coloured[0], coloured[-1], coloured[1:-1, 0], coloured[1:-1, -1]])
    keep = edge > 0
    edge, rgb = edge[keep], rgb[keep]
    if not edge.size:
        return
    order = np.argsort(edge, kind="stable")
    edge, rgb = edge[order], rgb[order]
    ids, start, count = np.unique(edge, return_index=True, return_counts=True)
    for r, a, c in zip(ids, start, count):
        if c >= min_pixels:
            colour[r] = np.median(rgb[a:a + c], axis=0)


@dataclass
class Match:
    """What the references say about each region of a new frame (arrays indexed by region id 0..n).

    region_colour: (n+1,3) float32 in [0,1], NaN for regions with no confident match (row 0, ink, is NaN);
    confidence: (n+1,) float32 in [0,1], the best colour's share minus the second's; score: (n+1,) float32 in
    [0,1], the best colour's fit (F); ref_region: (n+1,) int32, the best region of the first reference (0 = none);
    palette: (k,3) float32, the distinct colours of the references; colour_id: (n+1,) int32 into palette (-1 =
    none); alignment: correlation of each reference's aligned lines in [-1, 1].
    """

    region_colour: np.ndarray
    confidence: np.ndarray
    score: np.ndarray
    ref_region: np.ndarray
    palette: np.ndarray
    colour_id: np.ndarray
    alignment: list[float]
    source: np.ndarray | None = None  # (n+1,) uint8 SOURCES codes of the flats that used it (set by the pipeline)

    @property
    def matched(self) -> np.ndarray:
        """(n+1,) bool: regions that take a reference colour."""
        return ~np.isnan(self.region_colour[:, 0])

    def unmatched(self, regions: Regions, include_border: bool = False) -> np.ndarray:
        """Ids of regions with no confident match (border regions, the paper around a drawing, left out)."""
        miss = ~self.matched
        miss[0] = False
        if not include_border:
            miss &= ~regions.border
        return np.flatnonzero(miss)


# ---------------------------------------------------------------------------------------------- helpers
def interior_points(regions: Regions, stride: int = 1) -> np.ndarray:
    """(n+1, 2) int64 (x, y) of each region's pixel farthest from ink (its most interior point), searched on every
    `stride`-th pixel; a region the grid misses gets the middle of its bounding box."""
    pts = np.zeros((regions.n + 1, 2), np.int64)
    if regions.n == 0:
        return pts
    box = regions.bbox.astype(np.int64)
    pts[:, 0], pts[:, 1] = (box[:, 1] + box[:, 3] - 1) // 2, (box[:, 0] + box[:, 2] - 1) // 2
    lab = regions.labels[::stride, ::stride]
    pos = ndimage.maximum_position(regions.dist[::stride, ::stride], lab, np.arange(1, regions.n + 1))
    hit = np.bincount(lab.ravel(), minlength=regions.n + 1)[1:] > 0
    found = np.asarray(pos, np.int64).reshape(-1, 2)[:, ::-1] * stride
    pts[1:][hit] = found[hit]
    return pts


def _samples(regions: Regions, corr: Correspondence, margin: float, cap: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vote samples of the new frame: (xy (P,2) full-res, region (P,), weight (P,)): every other work pixel,
    then one interior point per region (the last n)."""
    h, w = regions.shape
    step = max(1, int(round(2.0 / corr.new.scale)))
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    lab = regions.labels[ys, xs]
    d = regions.dist[ys, xs]
    keep = (lab > 0) & (d > margin)
    pts = interior_points(regions, step)
    idx = np.arange(1, regions.n + 1)
    xy = np.concatenate([np.stack([xs[keep], ys[keep]], axis=1).astype(np.float64), pts[1:]])
    reg = np.concatenate([lab[keep], idx]).astype(np.int64)
    dint = regions.dist[pts[1:, 1], pts[1:, 0]] if regions.n else np.zeros(0)
    wt = np.minimum(np.concatenate([d[keep], dint]), cap) / cap
    wt[-regions.n:] = np.maximum(wt[-regions.n:], 0.5) if regions.n else wt[-regions.n:]
    return xy, reg, wt.astype(np.float64)


def _offsets(spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Landing offsets (K,2) px and their weights (K,): the point, and rings at spread and 2 spread."""
    ang = np.arange(8) * (np.pi / 4)
    ring = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    off = np.concatenate([np.zeros((1, 2)), ring * spread, ring * 2 * spread])
    return off, np.exp(-(off ** 2).sum(axis=1) / (2 * spread * spread))


def _votes(new: Regions, ref: Regions, corr: Correspondence, cfg: MatchConfig) -> sparse.csr_matrix:
    """(n+1, m+1) weighted votes V[j, i] of new regions for reference regions (column 0: off the reference)."""
    margin = margin_px(new, cfg.line_margin)
    cap = max(1.0, cfg.vote_cap_at_512 * min(new.shape) / 512.0)
    xy, reg, wt = _samples(new, corr, margin, cap)
    q = corr.to_reference(xy)
    off, g = _offsets(max(1.0, cfg.spread_at_512 * min(ref.shape) / 512.0))
    # Grid samples take the offsets in turn (a dither: a big region's votes still spread the same on average);
    # interior points, all of a small region's say, take every offset.
    grid = reg.size - new.n
    k = np.arange(grid) % len(off)
    pts = np.repeat(np.arange(grid, reg.size), len(off))
    kp = np.tile(np.arange(len(off)), new.n)
    src = np.concatenate([np.arange(grid), pts])
    kk = np.concatenate([k, kp])
    x = np.rint(q[src, 0] + off[kk, 0]).astype(np.int64)
    y = np.rint(q[src, 1] + off[kk, 1]).astype(np.int64)
    hr, wr = ref.shape
    inside = (x >= 0) & (x < wr) & (y >= 0) & (y < hr)
    target = np.zeros(src.size, np.int64)
    target[inside] = ref.nearest[y[inside], x[inside]]
    # a grid sample's one offset stands for all of them: its weight is the offsets' mean
    gw = np.where(src < grid, g.mean(), g[kk])
    return sparse.csr_matrix((wt[src] * gw, (reg[src], target)), shape=(new.n + 1, ref.n + 1))


def _row_normalise(m: sparse.csr_matrix) -> sparse.csr_matrix:
    total = np.asarray(m.sum(axis=1)).ravel()
    inv = np.where(total > 0, 1.0 / np.maximum(total, 1e-12), 0.0)
    return sparse.csr_matrix(sparse.diags(inv) @ m)


def _adjacency(regions: Regions, weighted: bool) -> sparse.csr_matrix:
    adj = regions.adjacency
    w = adj.length.astype(np.float64) if weighted else np.ones(adj.a.size)
    return adj.matrix(regions.n, w)


def _top_k(rows: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """bool (E,): the entries among the k highest scores of their row."""
    order = np.lexsort((-score, rows))
    r = rows[order]
    start = np.r_[0, np.flatnonzero(r[1:] != r[:-1]) + 1]
    rank = np.arange(r.size) - np.repeat(start, np.diff(np.r_[start, r.size]))
    keep = np.zeros(rows.size, bool)
    keep[order[rank < k]] = True
    return keep


def pair_scores(new: Regions, ref: Regions, corr: Correspondence, cfg: MatchConfig
                ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(v, f): (n+1, m+1) vote shares and size fits of steps 2-3 (module doc) on the same candidate pairs; row 0,
    column 0 (off the reference, ink) empty."""
    share = _row_normalise(_votes(new, ref, corr, cfg)).tocoo()
    keep = (share.row > 0) & (share.col > 0)
    j, i, v = share.row[keep], share.col[keep], share.data[keep]
    ratio = np.log(np.maximum(new.area[j] * corr.area_scale(), 1.0) / np.maximum(ref.area[i], 1.0))
    f = np.exp(-np.where(ratio < 0, cfg.area_weight, cfg.area_weight_larger) * np.abs(ratio))
    top = _top_k(j, v * f, cfg.candidates)
    shape = (new.n + 1, ref.n + 1)
    return (sparse.csr_matrix((v[top], (j[top], i[top])), shape=shape),
            sparse.csr_matrix((f[top], (j[top], i[top])), shape=shape))


def relax(scores: sparse.csr_matrix, new: Regions, ref: Regions, cfg: MatchConfig) -> sparse.csr_matrix:
    """Step 4 (module doc): scores reweighted by how well each pair's neighbours match each other's."""
    wn = _row_normalise(_adjacency(new, weighted=True))
    ar = _adjacency(ref, weighted=False)
    mask = scores.copy()
    mask.data[:] = 1.0
    s = scores
    for _ in range(cfg.relax_rounds):
        support = (wn @ _row_normalise(s) @ ar).multiply(mask)  # only at candidate pairs
        s = sparse.csr_matrix(scores.multiply(support + mask * cfg.relax_gamma) / (cfg.relax_gamma + 1.0))
    return s


# ------------------------------------------------------------------------------------------- main thing
def reference_scores(new: Regions, lines_new: np.ndarray, reference: Reference, cfg: MatchConfig
                     ) -> tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix, float]:
    """(v, f, relaxed s) (n+1, m+1) of a new frame's regions against one reference, and its alignment score."""
    if reference.lines is None:
        raise ValueError("a Reference needs its lines to be aligned with a new frame")
    corr = correspond(lines_new, reference.lines, cfg.align, new, reference.regions)
    v, f = pair_scores(new, reference.regions, corr, cfg)
    return v, f, relax(v.multiply(f).tocsr(), new, reference.regions, cfg), corr.score


def _colour_keys(colour: np.ndarray) -> np.ndarray:
    q = (np.clip(colour, 0, 1) * 255.0 + 0.5).astype(np.int64)
    return (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]


def match_regions(new: Regions, lines_new: np.ndarray, references: list[Reference],
                  config: MatchConfig | None = None) -> Match:
    """Colours for the regions of a new frame (new, from lines_new (H,W) in [0,1]) from coloured references.

    See the module doc. Regions with no confident match get NaN colours (left to the unhinted policy).
    """
    cfg = config or MatchConfig()
    n = new.n
    keys = np.unique(np.concatenate([_colour_keys(r.colour[1:]) for r in references] + [np.zeros(0, np.int64)]))
    palette = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1).astype(np.float32) / 255.0
    share = np.zeros((n + 1, keys.size))  # P: relaxed, trust-weighted colour shares
    evidence = np.zeros((n + 1, keys.size))  # V
    fitted = np.zeros((n + 1, keys.size))  # V * F
    total_weight = 0.0
    ref_region = np.zeros(n + 1, np.int32)
    alignment = []
    for k, ref in enumerate(references):
        v, f, s, corr_score = reference_scores(new, lines_new, ref, cfg)
        alignment.append(corr_score)
        col = np.searchsorted(keys, _colour_keys(ref.colour))  # colour id of each reference region
        to_colour = sparse.csr_matrix((ref.trust.astype(np.float64), (np.arange(ref.regions.n + 1), col)),
                                      shape=(ref.regions.n + 1, keys.size))
        # a reference whose lines align better has more say (the previous frame, usually, over a distant key)
        weight = ref.weight * float(np.clip(corr_score, cfg.min_alignment_weight, 1.0))
        share += weight * (_row_normalise(s) @ to_colour).toarray()
        evidence += weight * (v @ to_colour).toarray()
        fitted += weight * (v.multiply(f) @ to_colour).toarray()
        total_weight += weight
        if k == 0:
            best = np.asarray(s.argmax(axis=1)).ravel()
            has = np.asarray(s.max(axis=1).toarray()).ravel() > 0
            ref_region = np.where(has, best, 0).astype(np.int32)
    share /= max(total_weight, 1e-12)
    evidence /= max(total_weight, 1e-12)
    fitted /= max(total_weight, 1e-12)
    colour_id = np.full(n + 1, -1, np.int32)
    confidence = np.zeros(n + 1, np.float32)
    score = np.zeros(n + 1, np.float32)
    if keys.size:
        order = np.argsort(-share, axis=1)
        first = order[:, 0]
        rows = np.arange(n + 1)
        second = share[rows, order[:, 1]] if keys.size > 1 else np.zeros(n + 1)
        confidence = (share[rows, first] - second).astype(np.float32)
        ev = evidence[rows, first]
        score = (fitted[rows, first] / np.maximum(ev, 1e-12)).astype(np.float32)
        ok = (confidence >= cfg.min_margin) & (score >= cfg.min_fit) & (ev >= cfg.min_evidence)
        # the page around a drawing matched to white paper stays paper (a learned model leaves it unshaded)
        white = palette.min(axis=1) >= cfg.paper_level
        ok &= ~(new.border & white[first])
        ok[0] = False
        colour_id = np.where(ok, first, -1).astype(np.int32)
    region_colour = np.full((n + 1, 3), np.nan, np.float32)
    got = colour_id >= 0
    region_colour[got] = palette[colour_id[got]]
    return Match(region_colour, np.clip(confidence, 0, 1), score, ref_region, palette, colour_id, alignment)
