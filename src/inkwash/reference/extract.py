"""A coloured drawing's lines, when the user gives no lineart for the reference: dark thin strokes and black.

A pixel is line when it is clearly darker than its surroundings across a short distance (a black-hat: the
greyscale closing minus the image, with a disc a few line widths across), or when it is near black whatever its
surroundings (solid black areas are ink in the lineart too): every channel dark, so a deep blue or a dark red
fill stays colour. Edges between two flat colours are steps, not
valleys, so the closing leaves them and they never become lines; dark fills wider than the disc (a brown horse)
stay colour. The result keeps anti-aliasing: lines = 1 - clip((blackhat - lo) / (hi - lo)), darkest-wins with
the near-black term.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inkwash.regions.stats import LUMA


@dataclass(frozen=True)
class ExtractConfig:
    """How lines are read from a coloured drawing. Lengths in px at 512 px (scaled with the short side)."""

    reach_at_512: float = 9.0  # disc diameter of the black-hat: lines up to ~this wide are found
    contrast_lo: float = 0.12  # black-hat (luma in [0,1]) below which a pixel is paper: shading, JPEG noise
    contrast_hi: float = 0.30  # ... above which it is full ink
    black_lo: float = 0.12  # brightest channel below which a pixel is ink whatever surrounds it (solid black)
    black_hi: float = 0.22  # ... fading to paper at this level


def extract_lineart(coloured: np.ndarray, config: ExtractConfig | None = None) -> np.ndarray:
    """Lines of a coloured drawing: (H,W,3) float in [0,1] -> (H,W) float32 in [0,1], 1 = paper, 0 = ink."""
    cfg = config or ExtractConfig()
    rgb = np.asarray(coloured, np.float32)
    luma = np.ascontiguousarray(rgb[..., :3] @ LUMA)
    d = max(3, int(round(cfg.reach_at_512 * min(luma.shape) / 512.0)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))
    hat = cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, disc)
    thin = np.clip((hat - cfg.contrast_lo) / (cfg.contrast_hi - cfg.contrast_lo), 0.0, 1.0)
    value = rgb[..., :3].max(axis=2)
    black = np.clip((cfg.black_hi - value) / (cfg.black_hi - cfg.black_lo), 0.0, 1.0)
    return (1.0 - np.maximum(thin, black)).astype(np.float32)
