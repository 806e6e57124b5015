"""Colour simplification: flat regions, at most 25 colours, deterministic."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inkwash.data.simplify import SimplifyConfig, reduce_colours, simplify
from inkwash.data.synthetic import make_illustration
from inkwash.data.xdog import xdog


def _n_colours(img) -> int:
    return len(np.unique(np.asarray(img).reshape(-1, 3), axis=0))


def test_kmeans_leaves_at_most_25_colours_on_noise():
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    assert _n_colours(noise) > 1000
    out = simplify(noise)
    assert out.size == noise.size and out.mode == "RGB"
    assert _n_colours(out) <= 25


@pytest.mark.parametrize("n", [1, 5, 25])
def test_reduce_colours_respects_n(n):
    rgb = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    out = reduce_colours(rgb, n)
    assert _n_colours(out) <= n
    # a real clustering: more colours, less error (never worse than the single mean colour)
    err = np.abs(out.astype(int) - rgb.astype(int)).mean()
    mean_err = np.abs(rgb.astype(int) - np.rint(rgb.mean((0, 1))).astype(int)).mean()
    assert err <= mean_err + 0.5
    if n > 1:
        assert err < 0.9 * mean_err


def test_shaded_region_bounded_by_lines_becomes_one_flat_colour():
    # a black-outlined disc with a strong left-to-right gradient inside, on white
    size = 128
    ramp = np.linspace(60, 220, size, dtype=np.float32)
    arr = np.full((size, size, 3), 255, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    disc = (xx - 64) ** 2 + (yy - 64) ** 2 < 40**2
    arr[disc] = np.stack([ramp, ramp * 0.5, 255 - ramp], -1)[xx[disc]].astype(np.uint8)
    img = Image.fromarray(arr)
    ImageDraw.Draw(img).ellipse((24, 24, 104, 104), outline=(0, 0, 0), width=2)
    inside = (xx - 64) ** 2 + (yy - 64) ** 2 < 34**2
    assert len(np.unique(np.asarray(img)[inside], axis=0)) > 50
    out = np.asarray(simplify(img, xdog(img, sigma=0.5)))
    assert len(np.unique(out[inside], axis=0)) == 1
    outside = (xx - 64) ** 2 + (yy - 64) ** 2 > 46**2
    assert (out[outside] >= 240).all()  # the page stays (quantized) white


def test_flat_colours_that_meet_without_an_outline_stay_apart():
    # clip art often has no line between two colours, and xDoG lines have gaps: colour edges still split regions
    arr = np.full((96, 96, 3), 255, np.uint8)
    arr[20:76, 20:48] = (200, 40, 40)
    arr[20:76, 48:76] = (40, 60, 200)
    img = Image.fromarray(arr)
    ImageDraw.Draw(img).rectangle((18, 18, 77, 77), outline=(0, 0, 0), width=2)  # one outline around both
    out = np.asarray(simplify(img, xdog(img, sigma=0.5)))
    left, right = out[30:66, 25:43].reshape(-1, 3), out[30:66, 53:71].reshape(-1, 3)
    assert len(np.unique(left, axis=0)) == 1 and len(np.unique(right, axis=0)) == 1
    assert np.abs(left[0].astype(int) - (200, 40, 40)).max() <= 16
    assert np.abs(right[0].astype(int) - (40, 60, 200)).max() <= 16
    lines_only = np.asarray(simplify(img, xdog(img, sigma=0.5), SimplifyConfig(colour_scale=0)))
    assert np.array_equal(lines_only[40, 30], lines_only[40, 60])  # the old, lines-only regions merged them


def test_simplify_is_deterministic_and_checks_sizes():
    img = make_illustration(64, seed=5)
    a, b = np.asarray(simplify(img)), np.asarray(simplify(img))
    assert np.array_equal(a, b)
    assert _n_colours(a) <= SimplifyConfig().n_colours
    with pytest.raises(ValueError):
        simplify(img, Image.new("L", (32, 32), 255))
