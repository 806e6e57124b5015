"""`inkwash colorize` end to end with the LazyBrush baseline, and the `Colorizer` API it wraps.

The exact-colour assertions need a deterministic flat fill, so every run here uses --method lazybrush;
tests/test_colorize_paintstorch.py runs the same paths through a learned model.
"""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.infer import Colorizer

W, H = 333, 517  # odd on purpose: nothing may assume multiples of 8 or squares
CENTRE, RADIUS = (160, 250), 120


@pytest.fixture
def run(cli):
    """run(args) -> (exit code, stderr), with --method lazybrush unless a model is named."""

    def go(args):
        if args[0] == "colorize" and "--model" not in args and "--method" not in args:
            args = [*args, "--method", "lazybrush"]
        code, _, err = cli(args)
        return code, err

    return go


def circle_lineart(paper=255, ink=0):
    img = np.full((H, W), paper, np.uint8)
    cv2.circle(img, CENTRE, RADIUS, ink, 3, cv2.LINE_AA)
    return img


def red_strokes_json(path, scale=1):
    points = [[150 * scale, 240 * scale], [170 * scale, 262 * scale]]
    doc = {"strokes": [{"color": "#ff0000", "width": 10, "points": points}]}
    if scale != 1:
        doc.update(width=W * scale, height=H * scale)
    path.write_text(json.dumps(doc))
    return path


def assert_red_circle(path):
    out = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert out.shape == (H, W, 3)
    assert (out[250, 160] == [255, 0, 0]).all() and (out[200, 120] == [255, 0, 0]).all()
    assert (out[10, 10] == 255).all() and (out[500, 320] == 255).all()
    assert out[250, CENTRE[0] + RADIUS].max() < 60  # the line is multiplied over the colour


def test_odd_size_with_json_strokes(tmp_path, run):
    Image.fromarray(circle_lineart()).save(tmp_path / "cat.png")
    hints = red_strokes_json(tmp_path / "cat.hints.json", scale=2)
    code, err = run(["colorize", str(tmp_path / "cat.png"), "--hints", str(hints), "-o", str(tmp_path / "o.png")])
    assert code == 0, err
    assert_red_circle(tmp_path / "o.png")


def test_rgba_transparent_paper_and_grey_paper(tmp_path, run):
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 3] = 255 - circle_lineart()  # black lines on transparent paper
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(circle_lineart(paper=190, ink=70)).convert("RGB").save(tmp_path / "grey.jpg", quality=95)
    hints = red_strokes_json(tmp_path / "h.json")
    for name in ("rgba.png", "grey.jpg"):
        out = tmp_path / f"{name}.out.png"
        code, err = run(["colorize", str(tmp_path / name), "--hints", str(hints), "-o", str(out),
                         "--method", "lazybrush"])
        assert code == 0, err
        assert_red_circle(out)


def test_layers_writes_three_files(tmp_path, run):
    Image.fromarray(circle_lineart()).save(tmp_path / "a.png")
    hints = red_strokes_json(tmp_path / "h.json")
    code, err = run(["colorize", str(tmp_path / "a.png"), "--hints", str(hints), "-o", str(tmp_path / "o.png"),
                     "--layers"])
    assert code == 0, err
    flat = np.asarray(Image.open(tmp_path / "o_flat.png").convert("RGB")).astype(int)
    lines = Image.open(tmp_path / "o_lines.png")
    assert lines.mode == "L" and np.asarray(lines)[250, CENTRE[0] + RADIUS] < 60
    # Under the line the flat layer carries a colour (red inside, white outside), never the black line.
    assert flat[250, CENTRE[0] + RADIUS].min() > 200 or (flat[250, CENTRE[0] + RADIUS] == [255, 0, 0]).all()
    assert (flat[250, 160] == [255, 0, 0]).all() and (flat[10, 10] == 255).all()
    assert_red_circle(tmp_path / "o.png")


def test_refuses_to_overwrite_and_leaves_the_file_alone(tmp_path, run):
    Image.fromarray(circle_lineart()).save(tmp_path / "a.png")
    (tmp_path / "o.png").write_bytes(b"precious")
    code, err = run(["colorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png")])
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert (tmp_path / "o.png").read_bytes() == b"precious"
    code, err = run(["colorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), "--overwrite"])
    assert code == 0, err
    assert Image.open(tmp_path / "o.png").size == (W, H)


def test_bad_json_exits_2_with_one_line(tmp_path, run):
    Image.fromarray(circle_lineart()).save(tmp_path / "a.png")
    (tmp_path / "h.json").write_text('{"strokes": [{"color": "#ff0000", "points": [[1, 2]')
    code, err = run(["colorize", str(tmp_path / "a.png"), "--hints", str(tmp_path / "h.json"), "-o",
                     str(tmp_path / "o.png")])
    assert code == 2 and "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_batch_colours_the_good_files_and_reports_the_corrupt_one(tmp_path, run):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(circle_lineart()).save(src / "cat.png")
    red_strokes_json(src / "cat.hints.json")
    Image.fromarray(circle_lineart()).save(src / "dog.png")
    hint = np.full((H, W, 3), 255, np.uint8)
    cv2.line(hint, (150, 240), (170, 262), (0, 0, 255), 10)
    Image.fromarray(hint).save(src / "dog.hints.png")  # RGB strokes on white
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, err = run(["colorize", "--batch", str(src), "-o", str(tmp_path / "out"), "--layers"])
    assert code == 2 and "broken.png" in err and "1 of 3" in err
    assert_red_circle(tmp_path / "out" / "cat.png")
    dog = np.asarray(Image.open(tmp_path / "out" / "dog.png").convert("RGB")).astype(int)
    assert (dog[250, 160] == [0, 0, 255]).all()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cat.png", "cat_flat.png", "cat_lines.png", "dog.png", "dog_flat.png", "dog_lines.png"]


def test_unknown_model_lists_known_names(run, tmp_path):
    Image.fromarray(circle_lineart()).save(tmp_path / "a.png")
    code, err = run(["colorize", str(tmp_path / "a.png"), "--model", "nope", "-o", str(tmp_path / "o.png")])
    assert code == 2 and "lazybrush" in err
    with pytest.raises(InkwashError, match="known names"):
        Colorizer.from_pretrained("paintstorch-v9")


def test_api_mask_keeps_base_outside_bit_for_bit():
    lineart = Image.fromarray(circle_lineart())
    hints = np.zeros((H, W, 4), np.float32)
    hints[245:255, 150:170] = [1, 0, 0, 1]
    mask = np.zeros((H, W), np.uint8)
    mask[:, : W // 2] = 255
    base = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    colorizer = Colorizer.from_pretrained("lazybrush")
    out = np.asarray(colorizer.colorize(lineart, hints, mask=mask, base=base))
    assert np.array_equal(out[:, W // 2:], base[:, W // 2:])
    assert (out[250, 160] == [255, 0, 0]).all()
    classic = Colorizer.from_pretrained("lazybrush", solver="classic", fill_unhinted=True)  # the earlier behaviour
    filled = np.asarray(classic.colorize(lineart, hints))
    assert (filled[10, 10] == [255, 0, 0]).all()  # the unhinted paper takes the only stroke's colour
