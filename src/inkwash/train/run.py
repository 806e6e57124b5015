"""Training any registered model: settings, the run folder, the data, and the shared loop.

    from inkwash.train.run import make_config, train
    cfg = make_config("paintstorch", "tiny", overrides={"data.size": 64, "loop.steps": 50})
    train(cfg, "synthetic", "runs/smoke")

A model's spec (inkwash.models.registry) names its trainer module, which holds `CONFIG` (a TrainConfig class),
`TASK` (a Task class) and optionally `SIZE_PRESETS`; everything here is the same for every model. The CLI's
`inkwash train NAME` commands are generated from the specs and end here.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from inkwash.errors import InkwashError
from inkwash.models import registry
from inkwash.train import runfolder
from inkwash.train.checkpoint import latest_checkpoint
from inkwash.train.config import apply_dict, load_toml, set_value, to_dict
from inkwash.train.loop import fit
from inkwash.train.paintstorch import SIZE_PRESETS, TrainConfig


def trainer(name: str) -> ModuleType:
    """The `inkwash.train` module that trains a registered model (it defines CONFIG and TASK)."""
    spec = registry.get(name)
    if not spec.trainer:
        raise InkwashError(f"model {name!r} does not train; trainable: {', '.join(registry.names(trainable=True))}")
    return importlib.import_module(spec.trainer)


def make_config(name: str = "paintstorch", preset: str | None = None, file: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Build a config: model entry -> size preset -> TOML file -> dotted overrides (the CLI's --set and flags).

    The preset is the argument, else the TOML file's top-level `preset`, else "base".
    """
    entry = registry.get(name)
    doc = load_toml(file) if file is not None else {}
    doc.pop("name", None)
    preset = preset or doc.pop("preset", None) or "base"
    doc.pop("preset", None)
    presets = getattr(trainer(name), "SIZE_PRESETS", SIZE_PRESETS)  # a trainer of other networks has its own
    if preset not in presets:
        raise InkwashError(f"unknown preset {preset!r}; use one of {', '.join(presets)}")
    cfg = trainer(name).CONFIG(name=name, preset=preset)
    cfg.data.hints = entry.hints
    apply_dict(cfg.model, {**presets[preset], **entry.preset})
    apply_dict(cfg, doc)
    for key, value in (overrides or {}).items():
        set_value(cfg, key, value)
    return cfg


def config_from_dict(d: dict) -> TrainConfig:
    """Rebuild a TrainConfig (of the run's model) from its saved JSON (RUN/config.json)."""
    name = d.get("name", "paintstorch")
    cfg = trainer(name).CONFIG(name=name, preset=d.get("preset", "base"))
    apply_dict(cfg, {k: v for k, v in d.items() if k not in ("name", "preset")})
    return cfg


def open_dataset(data: Any, cfg: TrainConfig, train: bool = True, split: str | None = None):
    """`synthetic`, a folder (prepared dataset or images) or a ready Dataset of dicts -> ColorizationDataset.

    train=False: the held-out items (a prepared dataset's test split, fixed centre crops and hints; other synthetic
    drawings). A trainer's TASK may ask for the drawings' flats (`with_flats`, outline datasets; synthetic data are
    then outline drawings) and wrap the dataset in its own (`TASK.dataset(ds, cfg, train)`). split: which part of
    a prepared dataset or folder (inkwash.data.store.SPLITS; default train, or test when train=False).
    """
    if not isinstance(data, (str, Path)):
        if len(data) and isinstance(data[0], dict):
            return data
    from inkwash.data.dataset import ColorizationDataset
    from inkwash.data.strokes import StrokeConfig

    task = trainer(cfg.name).TASK
    flats = bool(getattr(task, "with_flats", False))
    source = data
    if isinstance(data, str) and data == "synthetic":
        from inkwash.data.synthetic import SyntheticIllustrations, SyntheticOutlines

        kind = SyntheticOutlines if flats else SyntheticIllustrations
        source = kind(n=256 if train else 32, size=max(cfg.data.size, 64), seed=cfg.loop.seed + (0 if train else 1))
    elif isinstance(data, (str, Path)) and not Path(data).is_dir():
        raise InkwashError(f"--data {data}: not a folder; give a folder of illustrations, a prepared dataset, "
                           "or 'synthetic'")
    ds = ColorizationDataset(source, size=cfg.data.size, train=train, hints=cfg.data.hints, seed=cfg.loop.seed,
                             with_stencil=task.stencil, crop=cfg.data.crop, lineart=cfg.data.lineart,
                             lineart_mix=cfg.data.lineart_mix, with_flats=flats, split=split,
                             stroke_cfg=StrokeConfig(n_strokes=tuple(cfg.data.n_strokes),
                                                     w_range=tuple(cfg.data.stroke_box)))
    wrap = getattr(task, "dataset", None)
    return wrap(ds, cfg, train) if wrap is not None else ds


