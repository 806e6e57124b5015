"""Region lock: snap a learned model's raw colours to the drawing's regions, so no colour crosses a closed line.

Each region takes the median colour of the image inside it (pixels away from lines); what varies inside a region
is kept as a brightness multiplier (shading) of that region only. flat * shading[..., None] has the image's
light and dark inside each region, in the region's own colour: a hue the model painted across a closed line
stays on its side, because the colour comes from the region and only brightness from the pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inkwash.regions.engine import Regions
from inkwash.regions.stats import LUMA, margin_px, region_medians, under_lines


@dataclass(frozen=True)
class LockConfig:
    """How an image is snapped to regions."""

    line_margin: float = 1.5  # px at 512 px: medians skip the anti-aliased edges models darken along lines
    min_pixels: int = 16  # regions with fewer pixels away from lines use all their pixels
    max_gain: float = 4.0  # shading cap: a near-black region would otherwise amplify noise without bound
    eps: float = 1.0 / 255.0  # one 8-bit level added to both brightnesses: no 0/0 in black regions


def lock_medians(regions: Regions, image: np.ndarray, config: LockConfig | None = None) -> np.ndarray:
    """(n+1, 3) float32: each region's median colour of `image` (H,W,3) float in [0,1] or uint8, away from lines."""
    cfg = config or LockConfig()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = image.astype(np.float32, copy=False)
    return region_medians(regions, image, margin_px(regions, cfg.line_margin), cfg.min_pixels)


def lock_shading(regions: Regions, image: np.ndarray, medians: np.ndarray | None = None,
                 config: LockConfig | None = None) -> np.ndarray:
    """The shading half of `lock_to_regions` alone: (H,W) float32 in [0, max_gain], from precomputed `medians`
    ((n+1,3), `lock_medians`) when given. Cheaper: no (H,W,3) flat is built."""
    cfg = config or LockConfig()
    med = lock_medians(regions, image, cfg) if medians is None else medians
    image = np.asarray(image)
    if image.dtype == np.uint8:  # OpenCV's grey is the same BT.601 luma, without an (H,W,3) float copy
        luma_img = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        luma_img *= np.float32(1.0 / 255.0)
    else:
        luma_img = np.asarray(image, np.float32) @ LUMA  # (H,W): no (H,W,3) copy; images are in [0,1] already
    luma_flat = (med @ LUMA).astype(np.float32).take(regions.nearest)
    np.clip(luma_img, 0.0, 1.0, out=luma_img)
    luma_img += cfg.eps
    luma_flat += cfg.eps
    shading = np.divide(luma_img, luma_flat, out=luma_img)
    np.clip(shading, 0.0, cfg.max_gain, out=shading)
    under_lines(regions, shading)
    return shading


def lock_to_regions(regions: Regions, image: np.ndarray, config: LockConfig | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A model's image -> (flat (H,W,3) float32 in [0,1], shading (H,W) float32 in [0, max_gain]).

    (uint8 images work too: 0-255 levels.)

    image: (H,W,3) float in [0,1]. flat has each region's median colour, under the lines too (nearest region);
    shading is the image's brightness over the flat's inside each region (nearest paper pixel's under lines).
    """
    cfg = config or LockConfig()
    h, w = regions.shape
    image = np.asarray(image, np.float32)
    if image.shape != (h, w, 3):
        raise ValueError(f"image of shape {image.shape} for regions of shape {(h, w)}: expected {(h, w, 3)}")
    med = lock_medians(regions, image, cfg)
    return med.take(regions.nearest, axis=0), lock_shading(regions, image, med, cfg)
