"""Synthetic colour hints: simulated brush strokes (PaintsTorch, thesis IV.2.2.1), random pixels (Ci et al. 2018) and
hand-like scribbles inside the regions of an outline drawing (ours).

All return a hint map at a quarter of the image (128x128 for a 512 crop), (H,W,4) float32: RGB in [0,1] where a hint
is (0 elsewhere) and a mask channel in {0,1}. The first two draw on the illustration resized to that size.

Stroke colour: each stroke takes the colour of the illustration pixel at its first waypoint, which the stroke always
covers (a round dab is drawn at every waypoint). So every stroke's colour is the illustration's colour under it at
that point; on a flat region (what a user hints) it is the colour under the whole stroke. Drawing is done without
anti-aliasing, so hint colours are exact 8-bit image colours and the mask is exactly {0,1}.

Hand-like hints (`hand_hints`, for outline drawings with flats): a person scribbles a few short strokes inside each
region they colour, never across a line. Regions are connected areas of one flat colour, `line_margin` px away from
the lines; strokes are short polylines whose waypoints stay in the region, drawn at the hint map's size and cut to
the hint pixels whose whole footprint lies in the region, so no hint ever touches a line or another region. The
colour is the region's flat colour (colour="flats", what a user picks for a region) or the median colour of the
truth under the stroke (colour="truth", what a user picks by looking at the finished drawing there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.measure import label


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
class HandHintConfig:
    """A person's scribbles on an outline drawing (ours: the thesis has no hand hints); sizes are image fractions."""

    min_region: float = 0.002  # regions under 0.2% of the image (23x23 px at 512) are too small to scribble in
    region_p: float = 1.0  # share of the large-enough regions hinted; 1: a careful user hints every one
    strokes: tuple[int, int] = (1, 3)  # strokes per region, inclusive; regions under 4x min_region get one
    waypoints: tuple[int, int] = (2, 4)  # waypoints per stroke, inclusive
    step: tuple[float, float] = (0.02, 0.06)  # length of each segment, fraction of the image's short side
    thickness: tuple[int, int] = (1, 2)  # brush thickness in hint-map px (4-8 px at 512)
    line_margin: float = 3.0  # px at 512 kept clear of the lines (anti-aliased edges are no region's colour)
    line_level: float = 0.5  # lines below this (1 = paper) are ink
    colour: str = "flats"  # "flats": the region's flat colour; "truth": median truth colour under the stroke
    skip_paper: bool = True  # the white paper around the drawing (white regions on the border) gets no hint


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


# ------------------------------------------------------------------------------------------------ hand hints


def flat_regions(flats: np.ndarray, lines: np.ndarray, cfg: HandHintConfig | None = None) -> np.ndarray:
    """Connected areas of one flat colour away from the lines: flats (H,W,3) uint8, lines (H,W) in [0,1] (1 = paper)
    -> (H,W) int32 labels, 0 on and near lines, 1..n regions (4-connected)."""
    cfg = cfg or HandHintConfig()
    h, w = lines.shape
    _, index = np.unique(flats.reshape(-1, 3), axis=0, return_inverse=True)
    ink = np.asarray(lines) < cfg.line_level
    margin = max(1, round(cfg.line_margin * min(h, w) / 512))
    near = ndimage.distance_transform_edt(~ink) <= margin if ink.any() else np.zeros((h, w), bool)
    values = index.reshape(h, w).astype(np.int64) + 1
    values[near] = 0
    return label(values, background=0, connectivity=1).astype(np.int32)


def _block_labels(regions: np.ndarray, scale: int) -> np.ndarray:
    """(H,W) labels -> (H/scale, W/scale): a block's label where all its pixels share it, else 0."""
    qh, qw = regions.shape[0] // scale, regions.shape[1] // scale
    blocks = regions[: qh * scale, : qw * scale].reshape(qh, scale, qw, scale)
    lo, hi = blocks.min(axis=(1, 3)), blocks.max(axis=(1, 3))
    return np.where(lo == hi, lo, 0).astype(np.int32)


def _scribble(allowed: np.ndarray, rng: np.random.Generator, cfg: HandHintConfig, side: int) -> list[tuple[int, int]]:
    """Waypoints (x,y) of one short stroke, each inside `allowed` (S/4 grid); side: the grid's short side."""
    ys, xs = np.nonzero(allowed)
    i = int(rng.integers(len(ys)))
    pts = [(int(xs[i]), int(ys[i]))]
    h, w = allowed.shape
    for _ in range(_randint(rng, cfg.waypoints) - 1):
        for _try in range(8):  # a person turns back at a line: try other directions
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(*cfg.step) * side
            x = int(round(pts[-1][0] + length * np.cos(angle)))
            y = int(round(pts[-1][1] + length * np.sin(angle)))
            if 0 <= x < w and 0 <= y < h and allowed[y, x]:
                pts.append((x, y))
                break
    return pts


def hand_hints(flats: np.ndarray, lines: np.ndarray, rng: np.random.Generator, cfg: HandHintConfig | None = None,
               truth: np.ndarray | None = None, scale: int = 4) -> np.ndarray:
    """Hand-like scribbles inside the regions of an outline drawing (see module): (H/scale, W/scale, 4) float32.

    flats, truth: (H,W,3) uint8 (truth only for colour="truth"); lines: (H,W) float in [0,1], 1 = paper.
    RGB in [0,1] where hinted (0 elsewhere), mask in {0,1}; hints never touch a line or its margin.
    """
    cfg = cfg or HandHintConfig()
    if cfg.colour not in ("flats", "truth"):
        raise ValueError(f"unknown hand-hint colour {cfg.colour!r}; expected 'flats' or 'truth'")
    if cfg.colour == "truth" and truth is None:
        raise ValueError("hand hints coloured from the truth need the truth image")
    flats = np.asarray(flats, np.uint8)
    h, w = lines.shape
    regions = flat_regions(flats, lines, cfg)
    small = _block_labels(regions, scale)
    qh, qw = small.shape
    out = np.zeros((qh, qw, 4), np.float32)
    n = int(regions.max())
    if n == 0:
        return out
    area = np.bincount(regions.ravel(), minlength=n + 1)
    border = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    first = ndimage.minimum_position(regions, regions, np.arange(1, n + 1))  # one pixel of each region
    min_area = cfg.min_region * h * w
    for k in range(1, n + 1):
        if area[k] < min_area or not (small == k).any():
            continue
        flat = flats[first[k - 1]]
        if cfg.skip_paper and k in border and (flat >= 250).all():
            continue
        if rng.random() >= cfg.region_p:
            continue
        allowed = small == k
        count = _randint(rng, cfg.strokes) if area[k] >= 4 * min_area else 1
        for _ in range(count):
            pts = _scribble(allowed, rng, cfg, min(qh, qw))
            stroke = draw_strokes([Stroke(pts, _randint(rng, cfg.thickness), (0, 0, qw - 1, qh - 1), (0, 0, 0))],
                                  (qw, qh))[..., 3] > 0
            stroke &= allowed  # cut to the region: never across a line
            if not stroke.any():
                continue
            if cfg.colour == "flats":
                colour = flat.astype(np.float32) / 255.0
            else:
                under = np.kron(stroke, np.ones((scale, scale), bool))  # the stroke's full-size footprint
                colour = np.median(np.asarray(truth)[: qh * scale, : qw * scale][under], axis=0)
                colour = np.round(colour).astype(np.float32) / 255.0
            out[stroke, :3] = colour
            out[stroke, 3] = 1.0
    return out
