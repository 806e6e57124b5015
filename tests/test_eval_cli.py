"""`inkwash evaluate` end to end on a tiny synthetic test folder: outputs, resume, bad inputs."""

import csv
import json

import numpy as np
import pytest
import torch

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.evaluate.run import EvalConfig, Evaluation
from inkwash.infer import Colorizer
from inkwash.models import registry
from inkwash.models.spec import Capabilities, ModelSpec

SIZE = "64"




@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("test-images")
    imgs = SyntheticIllustrations(4, 80, seed=3)
    for i in range(4):
        imgs[i].save(folder / f"img{i}.png")
    return folder


@pytest.fixture
def count_calls(monkeypatch):
    calls = []
    original = Colorizer.colorize

    def counting(self, lineart, hints=None, *args, **kwargs):
        calls.append(self.name)
        return original(self, lineart, hints, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "colorize", counting)
    return calls


class GreyBackend:
    """A stand-in second model: paints everything mid-grey."""

    resolution, multiple, hint_scale, lines_over = None, 1, 1, False

    def __init__(self, weights=None):
        pass

    def run(self, canvas, seed):
        return np.full(canvas.lines.shape + (3,), 0.5, np.float32)


def evaluate_args(data, out, *extra):
    return ["evaluate", "--data", str(data), "--model", "lazybrush", "-o", str(out), "--size", SIZE,
            "--batch-size", "3", *extra]


def test_end_to_end_then_resume(data, tmp_path, cli, count_calls):
    out = tmp_path / "report"
    code, stdout, err = cli(evaluate_args(data, out))
    assert code == 0, err
    assert len(count_calls) == 4 * 3  # 4 images x 3 conditions
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    oracle_rows = [r for r in rows if "oracle" in r["model"]]  # the flat oracles come as rows of their own
    assert [r["condition"] for r in oracle_rows[:3]] == ["none", "hints", "full"]
    assert all(float(r["de2000"]) >= 0 for r in oracle_rows)
    rows = [r for r in rows if "oracle" not in r["model"]]
    assert [r["condition"] for r in rows] == ["none", "hints", "full"]
    assert all(r["model"] == "lazybrush" and r["n_images"] == "4" for r in rows)
    assert all(float(r["fid"]) >= 0 and 0 <= float(r["lpips"]) <= 1 and 0 <= float(r["ssim"]) <= 1 for r in rows)
    assert rows[0]["hint_de2000"] == "" and float(rows[2]["hint_de2000"]) >= 0  # no hints, no fidelity
    assert "seeded-convnet-v1" in rows[0]["fid_extractor"] and "lpips-alex-seeded" in rows[0]["lpips_network"]
    md = (out / "metrics.md").read_text()
    assert "| Model | No Hints | Hints | Full Hints | Mean |" in md and "*FID* ↓" in md and "seeded-convnet" in md
    assert "| lazybrush |" in stdout
    for cond in ("none", "hints", "full"):
        assert (out / f"grid_{cond}.png").is_file()
        assert len(list((out / "outputs" / "lazybrush" / cond).glob("*.png"))) == 4

    # a second run finds everything done; after losing one output and its record, it redoes only that
    count_calls.clear()
    assert cli(evaluate_args(data, out))[0] == 0
    assert count_calls == []
    (out / "outputs/lazybrush/hints/00002.png").unlink()
    (out / "records/lazybrush/hints/00002.json").unlink()
    assert cli(evaluate_args(data, out))[0] == 0
    assert count_calls == ["lazybrush"]
    assert list(csv.DictReader((out / "metrics.csv").open()))[:3] == rows  # same numbers as before
    # a record from an older metrics version is recomputed from the cached output, without colouring again
    stale = out / "records/lazybrush/full/00001.json"
    stale.write_text(json.dumps(dict(json.loads(stale.read_text()), v=0, psnr=-1.0)))
    count_calls.clear()
    assert cli(evaluate_args(data, out))[0] == 0
    assert count_calls == [] and json.loads(stale.read_text())["psnr"] > 0
    assert list(csv.DictReader((out / "metrics.csv").open()))[:3] == rows

    # adding a model colours only that model's images
    if not registry.known("grey"):
        registry.register(ModelSpec("grey", "mid-grey everywhere", opener=GreyBackend,
                                    capabilities=Capabilities(trainable=False, weights="none")))
    count_calls.clear()
    code, _, err = cli(evaluate_args(data, out, "--model", "grey"))
    assert code == 0, err
    assert count_calls == ["grey"] * 12
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if "oracle" not in r["model"]]
    assert [r["model"] for r in rows] == ["lazybrush"] * 3 + ["grey"] * 3
    assert float(rows[5]["hint_de2000"]) > float(rows[2]["hint_de2000"])  # grey ignores the full hints


