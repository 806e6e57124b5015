"""Training configs in one place: dataclasses with the thesis' defaults, a TOML file, and `--set key=value`.

Precedence, lowest first: dataclass defaults -> presets -> TOML file -> `--set` -> explicit CLI flags.
Keys are dotted paths into the config (`loss.lambda_adv`, `model.ngf`, `loop.ckpt_every`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inkwash.errors import InkwashError


@dataclass
class OptimConfig:
    """Adam settings; thesis IV.2.2.4: lr 1e-4, betas (0.5, 0.9)."""

    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9


@dataclass
class DataConfig:
    """What a batch looks like; thesis IV.2.2.1: 512 px crops, hints at a quarter of that."""

    size: int = 512  # short side the illustration is resized to; also the model's working size at inference
    crop: int = 0  # side of the training crops (0 = size): smaller crops at the same scale cost less per step
    batch_size: int = 4  # AlacGAN's config (the thesis does not state one)
    hints: str = "strokes"  # "strokes" (PaintsTorch), "pixels" (AlacGAN) or "none"
    n_strokes: tuple[int, int] = (0, 10)  # thesis IV.2.2.1: strokes per sample, inclusive
    stroke_box: tuple[int, int] = (0, 10)  # thesis IV.2.2.1: w_range, side of each stroke's box at S/4 px
    lineart: str = "mix"  # "xdog", "outline" or "mix"; mix is xDoG alone unless the dataset has real outlines
    lineart_mix: float = 0.5  # with "mix" on an outline dataset: share of samples with the real outline
    workers: int = 2


@dataclass
class LoopConfig:
    """The generic trainer's settings (train/loop.py)."""

    epochs: int = 100  # thesis IV.2.2.4: 100 epochs
    steps: int = 0  # > 0 overrides epochs
    seed: int = 0
    ckpt_every: int = 1000
    keep_checkpoints: int = 2
    val_every: int = 0  # > 0: score held-out test-split items every N steps; the best is exported to RUN/best/
    val_items: int = 16  # held-out items scored (fixed, spread evenly over the test split)
    time_limit: float = 0.0  # minutes (> 0): end the run at the first step past it, with a checkpoint and scoring
    log_every: int = 10
    image_every: int = 500
    amp: bool = True  # bf16 autocast, on CUDA only
    channels_last: bool = True  # on CUDA only
    device: str = "auto"  # auto | cpu | cuda


def to_dict(cfg: Any) -> dict:
    """Dataclass (nested) to a JSON-ready dict; tuples become lists."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            v = to_dict(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def _coerce(key: str, value: Any, current: Any) -> Any:
    """Give `value` the type of the field's current value, or explain why it cannot be."""
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(current, tuple):
        if isinstance(value, (list, tuple)):
            return tuple(value)
    elif isinstance(current, str):
        return str(value)
    else:
        return value
    raise InkwashError(f"setting {key}: {value!r} is not a valid {type(current).__name__}")


def set_value(cfg: Any, key: str, value: Any) -> None:
    """Set a dotted key (e.g. 'loss.lambda_gp') on a nested dataclass, checking the name and type."""
    *path, name = key.split(".")
    obj = cfg
    for part in path:
        if not dataclasses.is_dataclass(obj) or not hasattr(obj, part):
            raise InkwashError(f"unknown setting {key!r}")
        obj = getattr(obj, part)
    names = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    if name not in names:
        raise InkwashError(f"unknown setting {key!r}; known here: {', '.join(sorted(names))}")
    current = getattr(obj, name)
    if dataclasses.is_dataclass(current):
        if not isinstance(value, dict):
            raise InkwashError(f"setting {key}: expected a table of settings")
        for k, v in value.items():
            set_value(cfg, f"{key}.{k}", v)
        return
    setattr(obj, name, _coerce(key, value, current))


def apply_dict(cfg: Any, values: dict, prefix: str = "") -> None:
    """Apply a nested dict (a TOML document or a saved config.json) onto a config."""
    for k, v in values.items():
        set_value(cfg, f"{prefix}{k}", v)


def parse_set(items: list[str]) -> dict[str, Any]:
    """['loss.lambda_adv=1e-3', 'model.dilations=[1,2]'] -> typed values (TOML syntax; bare words are strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InkwashError(f"--set {item!r}: expected key=value, e.g. --set loss.lambda_adv=1e-4")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key.strip()] = value
    return out


def load_toml(path: str | Path) -> dict:
    """A TOML config file as a dict, with a clear error when it cannot be read."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InkwashError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InkwashError(f"{path}: not a valid TOML config ({exc})") from None
