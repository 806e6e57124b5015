"""JSON colour strokes -> a hint map: validated in bulk, priced before drawing, drawn in order (later on top).

A stroke is {"color": "#rrggbb" | [r, g, b], "width": px (default 8), "points": [[x, y], ...]}, drawn with a
round brush (Pillow lines with curved joints, round caps). Any input either draws or raises one InkwashError:
numbers are checked for range before any integer conversion, and the drawing work is estimated from the
geometry and refused over `INKWASH_MAX_STROKE_AREA` (see inkwash.limits) before a pixel is drawn.

Speed: the app's exact hint export writes one 1-px horizontal stroke per run of a row (~100k for a painted
2048 px layer); those are validated with a few set/map passes and painted with numpy in one go. Other strokes
are drawn by Pillow onto a stroke-index canvas, so both kinds keep their order.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from inkwash import limits
from inkwash.errors import InkwashError

DEFAULT_BRUSH = 8  # px, used when a stroke gives no width
FAR = 2**20  # px: points may lie this far outside the canvas; further is a broken file (and Pillow's int math)
MAX_BRUSH_FACTOR = 2  # a brush wider than twice (canvas width + height) is a broken file: it paints everything
# Drawing cost model, in painted-pixel equivalents (about 1e8 per second on one core; bench/hints_draw.py):
STROKE_COST = 300  # Python work per stroke drawn by Pillow (about 3 us)
RUN_COST = 100  # per 1-px run painted with numpy, validation included (about 1 us)
SEG_ROW_COST = 16  # per canvas row a segment's polygon spans: Pillow's fill works row by row
JOINT_COST = 1000  # Pillow's Python work per curved joint (trigonometry, a pieslice call: about 10 us)
ROW_COST = 25  # per brush pixel of every cap or joint: Pillow walks the disc's rows even off the canvas
RUN_CHUNK = 1 << 22  # pixels of 1-px runs expanded at once (about 100 MB of index arrays)

_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlist = 3, 40, 40, 4


# ---------------------------------------------------------------------------------------------- helpers
def show(value: Any) -> str:
    """A short repr for error messages: deep or huge JSON values never make a huge (or recursing) message."""
    return _short.repr(value)


def _number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range (JSON allows 10**400)
        return False


def parse_color(value: Any, where: str) -> tuple[int, int, int]:
    """'#rrggbb', '#rgb' or [r, g, b] with values 0-255 -> (r, g, b); else InkwashError."""
    if isinstance(value, str):
        s = value.strip().lstrip("#")
        if len(s) == 3:
            s = "".join(c * 2 for c in s)
        if len(s) == 6 and all(c in "0123456789abcdefABCDEF" for c in s):
            return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
    elif isinstance(value, (list, tuple)) and len(value) == 3 and all(_number(c) for c in value):
        if all(0 <= c <= 255 for c in value):
            return tuple(int(round(c)) for c in value)  # type: ignore[return-value]
    raise InkwashError(f"{where}: color {show(value)} is not '#rrggbb' or [r, g, b] with values 0-255")


@dataclass
class Strokes:
    """Validated strokes in arrays: colors (N,3) uint8, widths (N,) float64 > 0, counts (N,) points per
    stroke >= 1, points (P,2) float64 finite, P = counts.sum()."""

    colors: np.ndarray
    widths: np.ndarray
    counts: np.ndarray
    points: np.ndarray


def _validate_one(stroke: Any, at: str) -> tuple[tuple[int, int, int], float, list]:
    if not isinstance(stroke, dict):
        raise InkwashError(f"{at}: expected an object with color, width and points, got {show(stroke)}")
    color = parse_color(stroke.get("color"), at)
    width = stroke.get("width", DEFAULT_BRUSH)
    if not _number(width) or width <= 0:
        raise InkwashError(f"{at}: width {show(width)} must be a positive number of pixels")
    pts = stroke.get("points")
    if not isinstance(pts, (list, tuple)) or not pts or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and _number(p[0]) and _number(p[1]) for p in pts
    ):
        raise InkwashError(f"{at}: points must be a non-empty list of [x, y] numbers, got {show(pts)}")
    return color, float(width), pts


def _validate_slow(strokes: list, where: str) -> Strokes:
    """One stroke at a time: slower, but names the first bad stroke."""
    colors, widths, counts, points = [], [], [], []
    for k, stroke in enumerate(strokes):
        color, width, pts = _validate_one(stroke, f"{where}[{k}]")
        colors.append(color)
        widths.append(width)
        counts.append(len(pts))
        points.extend(pts)
    return Strokes(np.asarray(colors, np.uint8).reshape(-1, 3), np.asarray(widths, np.float64),
                   np.asarray(counts, np.int64), np.asarray(points, np.float64).reshape(-1, 2))


def _validate_bulk(strokes: list) -> Strokes | None:
    """All strokes at once with set/map passes (C speed); None when anything is off (then _validate_slow)."""
    if not strokes or set(map(type, strokes)) != {dict}:
        return None
    pts = [s.get("points") for s in strokes]
    widths = [s.get("width", DEFAULT_BRUSH) for s in strokes]
    colors = [s.get("color") for s in strokes]
    if set(map(type, pts)) != {list} or set(map(type, widths)) - {int, float}:
        return None
    counts = np.fromiter(map(len, pts), np.int64, len(pts))
    if counts.min() == 0:
        return None
    flat = list(chain.from_iterable(pts))
    if set(map(type, flat)) != {list} or set(map(len, flat)) != {2}:
        return None
    coords = list(chain.from_iterable(flat))
    if set(map(type, coords)) - {int, float}:
        return None
    try:
        xy = np.array(coords, np.float64).reshape(-1, 2)
        w = np.array(widths, np.float64)
    except OverflowError:
        return None
    if not (np.isfinite(xy).all() and np.isfinite(w).all() and (w > 0).all()):
        return None
    if set(map(type, colors)) == {str}:
        try:
            table = {c: parse_color(c, "") for c in set(colors)}
        except InkwashError:
            return None
        rgb = np.array([table[c] for c in colors], np.uint8)
    else:
        try:
            rgb = np.array([parse_color(c, "") for c in colors], np.uint8)
        except InkwashError:
            return None
    return Strokes(rgb, w, counts, xy)


def _clipped_lengths(p0: np.ndarray, p1: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Length of each segment p0->p1 (S,2) inside its box [lo, hi] (S,2) (Liang-Barsky), 0 when outside."""
    d = p1 - p0
    t0, t1 = np.zeros(len(d)), np.ones(len(d))
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis in (0, 1):
            for edge, sign in ((lo[:, axis], -1.0), (hi[:, axis], 1.0)):
                p = sign * d[:, axis]
                q = sign * (edge - p0[:, axis])
                r = q / p
                parallel = p == 0
                outside = parallel & (q < 0)
                t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
                t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
                t1 = np.where(outside, -1.0, t1)
    return np.where(t1 > t0, (t1 - t0) * np.hypot(d[:, 0], d[:, 1]), 0.0)


