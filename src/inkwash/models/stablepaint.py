"""StablePaint (thesis IV.4): latent diffusion conditioned on the lineart and hints, with in-painting and variations.

Data flow at input size S (a multiple of `cfg.multiple`), latent size s = S/8, C = cfg.latent_channels:
    illustration y (B,3,S,S) in [-1,1] --encoder--> z0 (B,C,s,s) in [-1,1] --decoder--> y_hat (B,3,S,S) in [-1,1]
    context k = [composite (3), mask (1), hints upsampled to S (4)] (B,8,S,S)
        composite: the lineart inside the mask, the illustration (or the user's base) outside, as StencilTorch
    k --context encoder--> z_ctx (B,C,s,s) in [-1,1], trained so that decoder(z_ctx) ~ y (decoder frozen)
    noise model eps_theta(x_t, t, z_ctx, k) -> eps (B,C,s,s): a U-Net over concat(x_t, z_ctx) plus a learned
        pixel-unshuffle stem of k, with a sinusoidal timestep embedding

Sampling (`sample`): x_T from pure noise (strength 1) or from z_ctx corrupted to t = strength * T (the thesis'
fidelity/variety dial; strength 0 returns z_ctx itself), then DDIM (eta 0) or DDPM (eta 1) steps with
classifier-free guidance (hints dropped = the unconditional branch). In-painting: outside the (latent) mask the
sample is replaced at every step by the base's latent noised to that step, and by the base's latent at the end.

Ours where the thesis is silent: latents are tanh-bounded to [-1,1] like pixels, so the pixel-space cosine schedule
and x0 clipping apply unchanged (no KL term, no latent rescaling); no attention layers (cost on CPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inkwash.canvas import Canvas, encode_hints
from inkwash.diffusion import CosineSchedule, SamplerConfig, sample
from inkwash.errors import InkwashError
from inkwash.models.paintstorch import check_resolution
from inkwash.models.serialize import SavedModel, load_state, read_model

NAME = "stablepaint"
NETWORKS = ("encoder", "decoder", "context", "unet")  # in the order the stages train them


@dataclass
class StablePaintConfig:
    """Widths of the autoencoder, context encoder and noise U-Net, and the diffusion schedule."""

    latent_channels: int = 4  # Rombach et al. 2022's f=8, c=4 autoencoder
    ae_width: int = 64
    ae_mults: tuple[int, ...] = (1, 2, 4, 4)  # 4 levels = 3 halvings: latents at S/8
    ae_blocks: int = 1  # residual blocks per level
    unet_width: int = 128
    unet_mults: tuple[int, ...] = (1, 2, 4)  # in latent space: s, s/2, s/4
    unet_blocks: int = 2
    timesteps: int = 1000  # Ho et al. 2020: T = 1000
    cosine_s: float = 0.008  # Nichol & Dhariwal 2021: offset of the cosine schedule

    @classmethod
    def from_dict(cls, d: dict) -> "StablePaintConfig":
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise InkwashError(f"unknown StablePaint model settings {sorted(set(d) - known)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def multiple(self) -> int:
        """Input sizes must be multiples of this: 8 for the autoencoder times the U-Net's halvings."""
        return 8 * 2 ** (len(self.unet_mults) - 1)


# ---------------------------------------------------------------- helpers


def groups(channels: int) -> int:
    """GroupNorm groups: 32 where the width allows (Wu & He 2018), fewer for tiny widths."""
    return math.gcd(32, channels)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017, as in Ho et al. 2020). t (B,) -> (B,dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], 1)
    return F.pad(emb, (0, dim % 2))


