"""LazyBrush on drawn shapes: which pixels get which colour (gaps, crossing strokes, nesting, unhinted regions)."""

import cv2
import numpy as np
import pytest

from inkwash.classical.lazybrush import LazyBrushConfig, lazybrush, lazybrush_labels, stroke_labels

RED, BLUE, GREEN, WHITE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 1.0, 1.0)


def canvas(h, w):
    return np.full((h, w), 255, np.uint8)


def hints_of(h, w, strokes):
    """strokes: [(colour, [(x, y), ...], width)] -> (H,W,4) hints drawn with OpenCV (no anti-aliasing)."""
    rgb = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    for colour, pts, width in strokes:
        p = np.array(pts, np.int32)
        c = tuple(int(v * 255) for v in colour)
        cv2.polylines(rgb, [p], False, c, width)
        cv2.polylines(mask, [p], False, 255, width)
        for x, y in pts:
            cv2.circle(rgb, (x, y), width // 2, c, -1)
            cv2.circle(mask, (x, y), width // 2, 255, -1)
    return np.concatenate([rgb, mask[..., None]], axis=2).astype(np.float32) / 255.0


def is_colour(flat, colour):
    return np.all(np.abs(flat - np.asarray(colour, np.float32)) < 1e-6, axis=2)


def disc(h, w, centre, radius):
    yy, xx = np.mgrid[:h, :w]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 < radius**2


def two_circles_with_gap(gap):
    """Two circles whose outlines touch at x=64; a `gap`-px opening through the shared point joins them."""
    img = canvas(96, 128)
    cv2.circle(img, (40, 48), 24, 0, 2)
    cv2.circle(img, (88, 48), 24, 0, 2)
    img[48 - gap // 2: 48 - gap // 2 + gap, 58:71] = 255  # open both outlines where they meet
    return img / 255.0


@pytest.mark.parametrize("gap", [2, 3, 4])
def test_colour_stays_in_its_circle_across_a_small_gap(gap):
    intensity = two_circles_with_gap(gap)
    hints = hints_of(96, 128, [(RED, [(30, 40), (45, 55)], 6)])
    flat = lazybrush(intensity, hints)
    left, right = disc(96, 128, (40, 48), 21), disc(96, 128, (88, 48), 21)
    assert is_colour(flat, RED)[left].mean() > 0.999
    # The right circle stays paper except at most the few pixels inside the opening itself.
    right_far = right & ~disc(96, 128, (64, 48), 8)
    assert not is_colour(flat, RED)[right_far].any()
    assert is_colour(flat, RED)[right].sum() < 40
    outside = ~disc(96, 128, (40, 48), 27) & ~disc(96, 128, (88, 48), 27)
    assert is_colour(flat, WHITE)[outside].all()


def test_both_circles_keep_their_own_colours_across_a_gap():
    intensity = two_circles_with_gap(4)
    hints = hints_of(96, 128, [(RED, [(30, 40), (45, 55)], 6), (BLUE, [(85, 40), (95, 52)], 6)])
    flat = lazybrush(intensity, hints)
    left, right = disc(96, 128, (40, 48), 21), disc(96, 128, (88, 48), 21)
    near_gap = disc(96, 128, (64, 48), 7)
    assert is_colour(flat, RED)[left & ~near_gap].all()
    assert is_colour(flat, BLUE)[right & ~near_gap].all()


def two_squares():
    """Two 40x40 cells side by side sharing a 2-px wall at x=64-65."""
    img = canvas(64, 128)
    cv2.rectangle(img, (22, 10), (106, 52), 0, 2)
    img[10:53, 64:66] = 0
    return img / 255.0


@pytest.mark.parametrize("right_hint", [None, BLUE])
def test_stroke_slightly_crossing_a_line_does_not_leak(right_hint):
    intensity = two_squares()
    # A red stroke in the left cell whose end pokes 3 px past the wall into the right cell.
    strokes = [(RED, [(35, 30), (65, 30)], 6)]  # round cap reaches x=68
    if right_hint is not None:
        strokes.append((right_hint, [(85, 25), (95, 40)], 6))
    flat = lazybrush(intensity, hints_of(64, 128, strokes))
    left = np.zeros((64, 128), bool)
    left[13:50, 25:62] = True
    right = np.zeros((64, 128), bool)
    right[13:50, 67:104] = True
    assert is_colour(flat, RED)[left].all()
    assert not is_colour(flat, RED)[right].any()
    assert is_colour(flat, right_hint or WHITE)[right].all()


def test_nested_regions_get_their_own_strokes():
    img = canvas(112, 112)
    cv2.circle(img, (56, 56), 44, 0, 2)
    cv2.circle(img, (56, 56), 16, 0, 2)
    hints = hints_of(112, 112, [(RED, [(25, 40), (30, 70)], 5), (BLUE, [(52, 52), (60, 60)], 5)])
    flat = lazybrush(img / 255.0, hints)
    inner = disc(112, 112, (56, 56), 13)
    ring = disc(112, 112, (56, 56), 41) & ~disc(112, 112, (56, 56), 19)
    outside = ~disc(112, 112, (56, 56), 47)
    assert is_colour(flat, BLUE)[inner].all()
    assert is_colour(flat, RED)[ring].all()
    assert is_colour(flat, WHITE)[outside].all()


def three_cells():
    img = canvas(48, 160)
    for x0 in (4, 56, 108):
        cv2.rectangle(img, (x0, 4), (x0 + 46, 43), 0, 2)
    return img / 255.0


def test_unhinted_region_stays_white_or_takes_nearest_stroke_colour():
    intensity = three_cells()
    # Red stroke near the middle cell's left side, blue one far on the right of the third cell.
    hints = hints_of(48, 160, [(RED, [(38, 20), (45, 28)], 4), (BLUE, [(145, 20), (150, 28)], 4)])
    cells = [np.zeros((48, 160), bool) for _ in range(3)]
    for cell, x0 in zip(cells, (4, 56, 108)):
        cell[7:41, x0 + 3:x0 + 44] = True
    flat = lazybrush(intensity, hints)
    assert is_colour(flat, RED)[cells[0]].all() and is_colour(flat, BLUE)[cells[2]].all()
    assert is_colour(flat, WHITE)[cells[1]].all()
    filled = lazybrush(intensity, hints, LazyBrushConfig(fill_unhinted=True))
    assert is_colour(filled, RED)[cells[1]].all()
    assert is_colour(filled, BLUE)[cells[2]].all()


def test_no_hints_leaves_paper_white():
    flat = lazybrush(three_cells(), np.zeros((48, 160, 4), np.float32))
    assert is_colour(flat, WHITE).all()


def test_coarse_to_fine_matches_the_full_resolution_solve():
    rng = np.random.default_rng(0)
    img = canvas(192, 192)
    centres = [tuple(int(v) for v in rng.integers(30, 162, 2)) for _ in range(8)]
    for c in centres:
        cv2.circle(img, c, int(rng.integers(15, 45)), 0, 2, cv2.LINE_AA)
    colours = [RED, BLUE, GREEN, (1.0, 1.0, 0.0)]
    strokes = [(colours[k], [centres[k], (centres[k][0] + 6, centres[k][1] + 4)], 5) for k in range(4)]
    hints = hints_of(192, 192, strokes)
    fine, _ = lazybrush_labels(img / 255.0, hints, LazyBrushConfig(coarse_max_side=0))
    pyramid, _ = lazybrush_labels(img / 255.0, hints, LazyBrushConfig(coarse_max_side=48))
    assert (fine == pyramid).mean() > 0.995


def test_coarse_to_fine_still_closes_gaps():
    intensity = np.kron(two_circles_with_gap(3), np.ones((2, 2)))  # 192x256, 6-px gap at double size
    hints = hints_of(192, 256, [(RED, [(60, 80), (90, 110)], 10)])
    flat = lazybrush(intensity, hints, LazyBrushConfig(coarse_max_side=64, max_gap=8))
    assert is_colour(flat, RED)[disc(192, 256, (80, 96), 42)].mean() > 0.999
    assert is_colour(flat, RED)[disc(192, 256, (176, 96), 42) & ~disc(192, 256, (128, 96), 16)].sum() == 0


def test_stroke_labels_merge_near_identical_colours():
    hints = np.zeros((8, 8, 4), np.float32)
    hints[:4, :, :3] = RED
    hints[:4, 0, :3] = (0.98, 0.01, 0.0)  # anti-aliasing / JPEG noise on a red stroke
    hints[4:, :, :3] = BLUE
    hints[..., 3] = 1.0
    seeds, palette = stroke_labels(hints, LazyBrushConfig())
    assert len(palette) == 2
    assert len(np.unique(seeds[:4])) == 1 and seeds[0, 0] != seeds[7, 7]
