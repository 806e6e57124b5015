"""Colour simplification for StencilTorch (thesis IV.3.2.1): regions -> median colour -> quantization -> k-means.

The thesis segments regions with a ResNet trained on DanbooRegion; we have no such network, so regions are the
connected areas of paper bounded by the (xDoG) lineart (scikit-image), split where the colour changes sharply
(Felzenszwalb & Huttenlocher's graph segmentation, scikit-image: it follows local colour edges, so a smooth shading
stays one region while two flat colours that meet without an outline, or behind a gap in the xDoG lines, do not
merge), with line pixels and specks given to the nearest region (SciPy's distance transform). Each region takes the median colour of its inside (shading and
texture inside a closed region vanish), colours are uniformly quantized, then k-means (OpenCV) leaves at most 25.
The simplified image is where StencilTorch's hints are drawn from: users hint mid-tones, not shadows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt
from skimage.measure import label
from skimage.morphology import dilation, disk
from skimage.segmentation import felzenszwalb

from inkwash.data.xdog import xdog


@dataclass
class SimplifyConfig:
    n_colours: int = 25  # thesis IV.3.2.1: k-means down to 25 colours
    quant_step: int = 16  # ours: uniform quantization step (8-bit), merges near-identical region medians
    min_region: float = 1e-4  # ours: paper regions under this fraction of the image are specks, flooded over
    line_threshold: int = 128  # lineart pixels below this are lines
    close_gaps: float = 2.0  # ours: lines are thickened by this radius (px at 512, scaled) before finding regions
    colour_scale: float = 1000.0  # ours: Felzenszwalb's scale (larger = fewer colour splits); 0 = lines only
    sigma: float = 0.5  # xDoG sigma when no lineart is given (thesis IV.2.2.1 set)
    kmeans_samples: int = 20000  # pixels k-means fits on; enough for 25 centres, fast at 512x512
    kmeans_attempts: int = 3
    seed: int = 0  # OpenCV's k-means is random: fixed so a sample's simplification never changes


def _regions(lineart: np.ndarray, rgb: np.ndarray, cfg: SimplifyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Label every pixel with a region: ((H,W) int32 labels >= 1, (H,W) bool core = paper well inside a region).

    lineart: (H,W) uint8, paper 255; rgb: (H,W,3) uint8. Colours are measured on the core only, so outlines never
    darken a region.
    """
    paper = lineart >= cfg.line_threshold
    radius = round(cfg.close_gaps * min(paper.shape) / 512)
    if radius > 0:  # xDoG drops pixels where lines meet; a 3 px gap would merge two regions
        paper = ~dilation(~paper, disk(radius))
    if cfg.colour_scale > 0:  # one id per (paper, colour segment) pair; lines stay 0
        segments = felzenszwalb(rgb, scale=cfg.colour_scale, sigma=0.5,
                                min_size=max(4, round(cfg.min_region * paper.size)))
        paper = np.where(paper, segments + 1, 0)
    markers = label(paper, background=0, connectivity=1)
    sizes = np.bincount(markers.ravel())
    small = sizes < max(4, cfg.min_region * paper.size)
    small[0] = True  # label 0 = line pixels: always reassigned
    markers[small[markers]] = 0
    if markers.max() == 0:  # no closed region at all (blank or all-line crop): one region, measured everywhere
        return np.ones(paper.shape, dtype=np.int32), np.ones(paper.shape, dtype=bool)
    # lines and specks join the nearest region: a line splits halfway between its two sides. (A watershed on the
    # colour gradient would flood along the flat inside of a line and hand whole outlines to one far region.)
    _, (iy, ix) = distance_transform_edt(markers == 0, return_indices=True)
    return markers[iy, ix].astype(np.int32), markers > 0


def _median_colours(rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-region median of each channel: (L+1,3) uint8, row l is region l's colour (rows of empty labels are 0)."""
    lab = labels.ravel().astype(np.int64)
    counts = np.bincount(lab)
    starts = np.cumsum(counts) - counts
    present = counts > 0
    mid = starts[present] + (counts[present] - 1) // 2
    out = np.zeros((len(counts), 3), dtype=np.uint8)
    for c in range(3):
        # one sort of (label, value) keys gives every region's sorted values side by side
        keys = np.sort(lab * 256 + rgb[..., c].ravel())
        out[present, c] = (keys[mid] - np.nonzero(present)[0] * 256).astype(np.uint8)
    return out


def _kmeans_palette(colours: np.ndarray, k: int, cfg: SimplifyConfig) -> np.ndarray:
    """At most k palette colours for an (N,3) uint8 pixel list: (k,3) uint8 centres from cv2.kmeans."""
    rng = np.random.default_rng(cfg.seed)
    sample = colours if len(colours) <= cfg.kmeans_samples else colours[rng.choice(len(colours), cfg.kmeans_samples)]
    cv2.setRNGSeed(cfg.seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
    _, _, centres = cv2.kmeans(
        sample.astype(np.float32), k, None, criteria, cfg.kmeans_attempts, cv2.KMEANS_PP_CENTERS
    )
    return np.clip(np.rint(centres), 0, 255).astype(np.uint8)


def reduce_colours(rgb: np.ndarray, n: int, cfg: SimplifyConfig | None = None) -> np.ndarray:
    """Map an image to at most n colours by k-means (nearest centre): (H,W,3) uint8 -> (H,W,3) uint8."""
    cfg = cfg or SimplifyConfig()
    flat = rgb.reshape(-1, 3)
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    if len(uniq) <= n:
        return rgb.copy()
    palette = _kmeans_palette(flat, n, cfg)
    d = ((uniq[:, None, :].astype(np.int32) - palette[None].astype(np.int32)) ** 2).sum(-1)
    return palette[d.argmin(1)][inverse.ravel()].reshape(rgb.shape)


def simplify(img: Image.Image, lineart: Image.Image | None = None, cfg: SimplifyConfig | None = None) -> Image.Image:
    """Flat-colour version of an illustration with at most cfg.n_colours colours: RGB PIL of the same size.

    img: RGB PIL. lineart: "L" PIL of the same size, white paper 255 (None: xDoG of img with cfg.sigma).
    """
    cfg = cfg or SimplifyConfig()
    rgb = np.asarray(img.convert("RGB"))
    if lineart is None:
        lineart = xdog(img, sigma=cfg.sigma, mode="hard")
    if lineart.size != img.size:
        raise ValueError(f"lineart is {lineart.size}, illustration {img.size}: they must match")
    labels, core = _regions(np.asarray(lineart.convert("L")), rgb, cfg)
    colours = _median_colours(rgb, np.where(core, labels, 0))  # row 0 gathers the non-core pixels: unused
    flat = colours[labels]
    step = cfg.quant_step
    if step > 1:
        flat = (np.minimum(flat.astype(np.int32) // step * step + step // 2, 255)).astype(np.uint8)
    return Image.fromarray(reduce_colours(flat, cfg.n_colours, cfg), "RGB")
