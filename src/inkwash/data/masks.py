"""Random stencil masks and the StencilTorch composite input (thesis IV.3.2.1).

StencilTorch is an in-painting model: a mask says where to colour. It trains on small patches up to the whole image
(one-pass colouring), so masks here come as smooth blobs, rectangles, brush-painted regions or the full frame, with
areas from a few percent to 100%. Masks are numpy (H,W) float32 in {0,1}, 1 = region to colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

KINDS = ("blob", "rect", "brush", "full")


@dataclass
class MaskConfig:
    kinds: tuple[str, ...] = KINDS
    probs: tuple[float, ...] = (0.35, 0.2, 0.3, 0.15)  # ours: the thesis trains on partial and full masks alike
    area: tuple[float, float] = (0.03, 1.0)  # fraction of the image a blob covers, drawn uniformly
    brush_width: tuple[float, float] = (0.05, 0.25)  # brush diameter as a fraction of the side
    brush_strokes: tuple[int, int] = (1, 4)  # inclusive
    rects: tuple[int, int] = (1, 3)  # inclusive


def blob_mask(size: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """Smoothed white noise thresholded to cover `area` of the image: (size,size) float32 in {0,1}."""
    sigma = rng.uniform(size / 16, size / 5)  # blob scale: a few large blobs to many small ones
    noise = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    thr = np.quantile(noise, 1.0 - area)
    return (noise >= thr).astype(np.float32)


def rect_mask(size: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """Union of n axis-aligned rectangles, each 10-100% of the side: (size,size) float32 in {0,1}."""
    m = np.zeros((size, size), dtype=np.float32)
    for _ in range(n):
        w, h = (rng.uniform(0.1, 1.0, 2) * size).astype(int) + 1
        x, y = int(rng.integers(0, size - min(w, size) + 1)), int(rng.integers(0, size - min(h, size) + 1))
        m[y : y + h, x : x + w] = 1.0
    return m


def brush_mask(size: int, rng: np.random.Generator, n: int, width: tuple[float, float]) -> np.ndarray:
    """n thick round-brush strokes, as a user paints a selection: (size,size) float32 in {0,1}."""
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    for _ in range(n):
        w = max(1, int(rng.uniform(*width) * size))
        pts = [tuple(p) for p in rng.uniform(0, size, (int(rng.integers(2, 7)), 2))]
        d.line(pts, fill=255, width=w, joint="curve")
        r = w / 2
        for x, y in pts:
            d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return (np.asarray(img) > 0).astype(np.float32)


def random_mask(
    size: int, rng: np.random.Generator, cfg: MaskConfig | None = None, kind: str | None = None
) -> np.ndarray:
    """A random stencil mask of one of cfg.kinds (or `kind`): (size,size) float32 in {0,1}, 1 = region to colour."""
    cfg = cfg or MaskConfig()
    if kind is None:
        p = np.asarray(cfg.probs, dtype=np.float64)
        kind = str(rng.choice(cfg.kinds, p=p / p.sum()))
    if kind == "blob":
        return blob_mask(size, rng, float(rng.uniform(*cfg.area)))
    if kind == "rect":
        return rect_mask(size, rng, int(rng.integers(cfg.rects[0], cfg.rects[1] + 1)))
    if kind == "brush":
        return brush_mask(size, rng, int(rng.integers(cfg.brush_strokes[0], cfg.brush_strokes[1] + 1)), cfg.brush_width)
    if kind == "full":
        return np.ones((size, size), dtype=np.float32)
    raise ValueError(f"unknown mask kind {kind!r}; expected one of {KINDS}")


def composite(illustration, lineart, mask):
    """The StencilTorch input: the illustration outside the mask, the lineart inside, bit-exact outside.

    numpy: illustration (H,W,3), lineart (H,W) or (H,W,1), mask (H,W) -> (H,W,3).
    torch: illustration (...,3,H,W), lineart (...,1,H,W), mask (...,1,H,W) -> (...,3,H,W).
    Any common value range (both [-1,1] or both [0,1]); mask in {0,1} (nonzero counts as inside).
    """
    if isinstance(illustration, torch.Tensor):
        inside = (mask != 0).expand_as(illustration)
        return torch.where(inside, lineart.to(illustration.dtype).expand_as(illustration), illustration)
    illustration = np.asarray(illustration)
    lineart = np.asarray(lineart)
    if lineart.ndim == 2:
        lineart = lineart[..., None]
    inside = np.asarray(mask)[..., None] != 0
    return np.where(inside, np.broadcast_to(lineart, illustration.shape).astype(illustration.dtype), illustration)
