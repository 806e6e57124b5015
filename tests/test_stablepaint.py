"""StablePaint on tiny synthetic data: each training stage learns, the sampler's strength dial (0 = the decoded
context latent), seeds as variations, in-painting through `Colorizer`, and the CLI's sampling options."""

import numpy as np
import pytest
import torch
from PIL import Image

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.infer import Colorizer
from inkwash.diffusion import CosineSchedule, SamplerConfig, timesteps_for
from inkwash.models.stablepaint import StablePaint, context_input, load_stablepaint
from inkwash.train import run as tr
from inkwash.train.stablepaint import STAGES, StablePaintTask

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py

S = 32  # px; latents 4x4
LR = {"autoencoder": 3e-3, "context": 3e-3, "noise": 2e-3}  # the 1e-4 default needs thousands of steps


def tiny_cfg(stage, steps=1, previous=""):
    over = {"data.size": S, "data.batch_size": 4, "data.workers": 0, "loop.steps": steps, "loop.log_every": 1,
            "loop.image_every": 0, "loop.ckpt_every": 1000, "stage": stage, "previous": str(previous),
            "optim.lr": LR[stage]}
    return tr.make_config("stablepaint", "tiny", overrides=over)


def data(n=16, train=True, seed=0):
    return ColorizationDataset(SyntheticIllustrations(n=n, size=S, seed=seed), size=S, train=train, seed=0)


def fixed_batch():
    test = data(8, train=False, seed=99)
    return {k: torch.stack([test[i][k] for i in range(8)]) for k in test[0]}


def stage_loss(task, batch):
    """The stage's loss on a fixed batch, averaged over 4 fixed draws of masks, t and noise."""
    torch.manual_seed(123)
    with torch.no_grad():
        return float(sum(task.step(task.phases[0], batch, {})["loss"] for _ in range(4)) / 4)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three stages trained in turn (30-100 steps), with each stage's loss before and after training."""
    torch.set_num_threads(1)
    root, batch = tmp_path_factory.mktemp("sp"), fixed_batch()
    out, losses, previous = {}, {}, ""
    for stage, steps in (("autoencoder", 40), ("context", 30), ("noise", 100)):
        cfg = tiny_cfg(stage, steps, previous)
        torch.manual_seed(cfg.loop.seed)  # the loop seeds the same way: the run's initial state
        before = stage_loss(StablePaintTask(cfg), batch)
        tr.train(cfg, data(32), root / stage, progress=False, log=lambda _: None)
        task = StablePaintTask(cfg)
        nets, _, _ = load_stablepaint(root / stage, need=STAGES[stage])
        for name, net in nets.items():
            task.nets[name].load_state_dict(net.state_dict())
        losses[stage] = (before, stage_loss(task, batch))
        out[stage] = previous = root / stage
    return out, losses


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_stage_learns(runs, stage):
    before, after = runs[1][stage]
    assert after < 0.8 * before, (stage, before, after)


def test_stages_chain_and_export_everything_so_far(runs, tmp_path):
    from safetensors.torch import load_file

    keys = {k.split(".")[0] for k in load_file(str(runs[0]["noise"] / "model" / "model.safetensors"))}
    assert keys == {"encoder", "decoder", "context", "unet"}
    assert {k.split(".")[0] for k in load_file(str(runs[0]["context"] / "model" / "model.safetensors"))} == \
        {"encoder", "decoder", "context"}
    with pytest.raises(InkwashError, match="train the noise stage"):
        Colorizer.from_pretrained(str(runs[0]["context"]))
    with pytest.raises(InkwashError, match="--previous"):
        StablePaintTask(tiny_cfg("noise"))
    other = tiny_cfg("context", previous=runs[0]["autoencoder"])
    other.model.ae_width = 16
    with pytest.raises(InkwashError, match="ae_width"):
        StablePaintTask(other)


def test_cosine_schedule_and_step_counts():
    sched = CosineSchedule(1000)
    ab = sched.alpha_bar
    assert ab[0] > 0.999 and ab[-1] < 1e-6 and bool((ab[1:] < ab[:-1]).all())
    assert timesteps_for(sched, 20, 0.0) == []
    assert len(timesteps_for(sched, 20, 1.0)) == 20 and timesteps_for(sched, 20, 1.0)[0] == 999
    half = timesteps_for(sched, 20, 0.5)
    assert len(half) == 20 and half[0] == 499 and half[-1] == 0  # --steps is the number of evaluations


def test_strength_zero_is_the_decoded_context_latent(runs):
    nets, mcfg, _ = load_stablepaint(runs[0]["noise"])
    pipe, b = StablePaint(nets, mcfg), fixed_batch()
    c, m, h = b["lineart"].expand(-1, 3, -1, -1), torch.ones_like(b["lineart"]), b["hints"]
    expected = nets["decoder"](nets["context"](context_input(c, m, h)))
    for seed in (0, 1):
        assert torch.equal(pipe(c, m, h, SamplerConfig(strength=0.0), seed=seed), expected)
    sampled = pipe(c, m, h, SamplerConfig(steps=4, strength=0.5), seed=0)
    assert sampled.shape == expected.shape and not torch.equal(sampled, expected)


