"""Colour hints from users: stroke images or JSON stroke lists -> one hint map (H,W,4), and back.

Accepted inputs, all resized or scaled to the lineart's size:
  (a) an RGBA image whose alpha marks the strokes;
  (b) an RGB image of strokes on white (every channel >= WHITE_LEVEL counts as no hint);
  (c) a JSON file {"strokes": [{"color": "#rrggbb" | [r,g,b], "width": 8, "points": [[x,y], ...]}],
      "width": W?, "height": H?} in image coordinates, rasterized with a round brush; when the file gives
      its own width/height, points and widths are scaled to the lineart.
Images are resized with nearest-neighbour so stroke colours stay exact (LazyBrush labels are colours).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from inkwash.errors import InkwashError
from inkwash.io import atomic_path, has_alpha, open_image, save_image, to_rgba

WHITE_LEVEL = 240  # RGB hint images: paper-white and JPEG-ish near-white are "no hint"
MAX_ASPECT_MISMATCH = 0.1  # relative aspect difference beyond which a hint cannot belong to the lineart
DEFAULT_BRUSH = 8  # px, used when a JSON stroke gives no width


# ---------------------------------------------------------------------------------------------- helpers
def _check_aspect(what: str, size: tuple[int, int], target: tuple[int, int]) -> None:
    (w, h), (tw, th) = size, target
    if abs(math.log((w / h) / (tw / th))) > math.log1p(MAX_ASPECT_MISMATCH):
        raise InkwashError(
            f"{what}: {w}x{h} does not match the lineart's {tw}x{th} (aspect {w / h:.2f} vs {tw / th:.2f}); "
            "draw the hints on a canvas of the lineart's proportions"
        )


def _parse_color(value: Any, where: str) -> tuple[int, int, int]:
    if isinstance(value, str):
        s = value.strip().lstrip("#")
        if len(s) == 3:
            s = "".join(c * 2 for c in s)
        if len(s) == 6:
            try:
                return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
            except ValueError:
                pass
    elif isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(c, (int, float)) for c in value):
        if all(0 <= c <= 255 for c in value):
            return tuple(int(round(c)) for c in value)  # type: ignore[return-value]
    raise InkwashError(f"{where}: color {value!r} is not '#rrggbb' or [r, g, b] with values 0-255")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ------------------------------------------------------------------------------------------ rasterizing
def rasterize_strokes(strokes: list[dict], size: tuple[int, int], scale: tuple[float, float] = (1.0, 1.0),
                      where: str = "strokes") -> np.ndarray:
    """Validated stroke dicts -> hints: (H,W,4) float32, RGB in [0,1] + mask in {0,1}; later strokes on top."""
    w_img, h_img = size
    canvas = Image.new("RGBA", (w_img, h_img), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    sx, sy = scale
    for k, stroke in enumerate(strokes):
        at = f"{where}[{k}]"
        if not isinstance(stroke, dict):
            raise InkwashError(f"{at}: expected an object with color, width and points")
        color = _parse_color(stroke.get("color"), at) + (255,)
        width = stroke.get("width", DEFAULT_BRUSH)
        if not _number(width) or width <= 0:
            raise InkwashError(f"{at}: width {width!r} must be a positive number of pixels")
        pts = stroke.get("points")
        if not isinstance(pts, list) or not pts or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(_number(c) for c in p) for p in pts
        ):
            raise InkwashError(f"{at}: points must be a non-empty list of [x, y] numbers")
        xy = [(float(x) * sx, float(y) * sy) for x, y in pts]
        wpx = max(1, int(round(width * math.sqrt(sx * sy))))
        if len(xy) > 1:
            draw.line(xy, fill=color, width=wpx, joint="curve")
        if wpx > 2 or len(xy) == 1:  # round caps (and dots): Pillow's line ends are square
            r = wpx / 2.0
            for x, y in (xy if len(xy) == 1 else (xy[0], xy[-1])):
                if wpx <= 2:
                    draw.point((x, y), fill=color)
                else:
                    draw.ellipse((x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5), fill=color)
    arr = np.asarray(canvas, dtype=np.float32) / 255.0
    arr[..., 3] = (arr[..., 3] > 0.5).astype(np.float32)
    return arr


def hints_from_json(data: Any, size: tuple[int, int], where: str = "hints") -> np.ndarray:
    """Parsed JSON stroke document -> hints (H,W,4) at `size` = (W,H)."""
    if not isinstance(data, dict) or not isinstance(data.get("strokes"), list):
        raise InkwashError(f'{where}: expected {{"strokes": [{{"color": "#rrggbb", "width": 8, "points": '
                           '[[x, y], ...]}, ...]}')
    scale = (1.0, 1.0)
    if "width" in data or "height" in data:
        cw, ch = data.get("width"), data.get("height")
        if not (_number(cw) and _number(ch) and cw > 0 and ch > 0):
            raise InkwashError(f"{where}: width and height must both be positive numbers when given")
        _check_aspect(where, (cw, ch), size)
        scale = (size[0] / cw, size[1] / ch)
    return rasterize_strokes(data["strokes"], size, scale, where=f"{where}: strokes")


def hints_from_image(img: Image.Image, size: tuple[int, int], where: str = "hints") -> np.ndarray:
    """RGBA (alpha = strokes) or RGB-on-white stroke image -> hints (H,W,4) at `size` = (W,H), colours exact."""
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
    return out.astype(np.float32) / 255.0


# ----------------------------------------------------------------------------------------------- public
def load_hints(source: str | os.PathLike | Image.Image | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A hint file (image or .json), PIL image or array -> hints (H,W,4) float32: RGB in [0,1] + mask in [0,1].

    size: (W, H) of the lineart. Arrays must already be (H,W,4) in [0,1] (or uint8) at that size.
    """
    if isinstance(source, np.ndarray):
        arr = source.astype(np.float32) / (255.0 if source.dtype == np.uint8 else 1.0)
        if arr.ndim != 3 or arr.shape[2] != 4:
            raise InkwashError(f"hint array of shape {arr.shape}: expected (H, W, 4) with RGB + mask")
        if arr.shape[:2] != (size[1], size[0]):
            return hints_from_image(Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8), "RGBA"),
                                    size, where="hint array")
        return np.clip(arr, 0.0, 1.0)
    if isinstance(source, Image.Image):
        return hints_from_image(source, size)
    path = Path(source)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise InkwashError(f"{path}: no such file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InkwashError(f"{path}: unreadable ({exc})") from None
        except json.JSONDecodeError as exc:
            raise InkwashError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file") from None
        return hints_from_json(data, size, where=str(path))
    return hints_from_image(open_image(path), size, where=str(path))


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
