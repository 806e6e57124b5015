"""The PaintsTorch trainer end to end on tiny synthetic data: learning, resume, NaN stop, config, CLI errors."""

import json

import pytest
import torch
from safetensors.torch import load_file

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.models.paintstorch import load_generator
from inkwash.train import paintstorch as pt
from inkwash.train import run as tr
from inkwash.train.config import to_dict
from inkwash.train.checkpoint import latest_checkpoint
from inkwash.train.config import parse_set


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny_cfg(steps, **extra):
    over = {"data.size": 64, "data.batch_size": 4, "data.workers": 0, "loop.steps": steps,
            "loop.log_every": 1, "loop.image_every": 0, **extra}
    return tr.make_config("paintstorch", "tiny", overrides=over)


def data(n=16, train=True):
    return ColorizationDataset(SyntheticIllustrations(n=n, size=64, seed=0), size=64, train=train, seed=0)


def weights(run):
    return load_file(str(latest_checkpoint(run) / "weights.safetensors"))


def test_generator_error_against_the_target_falls(tmp_path):
    # thesis lr 1e-4 needs thousands of steps; 1e-3 shows the trend within a few dozen
    cfg = tiny_cfg(48, **{"optim.lr": 1e-3, "loop.ckpt_every": 100})
    test = data(n=8, train=False)
    fixed = {k: torch.stack([test[i][k] for i in range(8)]) for k in test[0]}
    torch.manual_seed(cfg.loop.seed)  # the loop seeds the same way, so this is the run's initial G1
    start = pt.PaintsTorchTask(cfg)
    before = (start.colorize(fixed["lineart"], fixed["hints"]) - fixed["illustration"]).abs().mean().item()
    tr.train(cfg, data(32), tmp_path / "run", progress=False, log=lambda s: None)
    g1, f1, saved = load_generator(tmp_path / "run")
    with torch.no_grad():
        after = (g1(fixed["lineart"], fixed["hints"], f1(fixed["lineart"])) - fixed["illustration"]).abs().mean()
    assert after.item() < 0.9 * before, (before, after.item())
    trained_with = json.loads((tmp_path / "run" / "config.json").read_text())  # the run's training config
    assert saved.model["ngf"] == 8 and trained_with["loss"]["lambda_adv"] == 1e-4
    assert (tmp_path / "run" / "tb").is_dir()


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    # 16 images, batch 4: 4 steps per epoch, so the stop at step 3 falls mid-epoch
    full = tiny_cfg(6, **{"loop.ckpt_every": 3})
    tr.train(full, data(), tmp_path / "a", progress=False, log=lambda s: None)
    tr.train(tiny_cfg(3, **{"loop.ckpt_every": 3}), data(), tmp_path / "b", progress=False, log=lambda s: None)
    assert json.loads((tmp_path / "b" / "checkpoints" / "latest.json").read_text())["step"] == 3
    out = tr.train(tiny_cfg(6), data(), tmp_path / "b", resume=True, progress=False, log=lambda s: None)
    assert out["step"] == 6
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys()
    # same data order, same per-step random draws, restored Adam moments: bit-identical on one CPU thread
    for k in a:
        assert torch.equal(a[k], b[k]), k
    start = pt.PaintsTorchTask(full).networks()  # and training did move the weights
    assert not torch.equal(a["g1.exit.weight"], start["g1"].exit.weight)


def test_non_finite_loss_stops_with_names_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    real_step = pt.PaintsTorchTask.step
    calls = {"g1": 0}

    def poisoned(self, phase, batch, state):
        out = real_step(self, phase, batch, state)
        if phase == "g1":
            calls["g1"] += 1
            if calls["g1"] == 5:  # the 5th iteration (index 4) blows up
                out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(pt.PaintsTorchTask, "step", poisoned)
    with pytest.raises(InkwashError, match=r"non-finite loss at step 4, phase g1 \(loss=nan.*content=") as err:
        tr.train(tiny_cfg(10, **{"loop.ckpt_every": 2}), data(), tmp_path / "run", progress=False)
    assert "step-00000004" in str(err.value)
    good = weights(tmp_path / "run")
    assert latest_checkpoint(tmp_path / "run").name == "step-00000004"
    assert all(torch.isfinite(v).all() for v in good.values())


