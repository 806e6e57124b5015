"""User linearts to one canonical form: grayscale "L", white paper (255), dark lines, anti-aliasing kept.

Real inputs arrive as RGB scans on grey or yellowish paper, RGBA with transparent paper, 16-bit TIFFs or
white-on-black drawings; models and the LazyBrush baseline all expect the same thing, so every front-end
goes through `normalize_lineart`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from inkwash import limits
from inkwash.errors import InkwashError
from inkwash.io import check_pixels, open_image, to_rgb


@dataclass
class LevelsConfig:
    """Robust levels: where paper and ink are estimated, and how sure we must be before stretching."""

    paper_percentile: float = 90.0  # paper covers most of a lineart; the 90th percentile sits on it
    ink_percentile: float = 5.0  # of the pixels clearly darker than paper, so sparse lines still count
    ink_fraction_of_paper: float = 0.6  # "clearly darker": below 60% of the paper level
    min_contrast: float = 0.15  # below this paper-ink spread there are no lines to stretch towards black


def _levels(v: np.ndarray, cfg: LevelsConfig) -> tuple[float, float]:
    """Estimate (ink, paper) levels of a grayscale array in [0, 1]."""
    paper = float(np.percentile(v, cfg.paper_percentile))
    dark = v[v < paper * cfg.ink_fraction_of_paper]
    # Too few dark pixels is noise or a blank page: then the darkest value is the honest ink estimate.
    ink = float(np.percentile(dark, cfg.ink_percentile)) if dark.size >= 16 else float(v.min())
    return ink, paper


def _light_is_lines(v: np.ndarray) -> bool:
    """Whether the light part of a mostly dark image is thin strokes (a chalk drawing: invert it) rather than wide
    areas (an outline drawing with large black fills, whose paper is the light part: keep it). Thin: 90 % of the
    light pixels lie within max(4 px, 1.2 % of the short side) of the dark, i.e. lines up to ~12 px wide at 512."""
    import cv2

    light = (v > 0.5).astype(np.uint8)
    if not light.any():
        return True  # a dark page with nothing on it: paper it is
    dist = cv2.distanceTransform(light, cv2.DIST_L2, 3)
    return float(np.percentile(dist[light > 0], 90)) <= max(4.0, 0.012 * min(v.shape))


def normalize_lineart(img: Image.Image, binarize: bool = False, config: LevelsConfig | None = None) -> Image.Image:
    """Any-mode PIL lineart -> "L" with paper at 255 and ink near 0, same size.

    Transparent paper is composited on white; scanned grey/yellow paper is lifted to white and grey ink
    pushed to black by robust levels; white-on-black drawings (thin light lines on a dark page) are inverted, while
    a drawing whose dark part is wide black fills keeps its white paper. Anti-aliasing is kept unless
    `binarize` (threshold at mid-grey).
    """
    cfg = config or LevelsConfig()
    v = np.asarray(to_rgb(img).convert("L"), dtype=np.float32) / 255.0
    if np.median(v) < 0.4 and _light_is_lines(v):  # light lines on dark paper (chalk, a negative): invert
        v = 1.0 - v
    ink, paper = _levels(v, cfg)
    if paper - ink < cfg.min_contrast:
        ink = 0.0  # nothing to call ink: only lift the paper
    if paper <= ink:
        return Image.fromarray(np.full(v.shape, 255, np.uint8), "L")
    out = np.clip((v - ink) / (paper - ink), 0.0, 1.0)
    if binarize:
        out = (out >= 0.5).astype(np.float32)
    return Image.fromarray((out * 255.0 + 0.5).astype(np.uint8), "L")


def load_lineart(source: str | os.PathLike | Image.Image | np.ndarray, binarize: bool = False) -> Image.Image:
    """A path, PIL image or array (H,W) / (H,W,3|4) in [0,1] or uint8 -> normalized "L" lineart.

    Colouring works at the lineart's size, so its pixel count is checked against INKWASH_MAX_COLORIZE_PIXELS
    (inkwash.limits) before anything is decoded or converted.
    """
    if isinstance(source, Image.Image):
        check_pixels(source.width, source.height, "lineart", limit=limits.MAX_COLORIZE_PIXELS)
        img = source
    elif isinstance(source, np.ndarray):
        arr = source
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)) or arr.dtype.kind not in "biuf":
            raise InkwashError(f"lineart array of shape {arr.shape} ({arr.dtype}): expected numbers shaped (H,W), "
                               "(H,W,3) or (H,W,4)")
        check_pixels(arr.shape[1], arr.shape[0], "lineart array", limit=limits.MAX_COLORIZE_PIXELS)
        if arr.dtype != np.uint8:
            arr = np.nan_to_num(arr.astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)  # NaN: paper
            arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        img = Image.fromarray(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    else:
        img = open_image(source, limit=limits.MAX_COLORIZE_PIXELS)
    if img.width == 0 or img.height == 0:
        raise InkwashError(f"lineart: empty image ({img.width}x{img.height})")
    return normalize_lineart(img, binarize=binarize)


def lineart_array(img: Image.Image) -> np.ndarray:
    """Normalized "L" lineart -> intensity I: (H,W) float32 in [0,1], 1 = paper, 0 = ink."""
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
