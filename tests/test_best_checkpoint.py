"""The shared loop's held-out scoring: the best model is kept in RUN/best/ (not the last), survives a resume that
does worse, and is what `inkwash train publish` ships (unless --last); the held-out items are fixed test items."""

import json

import pytest
import torch
from safetensors.torch import load_file

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.publish import publish
from inkwash.train import paintstorch as pt
from inkwash.train import run as tr
from inkwash.train.loop import held_out_batches, validate

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny_cfg(steps, **extra):
    over = {"data.size": 64, "data.batch_size": 4, "data.workers": 0, "loop.steps": steps, "loop.log_every": 1,
            "loop.image_every": 0, "loop.val_every": 1, "loop.val_items": 4, "loop.ckpt_every": 1, **extra}
    return tr.make_config("paintstorch", "tiny", overrides=over)


def scripted(monkeypatch, scores):
    """PaintsTorch's held-out score replaced by a script: the n-th scoring returns scores[n]."""
    calls = []

    def held_out(self, batches):
        calls.append(len(batches))
        return {"score": scores[len(calls) - 1], "l1": 0.0}

    monkeypatch.setattr(pt.PaintsTorchTask, "held_out", held_out)
    return calls


def train(cfg, run, resume=False):
    return tr.train(cfg, "synthetic", run, resume=resume, progress=False, log=lambda s: None)


def test_the_best_held_out_model_is_kept_not_the_last(tmp_path, monkeypatch):
    calls = scripted(monkeypatch, [3.0, 1.0, 2.0])
    run = tmp_path / "run"
    out = train(tiny_cfg(3), run)
    assert calls == [1, 1, 1]  # steps 1, 2, 3; 4 held-out items in one batch of 4
    best = json.loads((run / "best" / "config.json").read_text())
    assert best["step"] == 2 and best["val"]["score"] == 1.0 and out["best"] == 1.0
    assert [r["step"] for r in json.loads((run / "val.json").read_text())] == [1, 2, 3]
    assert json.loads((run / "model" / "config.json").read_text())["step"] == 3  # the last is still exported
    # RUN/best/ holds step 2's weights: its checkpoint was kept (keep_checkpoints 2 = steps 2 and 3)
    ckpt = load_file(str(run / "checkpoints" / "step-00000002" / "weights.safetensors"))
    best_w = load_file(str(run / "best" / "model.safetensors"))
    last_w = load_file(str(run / "model" / "model.safetensors"))
    key = "g1.exit.weight"
    assert torch.equal(best_w[key], ckpt[key]) and not torch.equal(best_w[key], last_w[key])

    # a resumed run that scores worse leaves RUN/best/ alone; one that scores better replaces it
    calls.clear()
    scripted(monkeypatch, [5.0, 0.5])
    train(tiny_cfg(5), run, resume=True)
    best = json.loads((run / "best" / "config.json").read_text())
    assert best["step"] == 5 and best["val"]["score"] == 0.5
    assert [r["step"] for r in json.loads((run / "val.json").read_text())] == [1, 2, 3, 4, 5]


def test_publish_ships_the_best_and_says_why(tmp_path, monkeypatch):
    scripted(monkeypatch, [3.0, 1.0, 2.0])
    run = tmp_path / "run"
    train(tiny_cfg(3), run)
    dst = publish(run, tmp_path / "shipped")
    assert json.loads((dst / "config.json").read_text())["step"] == 2
    card = (dst / "MODEL_CARD.md").read_text()
    assert "**Checkpoint shipped**: step 2 of 3, the best held-out score (1; l1 0) over 3 scorings" in card
    assert "the last scored step (3) had 2" in card
    shipped = load_file(str(dst / "model.safetensors"))
    assert shipped["g1.exit.weight"].dtype == torch.float16
    assert torch.allclose(shipped["g1.exit.weight"].float(),
                          load_file(str(run / "best" / "model.safetensors"))["g1.exit.weight"], atol=1e-2)
    last = publish(run, tmp_path / "last", last=True)
    assert json.loads((last / "config.json").read_text())["step"] == 3


def test_no_held_out_scoring_without_val_every(tmp_path):
    run = tmp_path / "run"
    train(tiny_cfg(1, **{"loop.val_every": 0}), run)
    assert not (run / "best").exists() and not (run / "val.json").exists()
    card = (publish(run, tmp_path / "shipped") / "MODEL_CARD.md").read_text()
    assert "the last step (1; no held-out scoring in this run)" in card


def test_held_out_items_are_fixed_test_items_and_scoring_is_repeatable():
    test = ColorizationDataset(SyntheticIllustrations(n=10, size=64, seed=1), size=64, train=False)
    a = held_out_batches(test, 4, 3, torch.device("cpu"))
    b = held_out_batches(test, 4, 3, torch.device("cpu"))
    assert [len(x["illustration"]) for x in a] == [3, 1]  # items 0, 3, 6, 9 in batches of 3
    assert all(torch.equal(x["hints"], y["hints"]) for x, y in zip(a, b))
    assert torch.equal(a[1]["illustration"][0], test[9]["illustration"])
    cfg = tiny_cfg(1)
    torch.manual_seed(0)
    task = pt.PaintsTorchTask(cfg)
    nets = task.networks()
    first = validate(task, a, nets, seed=0)
    state = torch.random.get_rng_state()
    assert validate(task, a, nets, seed=0) == first and first["score"] == first["l1"] > 0
    assert torch.equal(torch.random.get_rng_state(), state)  # the training RNG is left as it was
    assert all(net.training for net in nets.values())


def test_a_stablepaint_stage_starts_from_the_previous_runs_best(tmp_path, monkeypatch):
    from inkwash.train import stablepaint as sp

    scores = iter([1.0, 2.0])
    monkeypatch.setattr(sp.StablePaintTask, "held_out", lambda self, batches: {"score": next(scores)})
    over = {"data.size": 64, "data.batch_size": 2, "data.workers": 0, "loop.log_every": 1, "loop.image_every": 0,
            "loop.val_every": 2, "loop.val_items": 2, "loop.ckpt_every": 2}
    ae = tr.make_config("stablepaint", "tiny", overrides={**over, "loop.steps": 4, "stage": "autoencoder"})
    train(ae, tmp_path / "ae")
    assert json.loads((tmp_path / "ae" / "best" / "config.json").read_text())["step"] == 2
    ctx = tr.make_config("stablepaint", "tiny", overrides={**over, "loop.steps": 1, "stage": "context",
                                                           "loop.val_every": 0, "previous": str(tmp_path / "ae")})
    task = sp.StablePaintTask(ctx)
    best = load_file(str(tmp_path / "ae" / "best" / "model.safetensors"))
    last = load_file(str(tmp_path / "ae" / "model" / "model.safetensors"))
    key = "encoder.stem.weight"
    assert not torch.equal(best[key], last[key])
    assert torch.equal(task.frozen["encoder"].stem.weight, best[key])
