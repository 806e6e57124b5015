"""The drawing's regions for the page: one PNG per lineart, so the page fills a clicked region itself, at once.

    lines = read_lines(upload, config)                      # (H,W) float32 in [0,1], exactly what a colorize uses
    found = find_regions(lines, gap=None)                   # inkwash.regions.cached_regions: shared with colorizes
    png = labels_png(found)                                 # RGB, 24 bits per pixel (below)
    nearest, ink = decode_labels(Image.open(io.BytesIO(png)))

Packing: each pixel's value v = R << 16 | G << 8 | B is the region of its nearest paper pixel (Regions.nearest:
what colour goes under a line) in bits 0-22, and bit 23 set on ink (Regions.labels == 0). A region is then the
paper pixels {v == r}; a click on ink picks the region nearest to it; flats are region_colour[v & 0x7FFFFF]. No
colour profile is written, so browsers decode the values unchanged; piecewise constant, it compresses to a few
tens of KiB per megapixel.
"""

from __future__ import annotations

import io
import logging
from typing import IO

import numpy as np
from PIL import Image

from inkwash.app.config import ServerConfig
from inkwash.app.errors import ApiError
from inkwash.app.inputs import decode_image
from inkwash.errors import InkwashError

log = logging.getLogger("inkwash.app")

INK_BIT = 1 << 23
MAX_REGIONS = INK_BIT - 1  # region ids must fit below the ink bit


def read_lines(upload: bytes | IO[bytes], config: ServerConfig) -> np.ndarray:
    """A lineart upload -> lines (H,W) float32 in [0,1], 1 = paper: as inkwash.infer.prepare reads it, so the
    regions found here are the ones (cached) a colorize of the same lineart uses."""
    from inkwash.lineart import lineart_array, load_lineart

    try:
        return lineart_array(load_lineart(decode_image(upload, "lineart", config.max_pixels)))
    except (ApiError, InkwashError):
        raise
    except Exception as exc:  # noqa: BLE001 - user input must never reach the client as a 500
        log.warning("lineart refused: %s: %s", type(exc).__name__, exc, exc_info=True)
        raise ApiError(400, "bad_input", f"the lineart could not be read ({type(exc).__name__})") from None


def find_regions(lines: np.ndarray, gap: float | None = None):
    """The regions of `lines` with gaps up to `gap` px closed (None = automatic) -> inkwash.regions.Regions."""
    from inkwash.regions import RegionConfig, cached_regions

    return cached_regions(lines, RegionConfig(gap=gap))


def pack_labels(regions) -> np.ndarray:
    """Regions -> (H,W,3) uint8: nearest region in bits 0-22 of R << 16 | G << 8 | B, bit 23 on ink."""
    if regions.n > MAX_REGIONS:
        raise ApiError(413, "too_many_regions", f"the drawing has {regions.n} regions, over {MAX_REGIONS}; "
                                                "close more gaps (a larger gap) or simplify the lineart")
    v = regions.nearest.astype(np.uint32) | np.where(regions.labels == 0, np.uint32(INK_BIT), np.uint32(0))
    return np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)


def labels_png(regions) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pack_labels(regions), "RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def decode_labels(img: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """A labels PNG (as decoded by PIL) -> (nearest (H,W) int32, ink (H,W) bool)."""
    a = np.asarray(img.convert("RGB"), np.uint32)
    v = a[..., 0] << 16 | a[..., 1] << 8 | a[..., 2]
    return (v & MAX_REGIONS).astype(np.int32), (v & INK_BIT) > 0


def region_headers(regions) -> dict[str, str]:
    return {"X-Inkwash-Regions": str(regions.n), "X-Inkwash-Gap": f"{regions.gap:g}",
            "X-Inkwash-Line-Width": f"{regions.line_width:.2f}"}


__all__ = ["read_lines", "find_regions", "pack_labels", "labels_png", "decode_labels", "region_headers", "INK_BIT"]
