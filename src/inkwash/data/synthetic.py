"""Procedural "illustrations" for fast tests: flat-coloured shapes with black outlines and simple shading.

They stand in for an `ImageStore` (same `__len__` / `__getitem__ -> PIL RGB` contract) so trainers, the dataset
and the preview can run in seconds without any data on disk. They look like cel-shaded clip art on purpose: flat
regions bounded by dark lines are exactly what xDoG, the stroke sampler and the colour simplifier expect.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("ellipse", "polygon", "rectangle")


def _bright_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated, mid-to-light RGB colour in [0,255] (float), so shading stays visible above black lines."""
    hue = rng.uniform(0, 6)
    sat, val = rng.uniform(0.45, 0.9), rng.uniform(0.65, 0.95)
    c = val * sat
    x = c * (1 - abs(hue % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hue) % 6]
    return (np.array(rgb) + (val - c)) * 255.0


def _shape_outline(kind: str, size: int, rng: np.random.Generator) -> tuple[list[tuple[float, float]] | None, tuple]:
    """Geometry of one shape: (polygon points or None, bounding box). Shapes are 20-60% of the canvas wide."""
    cx, cy = rng.uniform(0.15, 0.85, 2) * size
    rx, ry = rng.uniform(0.1, 0.3, 2) * size
    box = (cx - rx, cy - ry, cx + rx, cy + ry)
    if kind == "ellipse":
        return None, box
    if kind == "rectangle":
        a = rng.uniform(0, np.pi)
        corners = np.array([(-rx, -ry), (rx, -ry), (rx, ry), (-rx, ry)])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pts = corners @ rot.T + (cx, cy)
        return [tuple(p) for p in pts], box
    # polygon: 3-7 vertices at sorted angles, so it never self-intersects
    n = int(rng.integers(3, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.6, 1.0, n)
    pts = np.stack([cx + rx * radii * np.cos(angles), cy + ry * radii * np.sin(angles)], 1)
    return [tuple(p) for p in pts], box


def _shaded_layer(base: np.ndarray, box: tuple, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size,size,3) uint8 colour layer: a darker tone on one side (cel) or a soft gradient across the shape."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    r = max(box[2] - box[0], box[3] - box[1], 1.0) / 2
    a = rng.uniform(0, 2 * np.pi)
    t = ((xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)) / r  # about [-1, 1] across the shape
    if rng.random() < 0.5:  # cel shading: a hard-edged shadow, like most anime illustrations
        shade = np.where(t > rng.uniform(-0.1, 0.5), 0.7, 1.0)
    else:  # soft gradient
        shade = 1.0 - 0.35 * np.clip((t + 1) / 2, 0, 1)
    return np.clip(base[None, None, :] * shade[..., None], 0, 255).astype(np.uint8)


def make_illustration(size: int = 64, seed: int = 0) -> Image.Image:
    """One procedural illustration, deterministic in `seed`: (size,size) RGB, light background, 2-5 shapes."""
    rng = np.random.default_rng(seed)
    # light paper with a faint vertical gradient, so "white" is not a single value everywhere
    top, bottom = rng.uniform(225, 255, 3), rng.uniform(225, 255, 3)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    bg = np.broadcast_to(top + (bottom - top) * ramp, (size, size, 3))
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    width = max(1, round(size / 128))  # 4 px lines at 512, like inked clip art
    for _ in range(int(rng.integers(2, 6))):
        kind = SHAPES[int(rng.integers(len(SHAPES)))]
        pts, box = _shape_outline(kind, size, rng)
        mask = Image.new("L", (size, size), 0)
        mdraw = ImageDraw.Draw(mask)
        if pts is None:
            mdraw.ellipse(box, fill=255)
        else:
            mdraw.polygon(pts, fill=255)
        layer = _shaded_layer(_bright_colour(rng), box, size, rng)
        img.paste(Image.fromarray(layer, "RGB"), (0, 0), mask)
        if pts is None:
            draw.ellipse(box, outline=(0, 0, 0), width=width)
        else:
            draw.line(pts + [pts[0]], fill=(0, 0, 0), width=width, joint="curve")
    return img


class SyntheticIllustrations:
    """`n` procedural illustrations, a stand-in for `ImageStore`: item i is `make_illustration(size, (seed, i))`."""

    def __init__(self, n: int = 64, size: int = 64, seed: int = 0):
        self.n, self.size, self.seed = n, size, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Image.Image:
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} synthetic illustrations")
        i = i % self.n
        # seed per (seed, index): items never depend on access order or on n
        return make_illustration(self.size, int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0]))


