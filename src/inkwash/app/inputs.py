"""What a client sends, checked before it costs anything: images sniffed then decoded, stroke JSON bounded in
size and depth and priced before it is drawn, and every failure of reading or drawing it a 4xx ApiError.

These run on the server's input threads, never on the event loop:

    size = sniff_image(upload, "lineart", max_pixels)          # header only: (W, H), or ApiError
    doc = parse_json(text, "hints_json", max_depth=16)         # bounded; NaN/Infinity refused
    check_strokes(doc, size, config)                           # count, points, painted area: 413 before drawing
    inputs = prepare_request(uploads, text, config)            # all of the above + decode + inkwash.infer.prepare
    inputs = prepare_request(uploads, text, config, preview=1_500_000)   # ... on a copy of at most 1.5 MP
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inkwash.app.config import ServerConfig
from inkwash.app.errors import ApiError
from inkwash.errors import InkwashError

log = logging.getLogger("inkwash.app")

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
DEFAULT_BRUSH = 8  # px, as inkwash.hints draws a stroke without a width
# a JSON string, escapes included (the unrolled form: no backtracking on long strings)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


# ---------------------------------------------------------------------------------------------- helpers
@contextmanager
def input_errors(what: str, advice: str, detail: bool = True) -> Iterator[None]:
    """Any failure inside is the input's: InkwashError and ApiError pass through, MemoryError is a 413, anything
    else a lower layer raises on hostile input (overflow, recursion, a library's own error) a 400, never a 500.
    what: "the inputs", "the reference"; advice: what to send instead; detail: quote the error's first line."""
    try:
        yield
    except (ApiError, InkwashError):
        raise
    except MemoryError:
        raise ApiError(413, "too_large", f"{what} need more memory than this server has; send smaller "
                                         "images") from None
    except Exception as exc:  # noqa: BLE001 - user input must never reach the client as a 500
        log.warning("%s refused: %s: %s", what, type(exc).__name__, exc, exc_info=True)
        first = (str(exc).splitlines() or [""])[0][:160]
        why = f"{type(exc).__name__}: {first}" if detail else type(exc).__name__
        raise ApiError(400, "bad_input", f"{what} could not be read or drawn ({why}); {advice}") from None

def _source(data: bytes | IO[bytes]) -> IO[bytes]:
    if isinstance(data, (bytes, bytearray)):
        return io.BytesIO(data)
    data.seek(0)
    return data


def _is_empty(data: bytes | IO[bytes]) -> bool:
    if isinstance(data, (bytes, bytearray)):
        return not data
    data.seek(0, io.SEEK_END)
    return data.tell() == 0


def _number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        return False


def _open(data: bytes | IO[bytes], what: str, max_pixels: int) -> Image.Image:
    """The image's header read and its size checked; pixels not decoded yet."""
    if _is_empty(data):
        raise ApiError(400, "empty_file", f"{what}: the file is empty")
    img = Image.open(_source(data), formats=list(IMAGE_TYPES.values()))
    w, h = img.size
    if w * h > max_pixels:
        raise ApiError(413, "too_many_pixels", f"{what}: {w}x{h} is {w * h / 1e6:.1f} megapixels, over "
                                               f"the server's limit of {max_pixels / 1e6:.1f}; downscale it")
    if w == 0 or h == 0:
        raise ApiError(400, "empty_image", f"{what}: empty image ({w}x{h})")
    return img


def _image_errors(what: str, action):
    """Run `action`, turning Pillow's ways of failing on a bad file into ApiErrors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return action()
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, "too_many_pixels", f"{what}: refused as a decompression bomb; downscale it") from None
    except UnidentifiedImageError:
        raise ApiError(415, "unsupported_image", f"{what}: not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ApiError(400, "corrupt_image", f"{what}: corrupt or truncated image ({exc})") from None


# ----------------------------------------------------------------------------------------------- images
def sniff_image(data: bytes | IO[bytes], what: str, max_pixels: int) -> tuple[int, int]:
    """An upload's (W, H) from its header alone, checked against `max_pixels`; ApiError if it is no image."""
    return _image_errors(what, lambda: _open(data, what, max_pixels).size)


def decode_image(data: bytes | IO[bytes], what: str, max_pixels: int) -> Image.Image:
    """Bytes (or a binary file) of a PNG/JPEG/WebP upload -> a fully decoded PIL image, or ApiError saying why not."""
    def decode() -> Image.Image:
        img = _open(data, what, max_pixels)
        img.load()
        return ImageOps.exif_transpose(img)

    return _image_errors(what, decode)


# ------------------------------------------------------------------------------------------------- JSON
def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in JSON text (brackets inside strings do not count), without parsing it."""
    bare = np.frombuffer(_JSON_STRING.sub(b'""', raw), np.uint8)
    step = (bare == ord("[")).astype(np.int32) + (bare == ord("{")) - (bare == ord("]")) - (bare == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str | bytes, what: str, max_bytes: int, max_depth: int) -> Any:
    """JSON text -> Python data, refusing (ApiError) text over `max_bytes`, nesting over `max_depth`, NaN/Infinity
    and anything Python's parser chokes on (huge integers, recursion)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"{what}: {len(raw) / 2**20:.1f} MiB of JSON, over the limit of "
                                         f"{max_bytes / 2**20:.1f} MiB; send fewer strokes or the hints as a PNG")
    depth = json_depth(raw)
    if depth > max_depth:
        raise ApiError(400, "bad_json", f"{what}: JSON nested {depth} deep, over the limit of {max_depth}")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"{what}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"{what}: not valid JSON ({str(exc)[:200]})") from None


