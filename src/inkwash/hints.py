"""Colour hints from users: stroke images or JSON stroke lists -> one hint map (H,W,4), and back.

Accepted inputs, all resized or scaled to the lineart's size:
  (a) an RGBA image whose alpha marks the strokes;
  (b) an RGB image of strokes on white (every channel >= WHITE_LEVEL counts as no hint);
  (c) a JSON file {"strokes": [{"color": "#rrggbb" | [r,g,b], "width": 8, "points": [[x,y], ...]}],
      "width": W?, "height": H?} in image coordinates, rasterized with a round brush; when the file gives
      its own width/height, points and widths are scaled to the lineart.
Images are resized with nearest-neighbour so stroke colours stay exact (LazyBrush labels are colours).
Any input gives a hint map or one InkwashError; files, strokes and drawing work are limited before any
work (INKWASH_MAX_HINT_BYTES, INKWASH_MAX_STROKES, INKWASH_MAX_STROKE_POINTS, INKWASH_MAX_STROKE_AREA: see
inkwash.limits and inkwash.strokes_draw).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inkwash import limits
from inkwash.errors import InkwashError
from inkwash.io import atomic_path, check_pixels, has_alpha, open_image, open_regular, save_image, to_rgba
from inkwash.strokes_draw import DEFAULT_BRUSH, rasterize_strokes, show

WHITE_LEVEL = 240  # RGB hint images: paper-white and JPEG-ish near-white are "no hint"
MAX_ASPECT_MISMATCH = 0.1  # relative aspect difference beyond which a hint cannot belong to the lineart

__all__ = ["DEFAULT_BRUSH", "rasterize_strokes", "parse_hints_json", "hints_from_json", "hints_from_image",
           "load_hints", "hints_to_json", "save_hints"]


# ---------------------------------------------------------------------------------------------- helpers
def _check_aspect(what: str, size: tuple[float, float], target: tuple[int, int]) -> None:
    (w, h), (tw, th) = size, target
    if abs(math.log((w / h) / (tw / th))) > math.log1p(MAX_ASPECT_MISMATCH):
        raise InkwashError(
            f"{what}: {w:g}x{h:g} does not match the lineart's {tw}x{th} (aspect {w / h:.2f} vs {tw / th:.2f}); "
            "draw the hints on a canvas of the lineart's proportions"
        )


def _canvas_side(value: Any) -> bool:
    """A document's own width/height: a number of pixels, at least 1 (tiny ones would scale strokes to inf)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and 1 <= value <= 2**31
    except OverflowError:
        return False


