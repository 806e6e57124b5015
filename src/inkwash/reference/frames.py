"""References from images and from coloured frames, and what a sequence reports about each frame.

    key = reference_from_images(coloured, lineart=None)          # lineart None: extracted (extract.py)
    prev = previous_frame(lines, regions, flat, match)            # a coloured frame as the next one's reference
    rows = unmatched_rows("frame_012.png", regions, match)        # one row per region left to the policy
    table = palette_table(regions, match)                         # every region's matched colour (a web app's)
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.io import open_image, to_rgb
from inkwash.lineart import lineart_array, load_lineart
from inkwash.reference.extract import extract_lineart
from inkwash.reference.match import Match, Reference, interior_points
from inkwash.regions import RegionConfig, cached_regions
from inkwash.regions.engine import Regions
from inkwash.regions.flats import HINTED, REFERENCE, SPLIT

ImageLike = str | os.PathLike | Image.Image | np.ndarray
MAX_ASPECT_MISMATCH = 0.1  # as infer's: a lineart of another shape cannot belong to the coloured reference
GUESSED_TRUST = 0.25  # a previous frame's colour that no hint or match gave (a neighbour's): a weak vote
RELOADED_TRUST = 0.5  # a previous frame read back from its file: how sure each colour was is lost


def _rgb(source: ImageLike, what: str) -> np.ndarray:
    if isinstance(source, np.ndarray):
        a = source if source.dtype == np.uint8 else (np.clip(source, 0, 1) * 255 + 0.5).astype(np.uint8)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (3, 4):
            raise InkwashError(f"{what}: an array of shape {source.shape}; give an (H,W,3) colour image")
        img = Image.fromarray(a)
    elif isinstance(source, Image.Image):
        img = source
    else:
        img = open_image(source)
    return np.asarray(to_rgb(img), np.float32) / 255.0


def reference_from_images(coloured: ImageLike, lineart: ImageLike | None = None, gap: float | None = None,
                          weight: float = 1.0) -> Reference:
    """A key drawing: its colours (a path, PIL image or (H,W,3) array) and its lines (given, or extracted from
    the dark thin strokes of the colours). Its regions are computed once per lineart (cached)."""
    rgb = _rgb(coloured, "reference")
    h, w = rgb.shape[:2]
    if lineart is None:
        lines = extract_lineart(rgb)
    else:
        img = load_lineart(lineart)
        if img.size != (w, h):
            lw, lh = img.size
            if abs((lw / lh) / (w / h) - 1.0) > MAX_ASPECT_MISMATCH:
                raise InkwashError(f"reference lineart: {lw}x{lh} does not match the coloured reference's {w}x{h}; "
                                   "give the lineart the reference was coloured on")
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        lines = lineart_array(img)
    if not (lines < 0.5).any():
        raise InkwashError("reference: no lines found in it; give its lineart with --reference-lineart")
    regions = cached_regions(lines, RegionConfig(gap=gap))
    return Reference.from_colours(lines, regions, rgb, weight=weight)


def frame_trust(regions: Regions, match: Match, source: np.ndarray | None) -> np.ndarray:
    """(n+1,) trust of a coloured frame's region colours as a reference for the next frame: hinted 1, matched
    its confidence (at least 0.5: it passed the bar), anything else GUESSED_TRUST."""
    trust = np.full(regions.n + 1, GUESSED_TRUST, np.float32)
    got = match.matched
    trust[got] = np.maximum(0.5, match.confidence[got])
    if source is not None:
        trust[(source == HINTED) | (source == SPLIT)] = 1.0
        trust[(source != REFERENCE) & ~((source == HINTED) | (source == SPLIT))] = GUESSED_TRUST
    trust[0] = 0.0
    return trust


def previous_frame(lines: np.ndarray, regions: Regions, flat: np.ndarray, match: Match | None = None,
                   source: np.ndarray | None = None, weight: float = 1.0) -> Reference:
    """A coloured frame (lines (H,W) in [0,1], its regions, flat colours (H,W,3)) as a reference for the next.

    Without a match (a frame read back from disk) every colour gets RELOADED_TRUST.
    """
    if match is None:
        trust = np.full(regions.n + 1, RELOADED_TRUST, np.float32)
    else:
        trust = frame_trust(regions, match, source)
    return Reference.from_colours(lines, regions, flat, trust=trust, weight=weight)


def unmatched_rows(frame: str, regions: Regions, match: Match, source: np.ndarray | None = None) -> list[dict]:
    """One dict per enclosed region of a frame that no reference matched confidently (and no hint coloured):
    {frame, region, x, y, area, score, confidence}. Border regions (the paper around a drawing) are left out."""
    ids = match.unmatched(regions)
    if source is not None:
        ids = ids[(source[ids] != HINTED) & (source[ids] != SPLIT)]
    pts = interior_points(regions, max(1, min(regions.shape) // 512))
    return [{"frame": frame, "region": int(r), "x": int(pts[r, 0]), "y": int(pts[r, 1]),
             "area": int(regions.area[r]), "score": round(float(match.score[r]), 3),
             "confidence": round(float(match.confidence[r]), 3)} for r in ids]


def palette_table(regions: Regions, match: Match) -> list[dict]:
    """Every region of a frame with what the references gave it, JSON-ready (what a web app shows and edits):
    {region, x, y (an interior pixel), area, border, colour ("#rrggbb" or None when unmatched), confidence, fit}."""
    pts = interior_points(regions, max(1, min(regions.shape) // 512))
    rows = []
    for r in range(1, regions.n + 1):
        c = match.region_colour[r]
        hexc = None if np.isnan(c[0]) else "#" + "".join(f"{int(round(float(v) * 255)):02x}" for v in c)
        rows.append({"region": r, "x": int(pts[r, 0]), "y": int(pts[r, 1]), "area": int(regions.area[r]),
                     "border": bool(regions.border[r]), "colour": hexc,
                     "confidence": round(float(match.confidence[r]), 3), "fit": round(float(match.score[r]), 3)})
    return rows
