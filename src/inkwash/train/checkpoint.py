"""Checkpoints that survive a crash: weights and optimizer state in safetensors, the rest in a small JSON.

    RUN/checkpoints/step-00001000/weights.safetensors    "<net>.<param>" for every trainable network
    RUN/checkpoints/step-00001000/optimizer.safetensors  "<opt>/<param index>/<name>" (Adam moments, step)
    RUN/checkpoints/step-00001000/state.json             step, epoch, config, optimizer param groups
    RUN/checkpoints/latest.json                          {"step": 1000, "dir": "step-00001000"}

A checkpoint directory is filled under a temporary name (`.step-00001000.XXXXXXXX`), its files and the folder
flushed to the disk (fsync), then renamed, then `latest.json` is replaced atomically and durably, so a crash or a
power cut at any point leaves the previous checkpoint as the latest complete one. A kill between the rename and
the pointer leaves a complete step-* folder that `latest_checkpoint` finds without the pointer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from inkwash.errors import InkwashError
from inkwash.io import atomic_path, fsync_path

LATEST = "latest.json"
FILES = ("weights.safetensors", "optimizer.safetensors", "state.json")
_PARTIAL = re.compile(r"\.step-\d+\.[a-z0-9_]{8}")  # save_checkpoint's mkdtemp names


def is_partial_checkpoint(name: str) -> bool:
    """Is `name` the temporary folder of a checkpoint whose writing was interrupted?"""
    return _PARTIAL.fullmatch(name) is not None


@dataclass
class Checkpoint:
    path: Path
    step: int
    meta: dict


def _flatten_optimizer(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> (tensors for safetensors, JSON-ready rest)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}/{pid}/{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{pid}/{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(name: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        opt_name, pid, field = key.split("/", 2)
        if opt_name == name:
            state.setdefault(int(pid), {})[field] = value
    for key, value in meta["scalars"].items():
        pid, field = key.split("/", 1)
        state.setdefault(int(pid), {})[field] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """Directory of the newest complete checkpoint of a run (latest.json's, or without it the newest step-*
    folder: a kill can fall between a checkpoint's rename and its pointer), or None."""
    pointer = Path(run_dir) / "checkpoints" / LATEST
    if not pointer.is_file():
        steps = sorted(d for d in pointer.parent.glob("step-*") if all((d / f).is_file() for f in FILES))
        return steps[-1] if steps else None
    try:
        return pointer.parent / json.loads(pointer.read_text())["dir"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise InkwashError(f"{pointer}: corrupt checkpoint pointer ({exc}); point it at a step-* folder") from None


def save_checkpoint(run_dir: str | Path, step: int, nets: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer], meta: dict, keep: int = 2) -> Path:
    """Write checkpoint `step` atomically, point latest.json at it, keep the newest `keep`; returns its folder."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    try:
        weights = {f"{n}.{k}": v.detach().contiguous().cpu() for n, net in nets.items()
                   for k, v in net.state_dict().items()}
        save_file(weights, str(tmp / "weights.safetensors"), metadata={"step": str(step)})
        opt_tensors, opt_meta = {}, {}
        for name, opt in optimizers.items():
            t, m = _flatten_optimizer(name, opt)
            opt_tensors.update(t)
            opt_meta[name] = m
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"), metadata={"step": str(step)})
        (tmp / "state.json").write_text(json.dumps({"step": step, **meta, "optimizers": opt_meta}, indent=1))
        for name in FILES:  # on the disk before the rename makes them the checkpoint
            fsync_path(tmp / name)
        fsync_path(tmp)
        if final.exists():  # a re-save of the same step (resumed then stopped at once)
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_path(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    with atomic_path(root / LATEST, overwrite=True, durable=True) as p:
        p.write_text(json.dumps({"step": step, "dir": final.name}))
    olds = sorted(d for d in root.glob("step-*") if d.is_dir() and d != final)
    for d in olds[: max(0, len(olds) - (keep - 1))]:
        shutil.rmtree(d, ignore_errors=True)
    return final


def load_checkpoint(path: str | Path, nets: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer]) -> Checkpoint:
    """Restore networks and optimizers in place from a checkpoint folder; one-line error if it is damaged."""
    path = Path(path)
    try:
        meta = json.loads((path / "state.json").read_text())
        weights = load_file(str(path / "weights.safetensors"))
        opt_tensors = load_file(str(path / "optimizer.safetensors"))
        for name, net in nets.items():
            prefix = f"{name}."
            net.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
        for name, opt in optimizers.items():
            opt.load_state_dict(_unflatten_optimizer(name, opt_tensors, meta["optimizers"][name]))
    except (OSError, KeyError, ValueError, RuntimeError, SafetensorError, json.JSONDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InkwashError(f"{path}: corrupt or incompatible checkpoint ({msg}); "
                           "delete it and resume from an older step-* folder") from None
    return Checkpoint(path, int(meta["step"]), meta)
