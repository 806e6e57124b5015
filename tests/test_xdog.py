"""xDoG lineart: lines on the edges of a drawn shape, white paper everywhere flat."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inkwash.data.xdog import MODES, XDoGConfig, dog, random_xdog, xdog


def _square(fill=(90, 60, 160)) -> Image.Image:
    """64x64 white page with a filled, outline-free square over [16, 48)."""
    img = Image.new("RGB", (64, 64), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((16, 16, 47, 47), fill=fill)
    return img


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sigma", XDoGConfig().sigmas)
def test_marks_edges_and_leaves_flat_interiors_white(mode, sigma):
    line = np.asarray(xdog(_square(), sigma=sigma, mode=mode, rng=np.random.default_rng(0)))
    assert line.shape == (64, 64) and line.dtype == np.uint8
    # flat: inside the square away from the edge, and the page away from it
    assert (line[22:42, 22:42] == 255).all()
    page = np.ones((64, 64), bool)
    page[10:54, 10:54] = False
    assert (line[page] == 255).all()
    # every row and column crossing the square has a dark pixel within 3 px of each of its 4 edges
    rows = slice(18, 46)
    for band in (line[rows, 13:20], line[rows, 44:51], line[13:20, rows].T, line[44:51, rows].T):
        assert (band.min(axis=1) < 128).all()


def test_dog_follows_winnemoller_with_the_thesis_numbers():
    # on a flat image D = (1 - gamma) u: the reason flat paper stays white for epsilon = -0.1
    flat = np.full((32, 32), 0.8)
    assert np.allclose(dog(flat, 0.5, k=4.5, gamma=0.95), 0.04)
    # the hard step puts lines on the dark side of an edge only (inside the square, never on the page)
    line = np.asarray(xdog(_square(), sigma=0.5))
    ys, xs = np.nonzero(line < 128)
    assert xs.min() >= 16 and xs.max() <= 47 and ys.min() >= 16 and ys.max() <= 47
    assert 100 < len(xs) < 400  # a ring a few px wide, not a filled square


def test_blank_page_stays_white_in_every_mode():
    blank = Image.new("RGB", (64, 64), (240, 240, 240))
    for mode in MODES:
        assert (np.asarray(xdog(blank, sigma=0.5, mode=mode)) == 255).all()


def test_hard_mode_is_binary_and_soft_mode_has_grey_ramps():
    hard = np.asarray(xdog(_square(), sigma=0.5, mode="hard"))
    soft = np.asarray(xdog(_square(), sigma=0.5, mode="soft", phi=20.0))
    assert set(np.unique(hard)) <= {0, 255}
    assert ((soft > 0) & (soft < 255)).any()


def test_array_input_matches_pil_input():
    img = _square()
    a = np.asarray(xdog(img, sigma=0.4))
    b = np.asarray(xdog(np.asarray(img), sigma=0.4))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # PIL's "L" rounds; the float path does not


def test_random_xdog_is_seeded_and_varies():
    img = _square()
    one = np.asarray(random_xdog(img, np.random.default_rng(3)))
    assert (one == np.asarray(random_xdog(img, np.random.default_rng(3)))).all()
    outs = {np.asarray(random_xdog(img, np.random.default_rng(s))).tobytes() for s in range(12)}
    assert len(outs) > 1


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        xdog(_square(), mode="fancy")