def test_runs_are_never_overwritten_and_corrupt_checkpoints_are_reported(tmp_path):
    run = tmp_path / "run"
    tr.train(tiny_cfg(1), data(), run, progress=False, log=lambda s: None)
    with pytest.raises(InkwashError, match="already exists; pass --resume"):
        tr.train(tiny_cfg(2), data(), run, progress=False)
    (latest_checkpoint(run) / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(InkwashError, match="corrupt or incompatible checkpoint"):
        tr.train(tiny_cfg(2), data(), run, resume=True, progress=False)
    with pytest.raises(InkwashError, match="no config.json"):
        tr.train(tiny_cfg(2), data(), tmp_path / "fresh", resume=True, progress=False)
    with pytest.raises(InkwashError, match="not a folder"):
        tr.train(tiny_cfg(2), str(tmp_path / "nowhere"), tmp_path / "other", progress=False)


def test_config_file_and_overrides_in_one_place(tmp_path):
    toml = tmp_path / "cfg.toml"
    toml.write_text('[loss]\nlambda_gp = 5\n[model]\ndilations = [1, 4]\n[loop]\nseed = 7\n')
    cfg = tr.make_config("paintstorch", "small", toml, parse_set(["loss.lambda_gp=2.5", "model.f2=seeded-vgg"]))
    assert cfg.loss.lambda_gp == 2.5 and cfg.model.dilations == (1, 4) and cfg.loop.seed == 7
    assert cfg.model.ngf == 32 and cfg.loss.lambda_adv == 1e-4 and cfg.optim.beta2 == 0.9  # thesis defaults stay
    again = tr.config_from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert again == cfg
    with pytest.raises(InkwashError, match="unknown setting"):
        tr.make_config(overrides={"loss.lambda_gradient": 1.0})
    with pytest.raises(InkwashError, match="not a valid int"):
        tr.make_config(overrides={"model.ngf": "wide"})
    with pytest.raises(InkwashError, match="key=value"):
        parse_set(["ngf"])


def test_crop_and_stroke_settings_reach_the_dataset(tmp_path):
    cfg = tr.make_config("paintstorch", "tiny", overrides=parse_set(
        ["data.size=64", "data.crop=32", "data.n_strokes=[3, 3]", "data.stroke_box=[4, 4]"]))
    ds = tr.open_dataset("synthetic", cfg)
    item = ds[0]
    assert item["illustration"].shape == (3, 32, 32) and item["hints"].shape == (4, 8, 8)
    assert ds.stroke_cfg.n_strokes == (3, 3) and ds.stroke_cfg.w_range == (4, 4)
    assert item["hints"][3].sum() > 0  # three strokes, always
    cfg.data.crop = 40
    with pytest.raises(InkwashError, match="multiple of 16"):
        tr.train(cfg, "synthetic", tmp_path / "run", progress=False)


def test_cli_trains_on_synthetic_data_and_refuses_to_overwrite(tmp_path, capsys):
    from inkwash.cli import main

    args = ["train", "alacgan", "--data", "synthetic", "--out", str(tmp_path / "run"), "--preset", "tiny",
            "--size", "64", "--steps", "2", "--batch-size", "2", "--workers", "0", "--device", "cpu"]
    with pytest.raises(SystemExit) as ok:
        main(args)
    assert ok.value.code == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["name"] == "alacgan" and saved["data"]["hints"] == "pixels" and not saved["model"]["use_g2"]
    exported = load_file(str(tmp_path / "run" / "model" / "model.safetensors"))
    assert set(k.split(".")[0] for k in exported) == {"g1", "f1"}
    with pytest.raises(SystemExit) as refused:
        main(args)
    assert refused.value.code == 2
    assert "already exists" in capsys.readouterr().err
