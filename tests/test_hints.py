"""User input: hint maps from RGBA / RGB-on-white / JSON strokes and back, and lineart normalization."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inkwash.errors import InkwashError
from inkwash.hints import hints_to_json, load_hints, save_hints
from inkwash.lineart import load_lineart, normalize_lineart


def stroke_image(size=(64, 48), mode="RGBA"):
    bg = (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255)
    img = Image.new(mode, size, bg)
    d = ImageDraw.Draw(img)
    d.line([(5, 5), (30, 20)], fill=(200, 30, 40) + ((255,) if mode == "RGBA" else ()), width=4)
    d.ellipse((40, 25, 52, 37), fill=(20, 90, 250) + ((255,) if mode == "RGBA" else ()))
    return img


def test_rgba_alpha_marks_strokes_with_exact_colours(tmp_path):
    img = stroke_image()
    img.save(tmp_path / "h.png")
    h = load_hints(tmp_path / "h.png", (64, 48))
    alpha = np.asarray(img)[..., 3] >= 128
    assert h.shape == (48, 64, 4) and h.dtype == np.float32
    assert np.array_equal(h[..., 3] > 0.5, alpha)
    colours = {tuple(c) for c in (h[alpha, :3] * 255).round().astype(int)}
    assert colours == {(200, 30, 40), (20, 90, 250)}
    assert (h[~alpha] == 0).all()


def test_rgb_on_white_at_another_resolution_is_resized_nearest(tmp_path):
    stroke_image((128, 96), "RGB").save(tmp_path / "h.png")
    h = load_hints(tmp_path / "h.png", (64, 48))
    assert h.shape == (48, 64, 4)
    mask = h[..., 3] > 0.5
    assert 40 < mask.sum() < 48 * 64 // 4
    colours = {tuple(c) for c in (h[mask, :3] * 255).round().astype(int)}
    assert colours <= {(200, 30, 40), (20, 90, 250)}  # nearest-neighbour: no blended colours
    assert h[45, 60, 3] == 0  # white paper is no hint


def test_json_strokes_rasterize_with_round_brush_and_scale(tmp_path):
    doc = {"width": 128, "height": 96,
           "strokes": [{"color": "#ff0000", "width": 8, "points": [[20, 20], [100, 20]]},
                       {"color": [0, 0, 255], "width": 8, "points": [[64, 70]]}]}
    (tmp_path / "h.json").write_text(json.dumps(doc))
    h = load_hints(tmp_path / "h.json", (64, 48))  # the document is twice the lineart's size
    assert np.allclose(h[10, 30], [1, 0, 0, 1]) and np.allclose(h[35, 32], [0, 0, 1, 1])
    assert h[20, 30, 3] == 0
    # 8 px at double size -> 4 px wide; the line spans x 10..50 with round caps.
    assert 3 <= (h[:25, 30, 3] > 0).sum() <= 5
    assert h[10, 10, 3] == 1 and h[10, 4, 3] == 0


def test_hints_json_round_trip_is_exact(tmp_path):
    img = stroke_image()
    img.save(tmp_path / "h.png")
    h = load_hints(tmp_path / "h.png", (64, 48))
    save_hints(h, tmp_path / "back.json")
    back = load_hints(tmp_path / "back.json", (64, 48))
    assert np.array_equal(back, h)
    save_hints(h, tmp_path / "back.png")
    assert np.array_equal(load_hints(tmp_path / "back.png", (64, 48)), h)
    with pytest.raises(InkwashError, match="already exists"):
        save_hints(h, tmp_path / "back.json")
    assert hints_to_json(h)["width"] == 64


@pytest.mark.parametrize("text, message", [
    ('{"strokes": [', "not valid JSON"),
    ('{"lines": []}', "expected"),
    ('{"strokes": [{"color": "red", "points": [[1, 2]]}]}', "color"),
    ('{"strokes": [{"color": "#ff0000", "points": []}]}', "points"),
    ('{"strokes": [{"color": "#ff0000", "width": -2, "points": [[1, 2]]}]}', "width"),
    ('{"width": 100, "height": 20, "strokes": []}', "does not match"),
])
def test_bad_json_is_one_clear_error(tmp_path, text, message):
    (tmp_path / "h.json").write_text(text)
    with pytest.raises(InkwashError, match=message) as info:
        load_hints(tmp_path / "h.json", (64, 48))
    assert "\n" not in str(info.value)


def test_hint_image_of_another_aspect_ratio_is_refused(tmp_path):
    stroke_image((64, 64)).save(tmp_path / "h.png")
    with pytest.raises(InkwashError, match="does not match"):
        load_hints(tmp_path / "h.png", (64, 32))


def drawn_lineart(paper, ink, size=(64, 48)):
    img = Image.new("RGB", size, paper)
    ImageDraw.Draw(img).ellipse((10, 8, 50, 40), outline=ink, width=3)
    return img


def test_grey_yellowish_scan_becomes_white_paper_black_lines():
    img = drawn_lineart((222, 214, 180), (70, 65, 60))
    arr = np.asarray(img).copy()
    arr[24, 30] = (150, 140, 120)  # an anti-aliased pixel halfway between paper and ink
    out = np.asarray(normalize_lineart(Image.fromarray(arr)))
    assert out[2, 2] == 255 and out[8, 30] <= 5
    assert 60 < out[24, 30] < 200  # anti-aliasing is kept, not binarized


def test_transparent_paper_is_white_and_dark_paper_is_inverted():
    rgba = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((10, 8, 50, 40), outline=(0, 0, 0, 255), width=3)
    out = np.asarray(load_lineart(rgba))
    assert out.shape == (48, 64) and out[2, 2] == 255 and out[8, 30] == 0
    chalk = np.asarray(normalize_lineart(drawn_lineart((10, 10, 10), (240, 240, 240))))
    assert chalk[2, 2] == 255 and chalk[8, 30] == 0
    blank = np.asarray(normalize_lineart(Image.new("L", (16, 16), 200)))
    assert (blank == 255).all()


def test_a_drawing_with_wide_black_fills_keeps_its_white_paper():
    # mostly black, like a clip art drawn on a black card: the white shapes are the paper, not chalk lines
    img = Image.new("L", (512, 512), 255)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, 511, 420), 60, fill=0)
    draw.ellipse((60, 80, 450, 300), fill=255)  # a banana-sized white area inside the black card
    out = np.asarray(normalize_lineart(img))
    assert out[190, 250] == 255 and out[40, 40] == 0 and out[480, 250] == 255  # not inverted
    chalk = Image.new("L", (512, 512), 20)  # light 4 px lines on a dark page: inverted
    ImageDraw.Draw(chalk).ellipse((60, 80, 450, 400), outline=235, width=4)
    out = np.asarray(normalize_lineart(chalk))
    assert out[10, 10] == 255 and out[240, 62] == 0
