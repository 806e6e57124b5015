"""The drawing's regions: ink mask, gap-tolerant region labels, region adjacency graph, nearest region under lines.

A region is an area of paper enclosed by ink, where a gap in the ink narrower than `gap` px counts as closed.
The closure is virtual: gap pixels stay paper and belong to one of the regions on either side.

How (a trapped ball, in the manner of the "close gap" fills of Krita and MyPaint, computed in one flood):
1. D = distance of every paper pixel to the nearest ink pixel. A ball of radius r fits at p when D(p) > r.
2. Cores: connected components of {D > R}, R = gap/2 + 0.5. An opening of g px has D <= (g+1)/2 in it, so no
   core passes through a gap of at most `gap` px, and two areas joined only through one stay two cores.
3. Thin parts, where no ball of radius R fits (a strip between double lines, a spiral's channel), get one
   marker per local maximum of D. A priority flood from all markers over paper, widest passages first (the
   image foresting transform with the bottleneck D as path cost), gives each paper pixel the marker it reaches
   through the widest passage: basins of D, split at their saddles.
4. Basins are merged in decreasing order of their saddle height s (Kruskal), like a hierarchical watershed:
   a basin of height h stays its own region only when h >= thin_ratio * s and h - s >= thin_margin, i.e. it is
   clearly wider than the passage joining it to its neighbour (a thin region behind a narrow gap), and two cores
   never merge (their passage is a closed gap). So thin regions keep their own label without a second radius.
5. Paper specks smaller than `min_area` (noise where lines cross) join the neighbour they share most outline with.
6. Every pixel gets its nearest region (the Voronoi cell inside ink), so colour can go under the lines, and
   regions whose cells touch inside ink no thicker than a few line widths are neighbours.

A neck narrower than the gap looks like a gap: a region pinched narrower than `gap` (a bulb-ended toe) becomes
two regions joined by an "open" boundary (Adjacency.open); flats' neighbour policy favours such boundaries.
Large gaps (core radius R >= 2 coarse_radius, e.g. 2048 px and up) run steps 2-4 on a copy f = R // coarse_radius
times smaller (a coarse pixel is paper when its whole block is) and fill only the band the coarse regions leave
near ink and near each other at full resolution, breadth first over paper: the widest-path flood is cache-bound
(~3x a breadth-first one) and resolving a 64 px gap needs no 1 px precision. Strips narrower than ~f px that
are not closed off by ink then join the region they open onto.

Automatic gap (RegionConfig.gap = None), with s = max(1, short side / 512) and w the measured line width:
    gap = clip(gap_per_width * w, gap_min_at_512 * s, gap_max_at_512 * s)
At 512 px with 2-6 px lines that is 8-9 px (gaps of 1-8 px close); the same drawing at 2x gets twice the gap.
The line width is 2 m - 0.5, m the median over the ink's medial pixels (local maxima) of their distance to paper.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import cv2
import numpy as np

from inkwash.errors import InkwashError

_NEIGHBOURS_4 = ((0, 1), (1, 0))  # right and down: each unordered 4-neighbour pair once


@dataclass(frozen=True)
class RegionConfig:
    """How lines become regions. Lengths in px; `*_at_512` values scale with the short side / 512."""

    gap: float | None = None  # px: gaps in the ink up to this wide are closed; None = automatic, 0 = none
    ink_level: float = 0.5  # intensity below which a pixel is ink (as LazyBrush's line_level)
    # automatic gap: 1.5 line widths, at least 8 px and at most 12 px at 512. Measured on the outline test split
    # (87 real drawings, hand-like hints): 3 widths capped at 24 px split thick-lined drawings at their necks
    # (colour error 6.2 against 5.1); both leave less paper flooded than the earlier fixed 4 px
    gap_per_width: float = 1.5
    gap_min_at_512: float = 8.0  # automatic gap floor: closes 1-8 px gaps of a 512 px drawing with 2 px lines
    gap_max_at_512: float = 12.0  # automatic gap cap: thick lines would otherwise split every neck
    thin_ratio: float = 1.5  # a thin part is its own region when >= 1.5x as wide as its opening (step 4)
    thin_margin: float = 1.0  # ... and at least 1 px wider (in D): a strip's width wobbles by a pixel
    min_area_at_512: float = 6.0  # px^2 (scaled with the area): smaller paper specks join a neighbour
    adjacency_widths: float = 3.0  # regions separated by ink up to 3 line widths (+2 px) thick are neighbours
    coarse_radius: float = 8.0  # px: bigger core radii are resolved on an f x smaller copy (speed); 0 = never


@dataclass
class Adjacency:
    """Region adjacency graph: one row per neighbouring pair a < b (region ids, 1..n)."""

    a: np.ndarray  # (E,) int32
    b: np.ndarray  # (E,) int32
    length: np.ndarray  # (E,) int64 px of shared outline (4-neighbour pixel pairs on the cell boundary)
    open: np.ndarray  # (E,) int64 px of it with no ink between them (a gap closure or a neck)

    def matrix(self, n: int, weights: np.ndarray | None = None):
        """Symmetric (n+1, n+1) scipy.sparse csr matrix of `weights` (default: shared length) between regions."""
        from scipy import sparse  # on use: importing scipy costs a fifth of a second of every colorize's start

        w = self.length if weights is None else weights
        m = sparse.coo_matrix((np.concatenate([w, w]).astype(np.float64),
                               (np.concatenate([self.a, self.b]), np.concatenate([self.b, self.a]))),
                              shape=(n + 1, n + 1))
        return m.tocsr()


@dataclass
class Regions:
    """A drawing's regions. Region 0 is ink; every paper pixel belongs to one region 1..n. Arrays are read-only."""

    labels: np.ndarray  # (H,W) int32: 0 = ink, 1..n = region of the paper pixel
    n: int  # number of regions
    area: np.ndarray  # (n+1,) int64 pixel counts, area[0] = ink
    border: np.ndarray  # (n+1,) bool: the region touches the image border (paper around the drawing)
    adjacency: Adjacency
    nearest: np.ndarray  # (H,W) int32: region of the nearest paper pixel (= labels on paper)
    nearest_pixel: np.ndarray  # (H,W) int32: flat index of the nearest paper pixel (itself on paper)
    dist: np.ndarray  # (H,W) float32: distance of a paper pixel to the nearest ink pixel, 0 on ink
    intensity: np.ndarray  # (H,W) uint8: the lines it was computed from, 255 = paper
    gap: float  # px, the gap actually used
    line_width: float  # px, measured (0 when there is no ink)
    key: str  # content hash of the lines and the config
    config: RegionConfig = field(default_factory=RegionConfig)
    _bbox: np.ndarray | None = field(default=None, repr=False)

    @property
    def bbox(self) -> np.ndarray:
        """(n+1, 4) int32 (y0, x0, y1, x1) end-exclusive box of each region's paper, computed on first use."""
        if self._bbox is None:
            box = _bboxes(self.labels, self.n)
            box.flags.writeable = False
            self._bbox = box
        return self._bbox

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def neighbours(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Regions adjacent to region r and the outline length shared with each: ((k,) int32, (k,) int64)."""
        adj = self.adjacency
        at_a, at_b = adj.a == r, adj.b == r
        return (np.concatenate([adj.b[at_a], adj.a[at_b]]),
                np.concatenate([adj.length[at_a], adj.length[at_b]]))

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.labels, self.nearest, self.nearest_pixel, self.dist, self.intensity))


# ---------------------------------------------------------------------------------------------- helpers
def region_key(intensity: np.ndarray, config: RegionConfig) -> str:
    """Content hash of uint8 lines (`lines_u8`, all that regions depend on) + shape + config: a cache key."""
    a = np.ascontiguousarray(intensity)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((a.shape, a.dtype.str, dataclasses.astuple(config))).encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def line_width(ink_dist: np.ndarray, ink: np.ndarray) -> float:
    """Typical stroke width in px: 2 m - 0.5, m the median distance to paper of the ink's medial pixels.

    A line w px across has medial pixels at m = (w+1)/2 (w odd) or w/2 (w even): 2 m - 0.5 is within 0.5 px.

    ink_dist: (H,W) float32 distance of ink pixels to the nearest paper pixel (0 on paper); ink: (H,W) bool.
    """
    if not ink.any():
        return 0.0
    ridge = ink & (ink_dist >= cv2.dilate(ink_dist, np.ones((3, 3), np.uint8)))
    return float(2.0 * np.median(ink_dist[ridge]) - 0.5)


def auto_gap(width: float, shape: tuple[int, int], cfg: RegionConfig) -> float:
    """The automatic gap in px (module doc): a few line widths, bounded by the image size (never below 8 px: a
    small drawing's gaps are not smaller than a hand leaves them)."""
    s = max(1.0, min(shape) / 512.0)
    return float(np.clip(cfg.gap_per_width * width, cfg.gap_min_at_512 * s, cfg.gap_max_at_512 * s))


def _pairs(lab: np.ndarray, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (p, q) of 4-neighbour pixel pairs with different labels (both kept when `keep` is given)."""
    h, w = lab.shape
    ps, qs = [], []
    for dy, dx in _NEIGHBOURS_4:
        a, b = lab[: h - dy, : w - dx], lab[dy:, dx:]
        diff = a != b
        if keep is not None:
            diff &= keep[: h - dy, : w - dx] & keep[dy:, dx:]
        yy, xx = np.nonzero(diff)
        p = (yy * w + xx).astype(np.int64)
        ps.append(p)
        qs.append(p + dy * w + dx)
    return np.concatenate(ps), np.concatenate(qs)


def _group_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unordered label pairs -> (lo, hi, count, inverse): unique pairs lo < hi and which pair each input is."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    keys, inverse, count = np.unique(lo * (n + 1) + hi, return_inverse=True, return_counts=True)
    return (keys // (n + 1)).astype(np.int32), (keys % (n + 1)).astype(np.int32), count, inverse.reshape(-1)


def _fill_from_neighbours(labels: np.ndarray, todo: np.ndarray, rounds: int = 16) -> np.ndarray:
    """Give each `todo` pixel the label of a 4-neighbour with a positive label, in place. Returns those left."""
    h, w = labels.shape
    flat = labels.reshape(-1)
    idx = np.flatnonzero(todo)
    for _ in range(rounds):
        if idx.size == 0:
            break
        y, x = np.divmod(idx, w)
        got = np.zeros(idx.size, np.int32)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            yy, xx = y + dy, x + dx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w) & (got <= 0)
            cand = flat[yy[ok] * w + xx[ok]]
            got[ok] = cand
        done = got > 0
        flat[idx[done]] = got[done]
        if done.sum() == 0:
            break
        idx = idx[~done]
    return idx


def _flood(markers: np.ndarray, dist: np.ndarray | None = None, radius: float = 1.0) -> np.ndarray:
    """Flood markers over paper: widest passages first given dist, else breadth first. Returns (H,W) int32, -1
    where two floods met.

    markers: (H+2,W+2) int32 padded by one pixel of -1 (cv2.watershed overwrites the frame), -1 = ink (never
    flooded), 0 = paper to fill, > 0 = marker; overwritten. dist: (H,W) float32 D.
    OpenCV's watershed floods by the colour difference between a pixel and the neighbour it is reached from;
    a checkerboard image (cost on one parity, 0 on the other) turns that into a cost per pixel, so the flood
    is the bottleneck (widest-path) transform of D at 255 levels. A blank image gives breadth first.
    """
    h, w = markers.shape[0] - 2, markers.shape[1] - 2
    img = np.zeros((h + 2, w + 2, 3), np.uint8)
    if dist is not None:
        cost = cv2.threshold(dist, radius, radius, cv2.THRESH_TRUNC)[1]
        cost = cv2.convertScaleAbs(cost, alpha=-254.0 / radius, beta=254.0)  # 0 at D >= radius, 254 at D = 0
        checker = np.tile(np.array([[255, 0], [0, 255]], np.uint8), (h // 2 + 1, w // 2 + 1))
        np.bitwise_and(cost, checker[:h, :w], out=img[1:-1, 1:-1, 0])
    cv2.watershed(img, markers)
    return np.ascontiguousarray(markers[1:-1, 1:-1])


def _padded(inner: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """Markers for _flood: inner (H,W) ids (0 = to fill) with -1 on ink, padded by a frame of -1."""
    h, w = inner.shape
    m = np.empty((h + 2, w + 2), np.int32)
    m[0], m[-1], m[:, 0], m[:, -1] = -1, -1, -1, -1
    np.copyto(m[1:-1, 1:-1], inner)
    np.copyto(m[1:-1, 1:-1], -1, where=~paper)
    return m


def _finish(labels: np.ndarray, paper: np.ndarray, n_mark: int) -> tuple[np.ndarray, int]:
    """After a flood: ink to 0, meeting lines to a neighbour's id, unreached paper to new ids. Returns (labels,
    number of new ids); those are n_mark+1.. (paper walled off by meeting lines in a 1 px channel, or too thin
    for a coarse flood)."""
    np.copyto(labels, 0, where=~paper)
    _fill_from_neighbours(labels, labels < 0)
    left = paper & (labels <= 0)
    if not left.any():
        return labels, 0
    n_left, comp = cv2.connectedComponents(left.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    np.copyto(labels, comp + n_mark, where=left)
    return labels, n_left - 1


def _merge_thin(edges_a: np.ndarray, edges_b: np.ndarray, saddle: np.ndarray, height: np.ndarray,
                core: np.ndarray, ratio: float, margin: float) -> np.ndarray:
    """Kruskal over basin edges by decreasing saddle (module doc, step 4). Returns root (N+1,) per basin."""
    h0 = np.minimum(height[edges_a], height[edges_b])
    # Merging only raises a set's height, so an edge that fails the test now fails it forever: skip those.
    cand = ~(core[edges_a] & core[edges_b]) & ((h0 < ratio * saddle) | (h0 - saddle < margin))
    order = np.flatnonzero(cand)
    order = order[np.argsort(-saddle[order], kind="stable")]
    H, C = height.astype(np.float64).tolist(), core.tolist()
    par = list(range(height.size))

    def find(x: int) -> int:
        root = x
        while par[root] != root:
            root = par[root]
        while par[x] != root:
            par[x], x = root, par[x]
        return root

    for a, b, s in zip(edges_a[order].tolist(), edges_b[order].tolist(), saddle[order].tolist()):
        ra, rb = find(a), find(b)
        if ra == rb or (C[ra] and C[rb]):
            continue
        lo = min(H[ra], H[rb])
        if lo < ratio * s or lo - s < margin:
            if C[rb] and not C[ra] or (C[ra] == C[rb] and rb < ra):
                ra, rb = rb, ra  # the root stays a core / the smaller id, so ids stay in raster order
            par[rb] = ra
            H[ra], C[ra] = max(H[ra], H[rb]), C[ra] or C[rb]
    root = np.asarray(par)
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _basins(paper: np.ndarray, dist: np.ndarray, radius: float, unit: float, cfg: RegionConfig
            ) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2-4 of the module doc: (basins (H,W) int32, 0 = ink; root (B+1,): the region id of each basin).

    dist is D in px of this image; unit = full-resolution px per px here: heights and saddles are compared in
    full-resolution px, with thin_margin in px of this image (a strip's width wobbles by one of its pixels).
    """
    w = paper.shape[1]
    n_core, core = cv2.connectedComponents((dist > radius).view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    # Thin parts: one marker per plateau of local maxima of D below the core radius (equal D on a plateau).
    peak = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist <= radius) & paper
    n_peak, peaks = cv2.connectedComponents(peak.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    markers = _padded(core, paper)
    del core
    at = np.flatnonzero(peak)
    ids = peaks.reshape(-1)[at] + (n_core - 1)
    del peaks, peak
    markers[1:-1, 1:-1][np.divmod(at, w)] = ids
    n_mark = n_core - 1 + n_peak - 1
    height = np.full(n_mark + 1, np.inf)
    height[ids] = dist.reshape(-1)[at] * unit

    labels, n_left = _finish(_flood(markers, dist, radius), paper, n_mark)
    del markers
    height = np.concatenate([height, np.full(n_left, unit)])
    n_mark += n_left
    is_core = np.zeros(n_mark + 1, bool)
    is_core[1:n_core] = True
    # Basin graph: saddle of a pair = the widest point of the boundary between them.
    p, q = _pairs(labels, paper)
    if p.size == 0:
        return labels, np.arange(n_mark + 1)
    flat, dflat = labels.reshape(-1), dist.reshape(-1)
    a, b, _, inv = _group_pairs(flat.take(p), flat.take(q), n_mark)
    saddle = np.zeros(a.size, np.float64)
    np.maximum.at(saddle, inv, np.minimum(dflat.take(p), dflat.take(q)) * unit)
    return labels, _merge_thin(a, b, saddle, height, is_core, cfg.thin_ratio, cfg.thin_margin * unit)


def _gap_labels(paper: np.ndarray, dist: np.ndarray, gap: float, cfg: RegionConfig) -> tuple[np.ndarray, np.ndarray]:
    """Paper -> (basins (H,W) int32, 0 = ink; root: the region id of each basin), gaps up to `gap` px closed.

    A large gap is resolved on a copy f times smaller (paper where a whole f x f block is paper), where the core
    radius is still >= coarse_radius px, and only the band the coarse regions leave near ink and near each other
    is filled at full resolution, breadth first over paper: a widest-path flood of every pixel is cache-bound.
    """
    radius = gap / 2.0 + 0.5
    f = int(radius // cfg.coarse_radius) if cfg.coarse_radius > 0 else 1
    if f < 2:
        return _basins(paper, dist, radius, 1.0, cfg)
    h, w = paper.shape
    hc, wc = -(-h // f), -(-w // f)
    padded = np.pad(paper, ((0, hc * f - h), (0, wc * f - w)), constant_values=True)
    paper_c = padded.reshape(hc, f, wc, f).all(axis=(1, 3))
    basins_c, root_c = _basins(paper_c, cv2.distanceTransform(paper_c.view(np.uint8), cv2.DIST_L2, 5),
                               radius / f, float(f), cfg)
    lab_c = root_c.astype(np.int32).take(basins_c)
    # Coarse pixels with no other region among their 3x3 neighbours (ink is fine: the block is all paper) seed
    # the full-resolution fill, so even a region one coarse pixel wide keeps a seed. Float ids < 2^24 are exact.
    lf = lab_c.astype(np.float32)
    k3 = np.ones((3, 3), np.uint8)
    lo = cv2.erode(np.where(lab_c > 0, lf, np.float32(2**24)), k3)
    seed_c = np.where((lo == lf) & (cv2.dilate(lf, k3) == lf) & (lab_c > 0), lab_c, 0).astype(np.int32)
    seed = cv2.resize(seed_c, (wc * f, hc * f), interpolation=cv2.INTER_NEAREST)[:h, :w]
    n_mark = int(lab_c.max())
    labels, n_left = _finish(_flood(_padded(seed, paper)), paper, n_mark)
    # Ids present: every seeded region (a region too thin to seed went to its neighbours) and the new ones.
    root = np.zeros(n_mark + n_left + 1, np.int64)
    seeded = np.flatnonzero(np.bincount(seed_c.reshape(-1), minlength=n_mark + 1))
    root[seeded] = seeded
    root[n_mark + 1:] = np.arange(n_mark + 1, n_mark + n_left + 1)
    root[0] = 0
    return labels, root


def _compact(to: np.ndarray) -> tuple[np.ndarray, int]:
    """A map of ids (to[0] = 0; ids mapped to 0 are absent) -> the same map onto compact ids 1..n, in order of
    target id, and n."""
    present = np.zeros(int(to.max()) + 1, bool)
    present[to] = True
    present[0] = False
    lut = np.zeros(present.size, np.int32)
    ids = np.flatnonzero(present)
    lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
    return lut.take(to), int(ids.size)


def _adjacency(nearest: np.ndarray, ink_dist: np.ndarray, paper: np.ndarray, n: int, sep: float) -> Adjacency:
    """Neighbouring regions: their nearest-region cells touch where the ink is at most 2 sep px thick."""
    thin = ink_dist <= sep
    p, q = _pairs(nearest, thin)
    if p.size == 0:
        e = np.zeros(0, np.int32)
        return Adjacency(e, e.copy(), np.zeros(0, np.int64), np.zeros(0, np.int64))
    flat, pf = nearest.reshape(-1), paper.reshape(-1)
    a, b, length, inv = _group_pairs(flat[p], flat[q], n)
    is_open = pf[p] & pf[q]
    opened = np.bincount(inv[is_open], minlength=a.size).astype(np.int64)
    return Adjacency(a, b, length.astype(np.int64), opened)


def _merge_specks(area: np.ndarray, adj: Adjacency, min_area: float, border: np.ndarray) -> np.ndarray | None:
    """Map (n+1,) sending each speck (area < min_area) to the non-speck neighbour it shares most outline with.

    A speck on the image border joins only a border region: paper left between an outline and the image edge
    must not make the shape inside count as background.
    """
    speck = area < min_area
    speck[0] = False
    if not speck.any() or adj.a.size == 0:
        return None
    a = np.concatenate([adj.a, adj.b])
    b = np.concatenate([adj.b, adj.a])
    w = np.concatenate([adj.length, adj.length])
    ok = speck[a] & ~speck[b] & (border[b] | ~border[a])
    if not ok.any():
        return None
    a, b, w = a[ok], b[ok], w[ok]
    order = np.lexsort((w, a))  # by speck, then length: the last row of each speck is its best neighbour
    last = np.flatnonzero(np.r_[a[order][1:] != a[order][:-1], True])
    to = np.arange(area.size, dtype=np.int32)
    to[a[order][last]] = b[order][last]
    return to


def _collapse(adj: Adjacency, to: np.ndarray, n: int) -> Adjacency:
    """The graph after relabelling regions by `to`: pairs renamed, self-pairs dropped, lengths summed."""
    a, b = to[adj.a], to[adj.b]
    keep = a != b
    if not keep.any():
        e = np.zeros(0, np.int32)
        return Adjacency(e, e.copy(), np.zeros(0, np.int64), np.zeros(0, np.int64))
    lo, hi, _, inv = _group_pairs(a[keep], b[keep], n)
    length = np.bincount(inv, weights=adj.length[keep], minlength=lo.size).astype(np.int64)
    opened = np.bincount(inv, weights=adj.open[keep], minlength=lo.size).astype(np.int64)
    return Adjacency(lo, hi, length, opened)


def _bboxes(labels: np.ndarray, n: int) -> np.ndarray:
    """(n+1, 4) int32 bounding boxes (y0, x0, y1, x1), end-exclusive; row 0 (ink) is the whole image."""
    from scipy import ndimage

    box = np.zeros((n + 1, 4), np.int32)
    box[0] = (0, 0, labels.shape[0], labels.shape[1])
    for i, sl in enumerate(ndimage.find_objects(labels, max_label=n), start=1):
        if sl is not None:
            box[i] = (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop)
    return box


def _border(labels: np.ndarray, n: int) -> np.ndarray:
    border = np.zeros(n + 1, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        border[edge] = True
    border[0] = False
    return border


# ------------------------------------------------------------------------------------------- main thing
def lines_u8(lines: np.ndarray) -> np.ndarray:
    """lines (H,W) float in [0,1] (or uint8 0-255), 1 = paper -> (H,W) uint8, 255 = paper: what regions use."""
    lines = np.asarray(lines)
    if lines.ndim != 2 or min(lines.shape) < 2:
        raise InkwashError(f"lines of shape {lines.shape}: expected a 2-D greyscale image at least 2x2 px")
    if lines.dtype == np.uint8:
        return lines.copy()  # Regions keeps it read-only: never the caller's array
    if not np.issubdtype(lines.dtype, np.floating) and lines.dtype != np.bool_:
        raise InkwashError(f"lines of dtype {lines.dtype}: expected floats in [0, 1] or uint8")
    f = cv2.max(np.ascontiguousarray(lines, np.float32), 0.0)
    return cv2.convertScaleAbs(f, alpha=255.0)  # rounds and saturates at 255


def regions_from_u8(intensity: np.ndarray, cfg: RegionConfig, key: str) -> Regions:
    """compute_regions on lines already made uint8 by `lines_u8`, with their `region_key`."""
    paper = intensity >= cfg.ink_level * 255.0
    if not paper.any():
        raise InkwashError("the lineart is all ink (no pixel lighter than the ink level): pass white paper with "
                           "dark lines, or lower the ink level")
    ink = ~paper
    h, w = paper.shape
    # Ink side: distance of each ink pixel to paper, and which paper pixel is nearest (labels in raster order).
    ink_dist, near_id = cv2.distanceTransformWithLabels(ink.view(np.uint8), cv2.DIST_L2, 5,
                                                        labelType=cv2.DIST_LABEL_PIXEL)
    paper_idx = np.flatnonzero(paper).astype(np.int32)
    np.subtract(near_id, 1, out=near_id)
    nearest_pixel = paper_idx.take(near_id)
    del near_id, paper_idx
    width = line_width(ink_dist, ink)
    gap = auto_gap(width, (h, w), cfg) if cfg.gap is None else max(0.0, float(cfg.gap))

    dist = cv2.distanceTransform(paper.view(np.uint8), cv2.DIST_L2, 5)
    if gap > 0:
        basins, root = _gap_labels(paper, dist, gap, cfg)
    else:
        n_cc, basins = cv2.connectedComponents(paper.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
        root = np.arange(n_cc)
    lut, n = _compact(root)
    labels = lut.take(basins)
    del basins
    nearest = labels.reshape(-1).take(nearest_pixel)

    sep = cfg.adjacency_widths * max(width, 1.0) / 2.0 + 1.0
    adj = _adjacency(nearest, ink_dist, paper, n, sep)
    del ink_dist
    area = np.bincount(labels.reshape(-1), minlength=n + 1).astype(np.int64)
    border = _border(labels, n)
    to = _merge_specks(area, adj, cfg.min_area_at_512 * (min(h, w) / 512.0) ** 2, border)
    if to is not None:  # merge, make ids compact again (one relabelling pass), and collapse the graph
        full, n = _compact(to)
        labels, nearest = full.take(labels), full.take(nearest)
        area = np.bincount(full, weights=area, minlength=n + 1).astype(np.int64)
        border = np.bincount(full, weights=border, minlength=n + 1) > 0
        adj = _collapse(adj, full, n)
    regions = Regions(labels=labels, n=n, area=area, border=border, adjacency=adj, nearest=nearest,
                      nearest_pixel=nearest_pixel, dist=dist, intensity=intensity,
                      gap=gap, line_width=width, key=key, config=cfg)
    # Cached Regions are shared between callers (web sessions, batch passes): make mutation an error.
    for a in (labels, area, border, nearest, nearest_pixel, dist, intensity, adj.a, adj.b,
              adj.length, adj.open):
        a.flags.writeable = False
    return regions


def compute_regions(lines: np.ndarray, config: RegionConfig | None = None) -> Regions:
    """A drawing's gap-closed regions, adjacency graph and nearest region under the lines.

    lines: (H,W) float in [0,1], 1 = paper, 0 = ink (anti-aliased, grey or thick lines are fine; uint8 0-255 too).
    """
    cfg = config or RegionConfig()
    u8 = lines_u8(lines)
    return regions_from_u8(u8, cfg, region_key(u8, cfg))
