"""A training run folder's life: what a killed write leaves behind, and telling a run from an unfinished start.

    RUN/config.json        the training config, written first
    RUN/tb/                TensorBoard events
    RUN/checkpoints/       step-*/ and latest.json (inkwash.train.checkpoint)
    RUN/model/             the export: config.json + model.safetensors (inkwash.models.serialize)
    RUN/best/, val.json    the best held-out export and the held-out scores (loop.val_every)

A run killed before its first checkpoint is an *unfinished start*: a config.json, maybe TensorBoard events, nothing
trained. `--resume` starts it from step 0 and a new run into it starts it over; a folder holding a checkpoint is
never deleted, and nothing is removed but inkwash's own temporary names inside RUN, RUN/checkpoints and RUN/model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from inkwash.io import is_atomic_temp
from inkwash.train.checkpoint import is_partial_checkpoint

CONFIG = "config.json"
SUBFOLDERS = ("checkpoints", "model", "best")  # where our own writes go (and so our temporary files)
TB_EVENTS = "events.out.tfevents."


def is_run(run: Path) -> bool:
    """Does RUN look like a training run folder (its config or checkpoints)?"""
    return (run / CONFIG).is_file() or (run / "checkpoints").is_dir()


def sweep(run: Path) -> list[Path]:
    """Remove what interrupted writes left (atomic_path temporary files, partial checkpoint folders) from RUN,
    RUN/checkpoints and RUN/model -> the paths removed. Symbolic links and other names are left alone."""
    removed = []
    for folder in (run, *(run / s for s in SUBFOLDERS)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for p in sorted(folder.iterdir()):
            if p.is_symlink():
                continue
            if p.is_file() and is_atomic_temp(p.name):
                p.unlink()
            elif folder.name == "checkpoints" and p.is_dir() and is_partial_checkpoint(p.name):
                shutil.rmtree(p)
            else:
                continue
            removed.append(p)
    return removed


def _only_events(tb: Path) -> bool:
    return all(p.is_file() and not p.is_symlink() and p.name.startswith(TB_EVENTS) for p in tb.iterdir())


def unfinished_start(run: Path) -> bool:
    """Does RUN hold only a start that wrote no checkpoint: a config.json, TensorBoard events, empty checkpoints/
    and model/ folders (after `sweep`)? Any other file, or any checkpoint, says no."""
    for p in run.iterdir():
        if p.is_symlink():
            return False
        if p.name == CONFIG and p.is_file():
            continue
        if p.name == "tb" and p.is_dir() and _only_events(p):
            continue
        if p.name in SUBFOLDERS and p.is_dir() and not any(p.iterdir()):
            continue
        return False
    return True


def clear_start(run: Path) -> list[Path]:
    """Remove the TensorBoard events of an unfinished start that is starting over (its curves would otherwise be
    drawn under the new ones) -> the paths removed."""
    tb = run / "tb"
    if not tb.is_dir() or tb.is_symlink() or not _only_events(tb):
        return []
    removed = sorted(tb.iterdir())
    for p in removed:
        p.unlink()
    return removed


__all__ = ["is_run", "sweep", "unfinished_start", "clear_start"]