# ---------------------------------------------------------------------------------------------- strokes
def check_strokes(doc: Any, size: tuple[int, int], config: ServerConfig, what: str = "hints_json") -> None:
    """Price a stroke document (inkwash.hints' JSON) before drawing it at `size` = (W, H): ApiError 413 over the
    stroke, point or painted-area limits, 400 for a canvas or point no drawing could use.

    The painted area counts each stroke as its length x its width plus a round cap or joint (width^2) per point,
    all in lineart pixels: drawing costs ~5 ns per unit of it, ~12 us per point and ~25 us per stroke (Pillow).
    Malformed strokes are left to inkwash.hints, which says what is wrong with them.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("strokes"), list):
        return
    strokes = doc["strokes"]
    if len(strokes) > config.max_strokes:
        raise ApiError(413, "too_many_strokes", f"{what}: {len(strokes)} strokes, over the limit of "
                                                f"{config.max_strokes}; merge them or send the hints as a PNG")
    W, H = size
    sx = sy = 1.0
    cw, ch = doc.get("width"), doc.get("height")
    if _number(cw) and _number(ch) and cw > 0 and ch > 0:
        if cw < 1 or ch < 1 or cw > 2**20 or ch > 2**20:
            raise ApiError(400, "bad_input", f"{what}: a {cw:g}x{ch:g} canvas; give its size in pixels (1 to 2^20)")
        sx, sy = W / cw, H / ch
    scale = math.sqrt(sx * sy)
    margin = max(W, H)  # strokes may start off the canvas, not anywhere in the plane
    budget = config.max_stroke_area * W * H
    points, area = 0, 0.0
    for k, stroke in enumerate(strokes):
        if not isinstance(stroke, dict) or not isinstance(stroke.get("points"), list):
            continue
        pts = stroke["points"]
        points += len(pts)
        if points > config.max_points:
            raise ApiError(413, "too_many_points", f"{what}: over {config.max_points} points in all; simplify the "
                                                   "strokes or send the hints as a PNG")
        width = stroke.get("width", DEFAULT_BRUSH)
        w = max(1.0, width * scale) if _number(width) and width > 0 else 1.0
        xy = np.array([p for p in pts if isinstance(p, (list, tuple)) and len(p) == 2 and all(map(_number, p))],
                      np.float64).reshape(-1, 2) * (sx, sy)
        if len(xy):
            x, y = xy[:, 0], xy[:, 1]
            far = ~((x >= -margin) & (x <= W + margin) & (y >= -margin) & (y <= H + margin))
            if far.any():
                i = int(np.argmax(far))
                raise ApiError(400, "bad_input", f"{what}: strokes[{k}]: point {i} lies far outside the canvas "
                                                 f"({x[i]:.4g}, {y[i]:.4g} on a {W}x{H} lineart)")
            area += float(np.hypot(*np.diff(xy, axis=0).T).sum()) * w + len(xy) * w * w
        if not area <= budget:
            times = f"{area / (W * H):.3g} times" if math.isfinite(area) else "an unbounded multiple of"
            raise ApiError(413, "strokes_too_costly",
                           f"{what}: the strokes would paint {times} the picture's area (strokes[{k}] and those "
                           f"before it), over the limit of {config.max_stroke_area:g}; use fewer or thinner strokes")


def preview_size(size: tuple[int, int], max_pixels: int | None) -> tuple[int, int]:
    """(W, H) scaled down, proportions kept, to at most `max_pixels` pixels; unchanged when already within."""
    w, h = size
    if not max_pixels or w * h <= max_pixels:
        return size
    s = math.sqrt(max_pixels / (w * h))
    return max(1, int(w * s)), max(1, int(h * s))


def _scaled(img: Image.Image, full: tuple[int, int], size: tuple[int, int], resample: int) -> Image.Image:
    """An upload scaled as the lineart goes from `full` to `size` (one of another size keeps its own proportions,
    for inkwash.infer.prepare to resize or refuse as it would at full size)."""
    if img.mode in ("P", "1"):  # Pillow resizes these with nearest-neighbour whatever it is asked
        img = img.convert("RGBA")
    if img.size != full:
        s = size[0] / full[0]
        size = (max(1, round(img.width * s)), max(1, round(img.height * s)))
    return img.resize(size, resample)


# how each upload is scaled for a preview: hints keep their exact colours (they are labels), the rest is smooth
PREVIEW_RESAMPLE = {"lineart": Image.Resampling.LANCZOS, "hints": Image.Resampling.NEAREST,
                    "mask": Image.Resampling.BILINEAR, "base": Image.Resampling.LANCZOS}


# ----------------------------------------------------------------------------------------------- inputs
def prepare_request(uploads: dict[str, bytes | IO[bytes]], hints_json: str | None, config: ServerConfig,
                    preview: int | None = None, reference: Any = None):
    """Decode the uploads, parse and draw the stroke document, check everything (inkwash.infer.prepare) -> Inputs.

    preview: colour a copy of at most this many pixels (every image scaled alike; strokes drawn at that size), for
    live updates of a big drawing; the layers then come back at the copy's size. reference: an already read
    inkwash.reference.Reference (app/references.py), at its own size: matching aligns it to any size.

    Any failure here is the input's: InkwashError and ApiError pass through; anything else a lower layer raises
    on hostile input (overflow, recursion, a library's own error) becomes a 400 rather than a 500.
    """
    from inkwash.hints import hints_from_json
    from inkwash.infer import prepare

    with input_errors("the inputs", "check the hints and images"):
        images = {name: decode_image(data, name, config.max_pixels) for name, data in uploads.items()}
        full = images["lineart"].size
        size = preview_size(full, preview)
        if size != full:
            images = {name: _scaled(img, full, size, PREVIEW_RESAMPLE[name]) for name, img in images.items()}
        hints = images.get("hints")
        if hints_json is not None:
            doc = parse_json(hints_json, "hints_json", config.max_json_bytes, config.max_json_depth)
            check_strokes(doc, size, config)
            hints = hints_from_json(doc, size, where="hints_json")
        return prepare(images["lineart"], hints, images.get("mask"), images.get("base"), reference=reference)


__all__ = ["IMAGE_TYPES", "sniff_image", "decode_image", "json_depth", "parse_json", "check_strokes",
           "preview_size", "prepare_request"]
