"""RegionColor: its inputs are the pipeline's regions and flats, its colour is one per unhinted region and starts as
the neighbour rule, training lowers its loss, and in the pipeline it fills unhinted regions cleanly (hints win,
paper stays paper)."""

import json

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import EYE, SyntheticOutlines, make_outline_drawing
from inkwash.infer import Colorizer, Settings
from inkwash.models.regioncolor import (RegionColorConfig, RegionColorNet, batch_ids, delta_e76, region_edges,
                                        region_inputs, rgb_to_lab)
from inkwash.regions import compute_regions
from inkwash.train import run as tr
from inkwash.train.loop import export
from inkwash.train.regioncolor import RegionColorTask

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py

RED, BLUE = (204 / 255, 26 / 255, 26 / 255), (26 / 255, 51 / 255, 230 / 255)  # 8-bit levels, as hints are read


def three_boxes(size: int = 64):
    """Lines (S,S), 1 = paper: a frame split into left | middle | right boxes, away from the image border."""
    lines = np.ones((size, size), np.float32)
    lo, hi = 8, size - 8
    lines[lo:hi, lo:lo + 2] = lines[lo:hi, hi - 2:hi] = lines[lo:lo + 2, lo:hi] = lines[hi - 2:hi, lo:hi] = 0
    for x in (size // 3 + 2, 2 * size // 3 - 2):
        lines[lo:hi, x:x + 2] = 0
    return lines


def hint_at(size, points):
    """Hints (S,S,4) float: a 4x4 dab of each colour at each (y, x)."""
    h = np.zeros((size, size, 4), np.float32)
    for (y, x), c in points:
        h[y - 2:y + 2, x - 2:x + 2, :3] = c
        h[y - 2:y + 2, x - 2:x + 2, 3] = 1
    return h


def test_inputs_are_the_pipelines_regions_and_flats():
    lines = three_boxes()
    hints = hint_at(64, [((32, 14), RED)])  # the left box only
    x, ids, extra = region_inputs(lines, hints)
    assert x.shape == (17, 64, 64) and ids.shape == (64, 64) and ids.min() >= 1
    left, mid, right, outside = (32, 14), (32, 31), (32, 50), (2, 2)
    assert x[2][outside] == 1 and x[2][left] == 0  # border region: the paper around the drawing
    assert x[3][left] == 1 and x[4][left] == 0  # hinted
    assert x[4][mid] == 1 and x[4][right] == 1 and x[4][outside] == 0  # unhinted enclosed: what the model decides
    assert np.allclose(x[5:8, left[0], left[1]], RED) and np.allclose(x[5:8, mid[0], mid[1]], 1.0)  # paper policy
    assert np.allclose(x[8:11, mid[0], mid[1]], RED)  # neighbour rule: the middle box touches the red one
    assert np.allclose(x[8:11, outside[0], outside[1]], 1.0)  # border regions stay paper under every policy
    assert extra["todo"][mid] and not extra["todo"][left] and not extra["todo"][8, 30]  # off the ink only
    assert x[1][8, 30] == 1 and x[0][8, 30] == -1  # ink


def test_region_ops_batch_drawings_without_mixing_them():
    ids = torch.tensor([[[1, 1, 2], [1, 3, 2]], [[1, 2, 2], [1, 2, 2]]])
    gid, n = batch_ids(ids)
    assert n == 4 + 3 and gid[1].min() == 5  # ids 0..3 then 4..6 (0 and 4 unused)
    src, dst, w = region_edges(gid, n)
    pairs = {(int(a), int(b)): float(c) for a, b, c in zip(src, dst, w)}
    assert pairs[(1, 2)] == pairs[(2, 1)] == 1 and pairs[(1, 3)] == 2 and pairs[(3, 2)] == 1 and pairs[(5, 6)] == 2
    assert not any((a < 4) != (b < 4) for a, b in pairs)  # no edge between the two drawings
    white, black = torch.ones(1, 3, 1, 1), torch.zeros(1, 3, 1, 1)
    assert abs(float(delta_e76(white, black)) - 100.0) < 0.01  # L* 100 vs 0
    assert torch.allclose(rgb_to_lab(torch.tensor([1.0, 1.0, 1.0])), torch.tensor([100.0, 0.0, 0.0]), atol=0.01)


def test_colour_is_one_per_region_and_starts_as_the_neighbour_rule():
    torch.manual_seed(0)
    lines = three_boxes()
    hints = hint_at(64, [((32, 14), RED), ((32, 50), BLUE)])
    x, ids, extra = region_inputs(lines, hints)
    net = RegionColorNet(RegionColorConfig(width=8, mults=(1, 2), region_width=16, rounds=1)).eval()
    with torch.no_grad():
        colour, shading = net(torch.from_numpy(x)[None], torch.from_numpy(ids)[None])
    colour = colour[0].permute(1, 2, 0).numpy()
    todo = extra["todo"]
    assert len(np.unique(colour[todo].round(5), axis=0)) == 1  # the middle box: one colour
    # zero-initialised head: the neighbour rule's colour
    assert np.allclose(colour[todo][0], x[8:11][:, todo][:, 0], atol=1e-6)
    assert np.allclose(colour[32, 14], RED) and np.allclose(colour[32, 50], BLUE)  # hinted: the hint flats
    assert np.allclose(colour[2, 2], 1.0)  # paper stays paper
    assert torch.allclose(shading, torch.ones_like(shading))  # zero-initialised too


def test_training_lowers_the_colour_loss():
    torch.manual_seed(0)
    cfg = tr.make_config("regioncolor", "tiny", overrides={"data.size": 64, "optim.lr": 3e-3})
    ds = tr.open_dataset("synthetic", cfg)
    batch = default_collate([ds[i] for i in range(4)])
    assert batch["todo"].sum() > 0
    task = RegionColorTask(cfg)
    losses = []
    for _ in range(25):
        out = task.step("net", batch, {})
        out["loss"].backward()
        task.opts["net"].step()
        task.opts["net"].zero_grad()
        losses.append(float(out["loss"].detach()))
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5]), losses
    scores = task.held_out([batch])
    assert scores["score"] == scores["de_model"] < scores["de_neighbour"]  # fitted its own batch beyond the rule


