"""StencilTorch (thesis IV.3): lineart colorization as in-painting under a mask, with a training-only guide decoder.

Data flow at input size S (S divisible by 16), the PaintsTorch networks with a mask:
    lineart x (B,1,S,S) in [-1,1] --F1--> features f (B,Cf,S/16,S/16)
    composite c (B,3,S,S) in [-1,1]: the illustration (or the user's previous colour) where m = 0, x where m = 1
    mask m (B,1,S,S) in {0,1}, 1 = colour here;  hints h (B,4,S/4,S/4), RGB in [-1,1], mask channel in {0,1}
    G(c, m, h, f) -> y_hat (B,3,S,S) in [-1,1], the whole image; users get y_hat where m = 1 and c elsewhere
    guide(z, f) -> s_hat (B,3,S,S) in [-1,1], the colour-simplified illustration, from G's latent z alone
    C(y, f) -> score (B,1), the PaintsTorch critic unchanged

Inputs (thesis IV.3.2.1-2): the composite, the mask, the hints and F1 features; no separate lineart channel,
since the composite already holds the lines inside the mask and the illustration's own lines outside it. F1 sees
the whole lineart, as in PaintsTorch. There is no G2 (thesis IV.3.2.2: in-painting makes it unnecessary).

Guide decoder: the thesis calls it a copy of the generator's decoder fed with the encoder's latent, after Zhang et
al. 2017's guide decoders. We copy the stages without the U-Net skips: with them it could read colours straight
from the composite at full resolution and would teach the latent nothing. It is trained but never exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inkwash.errors import InkwashError
from inkwash.models.paintstorch import Critic, Generator, NetConfig, decode, decoder_stages

NAME = "stenciltorch"


@dataclass
class StencilTorchConfig(NetConfig):
    """StencilTorch's networks: the PaintsTorch widths and features, plus the guide decoder switch."""

    # thesis IV.3.3.1 compares StencilTorch with and without it ("+ G"); the published model uses it
    guide: bool = True


# ---------------------------------------------------------------- networks