# ------------------------------------------------------------------------------------------------- cost
def _runs(s: Strokes, wpx: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Strokes painted as pixel runs with numpy: 1-px brush, integer points, one point or one row/column.

    Pillow draws exactly these pixels for them (its 1-px line includes both ends; a dot is one pixel).
    """
    last = first + s.counts - 1
    x0, y0 = s.points[first, 0], s.points[first, 1]
    x1, y1 = s.points[last, 0], s.points[last, 1]
    whole = (x0 == np.floor(x0)) & (y0 == np.floor(y0)) & (x1 == np.floor(x1)) & (y1 == np.floor(y1))
    return (wpx == 1) & (s.counts <= 2) & whole & ((y0 == y1) | (x0 == x1))


def estimate_cost(s: Strokes, size: tuple[int, int], wpx: np.ndarray, fast: np.ndarray, first: np.ndarray
                  ) -> float:
    """Drawing work of validated, scaled strokes in painted-pixel equivalents (see the constants above)."""
    w_img, h_img = size
    area = float(w_img * h_img)
    stroke_of = np.repeat(np.arange(len(s.counts)), s.counts)
    w = wpx.astype(np.float64)
    # fast runs: their clipped length
    x0, y0 = s.points[first, 0], s.points[first, 1]
    last = first + s.counts - 1
    x1, y1 = s.points[last, 0], s.points[last, 1]
    run_len = np.where(y0 == y1, np.abs(x1 - x0), np.abs(y1 - y0)) + 1
    cost = float(np.minimum(run_len[fast], max(w_img, h_img)).sum()) + RUN_COST * float(fast.sum())
    slow = ~fast
    cost += STROKE_COST * float(slow.sum())
    # segments of slow strokes: visible length x width (the polygon Pillow fills)
    seg = (stroke_of[:-1] == stroke_of[1:]) & slow[stroke_of[:-1]]
    if seg.any():
        k = stroke_of[:-1][seg]
        r = (w[k] / 2.0 + 1.0)[:, None]
        lo, hi = -r, np.array([w_img, h_img], np.float64)[None, :] + r
        lo = np.broadcast_to(lo, (len(k), 2))
        p0, p1 = s.points[:-1][seg], s.points[1:][seg]
        length = _clipped_lengths(p0, p1, lo, hi)
        rows = np.minimum(np.abs(p1[:, 1] - p0[:, 1]) + w[k], h_img)
        cost += float(np.where(length > 0, np.minimum((length + w[k]) * w[k], area) + SEG_ROW_COST * rows, 0.0).sum())
    # caps and joints: rows walked always, their square where visible
    idx = np.arange(len(stroke_of))
    k = stroke_of
    is_end = (idx == first[k]) | (idx == last[k])
    joint = slow[k] & ~is_end & (w[k] > 4)
    cap = slow[k] & is_end & ((w[k] > 2) | (s.counts[k] == 1))
    r = w[k] / 2.0
    px, py = s.points[:, 0], s.points[:, 1]
    visible = (px + r + 2 >= 0) & (px - r - 2 <= w_img) & (py + r + 2 >= 0) & (py - r - 2 <= h_img)
    disc = ROW_COST * w[k] + np.where(visible, np.minimum(w[k] * w[k], area), 0.0)
    cost += float((disc + JOINT_COST)[joint].sum()) + float(disc[cap & visible].sum())
    return cost


# ---------------------------------------------------------------------------------------------- drawing
def _paint_runs(owner: np.ndarray, s: Strokes, first: np.ndarray, ids: np.ndarray) -> None:
    """owner (H,W) int32 = max(owner, stroke id + 1) over the pixels of the run strokes `ids`."""
    h_img, w_img = owner.shape
    last = first[ids] + s.counts[ids] - 1
    x0, y0 = s.points[first[ids]].T
    x1, y1 = s.points[last].T
    horiz = y0 == y1
    # a run as (row or column index, start, end) along its axis, clipped to the canvas
    fixed = np.where(horiz, y0, x0)
    a = np.minimum(np.where(horiz, x0, y0), np.where(horiz, x1, y1))
    b = np.maximum(np.where(horiz, x0, y0), np.where(horiz, x1, y1))
    a = np.maximum(a, 0)
    b = np.minimum(b, np.where(horiz, w_img, h_img) - 1)
    keep = (fixed >= 0) & (fixed < np.where(horiz, h_img, w_img)) & (a <= b)
    fixed, a, b, horiz, sid = fixed[keep].astype(np.int64), a[keep].astype(np.int64), b[keep].astype(np.int64), \
        horiz[keep], ids[keep].astype(np.int64)
    n = b - a + 1
    ends = np.cumsum(n)
    flat = owner.reshape(-1)
    start = 0
    while start < len(n):  # in chunks of about RUN_CHUNK pixels: memory stays bounded whatever the runs
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - n[start] + RUN_CHUNK, side="right")))
        nn = n[start:stop]
        offset = np.arange(int(nn.sum())) - np.repeat(np.cumsum(nn) - nn, nn)  # 0..n-1 within each run
        pos = np.repeat(a[start:stop], nn) + offset
        along = np.repeat(horiz[start:stop], nn)
        across = np.repeat(fixed[start:stop], nn)
        index = np.where(along, across * w_img + pos, pos * w_img + across)
        np.maximum.at(flat, index, np.repeat(sid[start:stop] + 1, nn).astype(np.int32))
        start = stop


def _draw_pillow(canvas: ImageDraw.ImageDraw, xy: list[tuple[float, float]], wpx: int, ink: int,
                 size: tuple[int, int]) -> None:
    """One stroke as inkwash always drew it: a curved-joint line plus round caps (or a dot)."""
    if len(xy) > 1:
        canvas.line(xy, fill=ink, width=wpx, joint="curve")
    if wpx > 2 or len(xy) == 1:  # round caps (and dots): Pillow's line ends are square
        r = wpx / 2.0
        for x, y in (xy if len(xy) == 1 else (xy[0], xy[-1])):
            if x + r + 2 < 0 or y + r + 2 < 0 or x - r - 2 > size[0] or y - r - 2 > size[1]:
                continue  # off the canvas: nothing to draw, and Pillow would still walk its rows
            if wpx <= 2:
                canvas.point((x, y), fill=ink)
            else:
                canvas.ellipse((x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5), fill=ink)


# ----------------------------------------------------------------------------------------------- public
def validate_strokes(strokes: Any, where: str = "strokes") -> Strokes:
    """A JSON stroke list -> Strokes arrays, or InkwashError naming the first bad stroke; counts are limited."""
    if not isinstance(strokes, list):
        raise InkwashError(f"{where}: expected a list of strokes, got {show(strokes)}")
    if len(strokes) > limits.MAX_STROKES.value():
        raise limits.MAX_STROKES.refuse(f"{where}: {len(strokes):,} strokes")
    s = _validate_bulk(strokes) or _validate_slow(strokes, where)
    if len(s.points) > limits.MAX_STROKE_POINTS.value():
        raise limits.MAX_STROKE_POINTS.refuse(f"{where}: {len(s.points):,} points")
    return s


def rasterize_strokes(strokes: list, size: tuple[int, int], scale: tuple[float, float] = (1.0, 1.0),
                      where: str = "strokes") -> np.ndarray:
    """JSON stroke dicts -> hints: (H,W,4) float32, RGB in [0,1] + mask in {0,1}; later strokes on top.

    size = (W, H) of the hint map; scale multiplies x, y and (by its geometric mean) the brush width.
    """
    w_img, h_img = size
    s = validate_strokes(strokes, where)
    if len(s.counts) == 0:
        return np.zeros((h_img, w_img, 4), np.float32)
    sx, sy = scale
    with np.errstate(over="ignore", invalid="ignore"):
        s.points = s.points * np.array([sx, sy])
        width = s.widths * math.sqrt(sx * sy)
    max_brush = MAX_BRUSH_FACTOR * (w_img + h_img) + 16
    bad = np.flatnonzero(~(np.isfinite(width) & (width <= max_brush)))
    if bad.size:
        k = int(bad[0])
        raise InkwashError(f"{where}[{k}]: width {show(strokes[k].get('width'))} is a brush of over {max_brush} px "
                           f"on this {w_img}x{h_img} canvas; use a brush smaller than the canvas")
    lo, hi = -FAR, np.array([w_img, h_img]) + FAR
    far = ~(np.isfinite(s.points).all(axis=1) & (s.points >= lo).all(axis=1) & (s.points <= hi).all(axis=1))
    if far.any():
        k = int(np.repeat(np.arange(len(s.counts)), s.counts)[np.flatnonzero(far)[0]])
        raise InkwashError(f"{where}[{k}]: a point lies over {FAR:,} px outside the {w_img}x{h_img} canvas; "
                           "points must be in image coordinates")
    wpx = np.maximum(1, np.round(width)).astype(np.int64)  # Python's round: half to even, as before
    first = np.concatenate([[0], np.cumsum(s.counts)[:-1]]).astype(np.int64)
    fast = _runs(s, wpx, first)
    cost = estimate_cost(s, size, wpx, fast, first)
    if cost > limits.MAX_STROKE_AREA.value():
        raise limits.MAX_STROKE_AREA.refuse(f"{where}: drawing these {len(s.counts):,} strokes costs about "
                                            f"{cost:,.0f} painted pixels (length x brush width, summed)")
    owner = np.zeros((h_img, w_img), np.int32)  # 1 + index of the last stroke over each pixel, 0 = none
    if fast.any():
        _paint_runs(owner, s, first, np.flatnonzero(fast))
    slow = np.flatnonzero(~fast)
    if slow.size:
        canvas = Image.new("I", (w_img, h_img), 0)
        draw = ImageDraw.Draw(canvas)
        pts = s.points.tolist()
        for k in slow.tolist():
            xy = [tuple(p) for p in pts[first[k]: first[k] + s.counts[k]]]
            _draw_pillow(draw, xy, int(wpx[k]), k + 1, size)
        np.maximum(owner, np.asarray(canvas, np.int32), out=owner)
    palette = np.zeros((len(s.counts) + 1, 4), np.float32)  # row 0: no stroke
    palette[1:, :3] = s.colors.astype(np.float32) / 255.0
    palette[1:, 3] = 1.0
    return np.take(palette, owner, axis=0)
