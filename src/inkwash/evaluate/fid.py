"""Frechet Inception Distance (Heusel et al. 2017, thesis IV.1.4.1) with a pluggable feature extractor.

    FID = ||mu_r - mu_f||^2 + tr(Sigma_r + Sigma_f - 2 (Sigma_r Sigma_f)^(1/2))

between Gaussians fitted to features of the real and the generated images. `frechet_distance` follows the
convention of pytorch-fid and clean-fid (scipy.linalg.sqrtm of Sigma_r Sigma_f, eps on the diagonals when the
product is singular, the imaginary round-off dropped), so on the same features it gives the same number;
`fid_from_features` takes the exact low-rank route when a set has fewer images than feature dims.

Feature extractors map images (B,3,H,W) in [0,1] to features (B,D):
- `InceptionV3`: the TF-ported Inception-v3 of the official FID, read from pytorch-fid's weights file
  `pt_inception-2015-12-05-6726825d.pth` given by path; 2048-d pool3 features after a bilinear resize to
  299x299, as pytorch-fid does. Numbers are comparable to papers that used pytorch-fid.
- `SeededConvFeatures` (offline default, named "seeded-convnet-v1"): a 5-stage conv net with a fixed seeded
  He init, global-average-pooled at every stage (736-d). Random conv features respond to colour statistics and
  local structure but carry no ImageNet semantics: use it to rank runs against each other on one test set,
  never to compare with published FIDs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.nn import functional as F

from inkwash.errors import InkwashError

FID_EPS = 1e-6  # pytorch-fid / clean-fid: added to both covariance diagonals when sqrtm fails
INCEPTION_SIZE = 299  # pytorch-fid resizes every image to 299x299 (bilinear) before Inception
FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"


class FeatureExtractor(Protocol):
    """images (B,3,H,W) float in [0,1] -> features (B,D) float32; `name` goes into every report."""

    name: str
    dims: int

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


# --------------------------------------------------------------------------------------------- the formula
def activation_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian fit of a feature set: features (N,D) -> (mu (D,), sigma (D,D)), float64, unbiased covariance."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise InkwashError(f"FID needs at least 2 images per set, got features of shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # singular products are expected with fewer images than dims; handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        out = linalg.sqrtm(a)
    return out[0] if isinstance(out, tuple) else out  # SciPy < 1.16 may hand back (sqrtm, errest)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = FID_EPS) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2): mu (D,), sigma (D,D) -> float >= 0.

    Same steps as pytorch-fid/clean-fid: sqrtm(sigma1 sigma2); if that is not finite, sqrtm of the product
    with eps added to both diagonals; a complex result whose diagonal is real to 1e-3 keeps its real part.
    Where those raise on a large imaginary part we retry with eps once more before giving up.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched statistics: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    offset = np.eye(sigma1.shape[0]) * eps
    if not np.isfinite(covmean).all():  # singular product: regularize as the reference code does
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
            if np.iscomplexobj(covmean) and not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
                m = np.max(np.abs(np.diagonal(covmean).imag))
                raise InkwashError(f"FID: covariance square root has an imaginary part of {m:.3g}; "
                                   "use more images per set")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets (N1,D) and (N2,D).

    With more images than dims in both sets this is `frechet_distance` on their statistics (pytorch-fid's steps).
    With fewer, both covariances are singular, and sqrtm is slow (seconds to minutes at D = 2048) and inexact; the
    same trace is then taken exactly in the images' span: with centred sets X (N1,D), Y (N2,D) and
    Sigma_1 = X^T X / (N1-1), Sigma_2 = Y^T Y / (N2-1), the nonzero eigenvalues of Sigma_1 Sigma_2 are those of
    M M^T with M = X Y^T / sqrt((N1-1)(N2-1)), so tr (Sigma_1 Sigma_2)^(1/2) is the sum of M's singular values.
    """
    mu1, sigma1 = activation_statistics(real)
    mu2, sigma2 = activation_statistics(fake)
    x = np.asarray(real, np.float64) - mu1
    y = np.asarray(fake, np.float64) - mu2
    n1, n2, d = len(x), len(y), x.shape[1]
    if min(n1, n2) > d:
        return frechet_distance(mu1, sigma1, mu2, sigma2)
    m = (x @ y.T) / np.sqrt((n1 - 1) * (n2 - 1))  # (N1,N2)
    tr_covmean = np.linalg.svd(m, compute_uv=False).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


