"""Where each pixel of a new frame was in the reference: a global alignment, then a dense flow.

Both linearts are drawn on a common work canvas (the new frame scaled to `work_side`^2 pixels at most, so a wide
drawing keeps its detail; the reference fitted into it, centred, its aspect kept). On that canvas:
1. starts: the centroids and spreads of the ink matched (a translation and a scale, robust to any turn), no
   motion at all, and a similarity from paired region shapes (anchors.py: right when the new frame shows part of
   the drawing, a close-up, a pan, or the drawing elsewhere on a new page);
2. ECC (Evangelidis & Psarakis 2008, OpenCV's findTransformECC) refines each start to an affine map on blurred
   ink, the best on finer levels, so a turn of 30 degrees or a zoom of 20 % still converges; a result that
   correlates worse than a start, or that shrinks or grows the drawing more than 2x, is dropped;
3. DIS optical flow (Kroeger et al. 2016, OpenCV's DISOpticalFlow) between the new frame and the aligned
   reference takes up what an affine map cannot: perspective, smooth bends, a limb that moved.
The result is a map from new-frame pixels to reference pixels, each at its own full resolution.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from inkwash.regions.engine import Regions


@dataclass(frozen=True)
class AlignConfig:
    """How the two drawings are put on top of each other. Lengths in px of the work canvas."""

    work_side: int = 512  # the work canvas has at most work_side^2 pixels: more adds time, not correct regions
    ecc_sides: tuple[int, ...] = (96, 192)  # ECC pyramid (sqrt of pixels); finer adds little once the flow runs
    ecc_blur: float = 0.03  # ECC blur sigma as a share of the level's long side: a wide basin for big turns
    ecc_iterations: int = 60
    max_zoom: float = 2.0  # an ECC result scaling the drawing beyond 2x (or under 1/2) is a divergence
    flow: bool = True  # False: the affine map alone (for tests and comparisons)
    flow_blur: float = 1.5  # px: line images are blurred this much before the flow (thin lines alias)
    flow_reach: float = 12.0  # px: the flow image is exp(-distance to ink / reach): texture inside regions


@dataclass
class Canvas:
    """Where an image of size (H,W) sits on the work canvas: work = scale * pixel + offset."""

    shape: tuple[int, int]  # (h, w) of the work canvas
    scale: float
    offset: tuple[float, float]  # (x, y)


@dataclass
class Correspondence:
    """A map from the new frame's work canvas to the reference's: q(p) for every work pixel p."""

    map_x: np.ndarray  # (h,w) float32: reference work x of each new work pixel
    map_y: np.ndarray  # (h,w) float32
    affine: np.ndarray  # (2,3) float64: the global part (new work -> reference work)
    new: Canvas
    ref: Canvas
    score: float  # correlation of the aligned ink images in [-1, 1] (ECC's; 1 = identical)

    def area_scale(self) -> float:
        """Reference full-res px per new full-res px, from the global part."""
        det = abs(float(np.linalg.det(self.affine[:, :2])))
        return det * (self.new.scale / self.ref.scale) ** 2

    def to_reference(self, xy: np.ndarray) -> np.ndarray:
        """(P,2) new full-res pixel coordinates (x, y) -> (P,2) reference full-res coordinates."""
        p = np.asarray(xy, np.float64) * self.new.scale + np.asarray(self.new.offset)
        h, w = self.new.shape
        px, py = np.clip(p[:, 0], 0, w - 1), np.clip(p[:, 1], 0, h - 1)
        x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        fx, fy = px - x0, py - y0

        def bilinear(m: np.ndarray) -> np.ndarray:
            top = m[y0, x0] * (1 - fx) + m[y0, x1] * fx
            bottom = m[y1, x0] * (1 - fx) + m[y1, x1] * fx
            return top * (1 - fy) + bottom * fy

        # outside the canvas the global map extrapolates (the flow is only known inside)
        qx, qy = bilinear(self.map_x), bilinear(self.map_y)
        out = (p[:, 0] != px) | (p[:, 1] != py)
        if out.any():
            a = self.affine
            qx[out] = a[0, 0] * p[out, 0] + a[0, 1] * p[out, 1] + a[0, 2]
            qy[out] = a[1, 0] * p[out, 0] + a[1, 1] * p[out, 1] + a[1, 2]
        return (np.stack([qx, qy], axis=1) - np.asarray(self.ref.offset)) / self.ref.scale


# ---------------------------------------------------------------------------------------------- helpers
def canvases(new_shape: tuple[int, int], ref_shape: tuple[int, int], work_side: int) -> tuple[Canvas, Canvas]:
    """The work canvas of a new frame (its size, scaled to work_side^2 pixels at most) and the reference fitted
    into it."""
    h, w = new_shape
    s = min(1.0, work_side / np.sqrt(h * w))
    ch, cw = max(2, int(round(h * s))), max(2, int(round(w * s)))
    new = Canvas((ch, cw), cw / w, (0.0, 0.0))
    rh, rw = ref_shape
    sr = min(cw / rw, ch / rh)
    ref = Canvas((ch, cw), sr, ((cw - rw * sr) / 2.0, (ch - rh * sr) / 2.0))
    return new, ref


def ink_on_canvas(lines: np.ndarray, canvas: Canvas) -> np.ndarray:
    """lines (H,W) in [0,1], 1 = paper -> ink (h,w) float32 in [0,1] on the work canvas (area resampling)."""
    ink = 1.0 - np.asarray(lines, np.float32)
    m = np.array([[canvas.scale, 0.0, canvas.offset[0]], [0.0, canvas.scale, canvas.offset[1]]])
    h, w = canvas.shape
    interp = cv2.INTER_AREA if canvas.scale < 1.0 else cv2.INTER_LINEAR
    if interp == cv2.INTER_AREA:  # warpAffine has no area mode: resize first, then place
        small = cv2.resize(ink, None, fx=canvas.scale, fy=canvas.scale, interpolation=cv2.INTER_AREA)
        m = np.array([[1.0, 0.0, canvas.offset[0]], [0.0, 1.0, canvas.offset[1]]])
        return cv2.warpAffine(small, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)


def _moments(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink centroid (x, y) and spread (root mean squared distance to it) of a work image."""
    m = cv2.moments(ink)
    if m["m00"] <= 1e-6:
        h, w = ink.shape
        return np.array([(w - 1) / 2.0, (h - 1) / 2.0]), float(max(h, w)) / 4.0
    c = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
    spread = np.sqrt(max((m["mu20"] + m["mu02"]) / m["m00"], 1.0))
    return c, float(spread)