def test_inputs_follow_the_dataset_test_recipe(data, tmp_path):
    ev = Evaluation(data, ["lazybrush"], tmp_path / "r", EvalConfig(size=64, seed=5, grid_rows=0))
    ev.check_folder()
    s = ev.sample(1)
    item = ColorizationDataset(ev.store, size=64, train=False, seed=5)[ev.indices[1]]
    lineart = ((item["lineart"][0].numpy() + 1) * 127.5 + 0.5).astype(np.uint8)
    assert np.array_equal(np.asarray(s.lineart), lineart)
    assert s.hints.shape == (16, 16, 4) and s.full.shape == (16, 16, 4) and (s.full[..., 3] == 1).all()
    mask = item["hints"][3].numpy()
    assert np.array_equal(s.hints[..., 3], mask)
    again = ev.sample(1)  # read back from OUT/inputs: identical
    assert np.array_equal(again.hints, s.hints) and np.array_equal(np.asarray(again.target), np.asarray(s.target))


def test_prepared_dataset_uses_its_test_split(tmp_path, cli):
    root = tmp_path / "prepared"
    (root / "images").mkdir(parents=True)
    imgs = SyntheticIllustrations(5, 64, seed=4)
    items = []
    for i in range(5):
        imgs[i].save(root / "images" / f"{i}.png")
        items.append({"id": f"n{i}", "split": "test" if i < 2 else "train", "file": f"images/{i}.png"})
    (root / "index.json").write_text(json.dumps({"format": "inkwash-prepared/1", "items": items}))
    out = tmp_path / "r"
    code, _, err = cli(["evaluate", "--data", str(root), "--model", "lazybrush", "-o", str(out), "--size", "32",
                        "--conditions", "hints", "--grid", "0"])
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["images"] == ["n0", "n1"]
    assert not list(out.glob("grid_*.png"))


BAD_INPUTS = [
    (["--data", "/nonexistent/folder"], "no such folder"),
    (["--model", "no-such-model"], "unknown model"),
    (["--conditions", "none,sketchy"], "unknown condition"),
    (["--size", "62"], "multiple of 4"),
    (["--batch-size", "0"], "at least 1"),
    (["--lpips-net", "squeeze"], "alex or vgg"),
    (["--fid-weights", "/nonexistent/pt_inception.pth"], "no such file"),
] + ([] if torch.cuda.is_available() else [(["--device", "cuda"], "no CUDA")])


@pytest.mark.parametrize("extra, message", BAD_INPUTS)
def test_bad_inputs_exit_2_with_one_line(data, tmp_path, cli, extra, message):
    args = ["evaluate", "--data", str(data), "--model", "lazybrush", "-o", str(tmp_path / "r"), "--size", SIZE]
    if "--data" in extra or "--model" in extra:  # replace, do not repeat
        flag = extra[0]
        i = args.index(flag)
        args[i + 1] = extra[1]
        extra = []
    code, _, err = cli(args + extra)
    assert code == 2
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and message in err


def test_foreign_or_mismatched_report_folder_is_refused(data, tmp_path, cli):
    empty = tmp_path / "empty-images"
    empty.mkdir()
    code, _, err = cli(evaluate_args(empty, tmp_path / "r0"))
    assert code == 2 and "no images" in err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes")
    code, _, err = cli(evaluate_args(data, foreign))
    assert code == 2 and "not empty" in err and (foreign / "notes.txt").exists()
    out = tmp_path / "r"
    assert cli(evaluate_args(data, out, "--conditions", "none", "--grid", "0"))[0] == 0
    code, _, err = cli(evaluate_args(data, out, "--conditions", "none", "--seed", "9"))
    assert code == 2 and "other settings (seed differ)" in err


def test_cached_outputs_of_a_changed_model_are_made_again(data, tmp_path, cli, count_calls, monkeypatch):
    out = tmp_path / "report"
    args = evaluate_args(data, out, "--conditions", "hints")
    assert cli(args)[0] == 0 and count_calls == ["lazybrush"] * 4
    fp = json.loads((out / "outputs/lazybrush/fingerprint.json").read_text())
    assert fp["model"] == "lazybrush" and fp["pipeline"]["version"] >= 1
    count_calls.clear()
    assert cli(args)[0] == 0 and count_calls == []  # same model, same pipeline: all cached
    import inkwash.infer

    monkeypatch.setattr(inkwash.infer, "PIPELINE_VERSION", fp["pipeline"]["version"] + 1)  # a default changed
    code, stdout, err = cli(args)
    assert code == 0, err
    assert count_calls == ["lazybrush"] * 4  # coloured and scored anew, not mixed with the old outputs
    assert "made and scored anew" in (out / "metrics.md").read_text()


def test_a_model_fingerprint_follows_its_weights_and_settings(tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    from inkwash.evaluate.run import model_fingerprint
    from inkwash.models.serialize import WEIGHTS, WEIGHTS_DIR

    folder = tmp_path / "pt"
    shutil.copytree(WEIGHTS_DIR / "paintstorch", folder)
    before = model_fingerprint(str(folder))
    assert before == model_fingerprint(str(folder))
    assert model_fingerprint(f"{folder}:unhinted=paper") != before
    tensors = load_file(str(folder / WEIGHTS))
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name] = tensors[name] * 1.01  # retrained weights in the same folder
    save_file(tensors, str(folder / WEIGHTS))
    assert model_fingerprint(str(folder))["files"] != before["files"]
    assert model_fingerprint("paintstorch")["files"] == before["files"]  # the shipped weights are those copied
