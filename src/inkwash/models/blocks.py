"""Building blocks shared by the PaintsTorch generators and critic (thesis IV.2.2.2, after Ci et al. 2018).

ResNeXt bottlenecks whose grouped 3x3 convolution is dilated; grouped-then-pointwise is a depthwise-separable
convolution when the cardinality equals the width (`cardinality=0`), and AlacGAN's grouped variant otherwise.
PixelShuffle upsampling avoids the checkerboard artefacts of transposed convolutions. LeakyReLU(0.2) everywhere.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SLOPE = 0.2  # thesis IV.2.2.2: LeakyReLU slope 0.2 throughout


def act() -> nn.LeakyReLU:
    return nn.LeakyReLU(SLOPE, inplace=True)


def groups_for(channels: int, cardinality: int) -> int:
    """Number of groups that divides `channels`: `cardinality` when possible, depthwise when it is 0."""
    if cardinality <= 0:
        return channels
    return math.gcd(channels, cardinality)


def conv_act(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, bias: bool = True) -> nn.Sequential:
    """Convolution + LeakyReLU; kernel 4 with stride 2 halves the size exactly, as AlacGAN's encoder does."""
    padding = (kernel - stride + 1) // 2 if stride > 1 else kernel // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias), act())


class SeparableConv(nn.Module):
    """Dilated depthwise-separable convolution: a dilated per-group 3x3 then a pointwise 1x1.

    x: (B,C,H,W) -> (B,C_out,H/stride,W/stride).
    """

    def __init__(self, c_in: int, c_out: int, dilation: int = 1, stride: int = 1, cardinality: int = 0):
        super().__init__()
        # kernel 4 when striding keeps the output at exactly H/2 with padding = dilation (AlacGAN's choice)
        kernel = 2 + stride
        self.spatial = nn.Conv2d(c_in, c_in, kernel, stride, padding=dilation, dilation=dilation,
                                 groups=groups_for(c_in, cardinality), bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(nn.functional.leaky_relu(self.spatial(x), SLOPE))


class ResNeXtBottleneck(nn.Module):
    """Residual ResNeXt bottleneck: 1x1 reduce to C/2, dilated grouped 3x3, 1x1 expand; average-pool shortcut.

    x: (B,C,H,W) -> (B,C,H/stride,W/stride). `cardinality=0` makes the 3x3 depthwise.
    """

    def __init__(self, channels: int, cardinality: int = 32, dilation: int = 1, stride: int = 1):
        super().__init__()
        mid = max(channels // 2, 1)
        self.reduce = nn.Conv2d(channels, mid, 1, bias=False)
        self.separable = SeparableConv(mid, channels, dilation=dilation, stride=stride, cardinality=cardinality)
        self.shortcut = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.leaky_relu(self.reduce(x), SLOPE)
        return self.shortcut(x) + self.separable(y)


class UpShuffle(nn.Module):
    """Upsample x2 by PixelShuffle: conv to 4*C_out channels then rearrange. (B,C,H,W) -> (B,C_out,2H,2W)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(self.shuffle(self.conv(x)), SLOPE)


def tunnel(channels: int, dilations: tuple[int, ...], cardinality: int) -> nn.Sequential:
    """A run of same-size bottlenecks with the given dilations (AlacGAN: 1,1,2,2,4,4,2,1 grows the receptive field)."""
    return nn.Sequential(*[ResNeXtBottleneck(channels, cardinality, d) for d in dilations])
