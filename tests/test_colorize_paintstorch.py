"""The learned colorizer end to end: a tiny PaintsTorch run through `Colorizer` and `inkwash colorize`,
the resizing helpers it relies on, and publishing a run. The shipped weights: test_shipped_weights.py."""

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from inkwash.errors import InkwashError
from inkwash.canvas import downsample_hints, fill_line_pixels, working_size
from inkwash.infer import Colorizer

W, H = 333, 517


def circle_lineart(paper=255, ink=0):
    img = np.full((H, W), paper, np.uint8)
    cv2.circle(img, (160, 250), 120, ink, 3, cv2.LINE_AA)
    return img


def test_working_size_keeps_aspect_never_enlarges_and_rounds_to_16():
    assert working_size(517, 333, 256) == (400, 256)
    assert working_size(100, 60, 256) == (96, 64)  # small inputs are not enlarged
    assert working_size(5, 5, 256) == (16, 16)


def test_downsampled_hints_keep_thin_strokes_with_their_exact_colour():
    hints = np.zeros((400, 400, 4), np.float32)
    hints[200, 50:350] = [0.2, 0.6, 1.0, 1.0]  # a one-pixel line, 1/4 of a target pixel thick
    small = downsample_hints(hints, (100, 100))
    assert small.shape == (100, 100, 4)
    assert small[50, 20:80, 3].min() == 1.0 and np.allclose(small[50, 20:80, :3], [0.2, 0.6, 1.0], atol=1e-5)
    assert small[:45, :, 3].max() == 0 and small[55:, :, 3].max() == 0


def test_flat_layer_takes_the_colour_beside_the_line():
    lines = np.ones((20, 20), np.float32)
    lines[:, 10] = 0.0
    colour = np.zeros((20, 20, 3), np.float32)
    colour[:, :10] = [1, 0, 0]
    colour[:, 11:] = [0, 0, 1]
    colour[:, 10] = [0, 0, 0]  # the model's own dark line
    flat = fill_line_pixels(colour, lines)
    assert flat[:, 10].min(axis=1).max() == 0 and flat[:, 10].max() == 1  # red or blue, never black
    assert np.array_equal(flat[:, :10], colour[:, :10])


def test_odd_size_grey_and_transparent_paper_with_json_strokes(tiny_run, tmp_path, run):
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 3] = 255 - circle_lineart()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(circle_lineart(paper=190, ink=70)).convert("RGB").save(tmp_path / "grey.jpg", quality=95)
    (tmp_path / "h.json").write_text(json.dumps({"strokes": [{"color": "#ff0000", "width": 10,
                                                              "points": [[150, 240], [170, 262]]}]}))
    for name in ("rgba.png", "grey.jpg"):
        out = tmp_path / f"{name}.png"
        code, err = run(["colorize", str(tmp_path / name), "--hints", str(tmp_path / "h.json"), "--model",
                         str(tiny_run), "-o", str(out), "--layers"])
        assert code == 0, err
        composite = np.asarray(Image.open(out))
        assert composite.shape == (H, W, 3)
        assert composite[250, 280].max() < 60  # the original line, multiplied over the colour, stays black
        flat = np.asarray(Image.open(tmp_path / f"{name}_flat.png"))
        assert flat.shape == (H, W, 3)


def test_resolution_option_and_run_weights_file(tiny_run, tmp_path):
    lineart = Image.fromarray(circle_lineart())
    via_file = Colorizer.from_pretrained(str(tiny_run / "model" / "model.safetensors"), resolution=64)
    out = via_file.colorize(lineart)
    assert out.size == (W, H) and via_file.name == "paintstorch"
    raw = np.asarray(Colorizer.from_pretrained(str(tiny_run), lines_over=False).colorize(lineart))
    assert raw.shape == (H, W, 3)
    with pytest.raises(InkwashError, match="at least 16"):
        Colorizer.from_pretrained(str(tiny_run), resolution=8)


def test_batch_with_a_corrupt_file_and_refusal_to_overwrite(tiny_run, tmp_path, run):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        Image.fromarray(circle_lineart()).save(src / f"{name}.png")
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    code, err = run(["colorize", "--batch", str(src), "--model", str(tiny_run), "-o", str(out)])
    assert code == 2 and "bad.png" in err and "1 of 3" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    before = (out / "a.png").read_bytes()
    code, err = run(["colorize", str(src / "a.png"), "--model", str(tiny_run), "-o", str(out / "a.png")])
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert (out / "a.png").read_bytes() == before


def test_options_that_do_not_apply_are_refused(tiny_run, tmp_path, run):
    Image.fromarray(circle_lineart()).save(tmp_path / "a.png")
    code, err = run(["colorize", str(tmp_path / "a.png"), "--method", "lazybrush", "--resolution", "128",
                     "-o", str(tmp_path / "o.png")])
    assert code == 2 and "learned models" in err
    code, err = run(["colorize", str(tmp_path / "a.png"), "--model", str(tiny_run), "--base", str(tmp_path / "a.png"),
                     "-o", str(tmp_path / "o.png")])
    assert code == 2 and "--mask" in err


def test_publish_writes_fp16_weights_config_and_card(tiny_run, tmp_path, run):
    dst = tmp_path / "pub"
    code, err = run(["train", "publish", str(tiny_run), str(dst)])
    assert code == 0, err
    tensors = load_file(str(dst / "model.safetensors"))
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    card = (dst / "MODEL_CARD.md").read_text()
    assert "3 steps" in card and '"preset": "tiny"' in card
    a = np.asarray(Colorizer.from_pretrained(str(dst)).colorize(Image.fromarray(circle_lineart())), np.float32)
    b = np.asarray(Colorizer.from_pretrained(str(tiny_run)).colorize(Image.fromarray(circle_lineart())), np.float32)
    assert np.abs(a - b).mean() < 2.0  # fp16 storage changes the output by less than 2 levels on average
    code, err = run(["train", "publish", str(tiny_run), str(dst)])
    assert code == 2 and "already exists" in err
