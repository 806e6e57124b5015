"""Open Clip Art outline drawings with ground truth: lines, flats and truth of each SVG, pixel-aligned (issue #15).

    inkwash data openclipart-outlines data/ocal-outlines --jobs 2
    inkwash data openclipart-outlines data/ocal-outlines --deb openclipart-svg_1%3a0.18+dfsg-19_all.deb

xDoG linearts are an edge filter over the finished illustration; real users bring real outlines. Here each SVG of
the Open Clip Art Library is rendered three times from one XML tree whose paints are resolved and classified by
`svgpaint` (ink / colour / gradient / pattern / glaze), so the three renders align pixel for pixel:
  truth  the drawing as published (gradients, highlights, shadows) on white: the item's main image;
  lines  only the ink (dark strokes and dark fills, in their own colour), every other paint white, so a colour
         shape painted over a black one hides that part of it exactly as in the drawing; anti-aliased;
  flats  each fill in one colour (a gradient replaced by its mean colour), ink and glazes removed;
  paint  a JSON record: the drawn elements in paint order with the class and colour of their fill and stroke.
Items keep the id and train/test split of `inkwash data openclipart` (the path under svg/ without suffix), so a
model trained on either dataset never saw the other's test drawings. Curation is `curate.py`'s, with reasons of
its own (no outlines, outlines too faint, mostly gradient, raster); see `OutlineConfig`.
"""

from __future__ import annotations

import functools
import io
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inkwash.data.curate import CurateConfig, Layers, PrepareSummary, Rejected, prepare_sources
from inkwash.data.openclipart import (LICENCE, PACKAGE_VERSION, category_table, choose_format, openclipart_root,
                                      openclipart_sources, render_error, svg_output_size)
from inkwash.data.svgpaint import InkRule, analyse
from inkwash.errors import InkwashError

KIND = "outlines"
LAYERS = ("lines", "flats")
RECORDS = ("paint",)
RENDER_VERSION = 2  # bump when the renders change: cached items are then rendered again
ITEM_KEYS = ("lines_ink", "lines_dark", "outlined", "gradient_fraction", "flat_error", "colour_fraction")
CLASS_RGB = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.float32)
CLASS_NAMES = ("paper", "ink", "colour", "gradient", "pattern")  # svgpaint.CLASS_COLOURS, in CLASS_RGB's order


@dataclass
class OutlineConfig:
    """How drawings are split into lines and flats, and which outline drawings are kept (fractions of pixels)."""

    ink: InkRule = field(default_factory=InkRule)
    line_filter: bool = True  # reject drawings whose lines render has no (or only faint) outlines
    # lines pixels darker than 90% white count as ink; under 0.5% of the image there is no outline drawing (a
    # 512x512 square's 1 px outline alone is 0.8%)
    ink_level: int = 230
    min_ink_fraction: float = 0.005
    # of which pixels darker than mid-grey (what a lineart reader, e.g. the metrics' line_level 0.5, takes for a
    # line): hairlines and pale strokes render lighter; under 0.3% the outlines are too faint to read
    dark_level: int = 128
    min_dark_fraction: float = 0.003
    # a drawing is an outline drawing when its lines run along its colour edges: a colouring-book drawing scores
    # ~1, a flag with a black stripe or a silhouette with a few dark details under 0.4; at 0.5-0.6 the lines leave
    # whole colour boundaries (a screen, a sign's red rim) unlined
    min_outlined: float = 0.6
    edge_step: int = 24  # an 8-bit step in some channel between neighbouring flats pixels that makes a colour edge
    edge_reach: float = 3.0  # px at 512: a colour edge this close to a dark line is outlined
    # mostly gradient: over half the coloured area painted by gradients and the flats far from the truth (a mean
    # CIEDE2000 above 10: a shaded troll at 14 or a glossy folder at 10; a softly shaded Eiffel tower at 6 stays)
    max_gradient_fraction: float = 0.5
    max_flat_error: float = 10.0
    classes_side: int = 128  # short side of the false-colour render that measures paint areas

    def loader_key(self) -> str:
        """What the renders depend on (the filters' thresholds are applied later and are not in it)."""
        ink = self.ink
        return (f"outlines/{RENDER_VERSION}|{ink.fill_score}|{ink.fill_chroma}|{ink.stroke_score}|"
                f"{ink.stroke_chroma}|{ink.min_alpha}|{self.classes_side}")