def test_mixed_hints_give_every_kind_of_user():
    store = SyntheticOutlines(n=24, size=64, seed=0)
    ds = ColorizationDataset(store, size=64, train=True, hints="mixed", lineart="outline")
    counts = [int(ds[i]["hints"][3].sum()) for i in range(len(store))]
    assert counts.count(0) >= 2 and max(counts) > 20  # some drawings get none, others many


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tr.make_config("regioncolor", "tiny", overrides={"data.size": 64})
    folder = tmp_path_factory.mktemp("rc")
    export(RegionColorTask(cfg), folder, 1)
    return folder / "model"


def test_in_the_pipeline_unhinted_regions_get_one_colour_and_hints_win(tiny_model):
    truth, lines_img, flats = make_outline_drawing(128, seed=3)
    lines = np.asarray(lines_img.convert("L"), np.float32) / 255.0
    col = Colorizer.from_pretrained(tiny_model)
    assert col.learned and col.model.resolution == 64
    regions = compute_regions(lines)
    inner = [r for r in range(1, regions.n + 1) if not regions.border[r]]
    assert len(inner) >= 2
    r_hint = inner[0]
    ys, xs = np.nonzero((regions.labels == r_hint) & (regions.dist > 3))
    hints = np.zeros((128, 128, 4), np.float32)
    hints[ys[:6], xs[:6]] = (*RED, 1.0)
    s = Settings(unhinted="model", shading=0.0)
    layers = col.colorize_layers(lines_img.convert("L"), hints, settings=s)
    flat = np.asarray(layers["flat"], np.float32) / 255.0
    for r in inner:
        px = flat[(regions.labels == r) & (regions.dist > 2)]
        assert np.ptp(px, axis=0).max() < 1.5 / 255  # one colour per region
    assert np.allclose(flat[ys[0], xs[0]], RED, atol=1 / 255)  # the hint wins
    border = regions.border.take(regions.labels) & (regions.labels > 0)
    assert (flat[border] == 1.0).all()  # paper stays paper
    raw = col.colorize(lines_img.convert("L"), hints, settings=Settings(lock=False))
    assert raw.size == (128, 128)


def test_cli_trains_regioncolor_on_synthetic_outlines(tmp_path, cli):
    run = tmp_path / "run"
    code, _, err = cli(["train", "regioncolor", "--data", "synthetic", "--out", str(run), "--preset", "tiny",
                        "--size", "64", "--steps", "2", "--batch-size", "2", "--workers", "0", "--device", "cpu",
                        "--set", "loop.val_every=2", "--set", "loop.val_items=2"])
    assert code == 0, err
    saved = json.loads((run / "config.json").read_text())
    assert saved["name"] == "regioncolor" and saved["data"]["hints"] == "mixed"
    best = json.loads((run / "best" / "config.json").read_text())
    assert best["name"] == "regioncolor" and set(best["val"]) >= {"de_model", "de_neighbour", "de_paper", "score"}
    assert EYE == (40, 40, 90)
