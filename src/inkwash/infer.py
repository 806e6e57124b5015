"""The one inference API: `Colorizer.from_pretrained(name_or_path).colorize(lineart, hints)`.

Every front-end (CLI, web app, batch mode, evaluation, export) calls this. Models plug in through
`register_model(name, factory)`: a factory takes `weights` (a path or None) plus options and returns a
backend, a callable

    backend(lines, hints, seed) -> colour      lines: (H,W) in [0,1], 1 = paper; hints: (H,W,4) in [0,1];
                                                colour: (H,W,3) float32 in [0,1]

with an attribute `flat`: True when `colour` is a flat layer the lines are multiplied over (LazyBrush),
False when it is already the finished illustration (learned models).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.hints import load_hints
from inkwash.io import open_image, to_rgb
from inkwash.lineart import lineart_array, load_lineart

ImageLike = str | os.PathLike | Image.Image | np.ndarray


class Backend(Protocol):
    flat: bool

    def __call__(self, lines: np.ndarray, hints: np.ndarray, seed: int | None) -> np.ndarray: ...


REGISTRY: dict[str, Callable[..., Backend]] = {}


def register_model(name: str, factory: Callable[..., Backend]) -> None:
    """Make `Colorizer.from_pretrained(name)` build `factory(weights=None, **options)`."""
    REGISTRY[name] = factory


# ---------------------------------------------------------------------------------------------- helpers
def _known() -> str:
    return ", ".join(sorted(REGISTRY))


def _resize_to(img: Image.Image, size: tuple[int, int], what: str, resample: Image.Resampling) -> Image.Image:
    """Same-proportion images are resized to the lineart; others are refused (they cannot be aligned)."""
    if img.size == size:
        return img
    (w, h), (tw, th) = img.size, size
    if abs((w / h) / (tw / th) - 1.0) > 0.1:
        raise InkwashError(f"{what}: {w}x{h} does not match the lineart's {tw}x{th}; give one of the same size")
    return img.resize(size, resample)


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _as_image(source: ImageLike, what: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        arr = source if source.dtype == np.uint8 else (np.clip(source, 0, 1) * 255 + 0.5).astype(np.uint8)
        return Image.fromarray(arr)
    return open_image(source)


def load_mask(source: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """Selection mask -> (H,W,1) float32 in [0,1], 1 = colour here; transparent pixels count as unselected."""
    img = _as_image(source, "mask")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = to_rgb(img, background=(0, 0, 0))
    img = _resize_to(img.convert("L"), size, "mask", Image.Resampling.BILINEAR)
    return (np.asarray(img, np.float32) / 255.0)[..., None]


# ---------------------------------------------------------------------------------------------- backends
class LazyBrushBackend:
    """Classical baseline: graph-cut flat fill from strokes, no weights (inkwash.classical.lazybrush)."""

    flat = True

    def __init__(self, weights: Path | None = None, **options: Any):
        from inkwash.classical.lazybrush import LazyBrushConfig

        if weights is not None:
            raise InkwashError("lazybrush has no weights; use --model lazybrush without a path")
        try:
            self.config = LazyBrushConfig(**options)
        except TypeError as exc:
            raise InkwashError(f"lazybrush: unknown option ({exc})") from None

    def __call__(self, lines: np.ndarray, hints: np.ndarray, seed: int | None) -> np.ndarray:
        from inkwash.classical.lazybrush import lazybrush

        return lazybrush(lines, hints, self.config)  # deterministic: the seed has nothing to vary


register_model("lazybrush", LazyBrushBackend)


# ------------------------------------------------------------------------------------------- main thing
class Colorizer:
    """Lineart + hints (+ optional selection mask) -> coloured illustration at the lineart's resolution."""

    def __init__(self, name: str, backend: Backend):
        self.name = name
        self.backend = backend

    @classmethod
    def from_pretrained(cls, name_or_path: str, **options: Any) -> "Colorizer":
        """A registered name ("lazybrush", ...) or a weights file whose JSON config names its model."""
        if name_or_path in REGISTRY:
            return cls(name_or_path, REGISTRY[name_or_path](weights=None, **options))
        path = Path(name_or_path)
        if not path.exists():
            raise InkwashError(f"unknown model {name_or_path!r}: known names are {_known()}, or give a weights file")
        config = path.with_suffix(".json") if path.is_file() else path / "config.json"
        try:
            model = json.loads(config.read_text(encoding="utf-8"))["model"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InkwashError(
                f"{path}: no readable {config.name} naming its model beside it; known names are {_known()}"
            ) from None
        if model not in REGISTRY:
            raise InkwashError(f"{config}: model {model!r} is not available; known names are {_known()}")
        return cls(model, REGISTRY[model](weights=path, **options))

    def colorize_layers(self, lineart: ImageLike, hints: ImageLike | None = None, mask: ImageLike | None = None,
                        base: ImageLike | None = None, seed: int | None = None) -> dict[str, Image.Image]:
        """-> {"flat": RGB, "lines": L, "composite": RGB}, all at the lineart's size.

        hints: file (.png/.json), PIL image or (H,W,4) array; mask: white = colour here, elsewhere the
        composite keeps `base` (default: the lineart itself) and the flat layer stays white.
        """
        lines_img = load_lineart(lineart)
        size = lines_img.size
        lines = lineart_array(lines_img)  # (H,W) in [0,1]
        hint_map = load_hints(hints, size) if hints is not None else np.zeros(lines.shape + (4,), np.float32)
        colour = np.clip(np.asarray(self.backend(lines, hint_map, seed), np.float32), 0.0, 1.0)
        if self.backend.flat:
            flat, composite = colour, colour * lines[..., None]  # lines multiplied over the colour
        else:
            flat, composite = colour, colour
        if mask is not None:
            m = load_mask(mask, size)
            if base is None:
                keep = np.repeat(lines[..., None], 3, axis=2)
            else:
                keep = np.asarray(_resize_to(to_rgb(_as_image(base, "base")), size, "base",
                                             Image.Resampling.BICUBIC), np.float32) / 255.0
            composite = m * composite + (1.0 - m) * keep
            flat = m * flat + (1.0 - m)
        return {
            "flat": Image.fromarray(_to_uint8(flat), "RGB"),
            "lines": lines_img,
            "composite": Image.fromarray(_to_uint8(composite), "RGB"),
        }

    def colorize(self, lineart: ImageLike, hints: ImageLike | None = None, mask: ImageLike | None = None,
                 base: ImageLike | None = None, seed: int | None = None) -> Image.Image:
        """Lineart (path, PIL or array) + hints -> coloured RGB image at the lineart's resolution."""
        return self.colorize_layers(lineart, hints, mask=mask, base=base, seed=seed)["composite"]
