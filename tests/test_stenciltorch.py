"""StencilTorch end to end on tiny synthetic data: networks, guide decoder, learning, resume, the in-painting
backend through `Colorizer` (the base kept bit for bit outside the mask) and the training CLI."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from inkwash.data.dataset import ColorizationDataset, StencilConfig, region_mask
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.infer import Colorizer
from inkwash.models import registry
from inkwash.infer import paint, prepare
from inkwash.models import registry
from inkwash.models.stenciltorch import (GuideDecoder, StencilGenerator, load_stenciltorch,
                                         paste)
from inkwash.train import run as tr
from inkwash.train.config import to_dict
from inkwash.train.checkpoint import latest_checkpoint
from inkwash.train.stenciltorch import StencilTorchTask, _masked_l1


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny_cfg(steps, **extra):
    over = {"data.size": 64, "data.batch_size": 4, "data.workers": 0, "loop.steps": steps,
            "loop.log_every": 1, "loop.image_every": 0, **extra}
    return tr.make_config("stenciltorch", "tiny", overrides=over)


def data(n=16, train=True, seed=0):
    return ColorizationDataset(SyntheticIllustrations(n=n, size=64, seed=seed), size=64, train=train, seed=0,
                               with_stencil=True)


def fixed_batch():
    test = data(8, train=False, seed=99)
    return {k: torch.stack([test[i][k] for i in range(8)]) for k in test[0]}


def quiet(_):
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny StencilTorch trained 48 steps (lr 1e-3: the thesis' 1e-4 needs thousands), with its start state."""
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("st") / "run"
    cfg = tiny_cfg(48, **{"optim.lr": 1e-3, "loop.ckpt_every": 100})
    torch.manual_seed(cfg.loop.seed)  # the loop seeds the same way: this is the run's initial state
    start = StencilTorchTask(cfg)
    tr.train(cfg, data(32), run, progress=False, log=quiet)
    return run, cfg, start


# ---------------------------------------------------------------- networks


def test_networks_map_the_documented_shapes_and_paste_is_exact():
    cfg = tiny_cfg(1).model
    torch.manual_seed(0)
    g, guide = StencilGenerator(cfg), GuideDecoder(cfg)
    c, m = torch.rand(2, 3, 64, 48) * 2 - 1, (torch.rand(2, 1, 64, 48) > 0.5).float()
    h, f = torch.zeros(2, 4, 16, 12), torch.rand(2, cfg.feat_channels, 4, 3)
    enc = g.encode_stencil(c, m, h)
    assert enc[-1].shape == (2, 8 * cfg.ngf, 4, 3)
    y_hat = g.decode(enc, f)
    assert y_hat.shape == (2, 3, 64, 48) and y_hat.abs().max() <= 1
    assert torch.equal(y_hat, g(c, m, h, f))
    assert guide(enc[-1], f).shape == (2, 3, 64, 48)
    # the guide has the decoder's stages but no skip inputs: narrower first convolutions, the same depth
    assert guide.dec3[0][0].in_channels == g.dec3[0][0].in_channels // 2
    assert [n for n, _ in guide.named_children()] == ["dec4", "dec3", "dec2", "dec1", "exit"]
    pasted = paste(y_hat, c, m)
    assert torch.equal(pasted[(m == 0).expand_as(c)], c[(m == 0).expand_as(c)])
    assert torch.equal(pasted[(m == 1).expand_as(c)], y_hat[(m == 1).expand_as(c)])


def test_registry_entry_config_and_guide_switch():
    cfg = tr.make_config("stenciltorch", "small")
    assert type(cfg).__name__ == "StencilTrainConfig" and cfg.loss.w_guide == 0.1 and cfg.loss.lambda_adv == 1e-4
    assert cfg.optim.lr == 1e-4 and cfg.optim.beta1 == 0.5 and cfg.optim.beta2 == 0.9  # thesis IV.3.2.4
    assert set(registry.get("stenciltorch").build(cfg.model)) == {"g", "critic", "guide"}
    off = tr.make_config("stenciltorch", "tiny", overrides={"model.guide": False})
    task = StencilTorchTask(off)
    assert set(task.nets) == {"g", "critic"} and task.phases == ("critic", "g")
    again = tr.config_from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert again == cfg


