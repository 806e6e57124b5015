"""Flat oracles: every line-bounded region painted with its true median colour, evaluated like a model.

They answer "how far is each method from a perfect flat fill on these lines?": the oracle knows the target, but only
fills regions with one colour each, so it shows what the lines' regions allow (shading and gradients inside a
region, regions that leak into each other through gaps) and sets a floor for region-based methods.
  flat-raw     regions = 4-connected components of the non-ink pixels of the lineart (ink: lineart < line_level);
  flat-closed  regions = `inkwash.regions.compute_regions(lines).labels` (small gaps in the lines closed).
Each region gets the per-channel median of the target over its pixels; the lineart is multiplied on top (as a model's
output carries its lines), so ink pixels stay the lineart's own darkness.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.measure import label

ORACLES = {"oracle-flat": "flat oracle (raw regions)", "oracle-flat-closed": "flat oracle (gaps closed)"}
LINE_LEVEL = 0.5  # as the metrics and LazyBrush: lineart below this is ink


def closed_regions_available() -> bool:
    """Whether the region engine (inkwash.regions, gap closing) is installed in this checkout."""
    try:
        from inkwash.regions import RegionConfig, compute_regions  # noqa: F401
    except ImportError:
        return False
    return True


def raw_regions(lines: np.ndarray, line_level: float = LINE_LEVEL) -> np.ndarray:
    """(H,W) lines in [0,1] (1 = paper) -> (H,W) int32: 0 = ink, 1..n = 4-connected non-ink components."""
    return label(np.asarray(lines) >= line_level, background=0, connectivity=1).astype(np.int32)


def closed_regions(lines: np.ndarray) -> np.ndarray:
    """Gap-closed regions from the region engine: (H,W) lines in [0,1] (1 = paper) -> (H,W) int32, 0 = ink."""
    from inkwash.regions import RegionConfig, compute_regions

    return np.asarray(compute_regions(np.asarray(lines, np.float32), RegionConfig()).labels, np.int32)


def paint_regions(regions: np.ndarray, target: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Each region its median target colour, times the lines: regions (H,W) int, target (H,W,3) in [0,1],
    lines (H,W) in [0,1] -> (H,W,3) float32 in [0,1]; ink (label 0) gets white before the lines' multiply."""
    fill = np.ones(target.shape, np.float32)
    ids = np.arange(1, int(regions.max()) + 1)
    if ids.size:
        on = regions > 0
        for c in range(3):
            med = np.asarray(ndimage.median(target[..., c], regions, ids), np.float32)
            fill[..., c][on] = med[regions[on] - 1]
    return fill * np.asarray(lines, np.float32)[..., None]


def flat_oracle(target: Image.Image, lineart: Image.Image, closed: bool = False) -> Image.Image:
    """The flat oracle's output for one test item (RGB target, L lineart of the same size) as an RGB image."""
    t = np.asarray(target.convert("RGB"), np.float32) / 255.0
    lines = np.asarray(lineart.convert("L"), np.float32) / 255.0
    regions = closed_regions(lines) if closed else raw_regions(lines)
    out = paint_regions(regions, t, lines)
    return Image.fromarray((np.clip(out, 0, 1) * 255.0 + 0.5).astype(np.uint8), "RGB")
