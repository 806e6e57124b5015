"""The paints of an SVG drawing: which element is ink and which is colour, and the drawing repainted as lines or flats.

    drawing = analyse(Path("cat.svg").read_bytes())
    lines_svg, flats_svg = drawing.svg("lines"), drawing.svg("flats")   # bytes for CairoSVG, same geometry

Every element's effective paint is the one CairoSVG itself resolves (its parser applies presentation attributes,
`style=`, `<style>` sheets and classes, inheritance from groups, `currentColor` and `inherit`); `<use>` elements
are expanded into copies first, so a paint inherited from a `<use>` belongs to that copy alone. Each fill and
stroke of a painted shape gets one class:

  ink       a dark solid paint (see `InkRule`), or a gradient whose every stop is dark and opaque;
  colour    any other solid paint;
  gradient  a linear or radial gradient (its flat colour: the mean colour along the gradient, see `gradient_mean`);
  pattern   a pattern fill (kept as it is in the flats, white in the lines);
  glaze     any paint whose effective opacity (group opacity x opacity x fill/stroke-opacity x colour alpha) is
            under `InkRule.min_alpha`, or a dark gradient fading to transparent: shadows and highlights laid over
            the colours, neither ink nor flat colour;
  none      nothing painted (`none`, zero alpha, zero stroke width, a missing reference without fallback).

Variants are the same XML tree with paints overridden by `!important` inline declarations (which beat every
sheet, class and attribute), so geometry, transforms, clips and masks are identical and the renders align
pixel for pixel:
  truth    the drawing as published;
  lines    ink in its own colour; colour, gradient and pattern paints white at their opacity (so a colour shape
           painted over a black one hides that part of it, as in the drawing); glazes and raster images removed;
  flats    ink removed; colours kept; each gradient replaced by its mean colour; glazes removed;
  classes  a false-colour map for measuring areas: ink black, colour red, gradient green, pattern and raster blue.
The content of clip paths, masks and patterns keeps its paints in every variant (it is geometry, not colour).
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from xml.etree import ElementTree as ET

import numpy as np

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SHAPES = frozenset(("path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath"))
NO_REPAINT = frozenset(("clipPath", "mask", "pattern"))  # their content is geometry or texture, never repainted
NOT_DRAWN = frozenset(("defs", "clipPath", "mask", "pattern", "marker", "symbol", "linearGradient",
                       "radialGradient", "filter"))  # content drawn only by reference, if at all
VARIANTS = ("truth", "lines", "flats", "classes")
PAINT_CLASSES = ("ink", "colour", "gradient", "pattern", "glaze", "none")
MAX_USE_DEPTH = 8  # <use> of <use> ...: deeper chains (or cycles) are dropped, CairoSVG would recurse on them
CLASS_COLOURS = {"ink": "#000000", "colour": "#ff0000", "gradient": "#00ff00", "pattern": "#0000ff"}


@dataclass
class InkRule:
    """When a paint is ink: dark (by CIELAB lightness L* and chroma C*) and opaque enough.

    The score is L* + w C*: lightness alone would take navy, maroon or a dark brown body colour for ink. Fills must
    be near-black *and* near-neutral (w = 1): black 0, #333333 21, greyish dark brown #3d2b1f 32, #555555 36,
    #5c5c5c 39 are ink; #4a2f1b 43, #5c4033 46, dark red #4f0800 53, dark green #003600 57, navy #000080 93 are
    colours (on Open Clip Art, w = 1/2 took the dark red shading and dark brown bodies of 8% of the drawings for
    ink). Strokes are lines by construction, so dark coloured outlines count (w = 1/2, at most 60): maroon
    #800000 56, #808080 54; saddle brown #8b4513 62, red 105 and white 100 are colour strokes.
    """

    fill_score: float = 40.0  # L* + C* of a fill at most this: ink
    fill_chroma: float = 1.0
    stroke_score: float = 60.0  # L* + C*/2 of a stroke at most this: ink
    stroke_chroma: float = 0.5
    min_alpha: float = 0.5  # under this effective opacity a paint is a glaze (shadow, highlight), not ink or colour

    def is_dark(self, rgb_hex: str, which: str) -> bool:
        """Whether a colour '#rrggbb' is dark enough to be ink as a "fill" or a "stroke"."""
        if which == "fill":
            return darkness(rgb_hex, self.fill_chroma) <= self.fill_score
        return darkness(rgb_hex, self.stroke_chroma) <= self.stroke_score


@dataclass
class Paint:
    """One resolved fill or stroke: its class, flat colour (#rrggbb or None) and effective opacity in [0,1]."""

    cls: str = "none"
    rgb: str | None = None  # solid colour, or a gradient's mean colour
    alpha: float = 0.0  # group opacity x opacity x paint opacity x colour (or mean stop) alpha
    opacity: float = 1.0  # the element's own fill-/stroke-opacity x colour (or mean stop) alpha: what a repaint keeps


@dataclass
class Shape:
    """A painted element in paint order: its tag, id, fill and stroke; `element` is the node in `Drawing.root`."""

    tag: str
    id: str | None
    fill: Paint
    stroke: Paint
    where: str  # "flow": drawn where it stands; "marker": drawn by the paths using its marker; "defs": never drawn
    element: ET.Element = field(repr=False, compare=False, default=None)


# ---------------------------------------------------------------------------------------------------- helpers


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _float(value, default: float = 1.0) -> float:
    """A number or percentage from an SVG property; unparsable values give the default (as CairoSVG's 1.0)."""
    try:
        text = str(value).strip()
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except (TypeError, ValueError):
        return default


def _length(value, default: float = 1.0) -> float:
    """The number of an SVG length ("2", "0.5px", "1e-1mm"): only its sign and zero matter here."""
    match = re.match(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)", str(value))
    return float(match.group(1)) if match else default


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(min(max(c, 0.0), 1.0) * 255)):02x}" for c in rgb[:3])


