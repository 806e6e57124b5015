"""FID: the Frechet distance against independent references and known answers, the Inception-v3 loader."""

import numpy as np
import pytest
import torch
from torch import nn

from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.evaluate.fid import (
    InceptionV3,
    SeededConvFeatures,
    activation_statistics,
    extract_features,
    fid_from_features,
    frechet_distance,
)
from inkwash.evaluate.run import to_batch


def reference_fid(x: np.ndarray, y: np.ndarray) -> float:
    """Independent FID: tr (S1 S2)^(1/2) = tr (S1^(1/2) S2 S1^(1/2))^(1/2), a symmetric PSD matrix, via eigh."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root @ s2 @ root
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


def features(net: nn.Module, seed: int, n: int, size: int = 48) -> np.ndarray:
    imgs = SyntheticIllustrations(n, size, seed=seed)
    batches = [to_batch([imgs[i] for i in range(j, min(j + 16, n))]) for j in range(0, n, 16)]
    return extract_features(net, batches)


class TinyNet(nn.Module):
    """A small random network: (B,3,H,W) in [0,1] -> (B,dims)."""

    name = "tiny"

    def __init__(self, dims: int = 12):
        super().__init__()
        torch.manual_seed(0)
        self.dims = dims
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, dims, 3, 2, 1), nn.ReLU())

    def forward(self, x):
        return self.body(x).mean((2, 3))


def test_same_set_gives_zero():
    x = np.random.default_rng(0).normal(size=(300, 16))
    assert abs(fid_from_features(x, x)) < 1e-6


def test_constant_shift_gives_its_squared_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))  # correlated features
    c = rng.normal(size=16)
    assert fid_from_features(x, x + c) == pytest.approx(float(c @ c), rel=1e-6, abs=1e-6)


def test_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    a, b = rng.uniform(0.1, 3, 8), rng.uniform(0.1, 3, 8)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_matches_reference_on_random_network_features():
    net = TinyNet()
    x, y = features(net, 1, 60), features(net, 2, 60)  # more images than dims: full-rank covariances
    assert x.shape == (60, 12)
    ours, ref = fid_from_features(x, y), reference_fid(x, y)
    assert ref > 0 and abs(ours - ref) < 1e-3


def test_matches_reference_with_fewer_images_than_dims():
    net = TinyNet(96)
    x, y = features(net, 3, 24), features(net, 4, 24)  # 24 images, 96 dims: singular covariances
    assert x.shape == (24, 96)
    ours, ref = fid_from_features(x, y), reference_fid(x, y)  # ours: the exact low-rank route
    via_sqrtm = frechet_distance(*activation_statistics(x), *activation_statistics(y))  # pytorch-fid's steps
    assert ref > 0 and abs(ours - ref) < 1e-3 and abs(via_sqrtm - ref) < 1e-3
    assert abs(fid_from_features(x, x)) < 1e-6
    c = np.linspace(-1, 1, 96)
    assert fid_from_features(x, x + c) == pytest.approx(float(c @ c), rel=1e-9)


def test_statistics_need_two_images():
    with pytest.raises(InkwashError, match="at least 2"):
        activation_statistics(np.zeros((1, 4)))


def test_offline_extractor_is_deterministic_and_named():
    imgs = to_batch([SyntheticIllustrations(2, 40, seed=5)[i] for i in range(2)])
    a, b = SeededConvFeatures(seed=0)(imgs), SeededConvFeatures(seed=0)(imgs)
    assert torch.equal(a, b) and a.shape == (2, 736)
    assert not torch.allclose(a, SeededConvFeatures(seed=1)(imgs))
    assert "offline" in SeededConvFeatures().name


# ----------------------------------------------------------------------------------------- Inception
@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A state dict in the layout of pytorch-fid's pt_inception-2015-12-05 file, with random values."""
    torch.manual_seed(0)
    net = InceptionV3()
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    for k in state:
        if k.endswith("running_mean"):
            state[k] = torch.randn_like(state[k]) * 0.1
        elif k.endswith("running_var"):
            state[k] = torch.rand_like(state[k]) + 0.5
    state["fc.weight"], state["fc.bias"] = torch.randn(1008, 2048) * 0.01, torch.zeros(1008)  # unused by FID
    path = tmp_path_factory.mktemp("weights") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    return path, state


def test_inception_loader_round_trip(inception_file):
    path, state = inception_file
    net = InceptionV3.from_file(path)
    own = net.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items() if not k.startswith("fc."))
    assert "Mixed_7c.branch_pool.conv.weight" in own and own["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert sum(p.numel() for p in net.parameters()) == 21_785_568  # Inception-v3 without fc and aux head
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        f = net(x)
    assert f.shape == (1, 2048) and torch.isfinite(f).all() and (f >= 0).all()


def test_inception_loader_rejects_wrong_files(inception_file, tmp_path):
    _, state = inception_file
    partial = {k: v for k, v in state.items() if not k.startswith("Mixed_7c")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(InkwashError, match="missing"):
        InceptionV3.from_file(tmp_path / "partial.pth")
    wrong = dict(state, **{"Conv2d_1a_3x3.conv.weight": torch.zeros(16, 3, 3, 3)})
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(InkwashError, match="shape"):
        InceptionV3.from_file(tmp_path / "wrong.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InkwashError):
        InceptionV3.from_file(tmp_path / "junk.pth")
    with pytest.raises(InkwashError, match="no such"):
        InceptionV3.from_file(tmp_path / "absent.pth")
