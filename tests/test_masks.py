"""Stencil masks and the StencilTorch composite."""

import numpy as np
import pytest
import torch

from inkwash.data.masks import KINDS, MaskConfig, blob_mask, composite, random_mask


@pytest.mark.parametrize("kind", KINDS)
def test_masks_are_binary_nonempty_and_square(kind):
    for seed in range(5):
        m = random_mask(64, np.random.default_rng(seed), kind=kind)
        assert m.shape == (64, 64) and m.dtype == np.float32
        assert set(np.unique(m)) <= {0.0, 1.0}
        assert m.sum() > 0


def test_areas_span_small_patches_to_the_whole_image():
    areas = [random_mask(64, np.random.default_rng(s)).mean() for s in range(200)]
    assert min(areas) < 0.1
    assert max(areas) == 1.0
    assert 0.2 < np.mean(areas) < 0.9


def test_blob_covers_the_requested_area():
    for area in (0.05, 0.3, 0.8):
        assert abs(blob_mask(64, np.random.default_rng(1), area).mean() - area) < 0.02


def test_mask_is_seeded():
    cfg = MaskConfig()
    a = random_mask(64, np.random.default_rng(7), cfg)
    assert (a == random_mask(64, np.random.default_rng(7), cfg)).all()


def test_composite_numpy_is_exact_outside_and_lineart_inside():
    rng = np.random.default_rng(0)
    ill = rng.uniform(-1, 1, (64, 64, 3)).astype(np.float32)
    line = np.where(rng.random((64, 64)) < 0.1, -1.0, 1.0).astype(np.float32)
    mask = random_mask(64, rng, kind="blob")
    out = composite(ill, line, mask)
    outside = mask == 0
    assert np.array_equal(out[outside], ill[outside])
    assert np.array_equal(out[~outside], np.repeat(line[~outside][:, None], 3, 1))


def test_composite_torch_is_exact_outside_and_batched():
    g = torch.Generator().manual_seed(0)
    ill = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    line = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    mask = (torch.rand(2, 1, 32, 32, generator=g) < 0.4).float()
    out = composite(ill, line, mask)
    outside = (mask == 0).expand_as(ill)
    assert torch.equal(out[outside], ill[outside])
    assert torch.equal(out[~outside], line.expand_as(ill)[~outside])