# ----------------------------------------------------------------------------------------------- public
def parse_hints_json(text: str | bytes, where: str = "hints") -> Any:
    """JSON text -> Python value; any malformed, too deep or too big-numbered document is one InkwashError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InkwashError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file") from None
    except UnicodeDecodeError:
        raise InkwashError(f"{where}: not UTF-8 text; save the JSON file as UTF-8") from None
    except RecursionError:
        raise InkwashError(f"{where}: JSON nested too deeply; a stroke document is only a few levels deep") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InkwashError(f"{where}: unreadable JSON ({str(exc)[:100]})") from None


def hints_from_json(data: Any, size: tuple[int, int], where: str = "hints") -> np.ndarray:
    """Parsed JSON stroke document -> hints (H,W,4) at `size` = (W,H)."""
    if not isinstance(data, dict) or not isinstance(data.get("strokes"), list):
        raise InkwashError(f'{where}: expected {{"strokes": [{{"color": "#rrggbb", "width": 8, "points": '
                           '[[x, y], ...]}, ...]}')
    scale = (1.0, 1.0)
    if "width" in data or "height" in data:
        cw, ch = data.get("width"), data.get("height")
        if not (_canvas_side(cw) and _canvas_side(ch)):
            raise InkwashError(f"{where}: width and height must both be numbers of pixels (1 or more) when given, "
                               f"got {show(cw)} and {show(ch)}")
        _check_aspect(where, (cw, ch), size)
        scale = (size[0] / cw, size[1] / ch)
    return rasterize_strokes(data["strokes"], size, scale, where=f"{where}: strokes")


def hints_from_image(img: Image.Image, size: tuple[int, int], where: str = "hints") -> np.ndarray:
    """RGBA (alpha = strokes) or RGB-on-white stroke image -> hints (H,W,4) at `size` = (W,H), colours exact."""
    check_pixels(img.width, img.height, where, limit=limits.MAX_COLORIZE_PIXELS)
    if img.width == 0 or img.height == 0:
        raise InkwashError(f"{where}: empty image ({img.width}x{img.height})")
    _check_aspect(where, img.size, size)
    rgba = np.asarray(to_rgba(img))
    if has_alpha(img) and rgba[..., 3].min() < 255:
        mask = rgba[..., 3] >= 128
    else:
        mask = (rgba[..., :3] < WHITE_LEVEL).any(axis=2)
    out = np.zeros(rgba.shape[:2] + (4,), np.uint8)
    out[mask, :3] = rgba[mask, :3]
    out[mask, 3] = 255
    if (img.width, img.height) != tuple(size):
        out = np.asarray(Image.fromarray(out, "RGBA").resize(size, Image.Resampling.NEAREST))
    return np.divide(out, np.float32(255.0), dtype=np.float32)  # one (H,W,4) allocation: 268 MB at 4K


# ----------------------------------------------------------------------------------------------- public
def load_hints(source: str | os.PathLike | Image.Image | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A hint file (image or .json), PIL image or array -> hints (H,W,4) float32: RGB in [0,1] + mask in [0,1].

    size: (W, H) of the lineart. Arrays must already be (H,W,4) in [0,1] (or uint8) at that size.
    """
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] != 4 or source.dtype.kind not in "biuf":
            raise InkwashError(f"hint array of shape {source.shape} ({source.dtype}): expected (H, W, 4) numbers "
                               "with RGB + mask")
        if source.dtype == np.uint8:
            arr = np.divide(source, np.float32(255.0), dtype=np.float32)
        else:
            arr = np.array(source, np.float32)
            if not np.isfinite(arr).all():  # NaN would reach the model; checked first: cleaning 4K costs a second
                arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
            np.clip(arr, 0.0, 1.0, out=arr)
        if arr.shape[:2] != (size[1], size[0]):
            return hints_from_image(Image.fromarray((arr * 255 + 0.5).astype(np.uint8), "RGBA"), size,
                                    where="hint array")
        return arr
    if isinstance(source, Image.Image):
        return hints_from_image(source, size)
    path = Path(source)
    if path.suffix.lower() == ".json":
        with open_regular(path, "a JSON stroke file", size_limit=limits.MAX_HINT_BYTES) as fh:
            try:
                raw = fh.read()
            except OSError as exc:
                raise InkwashError(f"{path}: unreadable ({exc.strerror or exc})") from None
        return hints_from_json(parse_hints_json(raw, str(path)), size, where=str(path))
    return hints_from_image(open_image(path, limit=limits.MAX_COLORIZE_PIXELS), size, where=str(path))


def hints_to_json(hints: np.ndarray) -> dict:
    """Hints (H,W,4) -> a JSON-able stroke document that `load_hints` rasterizes back to the same mask and colours.

    Each horizontal run of one colour becomes a 1-px stroke, so the round trip is exact for any painting.
    """
    h, w = hints.shape[:2]
    rgb = (np.clip(hints[..., :3], 0, 1) * 255.0 + 0.5).astype(np.int64)
    key = np.where(hints[..., 3] > 0.5, (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], -1)
    strokes = []
    for y in range(h):
        row = key[y]
        change = np.flatnonzero(np.diff(row)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [w]]) - 1
        for x0, x1 in zip(starts, ends):
            k = int(row[x0])
            if k >= 0:
                strokes.append({"color": f"#{k:06x}", "width": 1, "points": [[int(x0), y], [int(x1), y]]})
    return {"width": w, "height": h, "strokes": strokes}


def save_hints(hints: np.ndarray, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write hints (H,W,4) as .json strokes or as an RGBA image (alpha = mask), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(hints_to_json(hints)), encoding="utf-8")
        return path
    arr = np.clip(hints, 0.0, 1.0).copy()
    arr[..., 3] = arr[..., 3] > 0.5
    arr[arr[..., 3] == 0, :3] = 0.0
    return save_image(Image.fromarray((arr * 255.0 + 0.5).astype(np.uint8), "RGBA"), path, overwrite=overwrite)
