"""Colour error, paper flood and the flat oracles have known values on known inputs; `inkwash evaluate` on real
outlines with hand-like hints."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from inkwash.data.openclipart import cairosvg_available
from inkwash.evaluate.metrics import MetricConfig, colour_error, paper_flood, pixel_metrics
from inkwash.evaluate.oracle import closed_regions, closed_regions_available, flat_oracle, paint_regions, raw_regions

RED, BLUE = np.array([0.9, 0.1, 0.1]), np.array([0.1, 0.2, 0.9])


def square(size: int = 64):
    """A red square on white paper, no lines: target (H,W,3) in [0,1], lineart of ones, square mask."""
    target = np.ones((size, size, 3))
    inside = np.zeros((size, size), bool)
    inside[16:48, 16:48] = True
    target[inside] = RED
    return target, np.ones((size, size)), inside


def de(a, b) -> float:
    lab = [rgb2lab(np.asarray(c, float)[None, None]) for c in (a, b)]
    return float(deltaE_ciede2000(*lab)[0, 0])


def test_colour_error_is_the_ciede2000_on_coloured_pixels_only():
    target, lines, inside = square()
    assert colour_error(target, target, lines) == 0.0
    out = target.copy()
    out[inside] = BLUE
    assert colour_error(out, target, lines) == pytest.approx(de(BLUE, RED), rel=1e-6)
    out = target.copy()
    out[~inside] = BLUE  # the paper is no coloured pixel: flooding it costs no colour error
    assert colour_error(out, target, lines) == 0.0
    # pixels on and near lines (1 px margin at 64 px) are out: a wrong colour only there costs nothing
    lines = np.ones((64, 64))
    lines[30:34, :] = 0.0
    out = target.copy()
    out[29:35, 16:48] = BLUE
    assert colour_error(out, target, lines) == 0.0
    assert np.isnan(colour_error(np.ones((8, 8, 3)), np.ones((8, 8, 3)), np.ones((8, 8))))  # nothing coloured


def test_paper_flood_is_the_share_of_paper_the_output_colours():
    target, lines, inside = square()
    assert paper_flood(target, target, lines) == 0.0
    out = target.copy()
    out[:, :32][~inside[:, :32]] = BLUE  # the left half of the paper
    paper = ~inside
    assert paper_flood(out, target, lines) == pytest.approx(paper[:, :32].sum() / paper.sum())
    out = np.tile(RED, (64, 64, 1))  # a fill that leaked everywhere
    assert paper_flood(out, target, lines) == 1.0
    faint = target.copy()
    faint[~inside] = 0.97  # within flood_de of white: not coloured
    assert de([0.97] * 3, [1, 1, 1]) < MetricConfig().flood_de and paper_flood(faint, target, lines) == 0.0
    metrics = pixel_metrics(out, target, lines, None)
    assert metrics["paper_flood"] == 1.0 and metrics["de2000"] == pytest.approx(0.0, abs=1e-9)


def flats_drawing(size: int = 64):
    """A drawing that is exactly its flats times its lines: two colours and paper split by black lines."""
    flats = np.ones((size, size, 3))
    flats[8:56, 8:32] = RED
    flats[8:56, 32:56] = BLUE
    lines = np.ones((size, size))
    lines[6:8, 6:58] = lines[56:58, 6:58] = lines[6:58, 6:8] = lines[6:58, 56:58] = 0.0
    lines[6:58, 31:33] = 0.0
    return flats * lines[..., None], lines


def test_flat_oracle_is_zero_on_its_own_flats_and_not_on_shading():
    truth, lines = flats_drawing()
    regions = raw_regions(lines)
    assert regions.max() == 3 and regions[0, 0] != regions[20, 20] != regions[20, 40]
    out = paint_regions(regions, truth, lines)
    assert np.allclose(out, truth, atol=1e-6)
    assert colour_error(out, truth, lines) == pytest.approx(0.0, abs=1e-4) and paper_flood(out, truth, lines) == 0.0
    # shading inside a region: the oracle's flat colour is off by a known-positive amount
    shaded = truth.copy()
    shaded[8:56, 8:20] *= 0.7
    assert colour_error(paint_regions(regions, shaded, lines), shaded, lines) > 1.0
    # a gap in the line between the red and blue regions: raw regions merge them, the fill leaks
    gap = lines.copy()
    gap[30:34, 31:33] = 1.0
    assert raw_regions(gap).max() == 2
    img = flat_oracle(Image.fromarray((truth * 255).astype(np.uint8)), Image.fromarray((lines * 255).astype(np.uint8)))
    assert np.abs(np.asarray(img, float) / 255 - truth).max() < 1 / 255 + 1e-6


@pytest.mark.skipif(not closed_regions_available(), reason="region engine (inkwash.regions) not in this checkout")
def test_gap_closed_oracle_keeps_regions_apart_across_a_gap():
    truth, lines = flats_drawing()
    gap = lines.copy()
    gap[30:34, 31:33] = 1.0  # a 4 px gap in the line between red and blue
    assert raw_regions(gap).max() == 2  # raw regions leak through it
    regions = closed_regions(gap)
    assert regions[20, 20] != regions[20, 40] and regions[20, 20] > 0 and regions[20, 40] > 0
    out = paint_regions(regions, truth, gap)
    assert colour_error(out, truth, lines) < 1.0  # each side keeps its own colour


@pytest.mark.skipif(not cairosvg_available(), reason="CairoSVG (pip install cairosvg) not installed")
def test_evaluate_on_real_outlines_with_hand_hints(tmp_path, cli):
    from inkwash.data.curate import CurateConfig
    from inkwash.data.outlines import prepare_outlines

    from tests.test_outlines import GOOD, svg_doc

    root = tmp_path / "openclipart"
    for rel, body in GOOD.items():
        (root / "svg" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "svg" / rel).write_text(svg_doc(body))
    data = tmp_path / "outlines"
    prepare_outlines(data, root=root, cfg=CurateConfig(short_side=64, min_side=32), jobs=1, progress=False)
    out = tmp_path / "report"
    args = ["evaluate", "--data", str(data), "--split", "all", "--model", "lazybrush", "-o", str(out), "--size", "64",
            "--lineart", "outline", "--hints", "hand", "--grid", "0"]
    code, stdout, err = cli(args)
    assert code == 0, err
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    models = [r["model"] for r in rows]
    assert models[:3] == ["lazybrush"] * 3 and "flat oracle (raw regions)" in models
    assert all(r["lineart"] == "outline" and r["hint_scheme"] == "hand" for r in rows)
    oracle = [r for r in rows if r["model"] == "flat oracle (raw regions)"]
    assert all(float(r["de2000"]) < 3.0 and float(r["paper_flood"]) < 0.01 for r in oracle)  # flat drawings
    md = (out / "metrics.md").read_text()
    assert "| Model | No Hints | Hand hints | Full Hints | Mean |" in md and "real outlines" in md
    assert "*Colour ΔE00* ↓" in md and "*Paper flood* ↓" in md
    config = json.loads((out / "config.json").read_text())
    assert config["lineart"] == "outline" and config["hints"] == "hand"
    # the inputs' lineart is the drawing's outline: the same as the store's lines layer
    assert np.asarray(Image.open(out / "inputs/00000_lineart.png")).min() < 60
    # the same folder with other lineart settings is refused, not mixed
    code, _, err = cli(args[:-6] + ["--lineart", "xdog", "--hints", "hand", "--grid", "0"])
    assert code == 2 and "other settings" in err


def test_outline_options_need_an_outline_dataset(tmp_path, cli):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (64, 64), (200, 50, 50)).save(folder / "a.png")
    for extra in (["--lineart", "outline"], ["--hints", "hand"]):
        code, _, err = cli(["evaluate", "--data", str(folder), "--model", "lazybrush", "-o", str(tmp_path / "r"),
                            "--size", "32", *extra])
        assert code == 2 and "outline dataset" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(["evaluate", "--data", str(folder), "--model", "lazybrush", "-o", str(tmp_path / "r"),
                        "--lineart", "sketch"])
    assert code == 2 and "--lineart sketch" in err
