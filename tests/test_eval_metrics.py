"""Per-image metrics with known answers (hint fidelity, bleeding, PSNR, SSIM) and LPIPS."""

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from torch import nn

from inkwash.classical.lazybrush import lazybrush
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.evaluate.lpips import LPIPS, AlexNetTaps, build_backbone, build_lpips, published_weights
from inkwash.evaluate.metrics import bleeding, hint_fidelity, paper_regions, pixel_metrics, psnr, ssim, upsample_hints
from inkwash.evaluate.run import to_batch

S, CELLS = 64, 4  # a 64x64 lineart cut into 4x4 cells by 2 px lines
PALETTE = np.random.default_rng(0).uniform(0.1, 0.9, (CELLS * CELLS, 3))


def grid_lineart() -> np.ndarray:
    """(S,S) in [0,1], 1 = paper, with black lines every S/CELLS px (and around the border)."""
    a = np.ones((S, S), np.float32)
    step = S // CELLS
    for i in range(0, S + 1, step):
        a[max(i - 1, 0):i + 1, :] = 0
        a[:, max(i - 1, 0):i + 1] = 0
    return a


def cell_of(y, x):
    step = S // CELLS
    return np.minimum(y // step, CELLS - 1) * CELLS + np.minimum(x // step, CELLS - 1)


def flat_target() -> np.ndarray:
    yy, xx = np.mgrid[0:S, 0:S]
    return PALETTE[cell_of(yy, xx)].astype(np.float32)


def one_hint_per_cell() -> np.ndarray:
    """(S/4,S/4,4) hints: a 2x2 dab of each cell's colour at its centre."""
    h = np.zeros((S // 4, S // 4, 4), np.float32)
    step = S // CELLS // 4
    for cy in range(CELLS):
        for cx in range(CELLS):
            y, x = cy * step + step // 2, cx * step + step // 2
            h[y - 1:y + 1, x - 1:x + 1, :3] = np.round(PALETTE[cy * CELLS + cx] * 255) / 255
            h[y - 1:y + 1, x - 1:x + 1, 3] = 1
    return h


# ------------------------------------------------------------------------------------------ hint fidelity
def test_hint_fidelity_is_zero_when_the_output_copies_the_hints():
    hints = one_hint_per_cell()
    up = upsample_hints(hints, (S, S))
    out = np.where(up[..., 3:] > 0, up[..., :3], 1.0)  # white elsewhere: only what is under a stroke counts
    assert hint_fidelity(out, hints, grid_lineart()) == 0.0
    assert hint_fidelity(out, hints) == 0.0


def test_hint_fidelity_is_the_ciede2000_of_a_wrong_colour():
    hints = np.zeros((16, 16, 4), np.float32)
    hints[4:8, 4:8] = [1, 0, 0, 1]  # a red stroke: 16 hint pixels, 256 once upsampled
    hints[10:12, 2:9] = [0, 1, 0, 1]  # a green stroke: 14 hint pixels, 224 once upsampled
    out = np.zeros((S, S, 3), np.float32) + [0, 0, 1]  # all blue

    def lab(c):
        return rgb2lab(np.array([[c]], np.float64))[0, 0]

    blue = lab([0, 0, 1])
    expected = (256 * deltaE_ciede2000(lab([1, 0, 0]), blue) + 224 * deltaE_ciede2000(lab([0, 1, 0]), blue)) / 480
    assert hint_fidelity(out, hints) == pytest.approx(expected, rel=1e-6)


def test_hint_fidelity_ignores_line_pixels_and_is_nan_without_hints():
    lines = np.ones((S, S), np.float32)
    lines[:, 30:34] = 0
    hints = np.zeros((16, 16, 4), np.float32)
    hints[2:14, 6:10] = [1, 0, 0, 1]  # a red stroke lying across the line (px 24..39)
    out = np.ones((S, S, 3), np.float32) * [1, 0, 0]
    out[:, 29:35] = 0  # the line and a 1 px anti-aliased rim (the margin at 64 px) are dark in the output
    assert hint_fidelity(out, hints, lines) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(hint_fidelity(out, np.zeros((16, 16, 4), np.float32), lines))


# ------------------------------------------------------------------------------------------------ bleeding
def test_bleeding_is_zero_for_the_target_and_for_a_line_respecting_fill():
    lines, target = grid_lineart(), flat_target()
    assert paper_regions(lines).max() == CELLS * CELLS
    assert bleeding(target, target, lines) == 0.0
    filled = lazybrush(lines, upsample_hints(one_hint_per_cell(), (S, S))) * lines[..., None]
    assert bleeding(filled, target, lines) < 0.05


def test_bleeding_is_high_for_a_flood_that_ignores_lines():
    lines, target = grid_lineart(), flat_target()
    rng = np.random.default_rng(1)
    seeds = rng.uniform(0, S, (6, 2))
    colours = rng.uniform(0, 1, (6, 3))
    yy, xx = np.mgrid[0:S, 0:S]
    nearest = np.argmin((yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2, axis=-1)
    flood = colours[nearest] * lines[..., None]  # Voronoi flood from 6 strokes, lines drawn over it
    assert bleeding(flood, target, lines) > 0.3


def test_target_shading_is_not_bleeding():
    lines = grid_lineart()
    shade = np.linspace(0.6, 1.0, S, dtype=np.float32)[None, :, None]
    target = flat_target() * shade  # a gradient inside every cell
    assert bleeding(target, target, lines) == 0.0
    assert bleeding(flat_target(), target, lines) == 0.0  # flatter than the target is no bleeding
    assert np.isnan(bleeding(target, target, np.zeros((S, S), np.float32)))  # no paper: undefined


# ------------------------------------------------------------------------------------------- PSNR / SSIM
def test_psnr_and_ssim_known_values():
    target = np.random.default_rng(2).uniform(0, 0.9, (S, S, 3)).astype(np.float32)
    assert psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    assert psnr(target, target) == float("inf")
    assert ssim(target, target) == pytest.approx(1.0)
    assert ssim(np.clip(target + np.random.default_rng(3).normal(0, 0.2, target.shape), 0, 1), target) < 0.8
    m = pixel_metrics(target, target, grid_lineart(), None)
    assert np.isnan(m["hint_de2000"]) and m["bleeding"] == 0.0 and m["ssim"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------------- LPIPS
@pytest.fixture(scope="module")
def images():
    img = to_batch([SyntheticIllustrations(1, S, seed=7)[0]]) * 2 - 1  # (1,3,S,S) in [-1,1]
    noise = torch.randn(img.shape, generator=torch.Generator().manual_seed(0))
    return img, noise


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_zero_for_identical_and_grows_with_distortion(images, net):
    img, noise = images
    metric = build_lpips(net)
    assert "seeded" in metric.name and "offline" in metric.name
    with torch.no_grad():
        d = [metric(img, (img + s * noise).clamp(-1, 1)).item() for s in (0.0, 0.05, 0.2, 0.6)]
    assert d[0] == 0.0
    assert 0 < d[1] < d[2] < d[3] <= 1.0


def test_lpips_formula_on_a_known_backbone():
    class Identity(nn.Module):  # one "layer": the scaled image itself
        def forward(self, x):
            return [x]

    w = torch.tensor([0.5, 1.0, 2.0])
    metric = LPIPS(Identity(), [w], "test")
    x0, x1 = torch.rand(2, 3, 5, 7) * 2 - 1, torch.rand(2, 3, 5, 7) * 2 - 1
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    a, b = (x0 - shift) / scale, (x1 - shift) / scale
    a, b = a / (a.norm(dim=1, keepdim=True) + 1e-10), b / (b.norm(dim=1, keepdim=True) + 1e-10)
    expected = ((a - b) ** 2 * w.view(1, 3, 1, 1)).sum(1).mean((1, 2))
    assert torch.allclose(metric(x0, x1), expected, atol=1e-6)


def test_published_weights_and_torchvision_alexnet_file(tmp_path, images):
    ws = published_weights("alex")
    assert [tuple(w.shape) for w in ws] == [(64,), (192,), (384,), (256,), (256,)]
    assert all((w >= 0).all() for w in ws)
    assert [w.numel() for w in published_weights("vgg")] == [64, 128, 256, 512, 512]
    seeded = build_backbone("alex", seed=3)
    state = {f"features.{k}": v for k, v in seeded.features.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(4096, 9216)[:8]  # classifier keys are ignored
    torch.save(state, tmp_path / "alexnet-owt-7be5be79.pth")
    metric = build_lpips("alex", tmp_path / "alexnet-owt-7be5be79.pth")
    assert metric.name.startswith("lpips-alex v0.1") and metric.key == "lpips-alex"
    assert all(torch.equal(a, b) for a, b in zip(metric.backbone.parameters(), seeded.parameters()))
    img, noise = images
    with torch.no_grad():
        assert metric(img, img).item() == 0.0 and metric(img, (img + 0.3 * noise).clamp(-1, 1)).item() > 0
    del state["features.10.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InkwashError, match="missing"):
        build_lpips("alex", tmp_path / "broken.pth")
    with pytest.raises(InkwashError, match="unknown LPIPS backbone"):
        build_lpips("squeeze")
    assert isinstance(build_backbone("alex"), AlexNetTaps)
