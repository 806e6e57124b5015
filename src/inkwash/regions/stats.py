"""Per-region statistics of an image: robust (median) colours, and per-pixel gathers through the regions."""

from __future__ import annotations

import cv2
import numpy as np

from inkwash.regions.engine import Regions

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 weights: brightness for shading


def margin_px(regions: Regions, margin_at_512: float) -> float:
    """A margin in px given at 512 px, scaled with the short side, never under 1 px."""
    return max(1.0, margin_at_512 * min(regions.shape) / 512.0)


def region_medians(regions: Regions, image: np.ndarray, margin: float, min_pixels: int) -> np.ndarray:
    """Per-channel median of image over each region's pixels farther than `margin` px from ink.

    image: (H,W,C) float in [0,1]. A region with fewer than min_pixels such pixels uses all its pixels.
    Returns (n+1, C) float32 in [0,1], row 0 (ink) zero. Medians come from 256-bin histograms (exact to 1/255).
    """
    n, labels = regions.n, regions.labels
    away = regions.dist > margin
    count = np.bincount(labels[away], minlength=n + 1)
    small = count < min_pixels
    small[0] = False
    sel = away | small.take(labels) if small.any() else away
    # (label, level) pairs as one int: int32 while it fits (half the memory of int64 at 4096 px)
    ids = labels[sel].astype(np.int32 if (n + 1) * 256 < 2**31 else np.int64) * 256
    total = np.bincount(ids >> 8, minlength=n + 1)
    out = np.zeros((n + 1, image.shape[2]), np.float32)
    for c in range(image.shape[2]):
        channel = image[..., c]
        if channel.dtype != np.uint8:
            channel = cv2.convertScaleAbs(np.clip(channel, 0.0, 1.0).astype(np.float32), alpha=255.0)
        q = channel[sel]
        hist = np.bincount(ids + q, minlength=(n + 1) * 256).reshape(n + 1, 256)
        cdf = np.cumsum(hist, axis=1)
        out[:, c] = np.argmax(2 * cdf >= np.maximum(total, 1)[:, None], axis=1) / 255.0
    out[total == 0] = 0.0
    return out


def under_lines(regions: Regions, values: np.ndarray, only: np.ndarray | None = None) -> np.ndarray:
    """Copy to every ink pixel the value of its nearest paper pixel, in place. values: (H,W[,C]).

    only: (n+1,) bool, restrict to ink pixels whose nearest region is marked (None: all ink pixels).
    """
    ink = regions.labels == 0
    if only is not None:
        ink &= only.take(regions.nearest)
    at = np.flatnonzero(ink)
    flat = values.reshape(regions.labels.size, -1)
    flat[at] = flat[regions.nearest_pixel.reshape(-1).take(at)]
    return values
