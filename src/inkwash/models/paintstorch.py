"""PaintsTorch networks (thesis IV.2.2.2): colorizer G1, lineart redrawer G2 and critic C, after AlacGAN.

Data flow at input size S (S divisible by 16):
    lineart x (B,1,S,S) in [-1,1] --F1--> features f (B,Cf,S/16,S/16)
    G1(x, h, f) -> y_hat (B,3,S,S) in [-1,1]      h: hints (B,4,S/4,S/4), RGB in [-1,1], mask in [0,1]
    G2(y_hat, h, f) -> x_hat (B,1,S,S) in [-1,1]
    C(y, f) -> score (B,1), unbounded (Wasserstein critic)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inkwash.canvas import Canvas, encode_hints
from inkwash.errors import InkwashError
from inkwash.models.blocks import ResNeXtBottleneck, UpShuffle, conv_act, tunnel
from inkwash.models.serialize import SavedModel, load_state, read_model

FAMILY = ("paintstorch", "alacgan")  # the models this file's generator serves


@dataclass
class NetConfig:
    """Network widths and frozen-feature choices of the AlacGAN family (PaintsTorch, AlacGAN, StencilTorch).

    Defaults are AlacGAN's NetG/NetD (the thesis' `base`).
    """

    ngf: int = 64  # AlacGAN NetG width
    ndf: int = 64  # AlacGAN NetD width
    feat_channels: int = 512  # F1 output channels (Illustration2Vec conv4_2: 512 at S/16)
    bottlenecks: int = 20  # AlacGAN: 20 ResNeXt blocks at S/16
    dilations: tuple[int, ...] = (1, 1, 2, 2, 4, 4, 2, 1)  # AlacGAN tunnels at S/8 and S/4
    dilations_top: tuple[int, ...] = (1, 2, 4, 2, 1)  # AlacGAN tunnel at S/2
    cardinality: int = 32  # ResNeXt groups (0 = depthwise); 16 at S/2 as in AlacGAN
    cardinality_top: int = 16
    critic_cardinality: int = 8  # AlacGAN NetD
    critic_tail_downsamples: int = 3  # stride-2 blocks after F1 is joined (S/16 -> S/128 at 512 px)
    f1: str = "seeded"  # "seeded" (offline default, see features.py) or "i2v" (Illustration2Vec file)
    f1_path: str = ""
    f2: str = "seeded-vgg"  # "seeded-vgg" (offline default) or "vgg16" (torchvision's ImageNet file)
    f2_path: str = ""
    f2_layer: str = "relu2_2"  # thesis IV.2.2.3: VGG16's fourth activation (relu2_2, as AlacGAN/PaintsTorch code)
    f2_width: float = 1.0  # width multiplier of the seeded F2 only (real VGG16 needs 1.0)
    feature_seed: int = 0  # seed of the offline F1/F2 weights: part of the model's identity

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise InkwashError(f"unknown model settings {sorted(unknown)}; known: {sorted(known)}")
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**d)


@dataclass
class PaintsTorchConfig(NetConfig):
    """PaintsTorch's networks: the shared widths plus the second generator."""

    use_g2: bool = True  # thesis IV.2.2.2: the second generator; False gives AlacGAN


