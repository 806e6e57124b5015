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

WEIGHTS_DIR = Path(__file__).parent / "weights"  # shipped defaults: weights/NAME/{config.json,model.safetensors}


def shipped_weights(name: str) -> Path:
    """The folder of a model's shipped default weights, or an InkwashError saying there are none."""
    folder = WEIGHTS_DIR / name
    if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
        raise InkwashError(f"no shipped weights for {name!r} in this install; give a trained run folder "
                           f"(inkwash train {name} --out RUN, then --model RUN)")
    return folder


def working_size(h: int, w: int, short: int, multiple: int = 16) -> tuple[int, int]:
    """(H,W) scaled so the short side is `short` (never enlarged), each rounded to a multiple of `multiple`."""
    scale = min(1.0, short / min(h, w))
    return (max(multiple, round(h * scale / multiple) * multiple),
            max(multiple, round(w * scale / multiple) * multiple))


def downsample_hints(hints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W,4) hint map -> (h,w,4) without losing thin strokes or mixing their colours with paper.

    A target pixel is hinted when any source pixel under it is; its colour is the mean of the hinted
    source pixels only (area averaging of colour*mask divided by that of the mask).
    """
    import cv2

    h, w = size
    m = hints[..., 3:4].astype(np.float32)
    area = cv2.INTER_AREA
    rgb_m = cv2.resize(np.ascontiguousarray(hints[..., :3] * m), (w, h), interpolation=area).reshape(h, w, 3)
    m_small = cv2.resize(np.ascontiguousarray(m[..., 0]), (w, h), interpolation=area).reshape(h, w, 1)
    hit = m_small > 1e-3
    rgb = np.where(hit, rgb_m / np.maximum(m_small, 1e-6), 0.0)
    return np.concatenate([np.clip(rgb, 0, 1), hit.astype(np.float32)], axis=2).astype(np.float32)


def fill_line_pixels(colour: np.ndarray, lines: np.ndarray, ink: float = 0.5) -> np.ndarray:
    """Flat layer: replace the colour under ink pixels (lines < ink) by that of the nearest paper pixel.

    A learned model paints its own (soft, low-resolution) lines into the colour; artists want a colour layer
    with none, under crisp original lines.
    """
    from scipy.ndimage import distance_transform_edt

    on_line = lines < ink
    if not on_line.any() or on_line.all():
        return colour
    _, (iy, ix) = distance_transform_edt(on_line, return_indices=True)
    return colour[iy, ix]


class PaintsTorchBackend:
    """A trained PaintsTorch (or AlacGAN) colorizer G1 with its F1, at any size and aspect ratio.

    The lineart is scaled so its short side is `resolution` px (default: the training size in the run's config;
    never enlarged), padded with paper to a multiple of 16, coloured, cropped back and resized to the input's
    size; with `lines_over` (default) the original full-resolution lines are multiplied over that colour so
    they stay crisp at any size, and the flat layer gets the line pixels filled from their surroundings.
    """

    def __init__(self, weights: Path | None = None, name: str = "paintstorch", resolution: int | None = None,
                 lines_over: bool = True, device: str = "cpu"):
        import torch

        from inkwash.models.paintstorch import load_generator

        folder = shipped_weights(name) if weights is None else Path(weights)
        if folder.is_file():  # a weights file: its run folder holds config.json beside it
            folder = folder.parent
        self.g1, self.f1, self.config = load_generator(folder, device)
        self.device = torch.device(device)
        trained = int(self.config.get("data", {}).get("size", 512))
        self.resolution = int(resolution or trained)
        if self.resolution < 16:
            raise InkwashError(f"resolution {self.resolution}: must be at least 16 px")
        self.flat = bool(lines_over)

    def __call__(self, lines: np.ndarray, hints: np.ndarray, seed: int | None) -> np.ndarray:
        import cv2
        import torch

        H, W = lines.shape
        h, w = working_size(H, W, self.resolution)
        # content size inside the padded canvas: the scaled image, then paper up to (h, w)
        scale = min(1.0, self.resolution / min(H, W))
        ch, cw = min(h, max(1, round(H * scale))), min(w, max(1, round(W * scale)))
        small = cv2.resize(lines, (cw, ch), interpolation=cv2.INTER_AREA).reshape(ch, cw)
        canvas = np.ones((h, w), np.float32)
        canvas[:ch, :cw] = small
        hint_canvas = np.zeros((h // 4, w // 4, 4), np.float32)
        hq, wq = max(1, ch // 4), max(1, cw // 4)
        hint_canvas[:hq, :wq] = downsample_hints(hints, (hq, wq))
        x = torch.from_numpy(canvas * 2.0 - 1.0)[None, None].to(self.device)
        hint = torch.from_numpy(hint_canvas).permute(2, 0, 1)[None].to(self.device)
        # as in training (data/dataset.py): RGB in [-1,1] where hinted and 0 elsewhere, mask in {0,1}
        hint = torch.cat([(hint[:, :3] * 2.0 - 1.0) * hint[:, 3:], hint[:, 3:]], 1)
        with torch.inference_mode():
            y = self.g1(x, hint, self.f1(x))
        colour = ((y[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) / 2.0)[:ch, :cw]
        colour = cv2.resize(np.clip(colour, 0, 1), (W, H), interpolation=cv2.INTER_CUBIC).reshape(H, W, 3)
        colour = np.clip(colour, 0.0, 1.0)
        return fill_line_pixels(colour, lines) if self.flat else colour


def _paintstorch(weights: Path | None = None, **options: Any) -> Backend:
    return PaintsTorchBackend(weights, name="paintstorch", **options)


def _alacgan(weights: Path | None = None, **options: Any) -> Backend:
    return PaintsTorchBackend(weights, name="alacgan", **options)


def _stenciltorch(weights: Path | None = None, **options: Any) -> Backend:
    from inkwash.models.stenciltorch import StencilTorchBackend

    return StencilTorchBackend(weights, **options)


register_model("paintstorch", _paintstorch)
register_model("alacgan", _alacgan)
def _onnx(weights: Path | None = None, **options: Any) -> Backend:
    from inkwash.export import OnnxBackend  # onnxruntime, no torch: `pip install inkwash[onnx]`

    return OnnxBackend(weights, **options)


register_model("stenciltorch", _stenciltorch)


def _stablepaint(weights: Path | None = None, **options: Any) -> Backend:
    from inkwash.models.stablepaint import StablePaintBackend

    return StablePaintBackend(weights, **options)


register_model("stablepaint", _stablepaint)


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
        config = path / "config.json"
        if path.is_file():  # NAME.safetensors with NAME.json beside it, or a run folder's model.safetensors
            config = path.with_suffix(".json") if path.with_suffix(".json").is_file() else path.parent / "config.json"
        try:
            saved = json.loads(config.read_text(encoding="utf-8"))
            # a training run's config.json names its model in "name" ("model" holds the network settings)
            model = saved["name"] if isinstance(saved.get("model"), dict) else saved["model"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
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
        m = load_mask(mask, size) if mask is not None else None
        keep = None
        if base is not None:
            keep = np.asarray(_resize_to(to_rgb(_as_image(base, "base")), size, "base",
                                         Image.Resampling.BICUBIC), np.float32) / 255.0
        if getattr(self.backend, "uses_base", False):  # in-painting models see the mask and what to keep
            out = self.backend(lines, hint_map, seed, mask=m, base=keep)
        else:
            out = self.backend(lines, hint_map, seed)
        colour = np.clip(np.asarray(out, np.float32), 0.0, 1.0)
        if self.backend.flat:
            flat, composite = colour, colour * lines[..., None]  # lines multiplied over the colour
        else:
            flat, composite = colour, colour
        if m is not None:
            if keep is None:
                keep = np.repeat(lines[..., None], 3, axis=2)
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