def lineart_and_hints(tmp_path):
    item = data(1, train=False, seed=7)[0]
    lines = ((item["lineart"][0].numpy() + 1) * 127.5).round().astype(np.uint8)
    hints = np.zeros((S, S, 4), np.uint8)
    hints[8:14, 8:20] = (255, 0, 0, 255)
    Image.fromarray(lines).save(tmp_path / "lines.png")
    Image.fromarray(hints, "RGBA").save(tmp_path / "hints.png")
    return tmp_path / "lines.png", tmp_path / "hints.png"


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_seeds_are_reproducible_variations(runs, tmp_path, sampler):
    lines, hints = lineart_and_hints(tmp_path)
    col = Colorizer.from_pretrained(str(runs[0]["noise"]), steps=3, strength=0.8, sampler=sampler)
    a, again, b = (np.asarray(col.colorize(lines, hints, seed=s)) for s in (1, 1, 2))
    assert np.array_equal(a, again)
    assert not np.array_equal(a, b)


def test_inpainting_keeps_the_base_outside_the_mask(runs, tmp_path):
    lines, hints = lineart_and_hints(tmp_path)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    mask = np.zeros((S, S), np.uint8)
    mask[4:20, 6:26] = 255
    col = Colorizer.from_pretrained(str(runs[0]["noise"]), steps=3, strength=1.0)
    out = np.asarray(col.colorize(lines, hints, mask=Image.fromarray(mask), base=Image.fromarray(base), seed=0))
    assert np.array_equal(out[mask == 0], base[mask == 0])
    assert not np.array_equal(out[mask > 0], base[mask > 0])


def test_cli_variations_write_one_file_per_seed(runs, tmp_path, cli):
    lines, hints = lineart_and_hints(tmp_path)
    out = tmp_path / "out.png"
    code, _, err = cli(["colorize", str(lines), "--hints", str(hints), "--model", str(runs[0]["noise"]),
                        "--steps", "2", "--strength", "0.7", "--variations", "2", "--seed", "5", "-o", str(out)])
    assert code == 0, err
    v1, v2 = (np.asarray(Image.open(tmp_path / f"out_v{i}.png")) for i in (1, 2))
    assert v1.shape == (S, S, 3) and not np.array_equal(v1, v2) and not out.exists()
    sheet = np.asarray(Image.open(tmp_path / "out_variations.png"))  # the two side by side, 8 px apart
    assert np.array_equal(sheet[8:8 + S, 8:8 + S], v1) and np.array_equal(sheet[8:8 + S, 16 + S:16 + 2 * S], v2)
    code, _, err = cli(["colorize", str(lines), "--hints", str(hints), "--model", str(runs[0]["noise"]),
                        "--variations", "2", "-o", str(out)])
    assert code == 2 and "already exists" in err


def test_cli_refuses_sampling_options_for_models_that_do_not_sample(tmp_path, cli):
    lines, _ = lineart_and_hints(tmp_path)
    code, _, err = cli(["colorize", str(lines), "--method", "lazybrush", "--steps", "5", "-o",
                        str(tmp_path / "o.png")])
    assert code == 2 and "apply to models that sample" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(InkwashError, match="strength"):
        SamplerConfig(strength=1.5).check()


def test_cli_trains_a_stage_from_the_previous_run(runs, tmp_path, cli):
    out = tmp_path / "ctx"
    code, _, err = cli(["train", "stablepaint", "--stage", "context", "--previous", str(runs[0]["autoencoder"]),
                        "--data", "synthetic", "--out", str(out), "--preset", "tiny", "--size", str(S),
                        "--steps", "1", "--batch-size", "2", "--workers", "0", "--device", "cpu"])
    assert code == 0, err
    assert (out / "model" / "model.safetensors").is_file()
    code, _, err = cli(["train", "stablepaint", "--stage", "noise", "--data", "synthetic", "--out",
                        str(tmp_path / "n"), "--preset", "tiny", "--size", str(S), "--steps", "1"])
    assert code == 2 and "--previous" in err


def test_the_web_app_passes_steps_strength_and_seed_to_a_sampling_model(runs, tmp_path):
    import io

    from fastapi.testclient import TestClient

    from inkwash.app.server import ServerConfig, create_app

    lines, hints = lineart_and_hints(tmp_path)
    key = str(runs[0]["noise"])
    app = create_app(ServerConfig(default_model=key, models=(key,)))

    def colour(client, **fields):
        files = {"lineart": ("l.png", lines.read_bytes(), "image/png"), "hints": ("h.png", hints.read_bytes(),
                                                                                  "image/png")}
        r = client.post("/api/colorize", files=files, data={"model": key, **{k: str(v) for k, v in fields.items()}})
        assert r.status_code == 200, r.text
        return np.asarray(Image.open(io.BytesIO(r.content)))

    with TestClient(app, base_url="http://127.0.0.1") as client:
        info = client.get("/api/info").json()
        offered = next(m for m in info["models"] if m["key"] == key)
        assert set(offered["options"]) == {"steps", "strength", "seed"} and offered["uses_mask"]
        a, again = (colour(client, steps=2, strength=0.9, seed=1) for _ in range(2))
        b = colour(client, steps=2, strength=0.9, seed=2)
        context = colour(client, steps=2, strength=0.0, seed=2)  # strength 0: the context, whatever the seed
        assert np.array_equal(a, again) and not np.array_equal(a, b)
        assert np.array_equal(context, colour(client, steps=2, strength=0.0, seed=3))
        r = client.post("/api/colorize", files={"lineart": ("l.png", lines.read_bytes(), "image/png")},
                        data={"model": key, "strength": "1.5"})
        assert r.status_code == 400 and "strength" in r.text
