"""Open Clip Art Library (public domain, Debian's openclipart-svg / openclipart-png) -> a prepared dataset.

    inkwash data openclipart data/ocal            # from /usr/share/openclipart (apt-get install openclipart-svg)
    inkwash data openclipart data/ocal --deb openclipart-svg_1%3a0.18+dfsg-19_all.deb   # no root needed

8,121 drawings in category folders (animals, people, food, ...). SVGs are rendered with CairoSVG at
`short_side` px on white, which beats the packaged PNGs (median short side ~170 px). The category (top folder)
is kept in each index item: free labels for training a local feature network. Curation is `curate.py`'s.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from inkwash.data.curate import CurateConfig, PrepareSummary, Rejected, Source, load_raster, prepare_sources
from inkwash.errors import InkwashError

DEFAULT_ROOT = Path("/usr/share/openclipart")
PACKAGE_VERSION = "1:0.18+dfsg-19"
LICENCE = (f"public domain (Open Clip Art Library 0.18, via Debian package openclipart-svg/openclipart-png "
           f"{PACKAGE_VERSION}; see /usr/share/doc/openclipart-png/copyright)")
NO_CATEGORY = "uncategorized"
INSTALL_HINT = ("install it with `sudo apt-get install openclipart-svg` (or openclipart-png), or without root: "
                "`apt-get download openclipart-svg` then pass --deb openclipart-svg_*.deb")


def cairosvg_available() -> bool:
    try:
        import cairosvg  # noqa: F401  (needs Debian's libcairo2 at import time)
    except (ImportError, OSError):
        return False
    return True


def svg_output_size(thumb_png: bytes, cfg: CurateConfig) -> dict:
    """CairoSVG size arguments giving the smaller side cfg.short_side, from a 64 px wide thumbnail of the SVG."""
    # a thumbnail first gives the aspect ratio, so the real render never explodes on a 1:1000 banner
    thumb = Image.open(io.BytesIO(thumb_png))
    aspect = thumb.height / thumb.width
    w, h = (cfg.short_side, cfg.short_side * aspect) if aspect >= 1 else (cfg.short_side / aspect, cfg.short_side)
    if w * h > cfg.max_pixels:
        raise Rejected("too-large", f"renders to {w:.0f}x{h:.0f}, over the cap of {cfg.max_pixels / 1e6:.0f} MP")
    return {"output_width": cfg.short_side} if aspect >= 1 else {"output_height": cfg.short_side}


def render_error(exc: Exception) -> Rejected:
    """A renderer or parser failure as a one-line rejection."""
    return Rejected("render-error", f"{type(exc).__name__}: {exc}".splitlines()[0][:200])


def render_svg(path: Path, cfg: CurateConfig) -> Image.Image:
    """Render an SVG on white with its smaller side at cfg.short_side; renderer failures are Rejected."""
    import cairosvg

    try:
        size = svg_output_size(cairosvg.svg2png(url=str(path), output_width=64), cfg)
        img = Image.open(io.BytesIO(cairosvg.svg2png(url=str(path), background_color="white", **size)))
        img.load()
    except Rejected:
        raise
    except Exception as exc:  # noqa: BLE001 - CairoSVG raises anything from XML, CSS and number parsing on odd files
        raise render_error(exc) from None
    return img.convert("RGB")  # already composited on white by background_color


def unpack_debs(debs: list[Path], into: Path) -> Path:
    """Unpack openclipart .deb files with `dpkg-deb -x` (no root needed); returns the openclipart root in them."""
    if shutil.which("dpkg-deb") is None:
        raise InkwashError("dpkg-deb not found, cannot unpack --deb; unpack it elsewhere and pass --root DIR")
    for deb in debs:
        if not deb.is_file():
            raise InkwashError(f"{deb}: no such .deb file; get it with `apt-get download openclipart-svg`")
        done = subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise InkwashError(f"{deb}: dpkg-deb could not unpack it ({done.stderr.strip()[:200]})")
    return into / "usr/share/openclipart"


def choose_format(root: Path, fmt: str | None) -> str:
    """svg when its folder is there and CairoSVG works, else png; an explicit choice must be available."""
    if fmt not in (None, "svg", "png"):
        raise InkwashError(f"--format {fmt}: expected svg or png")
    have = [f for f in ("svg", "png") if (root / f).is_dir()]
    if not have:
        raise InkwashError(f"{root}: no Open Clip Art here (no svg/ or png/ folder); {INSTALL_HINT}")
    if fmt is None:
        fmt = "png" if "png" in have and ("svg" not in have or not cairosvg_available()) else "svg"
    if fmt not in have:
        raise InkwashError(f"{root / fmt}: missing; {INSTALL_HINT.replace('openclipart-svg', f'openclipart-{fmt}')}")
    if fmt == "svg" and not cairosvg_available():
        raise InkwashError("rendering SVGs needs CairoSVG: `pip install cairosvg` (uses libcairo2), or --format png")
    return fmt


def openclipart_sources(root: Path, fmt: str) -> list[Source]:
    """The drawings under root/fmt, named by their path without suffix so svg and png share ids and splits."""
    base = root / fmt
    files = sorted(p for p in base.rglob(f"*.{fmt}") if p.is_file())
    sources = []
    for p in files:
        rel = p.relative_to(base)
        category = rel.parts[0] if len(rel.parts) > 1 else NO_CATEGORY
        sources.append(Source(str(p), rel.with_suffix("").as_posix(), {"category": category}))
    return sources


def category_table(items: list[dict]) -> str:
    counts = Counter(it["category"] for it in items)
    rows = ["## Categories (labels for a feature network)", "", "| category | kept |", "|---|---:|"]
    return "\n".join(rows + [f"| {c} | {n} |" for c, n in sorted(counts.items())])


@contextlib.contextmanager
def openclipart_root(root: str | Path | None = None, debs: list[Path] | None = None) -> Iterator[Path]:
    """The Open Clip Art root to read: the installed one, or the .deb files unpacked to a temp folder meanwhile."""
    with tempfile.TemporaryDirectory(prefix="inkwash-ocal-") as tmp:
        if debs:
            base = unpack_debs([Path(d) for d in debs], Path(tmp))
        else:
            base = Path(root) if root is not None else DEFAULT_ROOT
            if not base.is_dir():
                raise InkwashError(f"{base}: Open Clip Art is not installed there; {INSTALL_HINT}")
        yield base


def prepare_openclipart(dst: str | Path, *, root: str | Path | None = None, debs: list[Path] | None = None,
                        fmt: str | None = None, cfg: CurateConfig | None = None, **kwargs) -> PrepareSummary:
    """Build a prepared dataset from Open Clip Art (installed root, or .deb files unpacked to a temp folder)."""
    cfg = cfg or CurateConfig()
    with openclipart_root(root, debs) as base:
        fmt = choose_format(base, fmt)
        sources = openclipart_sources(base, fmt)
        if not sources:
            raise InkwashError(f"{base / fmt}: no .{fmt} files; {INSTALL_HINT}")
        loader = render_svg if fmt == "svg" else load_raster
        if fmt == "svg":
            import cairosvg

            renderer = f"rendered with CairoSVG {cairosvg.__version__} at {cfg.short_side} px on white"
        else:
            renderer = "packaged PNGs"
        label = f"Open Clip Art Library 0.18 ({fmt}, {renderer}), Debian openclipart-{fmt} {PACKAGE_VERSION}"
        categories = sorted({s.extra["category"] for s in sources})
        summary = prepare_sources(
            sources, dst, cfg, loader=loader, source_label=label, licence=LICENCE,
            extra_meta={"openclipart": {"format": fmt, "categories": categories}},
            extra_card=category_table, **kwargs)
    return summary
