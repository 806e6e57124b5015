"""A global alignment from the regions themselves: similar shapes paired, a similarity transform by RANSAC.

Whole-image alignment (moments, ECC) assumes both frames show the whole drawing. A close-up, a pan or a page laid
out anew breaks that; the drawing's big regions still look alike. So:
1. descriptors of each sizable enclosed region (area >= min_share of the image, at most `regions` of the biggest):
   the first four Hu moments (log scale; invariant to position, scale and turn) and the fill of its bounding box;
2. candidate pairs: each new region with its `k` nearest reference regions in descriptor space;
3. RANSAC over all two-pair samples of the best candidates: two centroid pairs give a similarity z' = a z + b
   (complex numbers); it is kept when |a|^2 agrees with both pairs' area ratios; its score is the summed sqrt(area)
   of the candidate pairs it maps within `tolerance` of their partner with an agreeing area ratio.
The best similarity is one more start for ECC (align.py), which keeps it only if its lines correlate best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inkwash.regions.engine import Regions


@dataclass(frozen=True)
class AnchorConfig:
    """How regions are paired for the global alignment."""

    min_share: float = 0.001  # regions under 0.1 % of the image are too small for a stable shape
    regions: int = 40  # the biggest regions on each side
    k: int = 3  # reference candidates per new region
    samples: int = 60  # best candidate pairs tried two by two
    tolerance: float = 0.04  # of the canvas diagonal: an inlier's mapped centroid lands this close
    area_tolerance: float = 0.5  # |log area ratio - log |a|^2| of an inlier


@dataclass
class RegionShapes:
    """Descriptors of a drawing's sizable regions, in work canvas coordinates."""

    ids: np.ndarray  # (r,) region ids
    centroid: np.ndarray  # (r,) complex x + iy on the canvas
    area: np.ndarray  # (r,) canvas px
    descriptor: np.ndarray  # (r, 5)


# ---------------------------------------------------------------------------------------------- helpers
def region_shapes(regions: Regions, scale: float, offset: tuple[float, float], cfg: AnchorConfig) -> RegionShapes:
    """Moments of the biggest enclosed regions (>= min_share of the image: hundreds of px), from the pixels of a
    grid half as fine as the work canvas."""
    stride = max(1, int(round(2.0 / scale)))
    lab = regions.labels[::stride, ::stride]
    n = regions.n + 1
    ys, xs = np.mgrid[0:lab.shape[0], 0:lab.shape[1]]
    lab, xs, ys = lab.ravel(), xs.ravel().astype(np.float64) * stride, ys.ravel().astype(np.float64) * stride
    area_full = regions.area.astype(np.float64)
    keep = (area_full >= cfg.min_share * regions.labels.size) & ~regions.border
    keep[0] = False
    ids = np.flatnonzero(keep)
    ids = ids[np.argsort(-area_full[ids], kind="stable")][: cfg.regions]
    if ids.size == 0:
        return RegionShapes(ids, np.zeros(0, complex), np.zeros(0), np.zeros((0, 5)))
    m00 = np.bincount(lab, minlength=n)[ids].astype(np.float64)
    ok = m00 > 0
    ids, m00 = ids[ok], m00[ok]
    cx = np.bincount(lab, xs, minlength=n)[ids] / m00
    cy = np.bincount(lab, ys, minlength=n)[ids] / m00
    # central moments up to order 3, per region, by bincount of the offsets from each pixel's own centroid
    cxa, cya = np.zeros(n), np.zeros(n)
    cxa[ids], cya[ids] = cx, cy
    dx, dy = xs - cxa[lab], ys - cya[lab]
    mu = {}
    for p, q in ((2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 2), (0, 3)):
        mu[p, q] = np.bincount(lab, dx ** p * dy ** q, minlength=n)[ids]
    s2 = m00 * stride * stride  # area in full-res px
    eta = {pq: mu[pq] / m00 ** (1 + sum(pq) / 2) for pq in mu}
    h1 = eta[2, 0] + eta[0, 2]
    h2 = (eta[2, 0] - eta[0, 2]) ** 2 + 4 * eta[1, 1] ** 2
    h3 = (eta[3, 0] - 3 * eta[1, 2]) ** 2 + (3 * eta[2, 1] - eta[0, 3]) ** 2
    h4 = (eta[3, 0] + eta[1, 2]) ** 2 + (eta[2, 1] + eta[0, 3]) ** 2
    box = regions.bbox[ids].astype(np.float64)
    fill = s2 / np.maximum((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]), 1.0)
    hu = np.stack([h1, h2, h3, h4], axis=1)
    desc = np.concatenate([-np.sign(hu) * np.log10(np.abs(hu) + 1e-12) / 4.0, fill[:, None]], axis=1)
    centroid = (cx * scale + offset[0]) + 1j * (cy * scale + offset[1])
    return RegionShapes(ids, centroid, s2 * scale * scale, desc)


