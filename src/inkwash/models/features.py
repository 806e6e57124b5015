"""Frozen feature networks: F1 (local features conditioning G1, G2, C) and F2 (perceptual loss), thesis IV.2.2.

Each has a loader for the published weights file given by path and an offline default that needs no download:
- F1 "i2v": Illustration2Vec up to conv4_2 + ReLU, as converted for PyTorch by AlacGAN (`i2v.pth`).
  F1 "seeded": a small conv net with a fixed seeded He init. It carries the lineart's spatial structure at S/16
  but no learned semantics (what Illustration2Vec adds); meant to be replaced by an F1 trained on Open Clip Art.
- F2 "vgg16": ImageNet VGG16 features in torchvision's layout (`vgg16-397923af.pth`), up to `f2_layer`.
  F2 "seeded-vgg": the same layers with a fixed seeded He init. Random-weight conv features still penalise
  differences in local structure and colour statistics, but not the ImageNet semantics of a trained VGG.
Weights files are read with torch.load(weights_only=True) or safetensors, never with plain pickle.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from inkwash.errors import InkwashError

# torchvision's VGG16 `features` layout: channel counts, "M" = 2x2 max-pool
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# AlacGAN's Illustration2Vec: (out channels or "M"), the first 15 modules of the Caffe-converted Sequential
I2V_LAYOUT = (64, "M", 128, "M", 256, 256, "M", 512, 512)
I2V_MEAN = (164.76139251, 167.47864617, 181.13838569)  # Illustration2Vec's training mean, 0-255 scale


def _vgg_layer_names() -> dict[str, int]:
    """'relu2_2' -> index of that ReLU in torchvision's vgg16.features."""
    names, block, conv, i = {}, 1, 0, 0
    for v in VGG16_LAYOUT:
        if v == "M":
            block, conv, i = block + 1, 0, i + 1
        else:
            conv += 1
            names[f"relu{block}_{conv}"] = i + 1
            i += 2
    return names


VGG16_RELUS = _vgg_layer_names()


def _conv_stack(layout: tuple, c_in: int, ceil_mode: bool = False, width: float = 1.0) -> nn.Sequential:
    """Conv3x3+ReLU / MaxPool stack whose module indices match the Caffe/torchvision Sequential layouts."""
    layers: list[nn.Module] = []
    for v in layout:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil_mode))
        else:
            c_out = max(1, round(v * width))
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = c_out
    return nn.Sequential(*layers)