class StencilGenerator(Generator):
    """G: composite + mask + hints + F1 features -> the whole illustration (PaintsTorch's U-Net, 4 input channels).

    composite: (B,3,S,S) in [-1,1]; mask: (B,1,S,S) in {0,1}; hints: (B,4,S/4,S/4); feat: (B,Cf,S/16,S/16)
    -> (B,3,S,S) in [-1,1].
    """

    def __init__(self, cfg: NetConfig):
        super().__init__(cfg, c_in=4, c_out=3)

    def encode_stencil(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features [x0, ..., x4]; x4 = latent (B,8g,S/16,S/16) is what the guide decoder reads."""
        return self.encode(torch.cat([composite, mask.to(composite.dtype)], 1), hints)

    def forward(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor,  # type: ignore[override]
                feat: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode_stencil(composite, mask, hints), feat)


class GuideDecoder(nn.Module):
    """Training-only guide (thesis IV.3.2.2): the generator's decoder stages, latent only, -> simplified image.

    latent: (B,8g,S/16,S/16); feat: (B,Cf,S/16,S/16) -> s_hat (B,3,S,S) in [-1,1].
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        for name, stage in decoder_stages(cfg, 3, skips=False).items():
            self.add_module(name, stage)

    def forward(self, latent: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return decode(self, latent, feat)


def build_networks(cfg: StencilTorchConfig) -> dict[str, nn.Module]:
    """The trainable networks: g, critic, and the guide decoder unless `guide` is off."""
    nets: dict[str, nn.Module] = {"g": StencilGenerator(cfg), "critic": Critic(cfg)}
    if cfg.guide:
        nets["guide"] = GuideDecoder(cfg)
    return nets


def paste(y_hat: torch.Tensor, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """What a user gets: y_hat where mask != 0, `context` elsewhere, exactly. (B,3,S,S), mask (B,1,S,S)."""
    return torch.where(mask != 0, y_hat, context.to(y_hat.dtype))


# ---------------------------------------------------------------- loading


def load_stenciltorch(run_dir: str | Path, device: str | torch.device = "cpu"
                      ) -> tuple[StencilGenerator, nn.Module, dict]:
    """Rebuild the exported in-painter of a run: (G, F1, config dict), both in eval mode and frozen.

    run_dir: a run folder (config.json + model.safetensors, keys "g.*" and "f1.*" when F1 is our own) or its
    model.safetensors file. The guide decoder is not there: it only trains.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from inkwash.models.features import build_f1

    path = Path(run_dir)
    weights = path if path.is_file() else path / "model.safetensors"
    beside = weights.with_suffix(".json")  # NAME.safetensors + NAME.json, or a run folder's config.json
    cfg_path = beside if beside.is_file() else weights.parent / "config.json"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise InkwashError(f"{p}: missing; train a model first (inkwash train {NAME} --out RUN)")
    try:
        full = json.loads(cfg_path.read_text())
        name = full.get("name", NAME)
        if name != NAME:
            raise InkwashError(f"{cfg_path}: a {name!r} run, not {NAME}; use --model {name} or a {NAME} run")
        mcfg = StencilTorchConfig.from_dict(full["model"])
        state = load_file(str(weights), device=str(device))
        g = StencilGenerator(mcfg)
        g.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("g.")})
        f1_state = {k[3:]: v for k, v in state.items() if k.startswith("f1.")}
        f1 = build_f1(mcfg, state=f1_state or None)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InkwashError(f"{path}: unreadable StencilTorch export ({msg}); re-export or retrain") from None
    for m in (g, f1):
        m.to(device).eval().requires_grad_(False)
    return g, f1, full


# ---------------------------------------------------------------- inference


def _canvas(a: np.ndarray, content: tuple[int, int], size: tuple[int, int], fill: float) -> np.ndarray:
    """Resize (H,W[,C]) float32 `a` (area filter) to `content` (h,w) and pad it with `fill` to `size`."""
    import cv2

    (ch, cw), (h, w) = content, size
    small = a if a.shape[:2] == (ch, cw) else cv2.resize(a, (cw, ch), interpolation=cv2.INTER_AREA)
    out = np.full((h, w) + a.shape[2:], fill, np.float32)
    out[:ch, :cw] = small.reshape((ch, cw) + a.shape[2:])
    return out


class InpaintingBackend:
    """What in-painting models (StencilTorch, StablePaint) share for `inkwash.infer.Colorizer`: resizing, padding
    and hints around a subclass's `run`, which colours one canvas.

    Called as backend(lines, hints, seed, mask=mask, base=base): lines (H,W) in [0,1] (1 = paper); hints (H,W,4)
    in [0,1]; mask (H,W,1) in [0,1] or None (the whole image); base (H,W,3) in [0,1] or None (no colour yet: the
    model colours the whole lineart, a first pass). Returns (H,W,3) float32 in [0,1], the whole image; the
    Colorizer keeps `base` wherever mask == 0. Any size and aspect: the inputs are scaled so the short side is
    `resolution` px (default: the training size; never enlarged), padded to a multiple of 16 (paper lines, no
    hints, no mask, white base), coloured, cropped and resized back; with `lines_over` the colour comes back
    without lines and the Colorizer multiplies the original crisp lines over it (as for PaintsTorch).
    Subclasses set `resolution` and `flat` (= lines_over) and implement `run`.
    """

    uses_base = True
    resolution: int
    flat: bool

    def run(self, lines: np.ndarray, hints: np.ndarray, mask: np.ndarray, base: np.ndarray,
            seed: int | None) -> np.ndarray:
        """The model on a canvas: lines (h,w), hints (h/4,w/4,4), mask (h,w) in {0,1}, base (h,w,3), all in [0,1]
        with h, w multiples of 16 -> (h,w,3) in [0,1]."""
        raise NotImplementedError

    def __call__(self, lines: np.ndarray, hints: np.ndarray, seed: int | None, mask: np.ndarray | None = None,
                 base: np.ndarray | None = None) -> np.ndarray:
        import cv2

        from inkwash.infer import downsample_hints, fill_line_pixels, working_size

        H, W = lines.shape
        h, w = working_size(H, W, self.resolution)
        scale = min(1.0, self.resolution / min(H, W))
        content = (min(h, max(1, round(H * scale))), min(w, max(1, round(W * scale))))
        if base is None or mask is None:  # nothing to keep: colour the whole lineart (a first pass)
            mask = np.ones((H, W, 1), np.float32)
        base = np.repeat(lines[..., None], 3, axis=2) if base is None else base
        quarter = (max(1, content[0] // 4), max(1, content[1] // 4))
        hint_canvas = np.zeros((h // 4, w // 4, 4), np.float32)
        hint_canvas[: quarter[0], : quarter[1]] = downsample_hints(np.asarray(hints, np.float32), quarter)
        inside = (_canvas(np.asarray(mask, np.float32)[..., 0], content, (h, w), 0.0) > 0).astype(np.float32)
        colour = self.run(_canvas(np.asarray(lines, np.float32), content, (h, w), 1.0), hint_canvas, inside,
                          _canvas(np.asarray(base, np.float32), content, (h, w), 1.0), seed)
        colour = colour[: content[0], : content[1]]
        if colour.shape[:2] != (H, W):
            colour = cv2.resize(colour, (W, H), interpolation=cv2.INTER_CUBIC).reshape(H, W, 3)
        colour = np.clip(colour, 0.0, 1.0)
        return fill_line_pixels(colour, lines) if self.flat else colour


class StencilTorchBackend(InpaintingBackend):
    """A trained StencilTorch: re-colours inside a mask, keeps `base` outside (see `InpaintingBackend`).

    The model is a deterministic GAN generator: `seed` changes nothing.
    """

    def __init__(self, weights: Path | None = None, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu", **unknown: Any):
        from inkwash.infer import shipped_weights

        if unknown:
            raise InkwashError(f"{NAME}: unknown option(s) {', '.join(sorted(unknown))}; "
                               "known: resolution, lines_over, device")
        folder = shipped_weights(NAME) if weights is None else Path(weights)
        self.g, self.f1, self.config = load_stenciltorch(folder, device)
        self.device = torch.device(device)
        self.resolution = int(resolution or self.config.get("data", {}).get("size", 512))
        if self.resolution < 16:
            raise InkwashError(f"resolution {self.resolution}: must be at least 16 px")
        self.flat = bool(lines_over)

    @torch.inference_mode()
    def run(self, lines: np.ndarray, hints: np.ndarray, mask: np.ndarray, base: np.ndarray,
            seed: int | None = None) -> np.ndarray:
        from inkwash.data.masks import composite

        def tensor(a: np.ndarray) -> torch.Tensor:  # (h,w[,C]) -> (1,C,h,w)
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(self.device)

        x = tensor(lines * 2.0 - 1.0)
        c = tensor(composite(base, lines, mask) * 2.0 - 1.0)  # lineart inside the mask, base outside
        h = tensor(np.concatenate([(hints[..., :3] * 2.0 - 1.0) * hints[..., 3:], hints[..., 3:]], 2))
        y = self.g(c, tensor(mask), h, self.f1(x))
        return np.clip((y[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) / 2.0, 0.0, 1.0)


__all__ = ["StencilTorchConfig", "StencilGenerator", "GuideDecoder", "build_networks", "paste", "load_stenciltorch",
           "InpaintingBackend", "StencilTorchBackend", "NAME"]