def decoder_stages(cfg: NetConfig, c_out: int, skips: bool = True) -> dict[str, nn.Module]:
    """The U-Net's upward path as named stages dec4, dec3, dec2, dec1, exit (run them with `decode`).

    dec4 takes the latent (B,8g,S/16,S/16) with the F1 features; each later stage doubles the size. With `skips`
    every stage also takes the encoder's feature map of its size (the generator); without, the latent alone has
    to carry the image (the guide decoder of StencilTorch, after Zhang et al. 2017).
    """
    g, k = cfg.ngf, 2 if skips else 1  # k: input width factor of a stage (upsampled path + skip, or alone)
    return {
        "dec4": nn.Sequential(  # F1 features join at the bottleneck
            conv_act(g * 8 + cfg.feat_channels, g * 8, 3),
            *[ResNeXtBottleneck(g * 8, cfg.cardinality) for _ in range(cfg.bottlenecks)],
            UpShuffle(g * 8, g * 4),
        ),
        "dec3": nn.Sequential(conv_act(g * 4 * k, g * 4), tunnel(g * 4, cfg.dilations, cfg.cardinality),
                              UpShuffle(g * 4, g * 2)),
        "dec2": nn.Sequential(conv_act(g * 2 * k, g * 2), tunnel(g * 2, cfg.dilations, cfg.cardinality),
                              UpShuffle(g * 2, g)),
        "dec1": nn.Sequential(conv_act(g * k, g), tunnel(g, cfg.dilations_top, cfg.cardinality_top),
                              UpShuffle(g, g // 2)),
        "exit": nn.Conv2d(g // 2 * k, c_out, 3, padding=1),
    }


def decode(net: nn.Module, latent: torch.Tensor, feat: torch.Tensor,
           skips: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Run `net`'s decoder stages (see `decoder_stages`): -> (B,c_out,S,S) in [-1,1].

    latent: (B,8g,S/16,S/16); feat: (B,Cf,S/16,S/16); skips: [x3 (S/8), x2 (S/4), x1 (S/2), x0 (S)] or None.
    """
    y = net.dec4(torch.cat([latent, feat], 1))
    if skips is None:
        return torch.tanh(net.exit(net.dec1(net.dec2(net.dec3(y)))))
    x3, x2, x1, x0 = skips
    y = net.dec3(torch.cat([y, x3], 1))
    y = net.dec2(torch.cat([y, x2], 1))
    y = net.dec1(torch.cat([y, x1], 1))
    return torch.tanh(net.exit(torch.cat([y, x0], 1)))


class Generator(nn.Module):
    """AlacGAN-style U-Net: image + hints + F1 features -> image.

    x: (B,c_in,S,S) in [-1,1]; hints: (B,4,S/4,S/4); feat: (B,Cf,S/16,S/16) -> (B,c_out,S,S) in [-1,1].
    """

    def __init__(self, cfg: NetConfig, c_in: int = 1, c_out: int = 3):
        super().__init__()
        g = cfg.ngf
        self.to_hint = conv_act(4, g, kernel=7)  # hints enter at S/4, beside the encoder
        self.enc0 = conv_act(c_in, g // 2, 3)  # S
        self.enc1 = conv_act(g // 2, g, 4, 2)  # S/2
        self.enc2 = conv_act(g, g * 2, 4, 2)  # S/4
        self.enc3 = conv_act(g * 3, g * 4, 4, 2)  # S/8, after concatenating the hint features
        self.enc4 = conv_act(g * 4, g * 8, 4, 2)  # S/16
        for name, stage in decoder_stages(cfg, c_out, skips=True).items():
            self.add_module(name, stage)  # flat names (dec4, ..., exit): the weights' keys

    def encode(self, x: torch.Tensor, hints: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features [x0 (B,g/2,S,S), x1 (S/2), x2 (S/4), x3 (S/8), x4 = latent (B,8g,S/16,S/16)]."""
        x0 = self.enc0(x)
        x1 = self.enc1(x0)
        x2 = self.enc2(x1)
        x3 = self.enc3(torch.cat([x2, self.to_hint(hints)], 1))
        return [x0, x1, x2, x3, self.enc4(x3)]

    def decode(self, enc: list[torch.Tensor], feat: torch.Tensor) -> torch.Tensor:
        """Encoder features (from `encode`) + F1 features -> (B,c_out,S,S) in [-1,1]."""
        x0, x1, x2, x3, x4 = enc
        return decode(self, x4, feat, [x3, x2, x1, x0])

    def forward(self, x: torch.Tensor, hints: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x, hints), feat)


class Critic(nn.Module):
    """SRGAN-like critic with the generators' bottlenecks, no dilation, conditioned on F1; linear output.

    y: (B,3,S,S) in [-1,1]; feat: (B,Cf,S/16,S/16) -> (B,1) unbounded.
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        d, k = cfg.ndf, cfg.critic_cardinality

        def down(c: int) -> list[nn.Module]:
            return [ResNeXtBottleneck(c, k), ResNeXtBottleneck(c, k, stride=2)]

        self.feed = nn.Sequential(
            conv_act(3, d, 7, bias=False), conv_act(d, d, 4, 2, bias=False),  # S/2
            *down(d), conv_act(d, d * 2, 1, bias=False),  # S/4
            *down(d * 2), conv_act(d * 2, d * 4, 1, bias=False),  # S/8
            *down(d * 4),  # S/16
        )
        tail: list[nn.Module] = [conv_act(d * 4 + cfg.feat_channels, d * 8, 3, bias=False)]
        for _ in range(cfg.critic_tail_downsamples):
            tail += down(d * 8)
        tail += [ResNeXtBottleneck(d * 8, k), conv_act(d * 8, d * 8, 3, bias=False)]
        self.tail = nn.Sequential(*tail)
        # AlacGAN ends with a 4x4 valid conv, which only fits 512 px; global averaging fits any size
        self.out = nn.Linear(d * 8, 1)

    def forward(self, y: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        h = self.tail(torch.cat([self.feed(y), feat], 1))
        return self.out(h.mean(dim=(2, 3)))


def build_networks(cfg: PaintsTorchConfig) -> dict[str, nn.Module]:
    """The trainable networks of a config: g1, critic, and g2 unless `use_g2` is off (AlacGAN)."""
    nets: dict[str, nn.Module] = {"g1": Generator(cfg, 1, 3), "critic": Critic(cfg)}
    if cfg.use_g2:
        nets["g2"] = Generator(cfg, 3, 1)
    return nets


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, nn.Module, SavedModel]:
    """Rebuild a saved PaintsTorch/AlacGAN colorizer: (G1, F1, the saved model), both in eval mode and frozen.

    path: a model folder (config.json + model.safetensors, keys "g1.*" and "f1.*" when F1 is our own), its
    model.safetensors, or a training run (its RUN/model/ export).
    """
    from inkwash.models.features import build_f1

    saved = read_model(path)
    if saved.name not in FAMILY:
        raise InkwashError(f"{saved.folder}: a {saved.name!r} model, not paintstorch/alacgan; use --model {saved.name}")
    cfg = saved.network_config(PaintsTorchConfig, "PaintsTorch")
    tensors = saved.tensors(str(device))
    g1 = load_state(Generator(cfg, 1, 3), tensors, "g1", saved.folder)
    f1_state = {k[3:]: v for k, v in tensors.items() if k.startswith("f1.")}
    try:
        f1 = build_f1(cfg, state=f1_state or None)
    except RuntimeError:
        raise InkwashError(f"{saved.folder}: its F1 weights do not fit config.json; re-export the model") from None
    for m in (g1, f1):
        m.to(device).eval().requires_grad_(False)
    return g1, f1, saved


# ---------------------------------------------------------------- inference


class PaintsTorchModel:
    """The model stage of `inkwash.infer.Colorizer` for a trained PaintsTorch or AlacGAN G1 with its F1.

    Paints on a canvas (inkwash.canvas) whose short side is `resolution` (default: the training size) and whose
    sides are multiples of 16, hints at a quarter; a deterministic generator, so the seed changes nothing.
    """

    multiple, hint_scale, paints_lines = 16, 4, True
    proposes = True  # a learned colour: the pipeline locks it to the regions unless told not to

    def __init__(self, weights: str | Path, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu"):
        self.g1, self.f1, self.saved = load_generator(weights, device)
        self.device = torch.device(device)
        self.resolution = check_resolution(resolution or self.saved.resolution or 512)
        self.lines_over = bool(lines_over)

    @torch.inference_mode()
    def run(self, canvas: Canvas, seed: int | None = None) -> np.ndarray:
        """canvas.lines (h,w), canvas.hints (h/4,w/4,4) -> colour (h,w,3) float32 in [0,1]."""
        x = torch.from_numpy(canvas.lines * 2.0 - 1.0)[None, None].to(self.device)
        hint = torch.from_numpy(encode_hints(canvas.hints)).permute(2, 0, 1)[None].to(self.device)
        y = self.g1(x, hint, self.f1(x))
        return np.clip((y[0].permute(1, 2, 0).float().cpu().numpy() + 1.0) / 2.0, 0.0, 1.0)


def check_resolution(resolution: int) -> int:
    """A working resolution a model can paint at, or an InkwashError."""
    if int(resolution) < 16:
        raise InkwashError(f"resolution {resolution}: must be at least 16 px")
    return int(resolution)


def config_dict(cfg: NetConfig) -> dict:
    """JSON-ready dict of a model config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


__all__ = ["NetConfig", "PaintsTorchConfig", "Generator", "decoder_stages", "decode", "Critic", "build_networks",
           "load_generator", "config_dict", "PaintsTorchModel", "check_resolution", "FAMILY"]