def _seeded_init(module: nn.Module, seed: int) -> None:
    """He-normal conv weights, zero biases, from a private generator: the same seed gives the same network."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.zero_()


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode, no gradients: F1 and F2 never train."""
    module.eval()
    module.requires_grad_(False)
    return module


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors or .pth/.pt file, refusing arbitrary pickles."""
    path = Path(path)
    if not path.is_file():
        raise InkwashError(f"{path}: no such weights file; give the path of the downloaded file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad files; all mean the same to a user
        raise InkwashError(f"{path}: not a readable weights file ({type(exc).__name__}); re-download it") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InkwashError(f"{path}: expected a state dict of tensors")
    return state


def _load_indexed(seq: nn.Sequential, state: dict[str, torch.Tensor], prefix_re: str, path: str) -> None:
    """Copy `<prefix>N.weight/bias` into `seq[N]`, ignoring layers past the ones we keep (e.g. classifiers)."""
    own = seq.state_dict()
    mapped = {}
    for key, value in state.items():
        m = re.fullmatch(prefix_re + r"(\d+)\.(weight|bias)", key)
        if m and f"{m.group(1)}.{m.group(2)}" in own:
            mapped[f"{m.group(1)}.{m.group(2)}"] = value
    missing = sorted(set(own) - set(mapped), key=lambda k: int(k.split(".")[0]))
    if missing:
        raise InkwashError(f"{path}: missing weights {missing[:4]}; is it the right file?")
    for k, v in mapped.items():
        if v.shape != own[k].shape:
            raise InkwashError(f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}")
    seq.load_state_dict(mapped)


class Illustration2Vec(nn.Module):
    """F1 = Illustration2Vec to conv4_2+ReLU. lineart: (B,1,S,S) in [-1,1] -> (B,512,S/16,S/16) >= 0."""

    def __init__(self):
        super().__init__()
        self.body = _conv_stack(I2V_LAYOUT, 3, ceil_mode=True)
        self.register_buffer("mean", torch.tensor(I2V_MEAN).view(1, 3, 1, 1))

    @classmethod
    def from_file(cls, path: str | Path) -> "Illustration2Vec":
        net = cls()
        # AlacGAN's i2v.pth keys are "N.weight" of one Sequential; tolerate a "model."/"features." prefix
        _load_indexed(net.body, read_state_dict(path), r"(?:model\.|features\.|module\.)?", str(path))
        return freeze(net)

    def forward(self, lineart: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(lineart, 2)  # AlacGAN feeds I2V at half size, giving features at S/16
        x = (x * 0.5 + 0.5) * 255.0
        return self.body(x.expand(-1, 3, -1, -1) - self.mean)


class SeededF1(nn.Module):
    """Offline F1: fixed random conv net. lineart: (B,1,S,S) in [-1,1] -> (B,C,S/16,S/16) >= 0."""

    def __init__(self, channels: int = 512, seed: int = 0):
        super().__init__()
        w = [max(8, channels // 8), max(8, channels // 4), max(8, channels // 2), channels]
        self.body = nn.Sequential(
            nn.AvgPool2d(2),  # S/2 as Illustration2Vec's input
            nn.Conv2d(1, w[0], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(w[0], w[1], 4, 2, 1), nn.ReLU(inplace=True),  # S/4
            nn.Conv2d(w[1], w[2], 4, 2, 1), nn.ReLU(inplace=True),  # S/8
            nn.Conv2d(w[2], w[3], 4, 2, 1), nn.ReLU(inplace=True),  # S/16
        )
        _seeded_init(self, seed)
        freeze(self)

    def forward(self, lineart: torch.Tensor) -> torch.Tensor:
        return self.body(lineart)


class VGG16Features(nn.Module):
    """F2 = VGG16 features up to `layer` (e.g. relu2_2). image: (B,3,H,W) in [-1,1] -> (B,C,H/k,W/k) >= 0."""

    def __init__(self, layer: str = "relu2_2", width: float = 1.0):
        super().__init__()
        if layer not in VGG16_RELUS:
            raise InkwashError(f"unknown VGG16 layer {layer!r}; choose one of {', '.join(VGG16_RELUS)}")
        full = _conv_stack(VGG16_LAYOUT, 3, width=width)
        self.body = nn.Sequential(*list(full.children())[: VGG16_RELUS[layer] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @classmethod
    def from_file(cls, path: str | Path, layer: str = "relu2_2") -> "VGG16Features":
        net = cls(layer)
        # torchvision's vgg16-397923af.pth: "features.N.weight"; "classifier.*" is ignored
        _load_indexed(net.body, read_state_dict(path), r"(?:module\.)?features\.", str(path))
        return freeze(net)

    @classmethod
    def seeded(cls, layer: str = "relu2_2", width: float = 1.0, seed: int = 1) -> "VGG16Features":
        net = cls(layer, width)
        _seeded_init(net, seed)
        return freeze(net)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(((image * 0.5 + 0.5) - self.mean) / self.std)


def build_f1(cfg, state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """F1 named by a PaintsTorchConfig (`f1`, `f1_path`, `feat_channels`, `feature_seed`); frozen."""
    if cfg.f1 == "i2v":
        if cfg.feat_channels != 512:
            raise InkwashError(f"f1 = 'i2v' gives 512 feature channels; set model.feat_channels=512 "
                               f"(it is {cfg.feat_channels})")
        if not cfg.f1_path:
            raise InkwashError("f1 = 'i2v' needs model.f1_path = path of AlacGAN's i2v.pth")
        return Illustration2Vec.from_file(cfg.f1_path)
    if cfg.f1 == "seeded":
        net = SeededF1(cfg.feat_channels, seed=cfg.feature_seed)
        if state is not None:
            net.load_state_dict(state)
        return freeze(net)
    raise InkwashError(f"unknown F1 {cfg.f1!r}; use 'seeded' (offline) or 'i2v' (with model.f1_path)")


def build_f2(cfg) -> nn.Module:
    """F2 named by a PaintsTorchConfig (`f2`, `f2_path`, `f2_layer`, `f2_width`, `feature_seed`); frozen."""
    if cfg.f2 == "vgg16":
        if not cfg.f2_path:
            raise InkwashError("f2 = 'vgg16' needs model.f2_path = path of torchvision's vgg16-397923af.pth")
        return VGG16Features.from_file(cfg.f2_path, cfg.f2_layer)
    if cfg.f2 == "seeded-vgg":
        return VGG16Features.seeded(cfg.f2_layer, cfg.f2_width, seed=cfg.feature_seed + 1)
    raise InkwashError(f"unknown F2 {cfg.f2!r}; use 'seeded-vgg' (offline) or 'vgg16' (with model.f2_path)")