@lru_cache(maxsize=8192)
def darkness(rgb_hex: str, chroma: float = 1.0) -> float:
    """The ink score L* + chroma * C* of an sRGB colour '#rrggbb' (0 for black, 100 for white, more for vivid ones)."""
    from skimage.color import rgb2lab

    rgb = np.array([[[int(rgb_hex[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]]])
    lab = rgb2lab(rgb)[0, 0]
    return float(lab[0] + chroma * np.hypot(lab[1], lab[2]))


def _offset(stop) -> float:
    return min(max(_float(stop.get("offset", 0), 0.0), 0.0), 1.0)


def gradient_mean(stops: list[tuple[float, tuple, float]]) -> tuple[tuple, float]:
    """Mean colour and opacity along a gradient: stops [(offset, (r,g,b), alpha)] -> ((r,g,b), alpha), in [0,1].

    The colour runs linearly between stops and is constant before the first and after the last (SVG), so the
    mean is the integral over [0,1]: alpha-weighted for the colour (a transparent stop adds no colour). Two stops
    at 0 and 1 give the plain mean of their colours.
    """
    if len(stops) == 1:
        return stops[0][1], stops[0][2]
    offs, cols, alps = [], [], []
    last = 0.0
    for off, rgb, a in stops:
        last = max(last, off)  # offsets never go back (SVG clamps them to the previous one)
        offs.append(last)
        cols.append(np.asarray(rgb, np.float64) * a)
        alps.append(a)
    # knots at 0 and 1 with the end colours held flat
    offs = [0.0] + offs + [1.0]
    cols = [cols[0]] + cols + [cols[-1]]
    alps = [alps[0]] + alps + [alps[-1]]
    col_sum, a_sum = np.zeros(3), 0.0
    for i in range(len(offs) - 1):
        w = offs[i + 1] - offs[i]
        col_sum += w * (cols[i] + cols[i + 1]) / 2
        a_sum += w * (alps[i] + alps[i + 1]) / 2
    rgb = tuple(col_sum / a_sum) if a_sum > 1e-9 else tuple(np.mean([s[1] for s in stops], axis=0))
    return rgb, float(a_sum)


# ------------------------------------------------------------------------------------------------ <use> copies


def expand_uses(root: ET.Element) -> int:
    """Replace every <use> by a <g> holding a copy of what it references (in place); returns how many.

    The <g> carries the <use>'s attributes (so paints inherit from it, as from the <use>) and its transform
    followed by translate(x, y); a referenced <symbol> becomes a nested <svg>, as CairoSVG draws it. Copies lose
    their ids (ids stay unique). A <use> that references nothing, itself or an ancestor is removed.
    """
    total = 0
    for _ in range(MAX_USE_DEPTH):
        parents = {child: parent for parent in root.iter() for child in parent}
        ids = {el.get("id"): el for el in root.iter() if el.get("id")}
        uses = [el for el in root.iter() if _local(el.tag) == "use"]
        if not uses:
            return total
        for use in uses:
            parent = parents.get(use)
            if parent is None:
                continue
            href = (use.get(XLINK_HREF) or use.get("href") or "").strip()
            target = ids.get(href[1:]) if href.startswith("#") else None
            ancestors, p = set(), use
            while p is not None:
                ancestors.add(p)
                p = parents.get(p)
            index = list(parent).index(use)
            parent.remove(use)
            if target is None or target in ancestors:
                continue
            attrs = {k: v for k, v in use.attrib.items()
                     if k not in ("x", "y", "width", "height", "href", XLINK_HREF, "id")}
            x, y = use.get("x", "0"), use.get("y", "0")
            attrs["transform"] = f"{use.get('transform', '')} translate({x},{y})".strip()
            group = ET.Element(f"{{{SVG_NS}}}g", attrs)
            group.tail = use.tail
            clone = copy.deepcopy(target)
            for el in clone.iter():
                el.attrib.pop("id", None)
            if _local(clone.tag) == "symbol":
                clone.tag = f"{{{SVG_NS}}}svg"
            if _local(clone.tag) == "svg":
                for key in ("width", "height"):
                    if use.get(key) is not None:
                        clone.set(key, use.get(key))
            group.append(clone)
            parent.insert(index, group)
            total += 1
    for use in [el for el in root.iter() if _local(el.tag) == "use"]:  # still there: a chain too deep
        for parent in root.iter():
            if use in list(parent):
                parent.remove(use)
    return total


# -------------------------------------------------------------------------------------------- the analysis


class _Resolver:
    """Walks CairoSVG's parsed node tree (whose dicts hold every element's resolved properties)."""

    def __init__(self, rule: InkRule):
        self.rule = rule
        self.servers: dict[str, object] = {}  # id -> gradient/pattern node
        self.shapes: list[Shape] = []
        self.images = 0

    def collect_servers(self, node) -> None:
        if node.tag in ("linearGradient", "radialGradient", "pattern") and node.get("id"):
            self.servers.setdefault(node["id"], node)
        for child in node.children:
            self.collect_servers(child)

    def stops(self, node, depth: int = 0) -> list[tuple[float, tuple, float]]:
        """A gradient's stops, following xlink:href to the gradient that holds them (as SVG does)."""
        from cairosvg.colors import color

        own = [c for c in node.children if c.tag == "stop"]
        if not own and depth < 16:
            href = (node.get(XLINK_HREF) or node.get("href") or "").strip()
            target = self.servers.get(href[1:]) if href.startswith("#") else None
            if target is not None and target is not node and target.tag in ("linearGradient", "radialGradient"):
                return self.stops(target, depth + 1)
        out = []
        for stop in own:
            r, g, b, a = color(stop.get("stop-color", "black"), _float(stop.get("stop-opacity", 1)))
            out.append((_offset(stop), (r, g, b), min(max(a, 0.0), 1.0)))
        return out

    def paint(self, node, which: str, chain_alpha: float) -> Paint:
        from cairosvg.colors import color
        from cairosvg.helpers import paint as split_paint

        value = node.get(which, "black" if which == "fill" else None)
        if which == "stroke" and _length(node.get("stroke-width", 1)) <= 0:
            return Paint()
        source, fallback = split_paint(value)
        own = min(max(_float(node.get(f"{which}-opacity", 1)), 0.0), 1.0)
        leaf = 1.0 if node.children else min(max(_float(node.get("opacity", 1)), 0.0), 1.0)
        server = self.servers.get(source) if source else None
        if server is not None and server.tag == "pattern":
            return self._classed(Paint("pattern", None, chain_alpha * own * leaf, own))
        if server is not None:
            stops = self.stops(server)
            if not stops:
                return Paint()  # SVG: a gradient without stops paints nothing
            rgb, a = gradient_mean(stops)
            p = Paint("gradient", _hex(rgb), chain_alpha * own * leaf * a, own * a)
            if all(self.rule.is_dark(_hex(s[1]), which) for s in stops):  # dark throughout: ink, or a fading shadow
                opaque = all(s[2] >= self.rule.min_alpha for s in stops)
                p.cls = "ink" if opaque else "glaze"
            return self._classed(p)
        if source and fallback is None and not server:
            return Paint()  # a dangling url() without fallback: CairoSVG paints nothing
        r, g, b, a = color(fallback)
        if a <= 0:
            return Paint()
        rgb = _hex((r, g, b))
        cls = "ink" if self.rule.is_dark(rgb, which) else "colour"
        return self._classed(Paint(cls, rgb, chain_alpha * own * leaf * a, own * a))

    def _classed(self, p: Paint) -> Paint:
        if p.alpha <= 0:
            return Paint()
        if p.alpha < self.rule.min_alpha:
            p.cls = "glaze"
        return p

    def walk(self, node, alpha: float, where: str, repaint: bool, hidden: bool) -> None:
        tag = node.tag
        hidden = hidden or node.get("display") == "none"
        if node.children:  # a group's opacity applies to everything in it
            alpha *= min(max(_float(node.get("opacity", 1)), 0.0), 1.0)
        if tag in SHAPES and repaint:
            visible = not hidden and node.get("visibility", "visible") != "hidden"
            fill = self.paint(node, "fill", alpha) if visible and tag != "line" else Paint()
            stroke = self.paint(node, "stroke", alpha) if visible else Paint()
            self.shapes.append(Shape(tag, node.get("id"), fill, stroke, where, node.element.etree_element))
        elif tag == "image" and where == "flow" and not hidden:
            self.images += 1
        if tag == "marker" and where == "flow":
            where = "marker"
        elif tag in NOT_DRAWN:
            where = "defs"
        if tag in NO_REPAINT:
            repaint = False
        for child in node.children:
            self.walk(child, alpha, where, repaint, hidden)


def _rewrite(el: ET.Element, which: str, value: str | None, opacity: float | None) -> None:
    """Override one paint of an element with !important inline declarations (they beat sheets and attributes)."""
    decls = [f"{which}:{value} !important"] if value else []
    if opacity is not None:
        decls.append(f"{which}-opacity:{opacity:.4g} !important")
    if decls:
        style = (el.get("style") or "").strip().rstrip(";")
        el.set("style", ";".join(([style] if style else []) + decls))


def _target(p: Paint, variant: str) -> tuple[str | None, float | None]:
    """(paint value, paint opacity) a variant gives a paint; (None, None) keeps it as published."""
    keep = (None, None)
    if p.cls == "none":
        return keep
    if variant == "lines":
        if p.cls == "ink":
            return keep
        if p.cls == "glaze":
            return "none", None
        return "#ffffff", p.opacity
    if variant == "flats":
        if p.cls in ("ink", "glaze"):
            return "none", None
        if p.cls == "gradient":
            return p.rgb, p.opacity
        return keep
    if variant == "classes":
        if p.cls == "glaze":
            return "none", None
        return CLASS_COLOURS[p.cls], 1.0
    return keep


@dataclass
class Drawing:
    """A parsed SVG (with <use> expanded) and its painted shapes; `svg(variant)` serialises a repainted copy."""

    root: ET.Element
    shapes: list[Shape]
    images: int  # raster <image> elements drawn: their pixels are neither ink nor colour we can tell apart
    uses: int  # <use> elements expanded

    def svg(self, variant: str) -> bytes:
        """The drawing as `variant` (see VARIANTS) as SVG bytes; the tree itself is left as it was."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
        saved = []
        try:
            if variant != "truth":
                for s in self.shapes:
                    saved.append((s.element, s.element.get("style")))
                    for which, paint in (("fill", s.fill), ("stroke", s.stroke)):
                        _rewrite(s.element, which, *_target(paint, variant))
                if variant in ("lines", "classes"):  # raster images: not ink, cannot be whitened: removed
                    for el in self.root.iter():
                        if _local(el.tag) == "image":
                            saved.append((el, el.get("style")))  # CairoSVG skips elements of width 0
                            el.set("style", (el.get("style") or "") + ";width:0 !important")
            return ET.tostring(self.root)
        finally:
            for el, style in reversed(saved):
                if style is None:
                    el.attrib.pop("style", None)
                else:
                    el.set("style", style)

    def paint_order(self, rule: InkRule | None = None) -> dict:
        """The per-drawing record: drawn shapes in paint order with the class and colour of fill and stroke.

        Shapes inside markers are listed where the marker is defined ("where": "marker"); shapes only referenced
        (in <defs>, copied by a <use> into the flow) appear as their copies.
        """
        columns = ["tag", "id", "fill", "fill_rgb", "fill_alpha", "stroke", "stroke_rgb", "stroke_alpha", "where"]
        drawn = [s for s in self.shapes if s.where != "defs"]
        rows = [[s.tag, s.id, s.fill.cls, s.fill.rgb, round(s.fill.alpha, 3), s.stroke.cls, s.stroke.rgb,
                 round(s.stroke.alpha, 3), s.where] for s in drawn]
        counts = {c: sum(1 for s in drawn for p in (s.fill, s.stroke) if p.cls == c) for c in PAINT_CLASSES}
        return {"version": 1, "ink_rule": asdict(rule or InkRule()), "counts": counts, "images": self.images,
                "uses_expanded": self.uses, "columns": columns, "shapes": rows}


def analyse(data: bytes, url: str | None = None, rule: InkRule | None = None) -> Drawing:
    """Parse SVG bytes, expand <use>, resolve and classify every paint. Raises what CairoSVG's parser raises."""
    from cairosvg.parser import Tree
    from defusedxml import ElementTree as SafeET

    rule = rule or InkRule()
    root = SafeET.fromstring(data, forbid_entities=True, forbid_external=True)  # CairoSVG's own safety settings
    uses = expand_uses(root)
    tree = Tree(bytestring=ET.tostring(root), url=url)
    resolver = _Resolver(rule)
    resolver.collect_servers(tree)
    resolver.walk(tree, 1.0, "flow", True, False)
    return Drawing(tree.xml_tree, resolver.shapes, resolver.images, uses)


def count_paints(drawing: Drawing) -> dict[str, int]:
    """How many drawn fills and strokes fall in each class (a quick look at a drawing)."""
    return {c: sum(1 for s in drawing.shapes if s.where != "defs" for p in (s.fill, s.stroke) if p.cls == c)
            for c in PAINT_CLASSES}

