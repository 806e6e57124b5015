"""The canvas a model paints on, and the way back to the lineart's own size: written once for every model.

A lineart of any size and aspect is scaled so its short side is the model's working resolution (never enlarged),
padded with paper to a multiple of the model's stride, and its hints are reduced to 1/hint_scale without losing
thin strokes. The model's colour is cropped back to the content and resized to the lineart's size; the original
full-resolution lines are multiplied over it afterwards (inkwash.infer), so lines stay crisp at any size.

    canvas = to_canvas(lines, hints, mask, base, resolution=256, multiple=16, hint_scale=4)
    colour = from_canvas(model.run(canvas, seed), canvas)        # (H,W,3) at the lineart's size
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Canvas:
    """What a model sees. h, w: multiples of the model's stride; s = hint_scale.

    lines: (h,w) float32 in [0,1], 1 = paper (padding is paper); hints: (h/s,w/s,4) RGB in [0,1] + mask in {0,1};
    mask: (h,w) float32 in {0,1}, 1 = colour here (padding 0), None when the model does not in-paint;
    base: (h,w,3) in [0,1], what to keep outside the mask (the lines themselves on a first pass), or None;
    content: (ch, cw), the scaled lineart's part of the canvas; size: (H, W) of the lineart.
    """

    lines: np.ndarray
    hints: np.ndarray
    mask: np.ndarray | None
    base: np.ndarray | None
    content: tuple[int, int]
    size: tuple[int, int]


# ---------------------------------------------------------------------------------------------- helpers
def working_size(h: int, w: int, short: int, multiple: int = 16) -> tuple[int, int]:
    """(H,W) scaled so the short side is `short` (never enlarged), each rounded to a multiple of `multiple`."""
    scale = min(1.0, short / min(h, w))
    return (max(multiple, round(h * scale / multiple) * multiple),
            max(multiple, round(w * scale / multiple) * multiple))


def downsample_hints(hints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W,4) hint map (float in [0,1], or uint8 levels) -> (h,w,4) float32 in [0,1], without losing thin strokes
    or mixing their colours with paper.

    A target pixel is hinted when any source pixel under it is; its colour is the mean of the hinted
    source pixels only (area averaging of colour*mask divided by that of the mask).
    """
    import cv2

    h, w = size
    if hints.dtype == np.uint8:
        hints = np.divide(hints, np.float32(255.0), dtype=np.float32)
    if hints.shape[:2] == (h, w):
        return np.asarray(hints, np.float32)
    m = hints[..., 3:4].astype(np.float32)
    area = cv2.INTER_AREA
    rgb_m = cv2.resize(np.ascontiguousarray(hints[..., :3] * m), (w, h), interpolation=area).reshape(h, w, 3)
    m_small = cv2.resize(np.ascontiguousarray(m[..., 0]), (w, h), interpolation=area).reshape(h, w, 1)
    hit = m_small > 1e-3
    rgb = np.where(hit, rgb_m / np.maximum(m_small, 1e-6), 0.0)
    return np.concatenate([np.clip(rgb, 0, 1), hit.astype(np.float32)], axis=2).astype(np.float32)


def encode_hints(hints: np.ndarray) -> np.ndarray:
    """(..., 4) hints, RGB in [0,1] + mask (float) -> the networks' layout: RGB in [-1,1] where hinted, 0 elsewhere,
    mask in {0,1} (thesis IV.2.2.1, as every model trains). float32, channels last."""
    hints = np.asarray(hints, np.float32)
    m = hints[..., 3:4]
    return np.concatenate([(hints[..., :3] * 2.0 - 1.0) * m, m], axis=-1).astype(np.float32)


def _fit(a: np.ndarray, content: tuple[int, int], size: tuple[int, int], fill: float) -> np.ndarray:
    """Resize (H,W[,C]) float32 `a` (area filter) to `content` (ch,cw) and pad it with `fill` to `size` (h,w)."""
    import cv2

    (ch, cw), (h, w) = content, size
    a = np.asarray(a, np.float32)
    small = a if a.shape[:2] == (ch, cw) else cv2.resize(a, (cw, ch), interpolation=cv2.INTER_AREA)
    if (ch, cw) == (h, w):
        return small.reshape((h, w) + a.shape[2:])
    out = np.full((h, w) + a.shape[2:], fill, np.float32)
    out[:ch, :cw] = small.reshape((ch, cw) + a.shape[2:])
    return out


