"""The torch Dataset every trainer reads: illustration -> (lineart, hints[, simplified, mask, composite]).

Recipe (thesis IV.1.4, IV.2.2.1, IV.3.2.1): resize the smaller side to 512, random 512 crop for training (centre
crop for test), xDoG lineart on the crop, hints drawn on the crop resized to a quarter (128). For StencilTorch the
crop is also colour-simplified, hints come from the simplified image, and a random mask selects where the model
sees lineart instead of the original (the composite). Masks run from small patches to the whole image, so one
model learns both the first full pass and later touch-ups: a share of them select whole colour regions of the
simplified image (the thesis draws the mask from it, and a user selects "the hair"), the rest are the blobs,
rectangles, brush strokes and full frames of data/masks.py.

Deviation: the thesis runs xDoG on the full-size illustration and resizes the lineart with it; we run it on the
resized crop, so line width is the same in every sample whatever the source resolution, and it costs less.

Linearts come from xDoG or, for an outline dataset (`inkwash data openclipart-outlines`: items with "lines" and
"flats" layers), from the drawing's real outlines: `lineart="outline"`, "xdog", or "mix" (outline with probability
`lineart_mix`, else xDoG; plain xDoG when the source has no outlines). With outlines the crop is taken at the same
place from lines, flats and truth, and `hints="hand"` scribbles inside the flats' regions (strokes.hand_hints);
`hints="mixed"` draws, per sample, no hints, hand-like scribbles in a random share of the regions, or random strokes
(MixedHintConfig), so a model sees every kind of user, from none to careful.

Randomness is a pure function of (seed, index, epoch): `set_epoch` changes it per epoch for training (call it on
every rank and before creating the DataLoader iterator, as with DistributedSampler); test items never change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage.measure import label

from inkwash.data.masks import MaskConfig, composite, random_mask
from inkwash.data.simplify import SimplifyConfig, simplify
from inkwash.data.store import ImageStore
from inkwash.data.strokes import (HandHintConfig, PixelHintConfig, StrokeConfig, hand_hints, random_pixel_hints,
                                  random_strokes)
from inkwash.data.xdog import XDoGConfig, random_xdog
from inkwash.errors import InkwashError

HINT_MODES = ("strokes", "pixels", "hand", "mixed", "none")
LINEART_MODES = ("xdog", "outline", "mix")


@dataclass
class StencilConfig:
    """How StencilTorch's selection masks are drawn (thesis IV.3.2.1 gives no numbers: these are ours)."""

    region_p: float = 0.3  # share of masks made of whole regions of the simplified image; others: masks.py
    region_area: tuple[float, float] = (0.03, 0.7)  # fraction of the image the chosen regions should cover
    region_grow: float = 1 / 128  # regions grow by this fraction of the side (>= 1 px): selections are loose


@dataclass
class MixedHintConfig:
    """hints="mixed" (ours): what share of samples gets which kind of hints."""

    p_none: float = 0.15  # no hints at all: the model alone decides every region
    p_hand: float = 0.45  # hand-like scribbles (strokes.hand_hints) ...
    region_p: tuple[float, float] = (0.2, 1.0)  # ... in this share of the regions, drawn per sample
    # the rest: random strokes (stroke_cfg), which may cross lines and miss small regions


