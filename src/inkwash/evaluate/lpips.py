"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric"), v0.1.

For images x0, x1 in [-1,1], a backbone gives L feature maps y^l (B,C_l,H_l,W_l) of the scaled inputs
(x - shift) / scale; each is unit-normalized over channels, and

    d(x0, x1) = sum_l  mean_{h,w}  sum_c  w_c^l (y0^l_chw / ||y0^l_hw|| - y1^l_chw / ||y1^l_hw||)^2

with w^l the published linear-layer weights (shipped in inkwash/weights/lpips, BSD-2, see LICENSE-lpips.txt).

Backbones (pluggable: any module returning the list of L maps):
- "alex": torchvision's AlexNet `features`, tapped after its 5 ReLUs (64,192,384,256,256 channels); the real
  one needs torchvision's ImageNet file `alexnet-owt-7be5be79.pth` given by path. The lpips package's default.
- "vgg": torchvision's VGG16 `features`, tapped at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; the real one
  needs `vgg16-397923af.pth`. The thesis' LPIPS (IV.2.3.1).
- Offline fallback, with no file: the same architecture with a fixed seeded He init and, since the published
  w^l were fitted to ImageNet features, uniform weights w_c^l = 1/(2L). As ||a/|a| - b/|b|||^2 = 2 - 2 cos(a, b),
  this is d = mean_l mean_{h,w} (1 - cos(y0^l_hw, y1^l_hw)), in [0, 1] for ReLU features: 0 for identical
  images, growing with distortion, but not comparable to published LPIPS; reports name it "lpips-<net>-seeded".
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from inkwash.errors import InkwashError

LPIPS_NETS = ("alex", "vgg")
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "lpips"
# LPIPS v0.1 ScalingLayer: inputs in [-1,1] are shifted and scaled to ImageNet-like statistics
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10  # lpips.normalize_tensor
TORCHVISION_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


# ------------------------------------------------------------------------------------------- backbones
class AlexNetTaps(nn.Module):
    """torchvision AlexNet `features` (indices kept): (B,3,H,W) -> 5 maps after each ReLU, 64/192/384/256/256 ch."""

    channels = (64, 192, 384, 256, 256)

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(),  # 0, 1: relu1
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),  # 3, 4: relu2
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),  # 6, 7: relu3
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),  # 8, 9: relu4
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),  # 10, 11: relu5
        )
        self.taps = (1, 4, 7, 9, 11)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


class VGG16Taps(nn.Module):
    """torchvision VGG16 `features` to relu5_3: (B,3,H,W) -> 5 maps, 64/128/256/512/512 channels."""

    channels = (64, 128, 256, 512, 512)

    def __init__(self, body: nn.Sequential):
        super().__init__()
        from inkwash.models.features import VGG16_RELUS

        self.features = body
        self.taps = tuple(VGG16_RELUS[n] for n in ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x.clone())  # the next ReLU of the torchvision layout works in place
        return out


def _seed_he(module: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                m.bias.zero_()


def build_backbone(net: str, weights: str | Path | None = None, seed: int = 0) -> nn.Module:
    """AlexNet or VGG16 taps: from torchvision's ImageNet file given by path, else seeded (offline)."""
    if net not in LPIPS_NETS:
        raise InkwashError(f"unknown LPIPS backbone {net!r}; use one of {', '.join(LPIPS_NETS)}")
    from inkwash.models.features import VGG16Features, read_state_dict

    if net == "vgg":
        body = (VGG16Features.from_file(weights, "relu5_3") if weights
                else VGG16Features.seeded("relu5_3", seed=seed)).body
        return VGG16Taps(body).eval().requires_grad_(False)
    taps = AlexNetTaps()
    if weights:
        state = read_state_dict(weights)
        own = taps.features.state_dict()
        mapped = {k.split("features.", 1)[1]: v for k, v in state.items() if "features." in k}
        missing = sorted(set(own) - set(mapped))
        if missing:
            raise InkwashError(f"{weights}: AlexNet weights {missing[:3]} missing; expected torchvision's "
                               f"{TORCHVISION_FILES['alex']}")
        for k in own:
            if mapped[k].shape != own[k].shape:
                raise InkwashError(f"{weights}: {k} has shape {tuple(mapped[k].shape)}, expected {tuple(own[k].shape)}")
        taps.features.load_state_dict({k: mapped[k] for k in own})
    else:
        _seed_he(taps, seed)
    return taps.eval().requires_grad_(False)


def published_weights(net: str) -> list[torch.Tensor]:
    """The lpips v0.1 linear weights of a backbone: one (C_l,) float32 tensor per layer, all >= 0."""
    from safetensors.torch import load_file

    path = WEIGHTS_DIR / f"{net}.safetensors"
    if not path.is_file():
        raise InkwashError(f"{path}: LPIPS linear weights missing from the installation; reinstall inkwash")
    state = load_file(str(path))
    return [state[f"lin{i}.model.1.weight"].flatten() for i in range(len(state))]


# ----------------------------------------------------------------------------------------------- metric
class LPIPS(nn.Module):
    """Perceptual distance. x0, x1: (B,3,H,W) in [-1,1] -> (B,) float >= 0; 0 for identical images.

    backbone: module returning L feature maps; weights: L tensors (C_l,) of channel weights, or None for
    the uniform 1/(2L) of the offline fallback. name: how reports call this metric.
    """

    def __init__(self, backbone: nn.Module, weights: list[torch.Tensor] | None, name: str, key: str = "lpips"):
        super().__init__()
        self.backbone, self.name, self.key = backbone, name, key
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.weights = nn.ParameterList(
            [nn.Parameter(w.float().view(1, -1, 1, 1), requires_grad=False) for w in weights]
        ) if weights is not None else None
        self.eval()

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        f0 = self.backbone((x0 - self.shift) / self.scale)
        f1 = self.backbone((x1 - self.shift) / self.scale)
        if self.weights is not None and len(self.weights) != len(f0):
            raise ValueError(f"{len(self.weights)} layer weights for {len(f0)} feature maps")
        total = torch.zeros(x0.shape[0], device=x0.device)
        for layer, (a, b) in enumerate(zip(f0, f1)):
            a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + NORM_EPS)  # unit vector per pixel
            b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + NORM_EPS)
            d2 = (a - b).pow(2)  # (B,C_l,H_l,W_l)
            w = self.weights[layer] if self.weights is not None else 1.0 / (2 * len(f0))
            per_pixel = (d2 * w).sum(1)  # (B,H_l,W_l)
            total = total + per_pixel.mean(dim=(1, 2))
        return total


def build_lpips(net: str = "alex", weights: str | Path | None = None) -> LPIPS:
    """LPIPS with the published linear weights on torchvision's backbone file, or the offline seeded fallback."""
    backbone = build_backbone(net, weights)
    if weights:
        return LPIPS(backbone, published_weights(net), f"lpips-{net} v0.1 (torchvision ImageNet {net})",
                     key=f"lpips-{net}")
    return LPIPS(backbone, None, f"lpips-{net}-seeded (offline fallback, uniform weights; not comparable to "
                                 "published LPIPS)", key=f"lpips-{net}-seeded")