def open_held_out(data: Any, cfg: TrainConfig, log=print):
    """The held-out items the loop scores (`loop.val_every`), or None (validation off, or no validation items: said).

    A prepared dataset or folder gives its `val` part: drawings of the train split (store.VAL_FRACTION of it, by a
    hash of the id) that a validating run never trains on, so choosing the best checkpoint never reads the test
    split the evaluation scores. Synthetic data gives drawings of another seed.
    """
    if cfg.loop.val_every <= 0:
        return None
    if not isinstance(data, (str, Path)):
        log("held-out scoring is off: the training data is an in-memory dataset with no validation split")
        return None
    try:
        return open_dataset(data, cfg, train=False, split=None if data == "synthetic" else "val")
    except InkwashError as exc:
        log(f"held-out scoring is off: {exc}")
        return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def prepare_run(out: str | Path, cfg: TrainConfig, resume: bool, log=print) -> TrainConfig:
    """Check RUN and write RUN/config.json (on resume read it back) -> the run's config.

    Temporary files of interrupted writes are swept first. A run killed before its first checkpoint (an
    unfinished start) is started from step 0 by --resume and started over by a new run; any other non-empty
    folder needs --resume. Messages go to `log`; only rank 0 writes or removes anything.
    """
    out = Path(out)
    cfg_path = out / "config.json"
    main = int(os.environ.get("RANK", "0")) == 0
    if main and out.is_dir() and runfolder.is_run(out):
        removed = runfolder.sweep(out)
        if removed:
            log(f"{out}: removed {_plural(len(removed), 'temporary file')} of interrupted writes "
                f"({', '.join(p.name for p in removed[:3])}{', ...' if len(removed) > 3 else ''})")
    if resume:
        if not cfg_path.is_file():
            raise InkwashError(f"{out}: not a training run (no config.json); start it without --resume")
        try:
            saved = config_from_dict(json.loads(cfg_path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise InkwashError(f"{cfg_path}: unreadable ({exc})") from None
        if saved.name != cfg.name:
            raise InkwashError(f"{out}: a {saved.name} run; resume it with inkwash train {saved.name}")
        saved.loop.steps = cfg.loop.steps or saved.loop.steps  # a resumed run may be extended
        saved.loop.device, saved.data.workers = cfg.loop.device, cfg.data.workers
        cfg = saved
        if latest_checkpoint(out) is None and main:
            runfolder.clear_start(out)
            log(f"{out}: stopped before its first checkpoint; starting it from step 0 with its config.json")
    elif out.exists() and any(out.iterdir()):
        if not runfolder.unfinished_start(out):
            raise InkwashError(f"{out}: already exists; pass --resume to continue it or choose another --out")
        if main:
            runfolder.clear_start(out)
            log(f"{out}: an unfinished start (config.json, no checkpoint); starting it over with this config")
    out.mkdir(parents=True, exist_ok=True)
    if main:
        from inkwash.io import atomic_path

        with atomic_path(cfg_path, overwrite=True, durable=True) as tmp:
            tmp.write_text(json.dumps(to_dict(cfg), indent=1))
    return cfg


def train(cfg: TrainConfig, data: Any, out: str | Path, resume: bool = False, progress: bool = True,
          log=print) -> dict[str, Any]:
    """Train the model `cfg.name` names (its trainer's TASK) as `cfg` says on `data` into `out`; returns a summary."""
    for key, value in (("--size", cfg.data.size), ("data.crop", cfg.data.crop)):
        if value % 16:
            raise InkwashError(f"{key} {value}: must be a multiple of 16 (the U-Net halves it 4 times)")
    if cfg.data.crop > cfg.data.size:
        raise InkwashError(f"data.crop {cfg.data.crop}: larger than --size {cfg.data.size}; give at most the size")
    cfg = prepare_run(out, cfg, resume, log=log)
    held_out = open_held_out(data, cfg, log)
    # a run that validates never trains on its validation drawings (the train split's `val` part)
    fit_only = held_out is not None and isinstance(data, (str, Path)) and data != "synthetic"
    dataset = open_dataset(data, cfg, split="fit" if fit_only else None)
    if held_out is not None:
        log(f"held-out: {len(held_out)} validation drawings" + (", not trained on" if fit_only else ""))
    task = trainer(cfg.name).TASK
    return fit(lambda device: task(cfg, device), dataset, cfg.loop, cfg.data.batch_size,
               cfg.data.workers, out, to_dict(cfg), resume=resume, progress=progress, log=log,
               val_dataset=held_out)


__all__ = ["make_config", "config_from_dict", "open_dataset", "open_held_out", "prepare_run", "train", "trainer"]