def test_region_masks_select_whole_flat_colour_regions():
    simplified = np.zeros((64, 64, 3), np.uint8)
    simplified[:, 32:] = (200, 30, 30)  # two regions: left black half, right red half
    rng = np.random.default_rng(0)
    m = region_mask(simplified, rng, StencilConfig(region_area=(0.01, 0.02), region_grow=1 / 64))
    left, right = m[:, :31].mean(), m[:, 33:].mean()
    assert {left, right} == {0.0, 1.0}  # exactly one whole region, grown by 1 px across the border
    assert m[:, 31:33].all()


# ---------------------------------------------------------------- training


def test_tiny_run_learns_to_inpaint_and_its_guide_learns_the_simplified_image(trained):
    run, cfg, start = trained
    fx = fixed_batch()
    args = fx["composite"], fx["mask"], fx["hints"], fx["lineart"]

    def errors(task):
        y_hat = task.colorize(*args)
        return (_masked_l1(y_hat, fx["illustration"], fx["mask"]).item(),
                torch.nn.functional.mse_loss(task.guide(*args), fx["simplified"]).item())

    before = errors(start)
    weights = load_file(str(latest_checkpoint(run) / "weights.safetensors"))
    end = StencilTorchTask(cfg)
    for name, net in end.nets.items():
        net.load_state_dict({k[len(name) + 1:]: v for k, v in weights.items() if k.startswith(name + ".")})
    after = errors(end)
    assert after[0] < 0.8 * before[0], (before, after)  # L1 inside the mask, on held-out images
    assert after[1] < 0.8 * before[1], (before, after)  # the guide decoder's L_guided
    saved = json.loads((run / "config.json").read_text())
    assert saved["name"] == "stenciltorch" and saved["loss"]["w_guide"] == 0.1 and saved["model"]["guide"]