def fill_line_pixels(colour: np.ndarray, lines: np.ndarray, ink: float = 0.5) -> np.ndarray:
    """Flat layer: the colour under ink pixels (lines < ink) replaced by that of the nearest paper pixel.

    colour: (H,W,3); lines: (H,W) in [0,1]. A learned model paints its own (soft, low-resolution) lines into the
    colour; artists want a colour layer with none, under crisp original lines.
    """
    from scipy.ndimage import distance_transform_edt  # exact ties, mirrored by the in-browser page's JavaScript

    on_line = lines < ink
    if not on_line.any() or on_line.all():
        return colour
    _, (iy, ix) = distance_transform_edt(on_line, return_indices=True)
    return colour[iy, ix]


# ------------------------------------------------------------------------------------------- main thing
def to_canvas(lines: np.ndarray, hints: np.ndarray, mask: np.ndarray | None = None, base: np.ndarray | None = None,
              resolution: int | None = None, multiple: int = 1, hint_scale: int = 1,
              inpaints: bool = False) -> Canvas:
    """The model's canvas for a lineart (H,W) in [0,1], hints (H,W,4), optional mask (H,W[,1]) and base (H,W,3).

    resolution None keeps the lineart's size (no padding when multiple is 1). For a model that `inpaints`, a
    missing mask or base means a first pass: everything selected, the lines as the base.
    """
    H, W = lines.shape
    if resolution is None:
        h, w = -(-H // multiple) * multiple, -(-W // multiple) * multiple
        content = (H, W)
    else:
        h, w = working_size(H, W, resolution, multiple)
        scale = min(1.0, resolution / min(H, W))
        content = (min(h, max(1, round(H * scale))), min(w, max(1, round(W * scale))))
    quarter = (max(1, content[0] // hint_scale), max(1, content[1] // hint_scale))
    hint_canvas = np.zeros((h // hint_scale, w // hint_scale, 4), np.float32)
    hint_canvas[: quarter[0], : quarter[1]] = downsample_hints(np.asarray(hints), quarter)
    m = b = None
    if inpaints:
        if mask is None or base is None:  # nothing to keep: colour the whole lineart (a first pass)
            mask = np.ones((H, W), np.float32)
        mask = np.asarray(mask, np.float32).reshape(H, W)
        base = np.repeat(lines[..., None], 3, axis=2) if base is None else base
        m = (_fit(mask, content, (h, w), 0.0) > 0).astype(np.float32)
        b = _fit(base, content, (h, w), 1.0)
    return Canvas(_fit(lines, content, (h, w), 1.0), hint_canvas, m, b, content, (H, W))


def from_canvas(colour: np.ndarray, canvas: Canvas, dtype: type = np.float32) -> np.ndarray:
    """A model's (h,w,3) output -> (H,W,3) at the lineart's size (content cropped, bicubic): float32 in [0,1], or
    uint8 levels with dtype=np.uint8 (resized as 8-bit: a quarter of the memory at full resolution)."""
    import cv2

    ch, cw = canvas.content
    H, W = canvas.size
    out = np.clip(np.asarray(colour, np.float32)[:ch, :cw], 0.0, 1.0)
    if dtype == np.uint8:
        out = cv2.convertScaleAbs(out, alpha=255.0)
    if out.shape[:2] != (H, W):  # OpenCV saturates 8-bit cubic overshoot; float overshoot is clipped below
        out = cv2.resize(np.ascontiguousarray(out), (W, H), interpolation=cv2.INTER_CUBIC).reshape(H, W, 3)
    return out if dtype == np.uint8 else np.clip(out, 0.0, 1.0, out=out)


__all__ = ["Canvas", "working_size", "downsample_hints", "encode_hints", "fill_line_pixels", "to_canvas", "from_canvas"]
