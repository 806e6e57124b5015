"""Training run folders survive kills: a run killed before its first checkpoint resumes (from step 0) or starts
over, a folder with checkpoints or foreign files is never reused, what interrupted writes left is swept, a
checkpoint is found without its pointer, and checkpoints and exports are flushed to the disk (fsync)."""

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.synthetic import SyntheticIllustrations
from inkwash.errors import InkwashError
from inkwash.io import atomic_path, is_atomic_temp
from inkwash.train import paintstorch as pt
from inkwash.train import run as tr
from inkwash.train.checkpoint import latest_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny_cfg(steps, **extra):
    over = {"data.size": 64, "data.batch_size": 4, "data.workers": 0, "loop.steps": steps,
            "loop.log_every": 1, "loop.image_every": 0, **extra}
    return tr.make_config("paintstorch", "tiny", overrides=over)


def data(n=16):
    return ColorizationDataset(SyntheticIllustrations(n=n, size=64, seed=0), size=64, train=True, seed=0)


def train(run, steps, resume=False, **extra) -> list[str]:
    """Train the tiny model into RUN -> the messages it logged."""
    logs: list[str] = []
    tr.train(tiny_cfg(steps, **extra), data(), run, resume=resume, progress=False, log=logs.append)
    return logs


def killed_in_its_first_step(run: Path, monkeypatch) -> None:
    """Start a run and kill it (Ctrl+C) during its first training step: no checkpoint is written."""
    def killed(self, phase, batch, state):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(pt.PaintsTorchTask, "step", killed)
        with pytest.raises(KeyboardInterrupt):
            train(run, 2)
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "tb"] and latest_checkpoint(run) is None


def weights(run):
    return load_file(str(latest_checkpoint(run) / "weights.safetensors"))


# ------------------------------------------------------------------------------------- unfinished starts
def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_from_step_0(tmp_path, monkeypatch):
    run = tmp_path / "run"
    killed_in_its_first_step(run, monkeypatch)
    logs = train(run, 2, resume=True)
    assert any("stopped before its first checkpoint; starting it from step 0" in m for m in logs), logs
    assert latest_checkpoint(run).name == "step-00000002"
    assert len(list((run / "tb").iterdir())) == 1  # the killed start's events went, the new run's are there
    train(tmp_path / "clean", 2)
    a, b = weights(run), weights(tmp_path / "clean")
    assert all(torch.equal(a[k], b[k]) for k in a)  # exactly an uninterrupted run


def test_a_new_run_into_an_unfinished_start_starts_it_over(tmp_path, monkeypatch):
    run = tmp_path / "run"
    killed_in_its_first_step(run, monkeypatch)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / ".step-00000002.abcd1234").mkdir()  # killed while writing its first checkpoint
    logs = train(run, 1, **{"optim.lr": 5e-4})
    assert any("unfinished start" in m and "starting it over" in m for m in logs), logs
    assert latest_checkpoint(run).name == "step-00000001"
    assert '"lr": 0.0005' in (run / "config.json").read_text()  # this run's config, not the killed one's


def test_folders_with_checkpoints_or_foreign_files_are_never_reused(tmp_path):
    run = tmp_path / "run"
    train(run, 1)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    with pytest.raises(InkwashError, match="already exists; pass --resume"):
        train(run, 1)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(InkwashError, match="already exists"):
        train(mine, 1)
    assert (mine / "notes.txt").read_text() == "my notes" and (mine / "config.json").read_text() == "{}"


# ------------------------------------------------------------------------------------------ partial writes
def test_temporary_files_of_interrupted_writes_are_swept_and_nothing_else(tmp_path):
    run = tmp_path / "run"
    train(run, 1)
    litter = [run / "checkpoints" / ".step-00000002.x1y2z3_4", run / "checkpoints" / ".latest.json.ab12cd34.tmp.json",
              run / "model" / ".model.safetensors.k9_8m7n6.tmp.safetensors", run / ".config.json.q1w2e3r4.tmp.json"]
    litter[0].mkdir()
    (litter[0] / "weights.safetensors").write_bytes(b"half")
    for p in litter[1:]:
        p.write_bytes(b"")
    kept = [run / "notes.txt", run / ".hidden", run / "tb" / ".x.abcdefgh.tmp", run / "checkpoints" / ".step-notes",
            tmp_path / ".config.json.q1w2e3r4.tmp.json"]  # the last: outside the run folder
    for p in kept:
        p.write_text("not ours to remove")
    logs = train(run, 2, resume=True)
    assert not any(p.exists() for p in litter)
    assert all(p.read_text() == "not ours to remove" for p in kept)
    assert any("removed 4 temporary files of interrupted writes" in m for m in logs), logs
    assert latest_checkpoint(run).name == "step-00000002"


def test_atomic_temp_names_are_recognised(tmp_path):
    seen = []
    with atomic_path(tmp_path / "model.safetensors") as tmp:
        seen.append(tmp.name)
        tmp.write_bytes(b"x")
    assert is_atomic_temp(seen[0])
    assert not any(is_atomic_temp(n) for n in ("model.safetensors", ".hidden", "config.json", ".step-00000001.ab"))


def test_a_checkpoint_is_found_without_its_pointer(tmp_path):
    run = tmp_path / "run"
    train(run, 2, **{"loop.ckpt_every": 1})
    (run / "checkpoints" / "latest.json").unlink()  # killed between the rename and the pointer
    assert latest_checkpoint(run).name == "step-00000002"
    logs = train(run, 3, resume=True)
    assert latest_checkpoint(run).name == "step-00000003" and not any("step 0" in m for m in logs)


# -------------------------------------------------------------------------------------------------- fsync
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names fsynced files through /proc")
def test_checkpoints_and_exports_are_flushed_to_the_disk(tmp_path, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def counting_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    run = tmp_path / "run"
    train(run, 1)
    names = [Path(p).name for p in synced]
    for name in ("weights.safetensors", "optimizer.safetensors", "state.json", "checkpoints", "model"):
        assert name in names, names
    partial = [n for n in names if n.startswith(".step-00000001.")]
    assert partial, names  # the checkpoint's folder, before its rename
    for target in ("latest.json", "model.safetensors", "config.json"):  # temp files of durable atomic writes
        assert any(n.startswith(f".{target}.") and is_atomic_temp(n) for n in names), (target, names)
    assert str(run) in synced and names.count("model") >= 2  # folders after the renames in them