# ------------------------------------------------------------------------------------- Inception-v3 (FID)
class BasicConv2d(nn.Module):
    """Conv (no bias) + BatchNorm (eps 1e-3, as TF) + ReLU; keys `conv.*` and `bn.*` as in the weights file."""

    def __init__(self, c_in: int, c_out: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: torch.Tensor) -> torch.Tensor:
    # TF's average pool ignores the zero padding: count_include_pad=False is what the FID network did
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """Mixed_5b/5c/5d: (B,c_in,35,35) -> (B,224+pool_features,35,35)."""

    def __init__(self, c_in: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class InceptionB(nn.Module):
    """Mixed_6a, grid reduction: (B,288,35,35) -> (B,768,17,17)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    """Mixed_6b..6e, factorized 7x7: (B,768,17,17) -> (B,768,17,17)."""

    def __init__(self, c_in: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class InceptionD(nn.Module):
    """Mixed_7a, grid reduction: (B,768,17,17) -> (B,1280,8,8)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """Mixed_7b/7c: (B,c_in,8,8) -> (B,2048,8,8). The FID network's last block max-pools its pool branch."""

    def __init__(self, c_in: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        # the TF graph behind the FID weights max-pools here (a quirk every FID implementation keeps)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)


class InceptionV3(nn.Module):
    """FID Inception-v3 to pool3. images: (B,3,H,W) in [0,1] -> (B,2048) features >= 0.

    Module names follow the pytorch-fid weights file (`Conv2d_1a_3x3.conv.weight`, `Mixed_7c.branch_pool.bn.*`);
    its `fc.*` classifier is not needed for FID and is ignored when loading.
    """

    name = "inception-v3-fid (pytorch-fid pt_inception-2015-12-05 weights, pool3)"
    key = "inception-v3-fid"  # cache folder name
    dims = 2048

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)

    @classmethod
    def from_file(cls, path: str | Path) -> "InceptionV3":
        """Load pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (or a safetensors copy of it)."""
        from inkwash.models.features import read_state_dict

        net = cls()
        state = read_state_dict(path)
        own = net.state_dict()
        wanted = {k for k in own if not k.endswith("num_batches_tracked")}
        found = {re.sub(r"^(module\.)", "", k): v for k, v in state.items()}
        missing = sorted(wanted - set(found))
        if missing:
            raise InkwashError(f"{path}: {len(missing)} Inception weights missing (e.g. {missing[0]}); "
                               f"expected pytorch-fid's {FID_WEIGHTS_NAME}")
        for k in wanted:
            if tuple(found[k].shape) != tuple(own[k].shape):
                raise InkwashError(f"{path}: {k} has shape {tuple(found[k].shape)}, expected {tuple(own[k].shape)}; "
                                   f"is it pytorch-fid's {FID_WEIGHTS_NAME}?")
        net.load_state_dict({k: found[k] for k in wanted}, strict=False)
        return net.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
        x = 2.0 * x - 1.0  # the TF network expects [-1, 1]
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (B,64,147,147)
        x = F.max_pool2d(x, 3, stride=2)  # (B,64,73,73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (B,192,71,71)
        x = F.max_pool2d(x, 3, stride=2)  # (B,192,35,35)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)  # ends at (B,2048,8,8)
        return x.mean(dim=(2, 3))  # pool3: (B,2048)


# ---------------------------------------------------------------------------------- offline fallback
class SeededConvFeatures(nn.Module):
    """Offline FID features: fixed random conv net. images: (B,3,H,W) in [0,1] -> (B,736) float32.

    Input resized to 256x256; five 3x3 stride-2 conv+ReLU stages (32, 64, 128, 256, 256 channels) with He-normal
    weights from torch.Generator(seed) and zero biases; the spatial mean of every stage is concatenated, so
    colour statistics (early stages) and layout (late stages) both count. Deterministic across machines.
    """

    dims = 736
    widths = (32, 64, 128, 256, 256)
    input_size = 256

    def __init__(self, seed: int = 0):
        super().__init__()
        self.name = f"seeded-convnet-v1 (seed {seed}; offline fallback, not comparable to published FID)"
        self.key = f"seeded-convnet-v1-s{seed}"  # cache folder name
        chans = (3,) + self.widths
        self.stages = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in zip(chans, chans[1:]))
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for conv in self.stages:
                fan_in = conv.in_channels * 9
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                conv.bias.zero_()
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images, size=(self.input_size,) * 2, mode="bilinear", align_corners=False,
                          antialias=True) * 2.0 - 1.0
        pooled = []
        for conv in self.stages:
            x = F.relu(conv(x))  # (B,C_i,256/2^i,256/2^i)
            pooled.append(x.mean(dim=(2, 3)))
        return torch.cat(pooled, 1)


def build_fid_extractor(weights: str | Path | None = None) -> nn.Module:
    """The FID feature extractor: Inception-v3 from pytorch-fid's weights file if given, else the offline one."""
    return InceptionV3.from_file(weights) if weights else SeededConvFeatures()


@torch.no_grad()
def extract_features(extractor: nn.Module, images: Iterable[torch.Tensor], device: str | torch.device = "cpu"
                     ) -> np.ndarray:
    """Run an extractor over batches (B,3,H,W) in [0,1]: -> (N,D) float32 numpy."""
    extractor = extractor.to(device)
    out = [extractor(batch.to(device, torch.float32)).float().cpu().numpy() for batch in images]
    return np.concatenate(out, 0) if out else np.zeros((0, extractor.dims), np.float32)
