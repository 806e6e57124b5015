"""Synthetic colour hints: simulated brush strokes (PaintsTorch, thesis IV.2.2.1) and random pixels (Ci et al. 2018).

Both draw on the illustration resized to a quarter (128x128 for a 512 crop) and return a hint map (H,W,4) float32:
RGB in [0,1] where a hint is (0 elsewhere) and a mask channel in {0,1}.

Stroke colour: each stroke takes the colour of the illustration pixel at its first waypoint, which the stroke always
covers (a round dab is drawn at every waypoint). So every stroke's colour is the illustration's colour under it at
that point; on a flat region (what a user hints) it is the colour under the whole stroke. Drawing is done without
anti-aliasing, so hint colours are exact 8-bit image colours and the mask is exactly {0,1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw


@dataclass
class StrokeConfig:
    n_strokes: tuple[int, int] = (0, 10)  # thesis IV.2.2.1: number of strokes, inclusive
    thickness: tuple[int, int] = (1, 4)  # thesis IV.2.2.1: brush thickness in px, inclusive
    waypoints: tuple[int, int] = (1, 5)  # thesis IV.2.2.1: waypoints per stroke, inclusive
    w_range: tuple[int, int] = (0, 10)  # thesis IV.2.2.1: side of the square box a stroke stays in, px, inclusive


@dataclass
class PixelHintConfig:
    p_empty: float = 0.5  # Ci et al. 2018 (AlacGAN train.py): half of the samples get no hint at all
    density_sigma: float = 0.005  # AlacGAN: keep a pixel if U(0,1) >= t, t ~ N(1, 0.005) truncated to [0,1]
    block: tuple[int, int] = (1, 1)  # side of each hint block in px; AlacGAN uses single pixels


@dataclass
class Stroke:
    """One stroke in hint-map pixels: waypoints (x,y), brush thickness, the box it stays in and its RGB colour."""

    points: list[tuple[int, int]]
    thickness: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive; x1 - x0 <= w
    colour: tuple[int, int, int]


def _randint(rng: np.random.Generator, lo_hi: tuple[int, int]) -> int:
    """Uniform integer in [lo, hi], both inclusive (the thesis gives closed ranges)."""
    return int(rng.integers(lo_hi[0], lo_hi[1] + 1))


def sample_strokes(img_small: Image.Image, rng: np.random.Generator, cfg: StrokeConfig | None = None) -> list[Stroke]:
    """Draw stroke parameters for an (H,W) RGB image; colours are the image's pixels at each first waypoint."""
    cfg = cfg or StrokeConfig()
    rgb = np.asarray(img_small.convert("RGB"))
    h, w = rgb.shape[:2]
    strokes = []
    for _ in range(_randint(rng, cfg.n_strokes)):
        t = _randint(rng, cfg.thickness)
        side = _randint(rng, cfg.w_range)
        x, y = int(rng.integers(w)), int(rng.integers(h))
        # the box holds the start point at a random place inside it, clipped to the image
        x0 = int(np.clip(x - rng.integers(side + 1), 0, max(w - 1 - side, 0)))
        y0 = int(np.clip(y - rng.integers(side + 1), 0, max(h - 1 - side, 0)))
        x1, y1 = min(x0 + side, w - 1), min(y0 + side, h - 1)
        x, y = int(np.clip(x, x0, x1)), int(np.clip(y, y0, y1))
        n = _randint(rng, cfg.waypoints)
        pts = [(x, y)] + [(int(rng.integers(x0, x1 + 1)), int(rng.integers(y0, y1 + 1))) for _ in range(n - 1)]
        strokes.append(Stroke(pts, t, (x0, y0, x1, y1), tuple(int(c) for c in rgb[y, x])))
    return strokes


def draw_strokes(strokes: list[Stroke], size: tuple[int, int]) -> np.ndarray:
    """Render strokes with a round brush: (H,W,4) float32, RGB in [0,1] (0 off-hint), mask in {0,1}. size: (W,H)."""
    colour = Image.new("RGB", size, (0, 0, 0))
    mask = Image.new("L", size, 0)
    dc, dm = ImageDraw.Draw(colour), ImageDraw.Draw(mask)
    for s in strokes:
        r = (s.thickness - 1) / 2  # a dab as wide as the line: thickness px across
        for d, fill in ((dc, s.colour), (dm, 255)):
            if len(s.points) > 1:
                d.line(s.points, fill=fill, width=s.thickness, joint="curve")
            for px, py in s.points:  # round caps and joints: a brush, not a pen
                if s.thickness == 1:  # Pillow draws nothing for a zero-size ellipse
                    d.point((px, py), fill=fill)
                else:
                    d.ellipse((px - r, py - r, px + r, py + r), fill=fill)
    m = (np.asarray(mask) > 0).astype(np.float32)
    rgb = np.asarray(colour, dtype=np.float32) / 255.0 * m[..., None]
    return np.concatenate([rgb, m[..., None]], axis=-1)


def random_strokes(img_small: Image.Image, rng: np.random.Generator, cfg: StrokeConfig | None = None) -> np.ndarray:
    """PaintsTorch stroke hints on the quarter-size illustration: (H,W,4) float32, RGB in [0,1], mask in {0,1}."""
    return draw_strokes(sample_strokes(img_small, rng, cfg), img_small.size)


def random_pixel_hints(
    img_small: Image.Image, rng: np.random.Generator, cfg: PixelHintConfig | None = None
) -> np.ndarray:
    """Ci et al. 2018 random-pixel hints: (H,W,4) float32, RGB in [0,1] (image colour where hinted), mask in {0,1}.

    AlacGAN keeps each pixel with probability 1 - t, t ~ N(1, 0.005) truncated to [0,1] (on average ~0.4% of the
    pixels, ~65 at 128x128), and gives half of the batch no hints. Blocks larger than 1 px are an option of ours.
    """
    cfg = cfg or PixelHintConfig()
    rgb = np.asarray(img_small.convert("RGB"), dtype=np.float32) / 255.0
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), dtype=np.float32)
    if rng.random() >= cfg.p_empty:
        density = min(abs(rng.normal(0.0, cfg.density_sigma)), 1.0)  # 1 - t for t ~ N(1, sigma) folded into [0,1]
        seeds = rng.random((h, w)) < density
        side = _randint(rng, cfg.block)
        if side > 1:  # grow each seed pixel into a side x side block (down-right, clipped at the border)
            ys, xs = np.nonzero(seeds)
            for dy in range(side):
                for dx in range(side):
                    seeds[np.minimum(ys + dy, h - 1), np.minimum(xs + dx, w - 1)] = True
        mask[seeds] = 1.0
    return np.concatenate([rgb * mask[..., None], mask[..., None]], axis=-1)