def context_input(composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """The conditioning k: composite (B,3,S,S) in [-1,1], mask (B,1,S,S) in {0,1}, hints (B,4,S/4,S/4)
    -> (B,8,S,S), hints nearest-upsampled to S so every stroke pixel survives."""
    up = F.interpolate(hints.to(composite.dtype), size=composite.shape[-2:], mode="nearest")
    return torch.cat([composite, mask.to(composite.dtype), up], 1)


def drop_hints(k: torch.Tensor) -> torch.Tensor:
    """The unconditional branch of classifier-free guidance: k (B,8,S,S) with its hint channels zeroed."""
    return torch.cat([k[:, :4], torch.zeros_like(k[:, 4:])], 1)


# ---------------------------------------------------------------- blocks


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice with a residual, the timestep (if any) added between (Ho et al. 2020).

    x: (B,C_in,H,W), temb: (B,E) or None -> (B,C_out,H,W).
    """

    def __init__(self, c_in: int, c_out: int, temb: int = 0):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups(c_in), c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.temb = nn.Linear(temb, c_out) if temb else None
        self.norm2, self.conv2 = nn.GroupNorm(groups(c_out), c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.temb is not None and temb is not None:
            h = h + self.temb(F.silu(temb))[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class Down(nn.Module):
    """Halve the size with a stride-2 convolution. (B,C,H,W) -> (B,C,H/2,W/2)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Up(nn.Module):
    """Double the size: nearest neighbour then a convolution (no checkerboard). (B,C,H,W) -> (B,C,2H,2W)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


# ---------------------------------------------------------------- networks


class Encoder(nn.Module):
    """Image (or context) -> latent: (B,c_in,S,S) -> (B,C,S/8,S/8) in [-1,1]. The illustration encoder has c_in
    3; the context encoder is the same network over the 8 context channels."""

    def __init__(self, cfg: StablePaintConfig, c_in: int = 3):
        super().__init__()
        widths = [cfg.ae_width * m for m in cfg.ae_mults]
        self.stem = nn.Conv2d(c_in, widths[0], 3, padding=1)
        layers: list[nn.Module] = []
        c = widths[0]
        for i, w in enumerate(widths):
            for _ in range(cfg.ae_blocks):
                layers.append(ResBlock(c, w))
                c = w
            if i < len(widths) - 1:
                layers.append(Down(c))
        self.body = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.GroupNorm(groups(c), c), nn.SiLU(), nn.Conv2d(c, cfg.latent_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.out(self.body(self.stem(x))))


class Decoder(nn.Module):
    """Latent -> illustration, the encoder mirrored: (B,C,S/8,S/8) -> (B,3,S,S) in [-1,1]."""

    def __init__(self, cfg: StablePaintConfig):
        super().__init__()
        widths = [cfg.ae_width * m for m in reversed(cfg.ae_mults)]
        self.stem = nn.Conv2d(cfg.latent_channels, widths[0], 3, padding=1)
        layers: list[nn.Module] = []
        c = widths[0]
        for i, w in enumerate(widths):
            for _ in range(cfg.ae_blocks):
                layers.append(ResBlock(c, w))
                c = w
            if i < len(widths) - 1:
                layers.append(Up(c))
        self.body = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.GroupNorm(groups(c), c), nn.SiLU(), nn.Conv2d(c, 3, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.out(self.body(self.stem(z))))


class NoiseUNet(nn.Module):
    """eps_theta(x_t, t, z_ctx, k): predicts the noise in the latent x_t.

    x_t, z_ctx: (B,C,s,s); t: (B,) integer steps in [0,T); k: (B,8,8s,8s) context -> (B,C,s,s).
    The pixel-level context enters through PixelUnshuffle(8) and a 1x1 convolution, so thin lines reach the
    latent grid without a second encoder.
    """

    def __init__(self, cfg: StablePaintConfig):
        super().__init__()
        w0, emb = cfg.unet_width, 4 * cfg.unet_width
        self.temb_dim = w0
        self.temb = nn.Sequential(nn.Linear(w0, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.stem = nn.Conv2d(2 * cfg.latent_channels, w0, 3, padding=1)
        self.context = nn.Sequential(nn.PixelUnshuffle(8), nn.Conv2d(8 * 64, w0, 1))
        widths = [w0 * m for m in cfg.unet_mults]
        self.down, skips, c = nn.ModuleList(), [w0], w0
        for i, w in enumerate(widths):
            for _ in range(cfg.unet_blocks):
                self.down.append(ResBlock(c, w, emb))
                c = w
                skips.append(c)
            if i < len(widths) - 1:
                self.down.append(Down(c))
                skips.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, emb), ResBlock(c, c, emb)])
        self.up = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            for _ in range(cfg.unet_blocks + 1):
                self.up.append(ResBlock(c + skips.pop(), w, emb))
                c = w
            if i > 0:
                self.up.append(Up(c))
        self.out = nn.Sequential(nn.GroupNorm(groups(c), c), nn.SiLU(), nn.Conv2d(c, cfg.latent_channels, 3, padding=1))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, z_ctx: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        temb = self.temb(timestep_embedding(t, self.temb_dim).to(x_t.dtype))
        h = self.stem(torch.cat([x_t, z_ctx], 1)) + self.context(k)
        hs = [h]
        for layer in self.down:
            h = layer(h, temb) if isinstance(layer, ResBlock) else layer(h)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, temb)
        for layer in self.up:
            h = layer(torch.cat([h, hs.pop()], 1), temb) if isinstance(layer, ResBlock) else layer(h)
        return self.out(h)


def build_networks(cfg: StablePaintConfig) -> dict[str, nn.Module]:
    """All four networks by name (NETWORKS); each training stage trains one group and freezes the earlier ones."""
    return {"encoder": Encoder(cfg, 3), "decoder": Decoder(cfg), "context": Encoder(cfg, 8), "unet": NoiseUNet(cfg)}


# ---------------------------------------------------------------- loading


def load_stablepaint(path: str | Path, device: str | torch.device = "cpu",
                     need: tuple[str, ...] = NETWORKS) -> tuple[dict[str, nn.Module], StablePaintConfig, SavedModel]:
    """The saved networks of a StablePaint model: ({name: module} for `need`, model config, the saved model).

    path: a model folder, its model.safetensors, or a training run (RUN/model/). Modules come in eval mode,
    frozen. A model of an earlier stage lacks the later networks: the error names the stage to train next.
    """
    saved = read_model(path, expect=NAME)
    mcfg = saved.network_config(StablePaintConfig, "StablePaint")
    tensors = saved.tensors(str(device))
    nets = build_networks(mcfg)
    out: dict[str, nn.Module] = {}
    for name in need:
        if not any(k.startswith(name + ".") for k in tensors):
            stage = {"encoder": "autoencoder", "decoder": "autoencoder", "context": "context"}.get(name, "noise")
            raise InkwashError(f"{path}: has no {name} network (a {saved.meta.get('stage', '?')}-stage model); "
                               f"train the {stage} stage: inkwash train {NAME} --stage {stage} --previous {path} ...")
        out[name] = load_state(nets[name], tensors, name, saved.folder).to(device).eval().requires_grad_(False)
    return out, mcfg, saved


# ---------------------------------------------------------------- inference


class StablePaint:
    """The inference pipeline: context -> sampled latent -> illustration, under no_grad with a seed.

    nets: encoder, decoder, context, unet (eval mode). All tensors at the network size S (a multiple of
    cfg.multiple): composite (B,3,S,S) in [-1,1], mask (B,1,S,S) in {0,1}, hints (B,4,S/4,S/4).
    """

    def __init__(self, nets: dict[str, nn.Module], cfg: StablePaintConfig):
        self.nets, self.cfg = nets, cfg
        self.schedule = CosineSchedule(cfg.timesteps, cfg.cosine_s)

    @torch.no_grad()
    def context_latent(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_ctx (B,C,s,s), k (B,8,S,S))."""
        k = context_input(composite, mask, hints)
        return self.nets["context"](k), k

    @torch.no_grad()
    def __call__(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor, cfg: SamplerConfig,
                 seed: int | None = None, base: torch.Tensor | None = None) -> torch.Tensor:
        """The illustration (B,3,S,S) in [-1,1]; with `base` (B,3,S,S) in [-1,1], latents wholly outside the mask
        are the base's (the caller pastes the base back exactly at pixel level)."""
        z_ctx, k = self.context_latent(composite, mask, hints)
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
        keep = z_base = None
        if base is not None and bool((mask == 0).any()):
            # a latent cell is regenerated if any of its 8x8 pixels is selected
            keep = 1.0 - F.max_pool2d(mask.to(z_ctx.dtype), 8)
            z_base = self.nets["encoder"](base)
        z = sample(self.nets["unet"], self.schedule, z_ctx, k, drop_hints(k), cfg.check(), generator, keep, z_base)
        return self.nets["decoder"](z)


class StablePaintModel:
    """The model stage of `inkwash.infer.Colorizer` for a trained StablePaint: samples a colouring per seed.

    Paints on an in-painting canvas (inkwash.canvas; sides multiples of the U-Net's stride) whose short side is
    `resolution` (default: the training size). Sampling options (steps, strength, sampler, guidance:
    `SamplerConfig`) are kept in `self.sampling`; `run` also takes steps/strength for one call.
    """

    hint_scale, paints_lines = 4, True
    proposes = True  # a learned colour: the pipeline locks it to the regions unless told not to

    def __init__(self, weights: str | Path, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu", steps: int = 20, strength: float = 0.5, sampler: str = "ddim",
                 guidance: float = 2.0):
        nets, mcfg, self.saved = load_stablepaint(weights, device)
        self.pipeline = StablePaint(nets, mcfg)
        self.sampling = SamplerConfig(int(steps), float(strength), str(sampler), float(guidance)).check()
        self.device = torch.device(device)
        self.multiple = mcfg.multiple
        self.resolution = check_resolution(resolution or self.saved.resolution or 512)
        self.lines_over = bool(lines_over)

    def run(self, canvas: Canvas, seed: int | None = None, **sampling: Any) -> np.ndarray:
        """The canvas (lines, hints at a quarter, mask, base) -> colour (h,w,3) in [0,1]; `sampling` overrides
        steps/strength for this call."""
        from inkwash.data.masks import composite

        def tensor(a: np.ndarray) -> torch.Tensor:  # (h,w[,C]) -> (1,C,h,w)
            a = a[..., None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float().to(self.device)

        cfg = replace(self.sampling, **sampling).check() if sampling else self.sampling
        lines, mask, base = canvas.lines, canvas.mask, canvas.base
        c = tensor(composite(base, lines, mask) * 2.0 - 1.0)  # lineart inside the mask, base outside
        partial = bool((mask == 0).any())  # something to keep
        y = self.pipeline(c, tensor(mask), tensor(encode_hints(canvas.hints)), cfg, seed=seed,
                          base=tensor(base * 2.0 - 1.0) if partial else None)
        return np.clip((y[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) / 2.0, 0.0, 1.0)

    def with_sampling(self, **changes: Any) -> "StablePaintModel":
        """Change sampling options in place (steps, strength, sampler, guidance); returns self."""
        try:
            self.sampling = replace(self.sampling, **changes).check()
        except TypeError as exc:
            raise InkwashError(f"{NAME}: {exc}") from None
        return self


__all__ = ["StablePaintConfig", "Encoder", "Decoder", "NoiseUNet", "build_networks", "context_input", "drop_hints",
           "load_stablepaint", "StablePaint", "StablePaintModel", "NAME", "NETWORKS"]
