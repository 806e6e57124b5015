"""One region, several hint colours: split it by LazyBrush's Potts energy, on the region's own pixels only.

    E(c) = sum_{p,q in region} w_pq [c_p != c_q] + sum_p lambda_p [c_p != s_p],   w_pq = 1 + K min(I_p, I_q)

Ink is not part of the region, so a cut along a line inside it is free, and a cut across paper costs ~K per
pixel: the boundary follows the drawing's lines and crosses paper where it is narrowest (Sykora et al. 2009).

Up to `max_pixels` the cut is LazyBrush's `sequential_cut` at full resolution. Bigger regions are first cut on
s x s blocks (each as dark as its darkest pixel, as LazyBrush's coarse step; an edge weighs s full-resolution
edges and a block's data term sums its pixels', so lengths and stroke areas keep their balance), then
`sequential_cut` re-cuts at full resolution a band of `band` blocks around the coarse boundary with the rest
held fixed: the boundary is smooth, never the blocks' staircase. A dotted line inside a region looks solid to the
coarse step, so a big region may be split along it where a full-resolution cut would go around a stroke.
"""

from __future__ import annotations

import cv2
import maxflow
import numpy as np

from inkwash.classical.lazybrush import sequential_cut


# ---------------------------------------------------------------------------------------------- helpers
def _block_sum(a: np.ndarray, s: int, shape: tuple[int, int]) -> np.ndarray:
    """Sum of a 2-D array over s x s blocks (zero padded) into `shape` blocks."""
    hc, wc = shape
    a = np.pad(a, ((0, hc * s - a.shape[0]), (0, wc * s - a.shape[1])))
    return a.reshape(hc, s, wc, s).sum(axis=(1, 3))


def _coarse_problem(intensity: np.ndarray, active: np.ndarray, seeds: np.ndarray, lam: np.ndarray, m: int,
                    k: float, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The energy on s x s blocks: (wx (hc,wc-1), wy (hc-1,wc), cost (hc,wc,m), active (hc,wc)).

    A block is as dark as its darkest pixel, so a line anywhere inside it can carry the cut (a cut between
    blocks cannot pass through them); an edge stands for the s full-resolution edges across a block side and a
    data term for the s*s pixels of a block, so boundary length and stroke area keep their full-resolution
    balance. Lam is in absolute units (lambda_p, not lambda_p / K).
    """
    h, w = active.shape
    hc, wc = -(-h // s), -(-w // s)
    dark = np.pad(np.where(active, intensity, 0.0), ((0, hc * s - h), (0, wc * s - w)), constant_values=0.0)
    i_c = dark.reshape(hc, s, wc, s).min(axis=(1, 3))
    on = _block_sum(active.astype(np.int32), s, (hc, wc)) > 0
    wx = s * (1.0 + k * np.minimum(i_c[:, :-1], i_c[:, 1:])) * (on[:, :-1] & on[:, 1:])
    wy = s * (1.0 + k * np.minimum(i_c[:-1], i_c[1:])) * (on[:-1] & on[1:])
    lam_all = _block_sum(lam, s, (hc, wc))
    cost = np.stack([lam_all - _block_sum(np.where(seeds == c, lam, 0.0), s, (hc, wc)) for c in range(m)], -1)
    return wx, wy, cost, on


def _grid_cut(wx: np.ndarray, wy: np.ndarray, cost: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Sequential two-label cuts (label 0 vs the rest, then 1 vs the rest, ...) of the active nodes of a grid
    with explicit edge weights wx (H,W-1), wy (H-1,W) and data costs (H,W,L). Returns (H,W) int32 labels."""
    h, w, m = cost.shape
    idx = np.full((h, w), -1, np.int64)
    n = int(active.sum())
    idx[active] = np.arange(n)
    pairs = [(idx[:, :-1], idx[:, 1:], wx), (idx[:-1], idx[1:], wy)]
    ei = np.concatenate([a[(a >= 0) & (b >= 0)] for a, b, _ in pairs])
    ej = np.concatenate([b[(a >= 0) & (b >= 0)] for a, b, _ in pairs])
    ew = np.concatenate([wt[(a >= 0) & (b >= 0)] for a, b, wt in pairs]).astype(np.float64)
    c_act = cost[active].astype(np.float64)
    out = np.full(n, m - 1, np.int32)
    remaining = np.ones(n, bool)
    for c in range(m - 1):
        r = np.flatnonzero(remaining)
        if r.size == 0:
            break
        loc = np.full(n, -1, np.int64)
        loc[r] = np.arange(r.size)
        cost_c, cost_rest = c_act[r, c], c_act[r, c + 1:].min(axis=1)
        g = maxflow.Graph[float](r.size, ei.size)
        nodes = np.asarray(g.add_nodes(r.size)).reshape(-1)
        keep = remaining[ei] & remaining[ej]
        if keep.any():
            g.add_edges(loc[ei[keep]], loc[ej[keep]], ew[keep], ew[keep])
        base = np.minimum(cost_c, cost_rest)
        g.add_grid_tedges(nodes, cost_rest - base, cost_c - base)
        g.maxflow()
        is_c = ~g.get_grid_segments(nodes)
        out[r[is_c]] = c
        remaining[r[is_c]] = False
    labels = np.zeros((h, w), np.int32)
    labels[active] = out
    return labels


# ------------------------------------------------------------------------------------------- main thing
def potts_split(intensity: np.ndarray, active: np.ndarray, seeds: np.ndarray, lam: np.ndarray, m: int,
                k: float, max_pixels: int, band: int) -> np.ndarray:
    """Label the active pixels (one region) with m colours by the module's energy.

    intensity: (H,W) float32 in [0,1], 1 = paper; active: (H,W) bool; seeds: (H,W) int32 colour 0..m-1 or -1;
    lam: (H,W) float32 data weight per seed (0 elsewhere), in units of K; k: K. Returns (H,W) int32 in [0, m).
    """
    area = int(active.sum())
    # Outside the region: intensity 0, so edges leaving it cost 1, a negligible pull towards label 0.
    outside = np.where(active, intensity, np.float32(0.0))
    if area <= max_pixels:
        return sequential_cut(outside, seeds, lam, m, k, active=active, fixed=np.zeros(active.shape, np.int32))
    s = int(np.ceil(np.sqrt(area / max_pixels)))
    h, w = active.shape
    coarse = _grid_cut(*_coarse_problem(outside, active, seeds, lam * k, m, k, s))
    up = cv2.resize(coarse, (coarse.shape[1] * s, coarse.shape[0] * s), interpolation=cv2.INTER_NEAREST)[:h, :w]
    # Re-cut at full resolution near the coarse boundary, and wherever a strong seed disagrees with it.
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * s * band + 1,) * 2)
    up8 = up.astype(np.uint8)
    near = cv2.dilate(up8, kernel) != cv2.erode(up8, kernel)
    disagree = (seeds >= 0) & (seeds != up) & (lam >= lam.max() * 0.5)
    near |= cv2.dilate(disagree.view(np.uint8), kernel) > 0
    return sequential_cut(outside, seeds, lam, m, k, active=active & near, fixed=up)
