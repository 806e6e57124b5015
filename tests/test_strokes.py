"""Synthetic hints: stroke parameters in the thesis' ranges, hint colours equal to the illustration's."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from inkwash.data.strokes import (
    PixelHintConfig,
    StrokeConfig,
    draw_strokes,
    random_pixel_hints,
    random_strokes,
    sample_strokes,
)


def _noise(size=128, seed=0) -> Image.Image:
    """Every pixel a different-looking colour: any colour mix-up or offset shows."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def _patches(size=128, block=32, seed=0) -> Image.Image:
    """Flat colour blocks, like the flat regions of an illustration."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (size // block, size // block, 3), dtype=np.uint8)
    return Image.fromarray(colours.repeat(block, 0).repeat(block, 1))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.sampled_from([16, 64, 128]))
def test_stroke_parameters_stay_in_their_ranges(seed, size):
    cfg = StrokeConfig()
    strokes = sample_strokes(_noise(size, 1), np.random.default_rng(seed), cfg)
    assert 0 <= len(strokes) <= 10
    for s in strokes:
        assert 1 <= s.thickness <= 4
        assert 1 <= len(s.points) <= 5
        x0, y0, x1, y1 = s.box
        assert 0 <= x1 - x0 <= 10 and 0 <= y1 - y0 <= 10
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in s.points)
        # the drawn stroke stays in its box, grown by the brush radius
        ys, xs = np.nonzero(draw_strokes([s], (size, size))[..., 3])
        assert len(xs) > 0
        assert xs.max() - xs.min() + 1 <= (x1 - x0) + s.thickness + 1
        assert ys.max() - ys.min() + 1 <= (y1 - y0) + s.thickness + 1
        assert xs.min() >= x0 - s.thickness and xs.max() <= x1 + s.thickness
        assert ys.min() >= y0 - s.thickness and ys.max() <= y1 + s.thickness


def test_stroke_counts_cover_the_whole_range():
    counts = {len(sample_strokes(_noise(64), np.random.default_rng(s))) for s in range(300)}
    assert counts == set(range(11))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hint_colour_is_the_illustration_colour_under_the_stroke(seed):
    img = _noise(seed=seed % 7)
    rgb = np.asarray(img)
    for s in sample_strokes(img, np.random.default_rng(seed)):
        hint = draw_strokes([s], img.size)
        x, y = s.points[0]
        assert hint[y, x, 3] == 1.0  # the stroke covers the pixel its colour came from
        assert np.array_equal(np.rint(hint[y, x, :3] * 255).astype(np.uint8), rgb[y, x])
        on = hint[..., 3] == 1
        assert (np.rint(hint[on, :3] * 255).astype(np.uint8) == rgb[y, x]).all()


def test_on_flat_regions_every_hint_pixel_matches_the_illustration():
    img = _patches()
    rgb = np.asarray(img)
    checked = 0
    for seed in range(200):
        hint = random_strokes(img, np.random.default_rng(seed))
        assert set(np.unique(hint[..., 3])) <= {0.0, 1.0}
        off = hint[..., 3] == 0
        assert (hint[off, :3] == 0).all()
        for s in sample_strokes(img, np.random.default_rng(seed)):
            x0, y0, x1, y1 = s.box
            t = s.thickness
            # strokes whose brush footprint stays in one flat block must carry exactly that block's colour
            if (x0 - t) // 32 == (x1 + t) // 32 and (y0 - t) // 32 == (y1 + t) // 32 and x0 >= t and y0 >= t:
                one = draw_strokes([s], img.size)
                on = one[..., 3] == 1
                assert (np.rint(one[on, :3] * 255).astype(np.uint8) == rgb[on]).all()
                checked += 1
    assert checked > 100


def test_random_strokes_is_seeded():
    img = _noise(64)
    a = random_strokes(img, np.random.default_rng(11))
    assert a.shape == (64, 64, 4) and a.dtype == np.float32
    assert np.array_equal(a, random_strokes(img, np.random.default_rng(11)))


def test_random_pixel_hints_follow_alacgan_density_and_colours():
    img = _noise(128)
    rgb = np.asarray(img, dtype=np.float32) / 255
    empty, densities = 0, []
    for seed in range(400):
        h = random_pixel_hints(img, np.random.default_rng(seed))
        on = h[..., 3] == 1
        assert set(np.unique(h[..., 3])) <= {0.0, 1.0}
        assert np.array_equal(h[on, :3], rgb[on])
        assert (h[~on, :3] == 0).all()
        if on.any():
            densities.append(on.mean())
        else:
            empty += 1
    # half the samples carry no hint; the others keep |N(0, 0.005)| of the pixels, 0.4% on average
    assert 150 < empty < 260
    assert 0.002 < np.mean(densities) < 0.006


def test_pixel_hint_blocks_grow_seeds():
    img = _noise(64)
    cfg = PixelHintConfig(p_empty=0.0, density_sigma=0.02, block=(3, 3))
    h = random_pixel_hints(img, np.random.default_rng(0), cfg)
    single = random_pixel_hints(img, np.random.default_rng(0), PixelHintConfig(p_empty=0.0, density_sigma=0.02))
    assert h[..., 3].sum() > 2 * single[..., 3].sum()
