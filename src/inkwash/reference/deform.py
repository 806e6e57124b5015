"""Seeded smooth deformations of a drawing: the next frame of a benchmark sequence, from its first.

A deformation is a backward map: pixel p of the new frame shows the drawing at src(p). It is built, applied to
the new frame's coordinates in this order, from

    parts        k discs of the drawing turned about their centres by phi * (1 - t^2)^2, t = distance / radius
                 (a limb or a head moving, with a smooth falloff instead of a joint)
    elastic      a smooth random displacement: bicubic upsampling of a 4x4 grid of random vectors
    perspective  a homography moving the image corners by up to `perspective` x size
    affine       rotation, scale, anisotropy, shear and translation about the drawing's centre

Every random number comes from one seed and the draws do not depend on the strength, so `params.at(t)` (the same
motion, a fraction t of the way) gives the frames of a sequence, and a drawing at two strengths moves the same
way, only further. Lines are resampled bilinearly (at 2x, darkest of four: thin lines keep their weight), flat
colours and labels by nearest neighbour, so a warped drawing and its warped truth stay pixel-aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LEVELS = ("small", "medium", "large")  # the benchmark's; PRESETS also has "xlarge"


@dataclass(frozen=True)
class DeformConfig:
    """Largest amounts of each kind of motion; a draw takes each uniformly in [-max, max]. Lengths are
    fractions of the image's short side."""

    rotate_deg: float = 5.0  # whole-drawing rotation
    scale: float = 0.05  # log-scale: 0.05 is about +-5 %
    aspect: float = 0.03  # log of the x/y scale ratio (a squash or stretch)
    shear: float = 0.03
    translate: float = 0.03
    perspective: float = 0.02  # corner displacement of the homography
    elastic: float = 0.01  # peak smooth displacement
    parts: int = 1  # discs turned about their centres
    part_deg: float = 10.0  # their largest turn
    part_radius: tuple[float, float] = (0.15, 0.3)  # their radius range


# Strengths of the benchmark. "small" is consecutive frames of a slow shot; "large" is a key pose and a frame
# well into the move (30 deg of turn, 20 % of zoom, limbs turned by 35 deg), beyond what in-betweens differ by.
PRESETS = {
    "small": DeformConfig(),
    "medium": DeformConfig(rotate_deg=12.0, scale=0.1, aspect=0.06, shear=0.06, translate=0.06, perspective=0.04,
                           elastic=0.02, parts=2, part_deg=20.0),
    "large": DeformConfig(rotate_deg=25.0, scale=0.2, aspect=0.1, shear=0.1, translate=0.1, perspective=0.07,
                          elastic=0.035, parts=3, part_deg=35.0),
    # a stress test beyond the levels: where matching starts to break
    "xlarge": DeformConfig(rotate_deg=45.0, scale=0.35, aspect=0.15, shear=0.15, translate=0.15, perspective=0.1,
                           elastic=0.06, parts=4, part_deg=60.0),
}


@dataclass(frozen=True)
class WarpParams:
    """One drawn deformation (all in units of the short side, about the image centre); `at(t)` scales it."""

    rotate: float  # rad
    scale: float  # log
    aspect: float  # log
    shear: float
    translate: tuple[float, float]
    corners: tuple[tuple[float, float], ...]  # (4, 2) displacement of the corners
    elastic: tuple[tuple[tuple[float, float], ...], ...]  # (4, 4, 2) grid of displacements
    parts: tuple[tuple[float, float, float, float], ...]  # (k, 4): centre x, y, radius, turn (rad)

    def at(self, t: float) -> "WarpParams":
        """The same motion a fraction t of the way (t = 0: no motion, 1: this one)."""
        s = float(t)
        return WarpParams(self.rotate * s, self.scale * s, self.aspect * s, self.shear * s,
                          (self.translate[0] * s, self.translate[1] * s),
                          tuple((x * s, y * s) for x, y in self.corners),
                          tuple(tuple((x * s, y * s) for x, y in row) for row in self.elastic),
                          tuple((x, y, r, a * s) for x, y, r, a in self.parts))


# ---------------------------------------------------------------------------------------------- helpers
def _homography(p: WarpParams) -> np.ndarray:
    """3x3 map of centred, short-side-unit coordinates: affine(perspective(.))."""
    c, s = np.cos(p.rotate), np.sin(p.rotate)
    sx, sy = np.exp(p.scale + p.aspect / 2), np.exp(p.scale - p.aspect / 2)
    lin = np.array([[c, -s], [s, c]]) @ np.array([[1.0, p.shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    aff = np.eye(3)
    aff[:2, :2], aff[:2, 2] = lin, p.translate
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]], np.float32)
    persp = cv2.getPerspectiveTransform(square, (square + np.asarray(p.corners, np.float32)).astype(np.float32))
    return aff @ persp


