"""The layers of a colorize as one OpenRaster file (.ora), which Krita, MyPaint, GIMP and others open as layers.

    layers = Colorizer.from_pretrained("lazybrush").colorize_layers("lineart.png", "hints.json")
    write_ora(layers, "coloured.ora")          # or a binary file object: write_ora(layers, io.BytesIO())

Stack, top to bottom: lines (multiply), shading (multiply, when there is one), flat, and the composite as a hidden
reference layer. flat x shading x lines is the composite (infer.compose), so the visible stack looks like the
result in a paint program and each layer stays editable. mergedimage.png is the composite itself.

File layout (OpenRaster 0.0.5): `mimetype` first and stored uncompressed, `stack.xml`, `data/<layer>.png`,
`mergedimage.png`, `Thumbnails/thumbnail.png` (at most 256 px a side).
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import IO
from xml.sax.saxutils import quoteattr

from PIL import Image

from inkwash.errors import InkwashError
from inkwash.io import atomic_path

MIMETYPE = "image/openraster"
THUMBNAIL = 256  # px, the longest side the spec allows
# (layer key, composite op, visible): top of the stack first, as stack.xml lists it
STACK = (("lines", "svg:multiply", True), ("shading", "svg:multiply", True), ("flat", "svg:src-over", True),
         ("composite", "svg:src-over", False))


# ---------------------------------------------------------------------------------------------- helpers
def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _layer_image(img: Image.Image) -> Image.Image:
    """Layers as RGBA: some readers take nothing else for a layer's pixels."""
    return img if img.mode == "RGBA" else img.convert("RGBA")


def stack_xml(names: list[tuple[str, str, bool]], size: tuple[int, int]) -> str:
    """stack.xml for layers [(name, composite-op, visible)], top first, each in data/<name>.png."""
    w, h = size
    rows = [f'  <layer name={quoteattr(n)} src={quoteattr("data/" + n + ".png")} x="0" y="0" opacity="1.0" '
            f'visibility="{"visible" if v else "hidden"}" composite-op="{op}"/>' for n, op, v in names]
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<image version="0.0.5" w="{w}" h="{h}" xres="72" yres="72">\n <stack>\n'
            + "\n".join(rows) + "\n </stack>\n</image>\n")


def ora_bytes(layers: dict[str, Image.Image]) -> bytes:
    """The .ora file of {"composite", "flat", "lines"[, "shading"]} (PIL images of one size) as bytes."""
    missing = [k for k in ("composite", "flat", "lines") if k not in layers]
    if missing:
        raise InkwashError(f"an OpenRaster file needs the layers composite, flat and lines; {', '.join(missing)} "
                           "missing")
    size = layers["composite"].size
    wrong = [k for k, img in layers.items() if img.size != size]
    if wrong:
        raise InkwashError(f"layers {', '.join(wrong)} are not the composite's {size[0]}x{size[1]}")
    stack = [(k, op, vis) for k, op, vis in STACK if k in layers]
    thumb = layers["composite"].convert("RGB")
    thumb.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        # readers sniff the type from the first entry's raw bytes: it must come first and uncompressed
        z.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        z.writestr("stack.xml", stack_xml(stack, size))
        for name, _, _ in stack:  # PNG is compressed already: stored, not deflated twice
            z.writestr(f"data/{name}.png", _png(_layer_image(layers[name])), compress_type=zipfile.ZIP_STORED)
        z.writestr("mergedimage.png", _png(layers["composite"].convert("RGB")), compress_type=zipfile.ZIP_STORED)
        z.writestr("Thumbnails/thumbnail.png", _png(thumb), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------- main thing
def write_ora(layers: dict[str, Image.Image], path_or_file: str | os.PathLike | IO[bytes],
              overwrite: bool = False) -> None:
    """Write the layers of a colorize (`Colorizer.colorize_layers`) as an OpenRaster file.

    layers: {"composite": RGB, "flat": RGB, "lines": L[, "shading": L]}, one size; path_or_file: a path (written
    atomically, an existing file only replaced with overwrite=True) or a binary file object.
    """
    data = ora_bytes(layers)
    if hasattr(path_or_file, "write"):
        path_or_file.write(data)  # type: ignore[union-attr]
        return
    with atomic_path(path_or_file, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


__all__ = ["write_ora", "ora_bytes", "stack_xml", "MIMETYPE", "STACK"]