def moment_start(ink_new: np.ndarray, ink_ref: np.ndarray) -> np.ndarray:
    """(2,3) new -> reference: the same centroid and the same ink spread."""
    cn, sn = _moments(ink_new)
    cr, sr = _moments(ink_ref)
    k = sr / sn
    return np.array([[k, 0.0, cr[0] - k * cn[0]], [0.0, k, cr[1] - k * cn[1]]])


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _warp_ref(ink_ref: np.ndarray, affine: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The reference image seen through affine (new -> reference): sampled at affine(p) for each new p."""
    return cv2.warpAffine(ink_ref, affine.astype(np.float32), (shape[1], shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)


def _ecc_level(ink_new: np.ndarray, ink_ref: np.ndarray, warp: np.ndarray, side: int, cfg: AlignConfig
               ) -> tuple[np.ndarray | None, float]:
    """One pyramid level of ECC from warp (2,3, full work scale) -> (refined warp or None, its correlation)."""
    h, w = ink_new.shape
    f = min(1.0, side / np.sqrt(h * w))
    size = (max(8, int(round(w * f))), max(8, int(round(h * f))))
    sigma = cfg.ecc_blur * side
    a = cv2.GaussianBlur(cv2.resize(ink_new, size, interpolation=cv2.INTER_AREA), (0, 0), sigma)
    b = cv2.GaussianBlur(cv2.resize(ink_ref, size, interpolation=cv2.INTER_AREA), (0, 0), sigma)
    scaled = warp.astype(np.float32)
    scaled[:, 2] *= f
    try:
        corr, scaled = cv2.findTransformECC(a, b, scaled, cv2.MOTION_AFFINE,
                                            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT,
                                             cfg.ecc_iterations, 1e-5), None, 1)
    except cv2.error:  # no convergence (a blank drawing, a flat correlation)
        return None, -1.0
    det = abs(float(np.linalg.det(scaled[:, :2])))
    if not (1.0 / cfg.max_zoom ** 2 <= det <= cfg.max_zoom ** 2) or not np.all(np.isfinite(scaled)):
        return None, -1.0
    scaled[:, 2] /= f
    return scaled.astype(np.float64), float(corr)


def _aligned_correlation(ink_new: np.ndarray, ink_ref: np.ndarray, warp: np.ndarray) -> float:
    return _correlation(cv2.GaussianBlur(ink_new, (0, 0), 2.0),
                        cv2.GaussianBlur(_warp_ref(ink_ref, warp, ink_new.shape), (0, 0), 2.0))


def ecc_affine(ink_new: np.ndarray, ink_ref: np.ndarray, starts: list[np.ndarray], cfg: AlignConfig
               ) -> tuple[np.ndarray, float]:
    """The best (2,3) new -> reference map by ECC from several starts: each refined on the coarsest level, the
    best refined on the finer ones. Returns (map, correlation of the aligned ink); a start wins over an ECC
    result that correlates worse (a divergence)."""
    best, best_corr = None, -np.inf
    for st in starts:
        warp, corr = _ecc_level(ink_new, ink_ref, st, cfg.ecc_sides[0], cfg)
        if warp is not None and corr > best_corr:
            best, best_corr = warp, corr
    warp = best
    if warp is not None:
        for side in cfg.ecc_sides[1:]:
            finer, _ = _ecc_level(ink_new, ink_ref, warp, side, cfg)
            warp = finer if finer is not None else warp
    scored = [(_aligned_correlation(ink_new, ink_ref, st), k, st) for k, st in enumerate(starts)]
    if warp is not None:
        scored.append((_aligned_correlation(ink_new, ink_ref, warp), -1, warp))
    corr, _, chosen = max(scored, key=lambda t: (t[0], t[1] == -1))
    return chosen.astype(np.float64), float(corr)


def _flow_image(ink: np.ndarray, cfg: AlignConfig) -> np.ndarray:
    """uint8 image for the flow: bright on lines, fading over `flow_reach` px, so region interiors have slope."""
    ink = cv2.GaussianBlur(ink, (0, 0), cfg.flow_blur) if cfg.flow_blur > 0 else ink
    dist = cv2.distanceTransform((ink < 0.25).astype(np.uint8), cv2.DIST_L2, 3)
    return (255.0 * np.exp(-dist / cfg.flow_reach)).astype(np.uint8)


def dense_flow(ink_new: np.ndarray, ink_ref_aligned: np.ndarray, cfg: AlignConfig) -> np.ndarray:
    """(h,w,2) float32 flow f with new(p) ~ aligned_ref(p + f(p)) (DIS, medium preset)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_flow_image(ink_new, cfg), _flow_image(ink_ref_aligned, cfg), None)


