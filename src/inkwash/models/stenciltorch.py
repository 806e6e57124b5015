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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inkwash.canvas import Canvas, encode_hints
from inkwash.errors import InkwashError
from inkwash.models.paintstorch import Critic, Generator, NetConfig, check_resolution, decode, decoder_stages
from inkwash.models.serialize import SavedModel, load_state, read_model

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


def load_stenciltorch(path: str | Path, device: str | torch.device = "cpu"
                      ) -> tuple[StencilGenerator, nn.Module, SavedModel]:
    """Rebuild a saved in-painter: (G, F1, the saved model), both in eval mode and frozen.

    path: a model folder (config.json + model.safetensors, keys "g.*" and "f1.*" when F1 is our own), its
    model.safetensors, or a training run (its RUN/model/). The guide decoder is not there: it only trains.
    """
    from inkwash.models.features import build_f1

    saved = read_model(path, expect=NAME)
    mcfg = saved.network_config(StencilTorchConfig, "StencilTorch")
    tensors = saved.tensors(str(device))
    g = load_state(StencilGenerator(mcfg), tensors, "g", saved.folder)
    f1_state = {k[3:]: v for k, v in tensors.items() if k.startswith("f1.")}
    try:
        f1 = build_f1(mcfg, state=f1_state or None)
    except RuntimeError:
        raise InkwashError(f"{saved.folder}: its F1 weights do not fit config.json; re-export the model") from None
    for m in (g, f1):
        m.to(device).eval().requires_grad_(False)
    return g, f1, saved


# ---------------------------------------------------------------- inference


class StencilTorchModel:
    """The model stage of `inkwash.infer.Colorizer` for a trained StencilTorch: re-colours inside a mask.

    Paints on an in-painting canvas (inkwash.canvas: lines, hints at a quarter, mask, base) whose short side is
    `resolution` (default: the training size); the Colorizer keeps the base outside the mask exactly. A
    deterministic GAN generator: the seed changes nothing.
    """

    multiple, hint_scale, paints_lines = 16, 4, True
    proposes = True  # a learned colour: the pipeline locks it to the regions unless told not to

    def __init__(self, weights: str | Path, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu"):
        self.g, self.f1, self.saved = load_stenciltorch(weights, device)
        self.device = torch.device(device)
        self.resolution = check_resolution(resolution or self.saved.resolution or 512)
        self.lines_over = bool(lines_over)

    @torch.inference_mode()
    def run(self, canvas: Canvas, seed: int | None = None) -> np.ndarray:
        """The canvas (lines (h,w), hints (h/4,w/4,4), mask (h,w), base (h,w,3)) -> colour (h,w,3) in [0,1]."""
        from inkwash.data.masks import composite

        def tensor(a: np.ndarray) -> torch.Tensor:  # (h,w[,C]) -> (1,C,h,w)
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(self.device)

        x = tensor(canvas.lines * 2.0 - 1.0)
        c = tensor(composite(canvas.base, canvas.lines, canvas.mask) * 2.0 - 1.0)  # lineart in the mask, base outside
        y = self.g(c, tensor(canvas.mask), tensor(encode_hints(canvas.hints)), self.f1(x))
        return np.clip((y[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) / 2.0, 0.0, 1.0)


__all__ = ["StencilTorchConfig", "StencilGenerator", "GuideDecoder", "build_networks", "paste", "load_stenciltorch",
           "StencilTorchModel", "NAME"]