# ------------------------------------------------------------------------------------------- main thing
def similarity_start(new: RegionShapes, ref: RegionShapes, canvas_shape: tuple[int, int],
                     cfg: AnchorConfig | None = None) -> np.ndarray | None:
    """(2,3) new canvas -> reference canvas similarity from paired regions, or None when no two pairs agree."""
    cfg = cfg or AnchorConfig()
    if new.ids.size < 2 or ref.ids.size < 2:
        return None
    d = np.linalg.norm(new.descriptor[:, None, :] - ref.descriptor[None, :, :], axis=2)  # (r_new, r_ref)
    k = min(cfg.k, ref.ids.size)
    near = np.argsort(d, axis=1)[:, :k]
    pj = np.repeat(np.arange(new.ids.size), k)
    pi = near.ravel()
    cost = d[pj, pi]
    order = np.argsort(cost, kind="stable")[: cfg.samples]
    pj, pi = pj[order], pi[order]
    z, w = new.centroid[pj], ref.centroid[pi]
    log_ratio = np.log(ref.area[pi] / np.maximum(new.area[pj], 1e-9))
    a_idx, b_idx = np.triu_indices(pj.size, 1)
    ok = (pj[a_idx] != pj[b_idx]) & (pi[a_idx] != pi[b_idx]) & (np.abs(z[a_idx] - z[b_idx]) > 1e-6)
    a_idx, b_idx = a_idx[ok], b_idx[ok]
    if a_idx.size == 0:
        return None
    a = (w[b_idx] - w[a_idx]) / (z[b_idx] - z[a_idx])
    b = w[a_idx] - a * z[a_idx]
    la = np.log(np.abs(a) ** 2 + 1e-12)
    agree = (np.abs(la - log_ratio[a_idx]) < cfg.area_tolerance) & (np.abs(la - log_ratio[b_idx]) < cfg.area_tolerance)
    a, b, la = a[agree], b[agree], la[agree]
    if a.size == 0:
        return None
    tol = cfg.tolerance * float(np.hypot(*canvas_shape))
    mapped = a[:, None] * z[None, :] + b[:, None]  # (hypotheses, pairs)
    inlier = (np.abs(mapped - w[None, :]) < tol) & (np.abs(la[:, None] - log_ratio[None, :]) < cfg.area_tolerance)
    score = (inlier * np.sqrt(new.area[pj])[None, :]).sum(axis=1)
    best = int(np.argmax(score))
    if inlier[best].sum() < 3:
        return None
    # least squares over the inliers: z' = a z + b
    zi, wi = z[inlier[best]], w[inlier[best]]
    design = np.stack([zi, np.ones_like(zi)], axis=1)
    (a_ls, b_ls), *_ = np.linalg.lstsq(design, wi, rcond=None)
    return np.array([[a_ls.real, -a_ls.imag, b_ls.real], [a_ls.imag, a_ls.real, b_ls.imag]])
