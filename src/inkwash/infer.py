"""The one inference API: `Colorizer.from_pretrained(name_or_path).colorize(lineart, hints)`.

Every front-end (CLI, web app, batch mode, evaluation, export) calls this. A colorize is a pipeline of named
stages, each a plain function:

    prepare   lineart, hints, mask, base -> Inputs      every input check, before any model runs
    regions   Inputs -> Regions                          the drawing's gap-closed regions (inkwash.regions, cached)
    paint     Inputs + a model -> colour (H,W,3)         a learned model's colour: the model's canvas and back
    reference Regions + coloured references -> Match     matched regions' colours (inkwash.reference), if given
    flats     Regions + hints (+ colour) -> Flats        hints win, then matched colours; unhinted regions follow
                                                         a policy, border stays paper, colour under the lines
    shade     Regions + Flats -> shading (H,W) or None   drawn from the regions' shapes, or a model's own; off unless
                                                         asked for (--shade / --shading)
    compose   flats x shading x lines -> layers          mask composite with the base

A fill (`lazybrush`) is regions + flats; a learned model proposes colour for unhinted regions and shading inside
regions (`Settings.lock`, on by default); `--no-lock` (lock=False) gives its raw output (`finish`).

Models come from the one registry (`inkwash.models.registry`): a spec names the model's opener, options and
capabilities (see inkwash.models.spec); the model stage is the only model-specific part.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inkwash.canvas import fill_line_pixels, from_canvas, to_canvas
from inkwash.errors import InkwashError
from inkwash.hints import load_hints
from inkwash.io import open_image, to_rgb
from inkwash.lineart import lineart_array, load_lineart
from inkwash.models import registry

ImageLike = str | os.PathLike | Image.Image | np.ndarray
MAX_ASPECT_MISMATCH = 0.1  # relative aspect difference beyond which a mask or base cannot belong to the lineart


# ---------------------------------------------------------------------------------------------- helpers
def _to_uint8(a: np.ndarray) -> np.ndarray:
    """float in [0,1] -> uint8, rounded and saturated (OpenCV: one pass, no temporaries)."""
    import cv2

    return cv2.convertScaleAbs(np.asarray(a, np.float32), alpha=255.0)


def _as_image(source: ImageLike, what: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        arr = source if source.dtype == np.uint8 else (np.clip(source, 0, 1) * 255 + 0.5).astype(np.uint8)
        return Image.fromarray(arr)
    return open_image(source)


def _resize_to(img: Image.Image, size: tuple[int, int], what: str, resample: Image.Resampling) -> Image.Image:
    """Same-proportion images are resized to the lineart; others are refused (they cannot be aligned)."""
    if img.size == size:
        return img
    (w, h), (tw, th) = img.size, size
    if abs((w / h) / (tw / th) - 1.0) > MAX_ASPECT_MISMATCH:
        raise InkwashError(f"{what}: {w}x{h} does not match the lineart's {tw}x{th}; give one of the same size")
    return img.resize(size, resample)


def load_mask(source: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """Selection mask -> (H,W,1) float32 in [0,1], 1 = colour here; transparent pixels count as unselected."""
    img = _as_image(source, "mask")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = to_rgb(img, background=(0, 0, 0))
    img = _resize_to(img.convert("L"), size, "mask", Image.Resampling.BILINEAR)
    return (np.asarray(img, np.float32) / 255.0)[..., None]


def load_base(source: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """What to keep outside the mask (a previous result, a painting) -> (H,W,3) float32 in [0,1].

    It must be the lineart's size: a base of another size cannot be aligned pixel for pixel, and the promise of
    a masked pass is that everything outside the mask stays exactly as it was.
    """
    img = _as_image(source, "base")
    if img.size != size:
        raise InkwashError(f"base: {img.width}x{img.height} is not the lineart's {size[0]}x{size[1]}; give the "
                           "previous result (or your painting) at the lineart's size")
    return np.asarray(to_rgb(img), np.float32) / 255.0


def resolve_model(name_or_path: str | os.PathLike) -> tuple[Any, Path | None]:
    """What a --model value names, without loading anything heavy: (its ModelSpec, weights path or None).

    A registered name ("paintstorch", ...), a model folder, a training run (its RUN/model/), a model.safetensors
    file or a .onnx file.
    """
    key = str(name_or_path)
    if registry.known(key):
        return registry.get(key), None
    path = Path(name_or_path)
    if not path.exists():
        raise InkwashError(f"unknown model {key!r}: known names are {', '.join(registry.names())}, "
                           "or give a model folder, a training run or a .onnx file")
    if path.suffix.lower() == ".onnx":
        return registry.get("onnx"), path
    from inkwash.models.serialize import read_model

    saved = read_model(path)
    if not registry.known(saved.name):
        raise InkwashError(f"{saved.folder}: model {saved.name!r} is not available; known names are "
                           f"{', '.join(registry.names())}")
    return registry.get(saved.name), saved.folder


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "auto"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_key(key: str) -> tuple[str, dict[str, Any]]:
    """"NAME:k=v,k=v" -> (NAME, {k: v}); a plain name or path (even with ':' in it) -> (it, {})."""
    name, sep, rest = str(key).rpartition(":")
    if not sep or "=" not in rest:
        return str(key), {}
    options = {}
    for part in rest.split(","):
        k, eq, v = part.partition("=")
        if not eq or not k.strip():
            raise InkwashError(f"{key!r}: settings are key=value pairs after ':' (e.g. lazybrush:unhinted=paper)")
        options[k.strip()] = _value(v)
    return name, options


# ---------------------------------------------------------------------------------------------- stages
UNHINTED = ("paper", "neighbour", "model")
SHADES = ("soft", "cel", "model")
DEFAULT_UNHINTED = "neighbour"  # what unhinted enclosed regions get from a fill (chosen by measurement, README)
# bump when a change of the pipeline (region engine, gap rule, flats, lock) changes what a model's output is: cached
# evaluation outputs made before are then made again (inkwash.evaluate.run.model_fingerprint)
PIPELINE_VERSION = 4  # 3: drawings with wide black fills no longer inverted as chalk; 4: learned models flat by default
# shading strength when none is asked for, for every model: on the outline test split every shading tried (soft or
# cel from the regions' shapes, and each learned model's own) moved colours away from the truth (README)
DEFAULT_SHADING = 0.0
ASKED_SHADING = {"model": 1.0, "soft": 0.3, "cel": 0.3}  # strength when a --shade is asked for without --shading


@dataclass(frozen=True)
class Settings:
    """How the pipeline treats any model's colour (the CLI's --gap, --unhinted, --lock/--no-lock).

    gap: px of line gap the regions close (None = automatic from the image size and line width, 0 = none);
    unhinted: paper | neighbour | model, what enclosed regions no hint reaches get (None = the model's default:
    `model` for a learned model, DEFAULT_UNHINTED for a fill); lock: snap a learned model's colour to the regions
    (one colour per region, its variation kept as shading) instead of its raw output; shade: soft | cel (from the
    regions' shapes and `light`, inkwash.regions.shading) or model (a locked learned model's own light and shade;
    None = model for a learned model, soft otherwise); shading: its strength in [0,1] (None = DEFAULT_SHADING, or
    ASKED_SHADING[shade] when a shade is asked for); light: the azimuth the light comes from, degrees (0 right, 90
    top).
    """

    gap: float | None = None
    unhinted: str | None = None
    lock: bool = True
    shade: str | None = None
    shading: float | None = None
    light: float = 135.0

    def check(self, learned: bool) -> "Settings":
        if self.gap is not None and not 0 <= self.gap <= 1000:
            raise InkwashError(f"gap {self.gap}: give a width in px from 0 (no gap closing) to 1000")
        if self.unhinted is not None and self.unhinted not in UNHINTED:
            raise InkwashError(f"unhinted {self.unhinted!r}: use one of {', '.join(UNHINTED)}")
        if self.unhinted == "model" and not learned:
            raise InkwashError("unhinted 'model' needs a learned model's colour proposal; use paper or neighbour, "
                               "or a learned --model")
        if self.shade is not None and self.shade not in SHADES:
            raise InkwashError(f"shade {self.shade!r}: use one of {', '.join(SHADES)}")
        if self.shade == "model" and not learned:
            raise InkwashError("shade 'model' needs a learned model; use soft or cel")
        if self.shading is not None and not 0.0 <= self.shading <= 1.0:
            raise InkwashError(f"shading {self.shading}: give a strength in [0, 1] (0 = none)")
        return self

    def shading_for(self, learned: bool) -> tuple[str, float]:
        """(style, strength) this pipeline uses for a learned model or a fill."""
        shade = self.shade or ("model" if learned else "soft")
        if self.shading is not None:
            return shade, self.shading
        return shade, ASKED_SHADING[shade] if self.shade is not None else DEFAULT_SHADING


@dataclass
class Inputs:
    """A colorize's checked inputs, all at the lineart's size (H,W).

    lines_img: the normalised "L" lineart; lines: (H,W) float32 in [0,1], 1 = paper; hints: (H,W,4) uint8, RGB levels
    + mask 0/255 (8-bit: a quarter of float32's 268 MB at 4096 px; hint colours are 8-bit anyway); mask: (H,W,1) in
    [0,1] or None (everything); base: (H,W,3) in [0,1] or None (the lineart); references: coloured drawings to take
    region colours from (inkwash.reference.Reference), or None.
    """

    lines_img: Image.Image
    lines: np.ndarray
    hints: np.ndarray
    mask: np.ndarray | None = None
    base: np.ndarray | None = None
    references: list | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(W, H), PIL's order."""
        return self.lines_img.size


def prepare(lineart: ImageLike, hints: ImageLike | None = None, mask: ImageLike | None = None,
            base: ImageLike | None = None, reference: Any = None) -> Inputs:
    """Stage 1: read and check every input (a bad one is an InkwashError before any model work).

    reference: a coloured drawing (image; its lines are extracted), an inkwash.reference.Reference, or a list
    of References (a key and the previous frame).
    """
    lines_img = load_lineart(lineart)
    size = lines_img.size
    lines = lineart_array(lines_img)
    if hints is None:
        hint_map = np.zeros(lines.shape + (4,), np.uint8)
    else:
        hint_map = _to_uint8(load_hints(hints, size))
    m = load_mask(mask, size) if mask is not None else None
    keep = load_base(base, size) if base is not None else None
    if keep is not None and m is None:
        raise InkwashError("base: it is kept outside the mask; give a mask too")
    refs = None
    if reference is not None:
        from inkwash.reference import Reference, reference_from_images

        refs = [reference] if not isinstance(reference, (list, tuple)) else list(reference)
        refs = [r if isinstance(r, Reference) else reference_from_images(r) for r in refs]
    return Inputs(lines_img, lines, hint_map, m, keep, refs or None)


def paint(model: Any, inputs: Inputs, seed: int | None = None, dtype: type = np.float32,
          **sampling: Any) -> np.ndarray:
    """Stage: the model on its canvas and back -> colour (H,W,3) at the lineart's size: float32 in [0,1], or uint8
    levels (dtype=np.uint8: what region medians and shading need, at a quarter of the memory)."""
    caps = model.spec.capabilities
    unsupported = sorted(set(sampling) - set(model.spec.sampling))
    if unsupported:
        raise InkwashError(f"{', '.join(unsupported)}: apply to models that sample (stablepaint), "
                           f"not {model.spec.name}")
    canvas = to_canvas(inputs.lines, inputs.hints, inputs.mask, inputs.base, resolution=model.resolution,
                       multiple=model.multiple, hint_scale=model.hint_scale, inpaints=caps.inpaints)
    out = model.run(canvas, seed, **sampling) if sampling else model.run(canvas, seed)
    return from_canvas(out, canvas, dtype)


def regions_of(inputs: Inputs, settings: Settings) -> Any:
    """Stage: the lineart's regions (inkwash.regions.cached_regions: computed once per lineart and gap)."""
    from inkwash.regions import RegionConfig, cached_regions

    return cached_regions(inputs.lines, RegionConfig(gap=settings.gap))


def match_references(regions: Any, inputs: Inputs) -> Any:
    """Stage: the regions' colours from the coloured references (inkwash.reference.match_regions) -> Match."""
    from inkwash.reference import match_regions

    return match_regions(regions, inputs.lines, inputs.references)


def flats(regions: Any, inputs: Inputs, unhinted: str, proposal: np.ndarray | None = None,
          region_colours: np.ndarray | None = None) -> Any:
    """Stage: flat colours on the region graph (inkwash.regions.flat_colours) -> Flats (colour (H,W,3), ...).

    region_colours: (n+1,3) colours for regions no hint reaches (a reference's match), NaN rows for none.
    """
    from inkwash.regions import FlatConfig, flat_colours

    return flat_colours(regions, inputs.hints, FlatConfig(unhinted=unhinted), proposal=proposal,
                        region_colours=region_colours)


def model_shade(regions: Any, raw: np.ndarray, medians: np.ndarray | None = None) -> np.ndarray:
    """A locked model's own light and shade: its brightness over its region's median colour's, (H,W) in [0,1].

    Clipped to 1: a multiply layer (flats x shading x lines rebuilds the composite exactly in a paint program); the
    model's highlights above a region's median colour are the price.
    """
    from inkwash.regions import lock_shading

    return np.minimum(lock_shading(regions, raw, medians), 1.0, out=None)


def shade(regions: Any, fl: Any, style: str, strength: float, light: float = 135.0,
          residual: np.ndarray | None = None) -> np.ndarray | None:
    """Stage: the shading multiplier (H,W) or None: a locked model's own light and shade (style "model", from its
    `residual`, see model_shade) or one drawn from the regions' shapes (soft, cel); paper is never shaded."""
    if strength == 0.0:
        return None
    if style == "model":
        out = residual - 1.0
        out *= np.float32(strength)
        out += 1.0
        out[fl.paper] = 1.0
        return out
    from inkwash.regions.shading import ShadingConfig, shading_layer

    return shading_layer(regions, ShadingConfig(strength=strength, light=light, style=style), fl.paper)


def compose(inputs: Inputs, flat: np.ndarray, shading: np.ndarray | None = None,
            out: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Stage: composite = flat x shading x lines -> {"flat", "composite"[, "shading"]} float32, lineart's size.

    flat: (H,W,3) colour under the lines too; shading: (H,W) multiplier or None. With a mask, the composite
    keeps the base (or the lineart) outside it exactly, the flat layer stays white there and shading 1. out: where
    to write the composite (the flat layer's own array when that layer is not wanted: it is then overwritten).
    """
    lines = inputs.lines
    # one (H,W,3) temporary at most: at 4096 px each costs 200 MB and a tenth of a second
    composite = (np.multiply(flat, lines[..., None], out=out) if shading is None
                 else np.multiply(flat, shading[..., None], out=out))
    if shading is not None:
        np.clip(composite, 0.0, 1.0, out=composite)
        composite *= lines[..., None]
    out = {"flat": flat, "composite": composite}
    if shading is not None:
        out["shading"] = shading
    m = inputs.mask
    if m is not None:
        keep = inputs.base if inputs.base is not None else np.repeat(lines[..., None], 3, axis=2)
        out["composite"] = m * composite + (1.0 - m) * keep
        out["flat"] = m * flat + (1.0 - m)
        if shading is not None:
            out["shading"] = m[..., 0] * shading + (1.0 - m[..., 0])
    return out


def keep_unreached(layers: dict[str, np.ndarray], inputs: Inputs, regions: Any) -> dict[str, np.ndarray]:
    """A masked pass over a base: inside the mask, regions that no new hint reaches keep the base exactly.

    A user who masks the dress and strokes its skirt expects the sleeves under the mask to stay as they were,
    not to turn white (a fill) or take a model's guess.
    """
    if inputs.mask is None or inputs.base is None:
        return layers
    hinted = (inputs.hints[..., 3] > 127) & (inputs.mask[..., 0] > 0)
    reached = np.zeros(regions.n + 1, bool)
    reached[np.unique(regions.labels[hinted & (regions.labels > 0)])] = True
    keep = ~reached[regions.nearest] & (inputs.mask[..., 0] > 0)
    out = dict(layers)
    out["composite"] = np.where(keep[..., None], inputs.base, layers["composite"])
    return out


def finish(inputs: Inputs, colour: np.ndarray, lines_over: bool, paints_lines: bool) -> dict[str, np.ndarray]:
    """Stage (raw output, no regions): the layers -> {"flat": (H,W,3), "composite": (H,W,3)} float32 in [0,1].

    lines_over: `colour` is colour without lines (a flat fill, or a model's colour when the original lines go
    back over it); paints_lines: the model drew its own soft lines into `colour`, which the flat layer must not
    keep (line pixels take the colour beside them). With a mask, the composite keeps the base (or the lineart)
    outside it exactly and the flat layer stays white there.
    """
    lines = inputs.lines
    flat = fill_line_pixels(colour, lines) if (lines_over and paints_lines) else colour
    composite = flat * lines[..., None] if lines_over else colour
    m = inputs.mask
    if m is not None:
        keep = inputs.base if inputs.base is not None else np.repeat(lines[..., None], 3, axis=2)
        composite = m * composite + (1.0 - m) * keep
        flat = m * flat + (1.0 - m)
    return {"flat": flat, "composite": composite}


def to_images(out: dict[str, Any], inputs: Inputs, wanted: tuple[str, ...] | None = None) -> dict[str, Image.Image]:
    """Float layers (Colorizer.layers) -> {"composite": RGB, "flat": RGB, "lines": L[, "shading": L]}, or the
    `wanted` ones (+ lines). Shading: a multiplier in [0, 1], white = unshaded, a layer in multiply mode."""
    images = {"lines": inputs.lines_img}
    for name, mode in (("composite", "RGB"), ("flat", "RGB"), ("shading", "L")):
        if name in out and (wanted is None or name in wanted):
            images[name] = Image.fromarray(_to_uint8(out[name]), mode)
    return images


# ------------------------------------------------------------------------------------------- main thing
class Colorizer:
    """Lineart + hints (+ optional selection mask) -> coloured illustration at the lineart's resolution."""

    def __init__(self, model: Any, name: str | None = None, settings: Settings | None = None):
        self.model = model
        # an exported .onnx file is named after the model it came from
        self.name = name or getattr(model, "source", None) or model.spec.name
        self.settings = (settings or Settings()).check(self.learned)

    @property
    def learned(self) -> bool:
        """The model proposes colour (a network), as opposed to a fill that only spreads the hints."""
        return bool(getattr(self.model, "proposes", False))

    @property
    def backend(self) -> Any:
        """The model stage (kept under its former name: `col.backend.with_sampling(...)`)."""
        return self.model

    @property
    def spec(self):
        return self.model.spec

    @classmethod
    def from_key(cls, key: str) -> "Colorizer":
        """A model with its settings in one string, as evaluation tables name their rows:
        "lazybrush", "lazybrush:unhinted=paper", "paintstorch:lock=false", "runs/pt:shading=0,unhinted=neighbour",
        "lazybrush:solver=classic". Keys of `Settings` set the pipeline, any other the model's options.
        """
        name, options = parse_key(key)
        fields = {f.name for f in dataclasses.fields(Settings)}
        settings = Settings(**{k: v for k, v in options.items() if k in fields})
        return cls.from_pretrained(name, settings=settings, **{k: v for k, v in options.items() if k not in fields})

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, settings: Settings | None = None,
                        **options: Any) -> "Colorizer":
        """A registered name ("paintstorch", "lazybrush", ...), a model folder or run folder, or a .onnx file.

        settings: the pipeline's (gap, unhinted policy, lock); options: the model's own (resolution, ...).
        """
        spec, weights = resolve_model(name_or_path)
        return cls(spec.open(weights, **options), settings=settings)

    def colorize_layers(self, lineart: ImageLike, hints: ImageLike | None = None, mask: ImageLike | None = None,
                        base: ImageLike | None = None, seed: int | None = None, settings: Settings | None = None,
                        reference: Any = None, **sampling: Any) -> dict[str, Image.Image]:
        """-> {"flat": RGB, "lines": L, "composite": RGB}, all at the lineart's size.

        hints: file (.png/.json), PIL image or (H,W,4) array; mask: white = colour here, elsewhere the
        composite keeps `base` (default: the lineart itself) and the flat layer stays white. reference: a coloured
        drawing (or inkwash.reference.Reference(s)) whose matching regions give their colours; hints win over it.
        sampling: steps, strength (models that sample).
        """
        return self.colorize_inputs(prepare(lineart, hints, mask, base, reference), seed, settings, **sampling)

    def layers(self, inputs: Inputs, seed: int | None = None, settings: Settings | None = None,
               wanted: tuple[str, ...] | None = None, **sampling: Any) -> dict[str, Any]:
        """The pipeline on prepared inputs -> float layers {"flat", "composite"[, "shading"]} at the lineart's size.

        wanted: the layers needed (default all); without "flat", the composite is made in the flat layer's memory
        (200 MB less at 4096 px). With references (prepare(..., reference=...)) also "reference": the Match (matched
        palette per region, confidence; its `source` says where each region's final colour came from).
        """
        s = (settings or self.settings).check(self.learned)
        model = self.model
        fill = bool(getattr(model, "fill_only", False))
        locked = fill or (self.learned and s.lock)
        if inputs.references and not locked:
            raise InkwashError("a reference colours the drawing's regions; it needs the region lock (drop --no-lock)")
        unhinted = s.unhinted or ("model" if self.learned else DEFAULT_UNHINTED)
        style, strength = s.shading_for(self.learned)
        # locked, a model's colour feeds only the unhinted regions' proposal and its own shading: with neither asked
        # for, the model has nothing to do; when it runs, 8-bit is enough for region medians and shading
        uses_model = not fill and (not locked or unhinted == "model" or (style == "model" and strength > 0))
        raw = paint(model, inputs, seed, np.uint8 if locked else np.float32, **sampling) if uses_model else None
        masked_pass = inputs.mask is not None and inputs.base is not None
        regions = regions_of(inputs, s) if (locked or masked_pass) else None
        match = None
        if locked:
            medians = residual = None
            if inputs.references:
                match = match_references(regions, inputs)
            if raw is not None:  # the model's colour per region, once for the proposal and its shading
                from inkwash.regions import lock_medians

                medians = lock_medians(regions, raw)
                if style == "model" and strength > 0:
                    residual = model_shade(regions, raw, medians)
            raw = None  # 200 MB at 4096 px: freed before the flats and the composite are made
            fl = flats(regions, inputs, unhinted, proposal=medians,
                       region_colours=None if match is None else match.region_colour)
            if match is not None:
                match.source = fl.source
            shading = shade(regions, fl, style, strength, s.light, residual)
            in_place = wanted is not None and "flat" not in wanted and inputs.mask is None
            out = compose(inputs, fl.colour, shading, out=fl.colour if in_place else None)
        else:
            out = finish(inputs, raw, model.lines_over, getattr(model, "paints_lines", False))
        out = keep_unreached(out, inputs, regions) if masked_pass else out
        if match is not None:
            out["reference"] = match
        return out

    def colorize_inputs(self, inputs: Inputs, seed: int | None = None, settings: Settings | None = None,
                        wanted: tuple[str, ...] | None = None, **sampling: Any) -> dict[str, Image.Image]:
        """The layers of already prepared inputs (`prepare`) as images: a front-end checks everything first.

        wanted: the layers to convert (default all: composite, flat, lines, shading when there is one); at 4096 px
        each conversion costs a tenth of a second.
        """
        return to_images(self.layers(inputs, seed, settings, wanted, **sampling), inputs, wanted)

    def colorize(self, lineart: ImageLike, hints: ImageLike | None = None, mask: ImageLike | None = None,
                 base: ImageLike | None = None, seed: int | None = None, settings: Settings | None = None,
                 reference: Any = None, **sampling: Any) -> Image.Image:
        """Lineart (path, PIL or array) + hints (+ a coloured reference) -> coloured RGB image at its resolution."""
        inputs = prepare(lineart, hints, mask, base, reference)
        return self.colorize_inputs(inputs, seed, settings, wanted=("composite",), **sampling)["composite"]


__all__ = ["Colorizer", "Settings", "Inputs", "prepare", "regions_of", "paint", "match_references", "flats",
           "model_shade", "shade", "compose", "keep_unreached", "finish", "to_images", "load_mask", "load_base",
           "resolve_model", "parse_key", "ImageLike", "UNHINTED", "SHADES", "DEFAULT_UNHINTED", "DEFAULT_SHADING"]
