"""A shading layer from the drawing's regions and a light direction: what an artist paints over flats.

Each region is read as a soft relief: its height rises from 0 at its outline to 1 at its widest point (the
distance to the region's boundary, over the region's largest such distance, eased: h = 1 - (1 - d)^2). The
relief's normals, lit by a directional light (azimuth in the image plane, elevation above it), give a Lambert
term normalised so a flat surface facing up is 1. Two looks:

    soft  multiplier = 1 - strength * (1 - lambert)            smooth light and shade inside every region
    cel   multiplier = 1 - strength * depth where lambert < t   one flat shadow tone on the side away from the light

The multiplier is 1 on paper and never above 1 (a layer in multiply mode); under the lines each pixel takes its
nearest region's value. Regions are never crossed: a shadow is computed per region from its own boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from inkwash.errors import InkwashError
from inkwash.regions.engine import Regions
from inkwash.regions.stats import under_lines

STYLES = ("soft", "cel")


@dataclass(frozen=True)
class ShadingConfig:
    """The light and the look. Angles in degrees; lengths at 512 px scale with the short side."""

    strength: float = 0.3  # 0 = no shading, 1 = the deepest shadow the style allows
    light: float = 135.0  # azimuth the light comes from: 0 = right, 90 = top, 135 = top-left (the painter's habit)
    elevation: float = 45.0  # above the page: lower gives longer, darker shadows
    style: str = "soft"  # soft | cel
    relief: float = 24.0  # px at 512: how tall a region's relief is; higher bends normals more near outlines
    smooth: float = 3.0  # px at 512: blur of the relief, so the distance field's ridges do not crease the light
    cel_threshold: float = 0.85  # cel: lambert under this is in shadow
    cel_depth: float = 0.6  # cel: the shadow tone at strength 1 (multiplier 1 - 0.6)

    def check(self) -> "ShadingConfig":
        if not 0.0 <= self.strength <= 1.0:
            raise InkwashError(f"shading strength {self.strength}: give a value in [0, 1] (0 = none)")
        if self.style not in STYLES:
            raise InkwashError(f"shading style {self.style!r}: use one of {', '.join(STYLES)}")
        if not 0.0 < self.elevation <= 90.0:
            raise InkwashError(f"light elevation {self.elevation}: give an angle in (0, 90] degrees")
        return self


def relief(regions: Regions) -> np.ndarray:
    """(H,W) float32 height in [0,1]: 0 on each region's outline, 1 at its widest point; 0 on ink."""
    from scipy import ndimage

    labels = regions.labels
    # boundary: a pixel whose 4-neighbour lies in another region or on ink (gap closures count: they are edges)
    edge = np.zeros(labels.shape, bool)
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[1:] |= labels[1:] != labels[:-1]
    edge[:-1] |= labels[:-1] != labels[1:]
    edge |= labels == 0
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
    peak = ndimage.maximum(dist, labels=labels, index=np.arange(regions.n + 1)).astype(np.float32)
    peak = np.maximum(peak, 1.0)
    d = np.clip(dist / peak.take(labels), 0.0, 1.0)
    height = 1.0 - (1.0 - d) ** 2
    height[labels == 0] = 0.0
    return height.astype(np.float32)


def shading_layer(regions: Regions, config: ShadingConfig | None = None,
                  paper: np.ndarray | None = None) -> np.ndarray:
    """The shading multiplier (H,W) float32 in [0,1] for the regions (1 = unshaded).

    paper: (H,W) bool of pixels left paper (Flats.paper): they stay 1, as do regions touching the image border.
    """
    cfg = (config or ShadingConfig()).check()
    h, w = regions.shape
    if cfg.strength == 0.0 or regions.n == 0:
        return np.ones((h, w), np.float32)
    scale = min(h, w) / 512.0
    height = relief(regions) * np.float32(cfg.relief * scale)
    sigma = cfg.smooth * scale
    if sigma > 0:  # heights are 0 on every outline, so the blur cannot carry one region's slope into another's
        height = cv2.GaussianBlur(height, (0, 0), sigma)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8.0  # d height / dx, in px per px
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    az, el = math.radians(cfg.light), math.radians(cfg.elevation)
    # light direction in image axes (x right, y down, z out of the page), towards the light
    lx, ly, lz = math.cos(el) * math.cos(az), -math.cos(el) * math.sin(az), math.sin(el)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lambert = np.clip((-gx * lx - gy * ly + lz) / norm, 0.0, None) / lz  # 1 where the surface faces up
    if cfg.style == "soft":
        out = 1.0 - cfg.strength * (1.0 - np.clip(lambert, 0.0, 1.0))
    else:
        out = np.where(lambert < cfg.cel_threshold, 1.0 - cfg.strength * cfg.cel_depth, 1.0)
    out = out.astype(np.float32)
    flat_paper = regions.border.take(regions.labels) & (regions.labels > 0)
    if paper is not None:
        flat_paper |= paper
    out[flat_paper] = 1.0
    under_lines(regions, out)
    return out


__all__ = ["ShadingConfig", "STYLES", "relief", "shading_layer"]
