"""Shared test helpers: the CLI run the way a user runs it, and one torch thread for speed on 2 cores."""

import json
from pathlib import Path

import pytest
import torch

from inkwash.cli import main
from inkwash.train.config import to_dict
from inkwash.train.loop import export
from inkwash.train.paintstorch import PaintsTorchTask
from inkwash.train.run import make_config


@pytest.fixture
def cli(capsys):
    """cli(args) -> (exit code, stdout, stderr) of `inkwash ARGS`, exit code 0 when it returns normally."""

    def run(args: list[str]) -> tuple[int, str, str]:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run


@pytest.fixture
def run(cli):
    """run(args) -> (exit code, stderr): the CLI tests look at errors only."""

    def go(args):
        code, _, err = cli(args)
        return code, err

    return go


@pytest.fixture
def one_thread():
    """Torch on one thread: with two cores shared with other jobs, several times faster for tiny models."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """An (untrained) tiny PaintsTorch run folder laid out as `inkwash train` writes it."""
    torch.manual_seed(0)
    run_dir = tmp_path_factory.mktemp("run")
    cfg = make_config("paintstorch", "tiny", overrides={"data.size": 64})
    task = PaintsTorchTask(cfg)
    export(task, run_dir, 3)  # RUN/model/{config.json, model.safetensors}
    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg)))
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "latest.json").write_text('{"step": 3, "dir": "step-00000003"}')
    return run_dir
