"""Image files in and out: safe decoding of any mode, and atomic writes that never clobber user data."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inkwash.errors import InkwashError

# Above this an image is refused before decoding: Open Clip Art holds two 623-megapixel PNGs, and a
# 16k x 16k scan already needs 1 GB as float32 RGB. Users with real large files raise it explicitly.
MAX_PIXELS = int(os.environ.get("INKWASH_MAX_PIXELS", 100_000_000))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
WHITE = (255, 255, 255)
# Pillow's own bomb guard (about 89 MP) would otherwise fire below our limit; ours is the one that applies.
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or 0)


def open_image(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """Decode an image fully, or raise InkwashError saying why it cannot be used."""
    path = Path(path)
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if not path.exists():
        raise InkwashError(f"{path}: no such file")
    if path.is_dir():
        raise InkwashError(f"{path}: is a folder, expected an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w * h > limit:
                raise InkwashError(
                    f"{path}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the limit of {limit / 1e6:.0f}; "
                    "downscale it or set INKWASH_MAX_PIXELS"
                )
            img.load()
            img = ImageOps.exif_transpose(img)
    except InkwashError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InkwashError(f"{path}: refused as a decompression bomb (too many pixels); downscale it first") from None
    except UnidentifiedImageError:
        raise InkwashError(f"{path}: not an image file Pillow can read (PNG, JPEG, WebP, BMP, TIFF)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InkwashError(f"{path}: corrupt or truncated image ({exc})") from None
    if w == 0 or h == 0:
        raise InkwashError(f"{path}: empty image ({w}x{h})")
    return img


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float grayscale to 8-bit L, scaling rather than clipping."""
    arr = np.asarray(img).astype(np.float64)
    if img.mode == "F":
        top = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        arr = arr / top * 255.0
    elif img.mode.startswith("I;16") or arr.max(initial=0) > 255:
        arr = arr / 257.0
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L")


def has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def to_rgba(img: Image.Image) -> Image.Image:
    """Any mode to RGBA (opaque where the file had no alpha)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        img = _to_8bit(img)
    return img.convert("RGBA")


def to_rgb(img: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any mode to RGB; transparency is composited over `background` (white paper by default)."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        img = _to_8bit(img)
    if has_alpha(img):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")


def load_rgb(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """Open any image file as RGB on white."""
    return to_rgb(open_image(path, max_pixels))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files below `folder`, recursively, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InkwashError(f"{folder}: not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's or a folder's contents to the disk (a folder: the names in it, so a rename survives a
    power cut). Folders are skipped where the platform cannot open them (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp(\.[^.]*)?")  # what atomic_path's mkstemp call names


def is_atomic_temp(name: str) -> bool:
    """Is `name` a temporary file of an `atomic_path` write (left behind only when a process was killed)?"""
    return _TEMP_NAME.fullmatch(name) is not None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path` (atomic on one filesystem).

    durable: fsync the file before the rename and its folder after it, so that after a crash or power cut `path`
    holds either the old or the new content in full (checkpoints, exports; a few ms per file on an SSD).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InkwashError(f"{path}: already exists; pass --overwrite to replace it")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _chmod_like_new_file(tmp_path)
        if durable:
            fsync_path(tmp_path)
        os.replace(tmp_path, path)
        if durable:
            fsync_path(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _chmod_like_new_file(path: Path) -> None:
    """mkstemp creates 0600 files; give the result the mode a plain open() would (0666 minus umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


def save_image(img: Image.Image, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write an image atomically; the format follows the suffix (PNG when unknown)."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}.get(
        suffix, "PNG"
    )
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = to_rgb(img)
    with atomic_path(path, overwrite=overwrite) as tmp:
        img.save(tmp, format=fmt)
    return path


def pil_to_array(img: Image.Image) -> np.ndarray:
    """PIL image to float32 array in [0, 1], (H, W) for L or (H, W, C)."""
    return np.asarray(img, dtype=np.float32) / 255.0


def array_to_pil(arr: np.ndarray) -> Image.Image:
    """float array in [0, 1], (H, W) or (H, W, 3|4), to a PIL image."""
    arr = np.clip(np.asarray(arr, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)
