"""Image files in and out: safe decoding of any mode, and atomic writes that never clobber user data."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import struct
import tempfile
import warnings
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inkwash import limits
from inkwash.errors import InkwashError

# Above this an image is refused before decoding (INKWASH_MAX_PIXELS, see inkwash.limits); read once here for
# callers that need a number up front, and again by open_image at each call.
MAX_PIXELS = limits.MAX_PIXELS.value_or_default()
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
WHITE = (255, 255, 255)
# Pillow's own bomb guard (about 89 MP) would otherwise fire below our limit; ours is the one that applies.
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or 0)
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits per sample: scaled to 8 bits
TMP_NAME_KEEP = 40  # bytes of the target's name kept in its temporary name (the whole must fit NAME_MAX)
# Errors Pillow's decoders raise on malformed data besides OSError (found by feeding it truncated and
# bit-flipped files); they mean "corrupt file", never a bug of ours.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
                  ZeroDivisionError, OverflowError, MemoryError)
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (an immutable or protected file or folder)",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "file name too long",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
    errno.ENXIO: "no such device (a socket or special file)",
    errno.ELOOP: "too many symbolic links",
}


# ---------------------------------------------------------------------------------------------- helpers
def os_reason(exc: OSError) -> str:
    """A short human reason for an OSError ('read-only file system'), without Python's repr noise."""
    return _REASONS.get(exc.errno, exc.strerror or type(exc).__name__)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def open_regular(path: str | os.PathLike, what: str = "a file", size_limit: limits.Limit | None = None) -> BinaryIO:
    """Open a path for binary reading only if it is a non-empty regular file; else InkwashError at once.

    A FIFO would block forever, /dev/zero never ends and /proc files claim a size of 0: all refused before
    a byte is read. The check is on the opened descriptor (fstat), so the file cannot be swapped in between.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)  # a FIFO must not block open
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InkwashError(f"{path}: no such file") from None
    except OSError as exc:
        raise InkwashError(f"{path}: cannot be opened ({os_reason(exc)}); give {what}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InkwashError(f"{path}: is a folder, expected {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InkwashError(f"{path}: is a {_file_kind(st.st_mode)}, not a regular file; give {what}")
        if st.st_size == 0:
            raise InkwashError(f"{path}: empty file (0 bytes, or a special file as in /proc); give {what}")
        if size_limit is not None and st.st_size > size_limit.value():
            raise size_limit.refuse(f"{path}: {st.st_size:,} bytes")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _pixel_limit(max_pixels: int | None, limit: limits.Limit | None) -> tuple[int, limits.Limit | None]:
    """The binding pixel limit and the Limit that names it (None when the caller gave a number)."""
    if max_pixels is not None:
        return max_pixels, None
    found = [(lim.value(), lim) for lim in (limits.MAX_PIXELS, limit) if lim is not None]
    return min(found, key=lambda f: f[0])


def check_pixels(w: int, h: int, what: str, max_pixels: int | None = None,
                 limit: limits.Limit | None = None) -> None:
    """InkwashError when a w x h image is over the pixel limit (see inkwash.limits), before any decoding."""
    value, lim = _pixel_limit(max_pixels, limit)
    if w * h <= value:
        return
    found = f"{what}: {w}x{h} is {w * h / 1e6:.1f} megapixels"
    if lim is None:
        raise InkwashError(f"{found}, over the limit of {value / 1e6:.1f}; downscale it")
    raise lim.refuse(f"{found} ({w * h:,} pixels)", value, advice="downscale it")


def _is_unsigned32(img: Image.Image) -> bool:
    """Pillow reads unsigned 32-bit TIFF samples into signed mode I: values over 2^31 wrap negative."""
    tags = getattr(img, "tag_v2", None)
    if img.mode != "I" or tags is None:
        return False
    bits, fmt = tags.get(258, (0,)), tags.get(339, (1,))  # BitsPerSample, SampleFormat (1 = unsigned, default)
    bits = bits[0] if isinstance(bits, tuple) else bits
    fmt = fmt[0] if isinstance(fmt, tuple) else fmt
    return bits == 32 and fmt == 1


def _as_unsigned32(img: Image.Image) -> Image.Image:
    """Mode I holding unsigned 32-bit samples -> mode F with their true values."""
    return Image.fromarray(np.asarray(img).view(np.uint32).astype(np.float32), "F")


def _short_tmp_affixes(path: Path) -> tuple[str, str]:
    """mkstemp prefix and suffix beside `path`: at most ~70 bytes whatever the name, so any legal name works."""
    keep = ""
    for ch in path.name:
        if len(os.fsencode(keep + ch)) > TMP_NAME_KEEP:
            break
        keep += ch
    suffix = path.suffix if len(os.fsencode(path.suffix)) <= 16 else ""
    return f".{keep}.", f".tmp{suffix}"


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _nearest_folder(path: Path, shown: Path) -> Path:
    """The nearest existing ancestor of `path`; InkwashError when it is a file (the path cannot be created)."""
    for anc in path.parents:
        try:
            st = os.stat(anc)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise InkwashError(f"{shown}: cannot reach {anc} ({os_reason(exc)})") from None
        if not stat.S_ISDIR(st.st_mode):
            raise InkwashError(f"{shown}: {anc} is a file, not a folder; choose another output folder")
        return anc
    raise InkwashError(f"{shown}: no existing folder above it")  # unreachable: "/" exists


# ----------------------------------------------------------------------------------------------- public
def check_writable(path: str | os.PathLike, overwrite: bool = False, probe: bool = True) -> Path:
    """Raise InkwashError (one line: why, what to do) unless `path` can be written; -> the path.

    Checks, before any work is done: a usable file name within the file system's length limit, no file
    where a folder must be, no folder or special file at the path, no existing file without `overwrite`,
    and (probe=True) that a file can really be created in the folder (read-only mounts, immutable folders
    and missing permissions only show when trying). Missing folders are fine: they are created on write.
    """
    shown, path = Path(path), Path(os.path.abspath(path))
    name = path.name
    if not name or name in (".", ".."):
        raise InkwashError(f"{shown}: not a file name; give an output file such as out.png")
    folder = _nearest_folder(path, shown)
    n_bytes, limit = len(os.fsencode(name)), _name_max(folder)
    if n_bytes > limit:
        raise InkwashError(f"{shown.parent / (name[:24] + '...')}: the file name is {n_bytes} bytes, over this "
                           f"file system's limit of {limit}; give a shorter name")
    if len(os.fsencode(str(path))) >= 4096:
        raise InkwashError(f"{str(shown)[:60]}...: the path is over 4096 bytes long; give a shorter one")
    if folder == path.parent:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
            if os.path.lexists(path) and not overwrite:  # a dangling symlink is still somebody's file name
                raise InkwashError(f"{shown}: already exists (a broken link); pass --overwrite to replace it")
        except OSError as exc:
            raise InkwashError(f"{shown}: cannot be checked ({os_reason(exc)})") from None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                raise InkwashError(f"{shown}: is a folder; give a file name such as {shown / 'out.png'}")
            if not overwrite:
                raise InkwashError(f"{shown}: already exists; pass --overwrite to replace it")
            if not stat.S_ISREG(st.st_mode):
                raise InkwashError(f"{shown}: is a {_file_kind(st.st_mode)}, not a regular file; give a normal "
                                   "output file")
    if probe:
        prefix, suffix = _short_tmp_affixes(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        except OSError as exc:
            raise InkwashError(f"{shown}: cannot write in {folder} ({os_reason(exc)}); choose another output "
                               "folder") from None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return shown


def check_folder_writable(folder: str | os.PathLike) -> Path:
    """Raise InkwashError unless files can be written in `folder` (existing, or creatable); -> the folder."""
    shown = Path(folder)
    path = Path(os.path.abspath(folder))
    if path.exists() and not path.is_dir():
        raise InkwashError(f"{shown}: exists and is not a folder; give a folder")
    check_writable(path / ".inkwash-check.png", overwrite=True)
    return shown


def image_size(path: str | os.PathLike, limit: limits.Limit | None = None) -> tuple[int, int]:
    """(W, H) from the file's header, after the checks open_image makes before decoding (a regular file,
    an image, within the pixel limits): a cheap way to refuse bad input before loading a model."""
    path = Path(path)
    with open_regular(path, "an image file") as fh:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(fh) as img:
                    w, h = img.size
        except UnidentifiedImageError:
            raise InkwashError(f"{path}: not an image file Pillow can read (PNG, JPEG, WebP, BMP, TIFF)") from None
        except Image.DecompressionBombError:
            raise InkwashError(f"{path}: refused as a decompression bomb (too many pixels); downscale it "
                               "first") from None
        except _DECODE_ERRORS as exc:
            raise InkwashError(f"{path}: corrupt or truncated image ({type(exc).__name__}: "
                               f"{str(exc)[:120]})") from None
    check_pixels(w, h, str(path), limit=limit)
    if w == 0 or h == 0:
        raise InkwashError(f"{path}: empty image ({w}x{h})")
    return w, h


def open_image(path: str | os.PathLike, max_pixels: int | None = None,
               limit: limits.Limit | None = None) -> Image.Image:
    """Decode an image fully, or raise InkwashError saying why it cannot be used.

    Only regular files are read. The pixel count is checked against INKWASH_MAX_PIXELS and `limit` (e.g.
    limits.MAX_COLORIZE_PIXELS), or against `max_pixels` when given, before decoding.
    """
    path = Path(path)
    with open_regular(path, "an image file") as fh:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                cap = _pixel_limit(max_pixels, limit)[0]
                if Image.MAX_IMAGE_PIXELS is not None and cap > Image.MAX_IMAGE_PIXELS:
                    Image.MAX_IMAGE_PIXELS = cap  # the user raised our limit after import: Pillow's must follow
                img = Image.open(fh)
                w, h = img.size
                check_pixels(w, h, str(path), max_pixels, limit)
                if w == 0 or h == 0:
                    raise InkwashError(f"{path}: empty image ({w}x{h})")
                img.load()
                unsigned = _is_unsigned32(img)
                img = ImageOps.exif_transpose(img)
                if unsigned:
                    img = _as_unsigned32(img)
        except InkwashError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InkwashError(f"{path}: refused as a decompression bomb (too many pixels); downscale it "
                               "first") from None
        except UnidentifiedImageError:
            raise InkwashError(f"{path}: not an image file Pillow can read (PNG, JPEG, WebP, BMP, TIFF)") from None
        except RecursionError:
            raise InkwashError(f"{path}: corrupt image (nested too deeply)") from None
        except _DECODE_ERRORS as exc:
            raise InkwashError(f"{path}: corrupt or truncated image ({type(exc).__name__}: "
                               f"{str(exc)[:120]})") from None
    return img


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grayscale to 8-bit L, stretching the values' actual range to 0..255.

    Whatever the file's nominal range (12-bit scans in 16-bit files, 0..2^32 integers, floats in [0,1] or
    [0,1000]), the darkest value becomes 0 and the lightest 255, so lines stay lines. A uniform image keeps
    its level within the nominal range. NaN counts as the lightest value (paper).
    """
    arr = np.asarray(img, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        good = arr[finite]
        lo, hi = (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)
        arr = np.where(np.isneginf(arr), lo, np.where(finite, arr, hi))
    if arr.size == 0:
        return Image.new("L", img.size, 255)
    lo, hi = float(arr.min()), float(arr.max())
    if hi > lo:
        out = (arr - lo) * (255.0 / (hi - lo))
    else:
        if img.mode.startswith("I;16"):
            top = 65535.0
        elif img.mode == "F" and hi <= 1.0:
            top = 1.0
        else:
            top = next(t for t in (255.0, 65535.0, 2.0**32 - 1, float("inf")) if hi <= t)
        out = arr * (255.0 / top) if np.isfinite(top) else np.full_like(arr, 255.0)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "L")