def region_mask(simplified: np.ndarray, rng: np.random.Generator, cfg: StencilConfig | None = None) -> np.ndarray:
    """Select random flat-colour regions of a simplified illustration: (S,S,3) uint8 -> (S,S) float32 in {0,1}.

    Regions are connected areas of one colour; they are taken in random order until their area reaches a target
    drawn from `cfg.region_area` (at least one region), then grown by `cfg.region_grow` of the side.
    """
    import cv2

    cfg = cfg or StencilConfig()
    h, w = simplified.shape[:2]
    _, colour_index = np.unique(simplified.reshape(-1, 3), axis=0, return_inverse=True)
    regions = label(colour_index.reshape(h, w) + 1, background=0, connectivity=1)  # (S,S) ids >= 1
    sizes = np.bincount(regions.ravel())
    order = rng.permutation(np.arange(1, len(sizes)))
    target = rng.uniform(*cfg.region_area) * h * w
    n = int(np.searchsorted(np.cumsum(sizes[order]), target)) + 1  # regions until the target is covered
    mask = np.isin(regions, order[:n]).astype(np.uint8)
    r = max(1, round(cfg.region_grow * max(h, w)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return mask.astype(np.float32)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image to a float32 tensor in [-1,1]: (3,H,W) for RGB, (1,H,W) for L."""
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    if arr.ndim == 2:
        arr = arr[..., None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def from_tensor(t: torch.Tensor) -> Image.Image:
    """Tensor (C,H,W) in [-1,1], C = 1 or 3, to a PIL image ("L" or "RGB"); values outside are clipped."""
    arr = ((t.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5 + 0.5).to(torch.uint8).numpy()
    return Image.fromarray(arr[0], "L") if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0), "RGB")


def resize_short_side(img: Image.Image, size: int) -> Image.Image:
    """Resize so the smaller side is `size`, keeping the aspect ratio (bicubic, antialiased by Pillow)."""
    w, h = img.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return img if new == (w, h) else img.resize(new, Image.Resampling.BICUBIC)


def _resize_nearest(img: Image.Image, size: int) -> Image.Image:
    """resize_short_side with nearest neighbour: flats keep their exact colours (same geometry as bicubic)."""
    w, h = img.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return img if new == (w, h) else img.resize(new, Image.Resampling.NEAREST)


def crop_box(wh: tuple[int, int], size: int, rng: np.random.Generator | None) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a size x size crop of a (W,H) image: random when rng is given (training), else centred."""
    w, h = wh
    if rng is None:
        x, y = (w - size) // 2, (h - size) // 2
    else:
        x, y = int(rng.integers(w - size + 1)), int(rng.integers(h - size + 1))
    return x, y, x + size, y + size


def crop_square(img: Image.Image, size: int, rng: np.random.Generator | None) -> Image.Image:
    """A size x size crop: at a random place when rng is given (training), else centred (test)."""
    return img.crop(crop_box(img.size, size, rng))


def has_outlines(source) -> bool:
    """Whether a source holds outline drawings (lines and flats layers beside each illustration)."""
    return getattr(source, "kind", None) == "outlines" and {"lines", "flats"} <= set(getattr(source, "layers", ()))


class ColorizationDataset(torch.utils.data.Dataset):
    """Training/test samples as dicts of tensors (see `__getitem__`), deterministic in (seed, index, epoch)."""

    def __init__(
        self,
        source,
        size: int = 512,  # thesis IV.1.4: 512 on the smaller side, 512x512 crops
        train: bool = True,
        hints: str = "strokes",  # thesis IV.2.2.1: strokes; "pixels" is Ci et al. 2018's scheme
        seed: int = 0,
        with_stencil: bool = False,
        xdog_cfg: XDoGConfig | None = None,
        stroke_cfg: StrokeConfig | None = None,
        pixel_cfg: PixelHintConfig | None = None,
        simplify_cfg: SimplifyConfig | None = None,
        mask_cfg: MaskConfig | None = None,
        stencil_cfg: StencilConfig | None = None,
        crop: int = 0,  # side of the square crop (0 = size): a part of the image at the same scale, cheaper
        lineart: str = "xdog",  # "xdog", "outline" (an outline dataset's lines) or "mix"
        lineart_mix: float = 0.5,  # with "mix": probability of the real outline (else xDoG), per sample
        with_flats: bool = False,  # add the drawing's flats to each item (outline datasets)
        hand_cfg: HandHintConfig | None = None,
        mixed_cfg: MixedHintConfig | None = None,
        split: str | None = None,
    ):
        if hints not in HINT_MODES:
            raise InkwashError(f"unknown hint scheme {hints!r}; use one of {', '.join(HINT_MODES)}")
        if lineart not in LINEART_MODES:
            raise InkwashError(f"unknown lineart source {lineart!r}; use one of {', '.join(LINEART_MODES)}")
        if not 0.0 <= lineart_mix <= 1.0:
            raise InkwashError(f"lineart_mix {lineart_mix}: give a probability in [0, 1]")
        crop = crop or size
        if size < 4 or crop % 4 or not 4 <= crop <= size:
            raise InkwashError(f"size {size}, crop {crop}: give multiples of 4 (hints are drawn at a quarter), "
                               "crop at most size")
        if isinstance(source, (str, os.PathLike)):
            source = ImageStore(Path(source), split=split or ("train" if train else "test"))
        self.source, self.short_side, self.size, self.train, self.hints = source, size, crop, train, hints
        self.seed, self.with_stencil, self.epoch = seed, with_stencil, 0
        self.xdog_cfg = xdog_cfg or XDoGConfig()
        self.stroke_cfg = stroke_cfg or StrokeConfig()
        self.pixel_cfg = pixel_cfg or PixelHintConfig()
        self.simplify_cfg = simplify_cfg or SimplifyConfig()
        self.mask_cfg = mask_cfg or MaskConfig()
        self.stencil_cfg = stencil_cfg or StencilConfig()
        self.hand_cfg = hand_cfg or HandHintConfig()
        self.mixed_cfg = mixed_cfg or MixedHintConfig()
        self.outlines = has_outlines(source)
        needs = [what for what, on in (("lineart 'outline'", lineart == "outline"),
                                       (f"hints {hints!r}", hints in ("hand", "mixed")), ("flats", with_flats)) if on]
        if needs and not self.outlines:
            raise InkwashError(f"{', '.join(needs)} need an outline dataset (lines and flats beside each drawing); "
                               "build one with `inkwash data openclipart-outlines`, or use lineart 'xdog'")
        self.lineart = "xdog" if lineart == "mix" and not self.outlines else lineart
        self.lineart_mix, self.with_flats = lineart_mix, with_flats

    def __len__(self) -> int:
        return len(self.source)

    def set_epoch(self, epoch: int) -> None:
        """Draw new crops, linearts and hints for this epoch (training only; test items are fixed)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of one item: a pure function of (seed, index, epoch, train), so DDP and resume reproduce."""
        epoch = self.epoch if self.train else 0
        return np.random.default_rng([self.seed, index, epoch, int(self.train)])

    def _hints(self, img: Image.Image, rng: np.random.Generator, mode: str | None = None) -> np.ndarray:
        """(S/4,S/4,4) float32 hint map, RGB in [0,1], mask in {0,1}, drawn on img resized to a quarter."""
        q = self.size // 4
        small = img.resize((q, q), Image.Resampling.BICUBIC)  # thesis IV.2.2.1: 128x128 for 512
        mode = mode or self.hints
        if mode == "strokes":
            return random_strokes(small, rng, self.stroke_cfg)
        if mode == "pixels":
            return random_pixel_hints(small, rng, self.pixel_cfg)
        return np.zeros((q, q, 4), dtype=np.float32)

    def _mask(self, simplified: Image.Image, rng: np.random.Generator) -> np.ndarray:
        """(S,S) float32 selection mask in {0,1}: whole simplified regions, or a masks.py mask."""
        if rng.random() < self.stencil_cfg.region_p:
            return region_mask(np.asarray(simplified), rng, self.stencil_cfg)
        return random_mask(self.size, rng, self.mask_cfg)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """One sample. S = crop (= size unless a smaller crop was asked for).

        illustration: (3,S,S) in [-1,1]; lineart: (1,S,S) in [-1,1], white paper +1;
        hints: (4,S/4,S/4), RGB in [-1,1] (0 where no hint), mask channel in {0,1}.
        with_flats adds flats: (3,S,S) in [-1,1], the drawing's flat colours, aligned with the illustration.
        with_stencil adds simplified: (3,S,S) in [-1,1]; mask: (1,S,S) in {0,1}, 1 = region to colour;
        composite: (3,S,S) in [-1,1], the illustration outside the mask and the lineart inside.
        """
        rng = self.rng(index)
        outline = self.lineart == "outline" or (self.lineart == "mix" and rng.random() < self.lineart_mix)
        img = resize_short_side(self.source[index].convert("RGB"), self.short_side)
        box = crop_box(img.size, self.size, rng if self.train else None)
        crop = img.crop(box)
        lines = flats = None
        if outline or self.hints in ("hand", "mixed") or self.with_flats:  # the same place in every layer
            lines = resize_short_side(self.source.layer(index, "lines"), self.short_side).convert("L").crop(box)
            flats = _resize_nearest(self.source.layer(index, "flats"), self.short_side).crop(box)
        lineart = lines if outline else random_xdog(crop, rng, self.xdog_cfg)
        item = {"illustration": to_tensor(crop), "lineart": to_tensor(lineart)}
        if self.with_flats:
            item["flats"] = to_tensor(flats)
        hint_source = crop
        if self.with_stencil:
            simplified = simplify(crop, lineart, self.simplify_cfg)
            mask = self._mask(simplified, rng)  # (S,S) float32 in {0,1}
            mask_t = torch.from_numpy(mask)[None]
            item["simplified"] = to_tensor(simplified)
            item["mask"] = mask_t
            item["composite"] = composite(item["illustration"], item["lineart"], mask_t)
            hint_source = simplified  # thesis IV.3.2.1: hints come from the simplified illustration
        mode = self.hints
        if mode == "mixed":
            u, mc = rng.random(), self.mixed_cfg
            mode = "none" if u < mc.p_none else "hand" if u < mc.p_none + mc.p_hand else "strokes"
        if mode == "hand":  # regions of the real outline, whatever lineart the model sees
            hand_cfg = self.hand_cfg
            if self.hints == "mixed":
                hand_cfg = replace(hand_cfg, region_p=float(rng.uniform(*self.mixed_cfg.region_p)))
            h = hand_hints(np.asarray(flats), np.asarray(lines, np.float32) / 255.0, rng, hand_cfg,
                           truth=np.asarray(crop))
        else:
            h = self._hints(hint_source, rng, mode)
        rgb = torch.from_numpy(h[..., :3].transpose(2, 0, 1).copy()) * 2.0 - 1.0
        m = torch.from_numpy(h[..., 3:].transpose(2, 0, 1).copy())
        item["hints"] = torch.cat([rgb * m, m], 0)
        return item