_SHAPES: dict = {}  # a key drawing's region shapes, reused frame after frame: {(regions key, scale, offset)}
_SHAPES_LOCK = threading.Lock()


def _cached_shapes(regions: Regions, canvas: Canvas, cfg):
    from inkwash.reference.anchors import region_shapes

    key = (regions.key, canvas.scale, canvas.offset, cfg)
    with _SHAPES_LOCK:
        hit = _SHAPES.get(key)
    if hit is None:
        hit = region_shapes(regions, canvas.scale, canvas.offset, cfg)
        with _SHAPES_LOCK:
            while len(_SHAPES) >= 8:
                _SHAPES.pop(next(iter(_SHAPES)))
            _SHAPES[key] = hit
    return hit


# ------------------------------------------------------------------------------------------- main thing
def correspond(lines_new: np.ndarray, lines_ref: np.ndarray, config: AlignConfig | None = None,
               regions_new: Regions | None = None, regions_ref: Regions | None = None) -> Correspondence:
    """Map the new frame's pixels onto the reference's: lines_* (H,W) float in [0,1], 1 = paper, any two sizes.

    With both drawings' regions, paired region shapes give one more start (anchors.py).
    """
    cfg = config or AlignConfig()
    new, ref = canvases(lines_new.shape, lines_ref.shape, cfg.work_side)
    ink_new, ink_ref = ink_on_canvas(lines_new, new), ink_on_canvas(lines_ref, ref)
    # starts: the ink's centroids and spreads matched (any turn), and no motion (a crop of the drawing, a pan)
    starts = [moment_start(ink_new, ink_ref), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])]
    if regions_new is not None and regions_ref is not None:
        from inkwash.reference.anchors import AnchorConfig, region_shapes, similarity_start

        acfg = AnchorConfig()
        sim = similarity_start(region_shapes(regions_new, new.scale, new.offset, acfg),
                               _cached_shapes(regions_ref, ref, acfg), new.shape, acfg)
        if sim is not None:
            starts.append(sim)
    affine, score = ecc_affine(ink_new, ink_ref, starts, cfg)
    h, w = new.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if cfg.flow:
        f = dense_flow(ink_new, _warp_ref(ink_ref, affine, new.shape), cfg)
        xs, ys = xs + f[..., 0], ys + f[..., 1]
    a = affine.astype(np.float32)
    map_x = a[0, 0] * xs + a[0, 1] * ys + a[0, 2]
    map_y = a[1, 0] * xs + a[1, 1] * ys + a[1, 2]
    return Correspondence(map_x, map_y, affine, new, ref, score)