def has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def to_rgba(img: Image.Image) -> Image.Image:
    """Any mode to RGBA (opaque where the file had no alpha)."""
    if img.mode in DEEP_MODES:
        img = _to_8bit(img)
    return img.convert("RGBA")


def to_rgb(img: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any mode to RGB; transparency is composited over `background` (white paper by default)."""
    if img.mode in DEEP_MODES:
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

    The temporary name is short (`.NAME-START.xxxxxxxx.tmp.SUFFIX`), so any legal target name works. Every
    OSError (read-only folder, full disk, the target turned into a folder) becomes a one-line InkwashError,
    and the temporary file never stays behind. durable: fsync the file before the rename and its folder after
    it, so that after a crash or power cut `path` holds either the old or the new content in full (checkpoints,
    exports; a few ms per file on an SSD).
    """
    path = Path(path)
    check_writable(path, overwrite, probe=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = _short_tmp_affixes(path)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise InkwashError(f"{path}: cannot write it ({os_reason(exc)}); choose another output folder") from None
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            other = f" on {exc.filename}" if exc.filename and str(exc.filename) != tmp else ""
            raise InkwashError(f"{path}: could not write it ({os_reason(exc)}{other})") from None
        _chmod_like_new_file(tmp_path)
        try:
            if durable:
                fsync_path(tmp_path)
            os.replace(tmp_path, path)
            if durable:
                fsync_path(path.parent)
        except OSError as exc:
            raise InkwashError(f"{path}: could not put the written file in place ({os_reason(exc)})") from None
    finally:
        with contextlib.suppress(OSError):
            if os.path.lexists(tmp_path):
                tmp_path.unlink()


def _chmod_like_new_file(path: Path) -> None:
    """mkstemp creates 0600 files; give the result the mode a plain open() would (0666 minus umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


def save_image(img: Image.Image, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write an image atomically; the format follows the suffix (PNG when unknown). OSErrors -> InkwashError."""
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