# ---------------------------------------------------------------------------------------------------- helpers


def _png(svg: bytes, url: str, size: dict) -> Image.Image:
    import cairosvg

    img = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg, url=url, background_color="white", **size)))
    img.load()
    return img.convert("RGB")


def _near(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels within r px (a disc) of a True pixel of mask."""
    import cv2

    return cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0


def outline_stats(truth: Image.Image, lines: Image.Image, flats: Image.Image, classes: Image.Image,
                  ocfg: OutlineConfig) -> dict:
    """Measures the outline filters use (all fractions in [0,1]; flat_error in CIEDE2000 units).

    lines_ink / lines_dark: share of the lines render darker than ink_level / dark_level.
    outlined: share of the flats' colour edges that lie within `edge_reach` px (at 512) of a dark line: how much
      of the colouring the lines actually outline (1 for a colouring-book drawing, low for a filled silhouette).
    gradient_fraction: share of the coloured area (read from the false-colour `classes` render) painted by
      gradients. flat_error: mean CIEDE2000 between truth and flats over coloured pixels away from the lines.
    """
    from skimage.color import deltaE_ciede2000, rgb2lab

    gray = np.asarray(lines.convert("L"))
    dark = gray < ocfg.dark_level
    reach = max(1, round(ocfg.edge_reach * min(gray.shape) / 512))
    flat = np.asarray(flats, np.int16)
    step_x = np.abs(np.diff(flat, axis=1)).max(-1) > ocfg.edge_step
    step_y = np.abs(np.diff(flat, axis=0)).max(-1) > ocfg.edge_step
    edges = np.zeros(gray.shape, bool)
    edges[:, 1:] |= step_x
    edges[:, :-1] |= step_x
    edges[1:] |= step_y
    edges[:-1] |= step_y
    near = _near(dark, reach)
    n_edges = int(edges.sum())
    # truth vs flats, at half size (enough for a mean), away from the lines and off white paper
    half = (max(1, truth.width // 2), max(1, truth.height // 2))
    t = rgb2lab(np.asarray(truth.resize(half, Image.BOX), np.float64) / 255.0)
    f = rgb2lab(np.asarray(flats.resize(half, Image.BOX), np.float64) / 255.0)
    away = ~np.asarray(Image.fromarray(_near(gray < ocfg.ink_level, reach)).resize(half, Image.NEAREST))
    coloured = away & (deltaE_ciede2000(t, np.broadcast_to([100.0, 0.0, 0.0], t.shape)) >= 2.0)
    rgb = np.asarray(classes, np.float32).reshape(-1, 3)
    counts = np.bincount(np.argmin(((rgb[:, None, :] - CLASS_RGB[None]) ** 2).sum(-1), axis=1),
                         minlength=5).astype(np.float64)
    n_colour, n_all = counts[2:].sum(), counts.sum()
    return {
        "lines_ink": round(float((gray < ocfg.ink_level).mean()), 5),
        "lines_dark": round(float(dark.mean()), 5),
        "outlined": round(float((edges & near).sum() / n_edges), 4) if n_edges else 0.0,
        "gradient_fraction": round(float(counts[3] / n_colour), 4) if n_colour else 0.0,
        "flat_error": round(float(deltaE_ciede2000(t[coloured], f[coloured]).mean()), 3) if coloured.any() else 0.0,
        "paint_area": {k: round(float(counts[i] / n_all), 4) for i, k in enumerate(CLASS_NAMES) if i},
    }


def render_outlines(path: Path, cfg: CurateConfig, ocfg: OutlineConfig | None = None) -> Layers:
    """Render one SVG as truth (main image), lines and flats at cfg.short_side, plus its paint-order record.

    Raises Rejected: render-error (XML, CSS or renderer failure), raster (embedded raster images), too-large.
    """
    import cairosvg

    ocfg = ocfg or OutlineConfig()
    url = str(path)
    try:
        drawing = analyse(path.read_bytes(), url=url, rule=ocfg.ink)
        if drawing.images:
            raise Rejected("raster", f"{drawing.images} embedded raster image(s)")
        truth_svg = drawing.svg("truth")
        size = svg_output_size(cairosvg.svg2png(bytestring=truth_svg, url=url, output_width=64), cfg)
        truth = _png(truth_svg, url, size)
        lines = _png(drawing.svg("lines"), url, size)
        flats = _png(drawing.svg("flats"), url, size)
        small = {k: max(1, round(v * ocfg.classes_side / cfg.short_side)) for k, v in size.items()}
        classes = _png(drawing.svg("classes"), url, small)
    except Rejected:
        raise
    except Exception as exc:  # noqa: BLE001 - XML, CSS, number parsing and cairo all raise their own types
        raise render_error(exc) from None
    if not truth.size == lines.size == flats.size:  # the variants share one tree: a mismatch is a bug of ours
        raise Rejected("render-error", f"renders differ in size: {truth.size}, {lines.size}, {flats.size}")
    record = drawing.paint_order(ocfg.ink)
    stats = outline_stats(truth, lines, flats, classes, ocfg)
    record["paint_area"] = stats.pop("paint_area")
    return Layers(truth, {"lines": lines, "flats": flats}, {"paint": record}, stats)


def outline_filters(ocfg: OutlineConfig) -> list:
    """The outline dataset's own filters, in order: no outlines, outlines too faint, mostly gradient."""

    def lines(rec: dict):
        if not ocfg.line_filter:
            return None
        if rec["lines_ink"] < ocfg.min_ink_fraction:
            return "no-outlines", f"{rec['lines_ink']:.2%} ink pixels < {ocfg.min_ink_fraction:.2%}"
        if rec["lines_dark"] < ocfg.min_dark_fraction:
            return ("faint-outlines", f"{rec['lines_dark']:.2%} dark line pixels < {ocfg.min_dark_fraction:.2%} "
                    f"(ink {rec['lines_ink']:.2%})")
        if rec["outlined"] < ocfg.min_outlined:
            return ("no-outlines", f"the lines run along {rec['outlined']:.0%} of the colour edges "
                    f"< {ocfg.min_outlined:.0%}")
        return None

    def gradient(rec: dict):
        if rec["gradient_fraction"] > ocfg.max_gradient_fraction and rec["flat_error"] > ocfg.max_flat_error:
            return ("mostly-gradient", f"{rec['gradient_fraction']:.0%} of the colour is gradient, flats "
                    f"{rec['flat_error']:.1f} CIEDE2000 from the truth")
        return None

    return [lines, gradient]


def _card(items: list[dict], ocfg: OutlineConfig) -> str:
    ink = ocfg.ink
    means = {k: float(np.mean([it[k] for it in items])) if items else float("nan") for k in ITEM_KEYS}
    text = [
        "## Outline drawings with ground truth",
        "",
        "Each item holds three pixel-aligned renders of one SVG (CairoSVG, short side as above, on white) and a "
        "record, all members of the same shard:",
        "",
        "- `ID.png` **truth**: the drawing as published (gradients, highlights, shadows); every reader of a "
        "prepared dataset gets this image;",
        "- `ID.lines.png` **lines**: only the ink, in its own colour; every other paint white, so a colour shape "
        "painted over a black one hides that part of it exactly as in the drawing; anti-aliased;",
        "- `ID.flats.png` **flats**: each fill in one colour (a gradient replaced by its mean colour along the "
        "gradient), ink and glazes removed;",
        "- `ID.paint.json` **paint**: the drawn elements in paint order, the class and colour of each fill and "
        "stroke (ink / colour / gradient / pattern / glaze / none), and the painted area per class.",
        "",
        f"**Ink rule**: a solid paint is ink when it is dark and opaque: L\\* + {ink.fill_chroma:g} C\\* <= "
        f"{ink.fill_score:g} for fills (near-black and near-neutral: black, dark greys to about #5c5c5c, greyish "
        f"dark browns such as #3d2b1f; dark reds, greens, navy and saturated browns stay colours), L\\* + "
        f"{ink.stroke_chroma:g} C\\* <= {ink.stroke_score:g} for strokes (a stroke is a line by construction, so "
        f"dark coloured outlines such as maroon count), with an effective opacity (group x element x paint) of at "
        f"least {ink.min_alpha:g}. Lighter translucent paints and dark gradients fading to transparent are glazes "
        "(shadows, highlights), kept only in the truth. A gradient is ink when all its stops are dark and opaque.",
        "",
        f"**Outline filters**: at least {ocfg.min_ink_fraction:.1%} of the lines render darker than "
        f"{ocfg.ink_level}/255 (else no-outlines), at least {ocfg.min_dark_fraction:.1%} darker than "
        f"{ocfg.dark_level}/255 (else faint-outlines), and at least {ocfg.min_outlined:.0%} of the flats' colour "
        f"edges within {ocfg.edge_reach:g} px of a dark line (else no-outlines: the lines do not outline the "
        f"colouring, e.g. flags, silhouettes); not both over {ocfg.max_gradient_fraction:.0%} of the coloured area "
        f"painted by gradients and a mean CIEDE2000 over {ocfg.max_flat_error:g} between truth and flats "
        "(mostly-gradient); no embedded raster images (raster).",
        "",
        f"**Kept items, means**: ink {means['lines_ink']:.1%} of the pixels, dark lines "
        f"{means['lines_dark']:.1%}, colour edges outlined {means['outlined']:.0%}, coloured "
        f"{means['colour_fraction']:.1%}, gradient share of the colour {means['gradient_fraction']:.1%}, truth to "
        f"flats {means['flat_error']:.1f} CIEDE2000 (each item's values are in index.json).",
        "",
        "The split is `inkwash.data.store.split_of(id)` with the ids of `inkwash data openclipart`: a drawing is in "
        "the same split in both datasets.",
        "",
    ]
    return "\n".join(text) + "\n" + category_table(items)


# ------------------------------------------------------------------------------------------------ main thing


def prepare_outlines(dst: str | Path, *, root: str | Path | None = None, debs: list[Path] | None = None,
                     cfg: CurateConfig | None = None, ocfg: OutlineConfig | None = None,
                     **kwargs) -> PrepareSummary:
    """Build the outline dataset (truth + lines + flats + paint order) from Open Clip Art's SVGs into `dst`."""
    import cairosvg

    cfg = cfg or CurateConfig()
    cfg.line_filter = False  # the truth's dark thin pixels are no test here: the lines render is (outline_filters)
    ocfg = ocfg or OutlineConfig()
    with openclipart_root(root, debs) as base:
        if choose_format(base, "svg") != "svg":
            raise InkwashError(f"{base / 'svg'}: outline drawings need the SVGs (openclipart-svg)")
        sources = openclipart_sources(base, "svg")
        if not sources:
            raise InkwashError(f"{base / 'svg'}: no .svg files; install openclipart-svg or pass --deb")
        label = (f"Open Clip Art Library 0.18 (svg, rendered with CairoSVG {cairosvg.__version__} at "
                 f"{cfg.short_side} px on white as truth, lines and flats), Debian openclipart-svg {PACKAGE_VERSION}")
        categories = sorted({s.extra["category"] for s in sources})
        meta = {"kind": KIND, "layers": list(LAYERS), "records": list(RECORDS),
                "openclipart": {"format": "svg", "categories": categories}}
        return prepare_sources(
            sources, dst, cfg, loader=functools.partial(render_outlines, ocfg=ocfg), source_label=label,
            licence=LICENCE, extra_meta=meta, extra_card=functools.partial(_card, ocfg=ocfg),
            filters=outline_filters(ocfg), loader_key=ocfg.loader_key(), card_options={"outlines": asdict(ocfg)},
            item_keys=ITEM_KEYS, **kwargs)


def paint_totals(records: list[dict]) -> Counter:
    """Fills and strokes per paint class over paint-order records (for cards and notes)."""
    total: Counter = Counter()
    for r in records:
        total.update(r.get("counts", {}))
    return total