EYE = (40, 40, 90)  # the colour of every shape's small inner circle: a rule a region model can learn


def make_outline_drawing(size: int = 64, seed: int = 0) -> tuple[Image.Image, Image.Image, Image.Image]:
    """One procedural outline drawing as an outline dataset holds it: (truth, lines, flats), RGB (size,size) each.

    White paper, 2-5 flat-coloured shapes with black outlines; half of them hold a small circle in the fixed colour
    EYE. flats: each shape's flat colour; lines: the black outlines on white; truth: the flats shaded (cel or soft)
    under the lines. Deterministic in `seed`.
    """
    rng = np.random.default_rng(seed)
    flats = Image.new("RGB", (size, size), (255, 255, 255))
    truth = flats.copy()
    lines = flats.copy()
    width = max(1, round(size / 128))
    for _ in range(int(rng.integers(2, 6))):
        kind = SHAPES[int(rng.integers(len(SHAPES)))]
        pts, box = _shape_outline(kind, size, rng)
        base = _bright_colour(rng)
        mask = Image.new("L", (size, size), 0)
        (ImageDraw.Draw(mask).ellipse(box, fill=255) if pts is None else ImageDraw.Draw(mask).polygon(pts, fill=255))
        flats.paste(tuple(int(round(c)) for c in base), (0, 0), mask)
        lines.paste((255, 255, 255), (0, 0), mask)  # a shape hides the outlines under it, as in the drawing
        truth.paste(Image.fromarray(_shaded_layer(base, box, size, rng), "RGB"), (0, 0), mask)
        eye = None
        if rng.random() < 0.5:  # a small circle at the shape's centre, well inside it
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            r = 0.25 * min(box[2] - box[0], box[3] - box[1]) / 2 + width
            eye = (cx - r, cy - r, cx + r, cy + r)
            for img in (flats, truth):
                ImageDraw.Draw(img).ellipse(eye, fill=EYE)
        for img in (lines, truth):
            draw = ImageDraw.Draw(img)
            if pts is None:
                draw.ellipse(box, outline=(0, 0, 0), width=width)
            else:
                draw.line(pts + [pts[0]], fill=(0, 0, 0), width=width, joint="curve")
            if eye is not None:
                draw.ellipse(eye, outline=(0, 0, 0), width=width)
    return truth, lines, flats


class SyntheticOutlines(SyntheticIllustrations):
    """`n` procedural outline drawings, a stand-in for an outline dataset (`kind` "outlines", layers lines and
    flats): item i is the truth of `make_outline_drawing(size, (seed, i))`, `layer(i, name)` its lines or flats."""

    kind, layers = "outlines", ("lines", "flats")

    def _drawing(self, i: int) -> tuple[Image.Image, Image.Image, Image.Image]:
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} synthetic drawings")
        return make_outline_drawing(self.size, int(np.random.SeedSequence([self.seed, i % self.n]).generate_state(1)[0]))

    def __getitem__(self, i: int) -> Image.Image:
        return self._drawing(i)[0]

    def layer(self, i: int, name: str) -> Image.Image:
        if name not in self.layers:
            raise KeyError(f"synthetic drawings have layers {self.layers}, not {name!r}")
        return self._drawing(i)[1 if name == "lines" else 2]