def draw_params(rng: np.random.Generator, cfg: DeformConfig, centres: np.ndarray | None = None) -> WarpParams:
    """Draw a deformation. centres: (m, 2) candidate part centres in centred short-side units (e.g. ink
    pixels), else anywhere in the middle of the image. The number of draws is fixed, whatever cfg says."""
    u = rng.uniform(-1.0, 1.0, size=8)
    corners = rng.uniform(-1.0, 1.0, size=(4, 2)) * cfg.perspective
    grid = rng.normal(0.0, 1.0, size=(4, 4, 2))
    grid *= cfg.elastic / max(np.abs(grid).max(), 1e-9)
    k_max = 4
    pick = rng.uniform(0.0, 1.0, size=(k_max, 4))
    if centres is not None and len(centres):
        at = centres[(pick[:, 0] * len(centres)).astype(int).clip(0, len(centres) - 1)]
    else:
        at = (pick[:, :2] - 0.5) * 0.6
    lo, hi = cfg.part_radius
    parts = tuple((float(at[i, 0]), float(at[i, 1]), float(lo + (hi - lo) * pick[i, 2]),
                   float(np.deg2rad(cfg.part_deg) * (2 * pick[i, 3] - 1))) for i in range(min(cfg.parts, k_max)))
    return WarpParams(rotate=float(np.deg2rad(cfg.rotate_deg) * u[0]), scale=float(cfg.scale * u[1]),
                      aspect=float(cfg.aspect * u[2]), shear=float(cfg.shear * u[3]),
                      translate=(float(cfg.translate * u[4]), float(cfg.translate * u[5])),
                      corners=tuple(map(tuple, corners.tolist())),
                      elastic=tuple(tuple(map(tuple, row)) for row in grid.tolist()), parts=parts)


def backward_map(shape: tuple[int, int], p: WarpParams) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y): (H,W) float32 source pixel of each new pixel, for cv2.remap."""
    h, w = shape
    unit = float(min(h, w))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = (xs - cx) / unit, (ys - cy) / unit
    for px, py, r, a in p.parts:
        t2 = ((x - px) ** 2 + (y - py) ** 2) / (r * r)
        ang = a * np.where(t2 < 1.0, (1.0 - t2) ** 2, 0.0)
        c, s = np.cos(ang), np.sin(ang)
        dx, dy = x - px, y - py
        x, y = px + c * dx - s * dy, py + s * dx + c * dy
    grid = np.asarray(p.elastic, np.float32)
    if np.any(grid):
        # bicubic over the image: a 4x4 grid of vectors makes a smooth field of a few bumps
        field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        x, y = x + field[..., 0], y + field[..., 1]
    hom = _homography(p)
    d = hom[2, 0] * x + hom[2, 1] * y + hom[2, 2]
    x, y = (hom[0, 0] * x + hom[0, 1] * y + hom[0, 2]) / d, (hom[1, 0] * x + hom[1, 1] * y + hom[1, 2]) / d
    return (x * unit + cx).astype(np.float32), (y * unit + cy).astype(np.float32)


def ink_centres(lines: np.ndarray, level: float = 0.5, count: int = 256, seed: int = 0) -> np.ndarray:
    """Up to `count` ink pixels of lines (H,W) in [0,1] as centred short-side units: where parts may turn."""
    ys, xs = np.nonzero(lines < level)
    if ys.size == 0:
        return np.zeros((0, 2))
    idx = np.random.default_rng(seed).choice(ys.size, size=min(count, ys.size), replace=False)
    h, w = lines.shape
    unit = float(min(h, w))
    return np.stack([(xs[idx] - (w - 1) / 2.0) / unit, (ys[idx] - (h - 1) / 2.0) / unit], axis=1)


# ------------------------------------------------------------------------------------------- main thing
@dataclass
class Warp:
    """A deformation of an (H,W) image, ready to apply to its lines, colours and labels alike."""

    map_x: np.ndarray  # (H,W) float32: source x of each new pixel
    map_y: np.ndarray  # (H,W) float32
    params: WarpParams

    def lines(self, lines: np.ndarray) -> np.ndarray:
        """(H,W) float lines in [0,1], 1 = paper -> warped, paper outside the source.

        Sampled bilinearly at twice the size, each pixel keeping the darkest of its four samples: a bilinear
        warp at 1x fades a 1 px line wherever it falls between pixels, opening gaps a redrawn frame would not have.
        """
        h, w = self.map_x.shape
        # the 2x map: sample points at the quarter pixels of each new pixel
        mx = cv2.resize(self.map_x, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
        my = cv2.resize(self.map_y, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
        fine = cv2.remap(np.asarray(lines, np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=1.0)
        return fine.reshape(h, 2, w, 2).min(axis=(1, 3))

    def image(self, rgb: np.ndarray, nearest: bool = False) -> np.ndarray:
        """(H,W[,C]) image -> warped; nearest for flats and labels (no mixed colours), white outside."""
        a = np.asarray(rgb)
        fill = 0 if a.dtype.kind in "iu" and a.ndim == 2 else (255 if a.dtype == np.uint8 else 1.0)
        out = cv2.remap(a, self.map_x, self.map_y, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4)
        return out

    def inside(self) -> np.ndarray:
        """(H,W) bool: new pixels whose source lies in the image (the rest is new paper)."""
        h, w = self.map_x.shape
        return (self.map_x >= 0) & (self.map_x <= w - 1) & (self.map_y >= 0) & (self.map_y <= h - 1)


def make_warp(shape: tuple[int, int], params: WarpParams) -> Warp:
    return Warp(*backward_map(shape, params), params=params)


def random_warp(lines: np.ndarray, level: str | DeformConfig, seed: int) -> Warp:
    """A seeded deformation of a drawing (lines: (H,W) in [0,1]) at a strength ("small", "medium", "large")."""
    cfg = PRESETS[level] if isinstance(level, str) else level
    rng = np.random.default_rng(seed)
    return make_warp(lines.shape, draw_params(rng, cfg, ink_centres(lines, seed=seed)))


__all__ = ["DeformConfig", "LEVELS", "PRESETS", "Warp", "WarpParams", "backward_map", "draw_params", "make_warp",
           "random_warp"]