def test_guide_trains_but_is_never_exported(trained):
    run, _, _ = trained
    exported = load_file(str(run / "model" / "model.safetensors"))
    assert {k.split(".")[0] for k in exported} == {"g", "f1"}
    checkpoint = load_file(str(latest_checkpoint(run) / "weights.safetensors"))
    assert {k.split(".")[0] for k in checkpoint} == {"g", "critic", "guide"}
    g, f1, full = load_stenciltorch(run)
    assert not any(p.requires_grad for p in g.parameters()) and full.name == "stenciltorch"


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    # 16 images, batch 4: the stop at step 3 falls mid-epoch
    tr.train(tiny_cfg(6, **{"loop.ckpt_every": 3}), data(), tmp_path / "a", progress=False, log=quiet)
    tr.train(tiny_cfg(3, **{"loop.ckpt_every": 3}), data(), tmp_path / "b", progress=False, log=quiet)
    out = tr.train(tiny_cfg(6), data(), tmp_path / "b", resume=True, progress=False, log=quiet)
    assert out["step"] == 6
    a = load_file(str(latest_checkpoint(tmp_path / "a") / "weights.safetensors"))
    b = load_file(str(latest_checkpoint(tmp_path / "b") / "weights.safetensors"))
    assert a.keys() == b.keys() and any(k.startswith("guide.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    with pytest.raises(InkwashError, match="a stenciltorch run; resume it with inkwash train stenciltorch"):
        tr.train(tr.make_config("paintstorch", "tiny"), data(), tmp_path / "b", resume=True, progress=False)


# ---------------------------------------------------------------- inference


def lineart(h, w, seed=0):
    img = np.full((h, w), 255, np.uint8)
    rng = np.random.default_rng(seed)
    for _ in range(4):  # a few dark boxes' outlines
        y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
        img[y0:y0 + 8, x0] = img[y0:y0 + 8, x0 + 7] = img[y0, x0:x0 + 8] = img[y0 + 7, x0:x0 + 8] = 0
    return img


@pytest.mark.parametrize("size", [(45, 70), (130, 200)])  # odd and non-square; the larger is scaled to 64
def test_colorizer_keeps_the_base_bit_for_bit_outside_the_mask(trained, size):
    run, _, _ = trained
    h, w = size
    colorizer = Colorizer.from_pretrained(str(run))
    hints = np.zeros((h, w, 4), np.float32)
    hints[h // 4: h // 4 + 4, w // 2: w // 2 + 10] = [0.9, 0.1, 0.1, 1.0]  # a red stroke inside the mask
    mask = np.zeros((h, w), np.uint8)
    mask[:, w // 3:] = 255
    base = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = np.asarray(colorizer.colorize(lineart(h, w), hints, mask=mask, base=base))
    assert out.shape == (h, w, 3)
    assert np.array_equal(out[mask == 0], base[mask == 0])
    assert not np.array_equal(out[mask != 0], base[mask != 0])  # inside: the model's colour


def test_three_passes_of_the_iterative_workflow(trained, tmp_path):
    run, _, _ = trained
    h, w = 60, 84
    colorizer = Colorizer.from_pretrained(str(run), lines_over=False)
    lines = lineart(h, w, seed=3)
    first = np.asarray(colorizer.colorize(lines))  # pass 1: no mask, no base, the whole lineart
    assert first.shape == (h, w, 3)
    mask2 = np.zeros((h, w), np.uint8)
    mask2[10:40, 10:50] = 255
    stroke = np.zeros((h, w, 4), np.float32)
    stroke[20:24, 20:40] = [0.1, 0.2, 0.9, 1.0]
    second = np.asarray(colorizer.colorize(lines, stroke, mask=mask2, base=first))
    assert np.array_equal(second[mask2 == 0], first[mask2 == 0])
    painted = second.copy()
    painted[:, :20] = [250, 200, 40]  # the artist paints over part of it by hand
    mask3 = np.zeros((h, w), np.uint8)
    mask3[30:, 30:] = 255
    third = np.asarray(colorizer.colorize(lines, None, mask=mask3, base=painted))
    assert np.array_equal(third[mask3 == 0], painted[mask3 == 0])
    direct = paint(Colorizer.from_pretrained(str(run)).model, prepare(lines))  # the model stage alone
    assert direct.shape == (h, w, 3) and direct.dtype == np.float32 and 0 <= direct.min() <= direct.max() <= 1


def test_backend_errors_are_one_line(trained, tmp_path, monkeypatch):
    import inkwash.models.serialize as serialize

    run, _, _ = trained
    spec = registry.get("stenciltorch")
    monkeypatch.setattr(serialize, "WEIGHTS_DIR", tmp_path / "weights")
    with pytest.raises(InkwashError, match="no shipped weights for 'stenciltorch'"):
        spec.open(None)
    with pytest.raises(InkwashError, match="unknown option"):
        spec.open(run, colour="red")
    with pytest.raises(InkwashError, match="missing"):
        spec.open(tmp_path)
    other = tmp_path / "pt"
    saved = serialize.read_model(run)
    serialize.save_model(other, "paintstorch", tr.make_config("paintstorch", "tiny").model, saved.tensors())
    with pytest.raises(InkwashError, match="a 'paintstorch' model, not stenciltorch"):
        spec.open(other)


# ---------------------------------------------------------------- command line




def test_train_cli_help_and_bad_data(tmp_path, cli):
    code, out, _ = cli(["train", "stenciltorch", "--help"])
    assert code == 0 and "inkwash train stenciltorch --data" in out
    code, _, err = cli(["train", "stenciltorch", "--data", str(tmp_path / "nowhere"), "--out",
                        str(tmp_path / "run"), "--preset", "tiny", "--size", "64"])
    assert code == 2 and "not a folder" in err and len(err.strip().splitlines()) == 1


def test_colorize_cli_runs_the_workflow_with_mask_and_base(trained, tmp_path, cli):
    run, _, _ = trained
    h, w = 48, 64
    Image.fromarray(lineart(h, w)).save(tmp_path / "lines.png")
    base = np.random.default_rng(2).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(base).save(tmp_path / "base.png")
    mask = np.zeros((h, w), np.uint8)
    mask[8:40, 16:56] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, _, err = cli(["colorize", str(tmp_path / "lines.png"), "--model", str(run), "--mask",
                        str(tmp_path / "mask.png"), "--base", str(tmp_path / "base.png"), "-o",
                        str(tmp_path / "out.png")])
    assert code == 0, err
    result = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert np.array_equal(result[mask == 0], base[mask == 0])
