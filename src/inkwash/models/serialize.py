"""One way to save and load a model: a folder with a model-only `config.json` and `model.safetensors`.

    FOLDER/config.json          {"format": "inkwash-model/1", "name": "paintstorch", "model": {...network config},
                                 "resolution": 256, "hints": "strokes", ...}
    FOLDER/model.safetensors    the inference weights, keys "NETWORK.PARAM" (g1.*, f1.*, ...)

The trainer's export (RUN/model/), `inkwash train publish` (fp16, plus a MODEL_CARD.md) and the shipped defaults
(inkwash/weights/NAME/) are all this layout, and every loader reads it through `read_model`. A training run folder
keeps its training config in RUN/config.json and its export in RUN/model/; giving RUN anywhere a model is expected
means RUN/model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from inkwash.errors import InkwashError

MODEL_FORMAT = "inkwash-model/1"
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
EXPORT_DIR = "model"  # a run folder's export: RUN/model/
BEST_DIR = "best"  # a run folder's best held-out export (train/loop.py, loop.val_every): RUN/best/
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"  # shipped defaults: weights/NAME/


# ---------------------------------------------------------------------------------------------- helpers
def _jsonable(cfg: Any) -> dict:
    d = asdict(cfg) if is_dataclass(cfg) else dict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def shipped_folder(name: str) -> Path:
    """The folder of a model's shipped default weights, or an InkwashError saying there are none."""
    folder = WEIGHTS_DIR / name
    if not (folder / WEIGHTS).is_file() or not (folder / CONFIG).is_file():
        raise InkwashError(f"no shipped weights for {name!r} in this install; give a trained model folder "
                           f"(inkwash train {name} --out RUN, then --model RUN)")
    return folder


def model_folder(path: str | Path) -> Path:
    """The model folder a user's path means: the folder itself, a run's RUN/model/, or a weights file's folder."""
    p = Path(path)
    if p.is_file():
        if p.suffix != ".safetensors":
            raise InkwashError(f"{p}: not a model; give a model folder (config.json + model.safetensors) or "
                               "its model.safetensors")
        p = p.parent
    if not p.is_dir():
        raise InkwashError(f"{p}: no such model folder or file")
    if (p / CONFIG).is_file() and (p / WEIGHTS).is_file() and _format(p / CONFIG) == MODEL_FORMAT:
        return p
    if (p / EXPORT_DIR / CONFIG).is_file():
        return p / EXPORT_DIR
    if (p / WEIGHTS).is_file():  # a run folder of inkwash 0.1 kept its export beside the training config
        raise InkwashError(f"{p}: weights from an older inkwash (no {EXPORT_DIR}/{CONFIG}); re-export them with "
                           f"`inkwash train MODEL --out {p} --resume`")
    raise InkwashError(f"{p}: no model here ({CONFIG} + {WEIGHTS} missing, and no training run's {EXPORT_DIR}/); "
                       "train one with inkwash train")


def _format(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("format") if isinstance(data, dict) else None


# ------------------------------------------------------------------------------------------- main thing
@dataclass
class SavedModel:
    """A model folder read back: its name, network settings and metadata; `tensors()` loads the weights."""

    folder: Path
    name: str
    model: dict  # the network config as saved (rebuild with the spec's config class `from_dict`)
    meta: dict  # everything else of config.json: resolution, hints, step, stage, ...

    @property
    def resolution(self) -> int | None:
        r = self.meta.get("resolution")
        return int(r) if r else None

    def network_config(self, cls: type, label: str) -> Any:
        """The network config rebuilt with `cls.from_dict` (label: the model's name in messages); settings of the
        wrong shape are a one-line InkwashError, not a traceback."""
        try:
            return cls.from_dict(self.model)
        except TypeError as exc:
            raise InkwashError(f"{self.folder}: unreadable {label} config ({exc}); re-export or retrain") from None

    def tensors(self, device: str = "cpu") -> dict:
        """The weights as float32 torch tensors (fp16 files are cast back) on `device`."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(self.folder / WEIGHTS), device=str(device))
        except (OSError, SafetensorError, RuntimeError) as exc:
            raise InkwashError(f"{self.folder / WEIGHTS}: unreadable weights ({str(exc).splitlines()[0]}); "
                               "re-export or retrain") from None
        return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def read_model(path: str | Path, expect: str | None = None) -> SavedModel:
    """Read a model folder's config.json (see the module docstring); `expect` refuses another model's folder."""
    folder = model_folder(path)
    cfg_path = folder / CONFIG
    try:
        data = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InkwashError(f"{cfg_path}: unreadable ({exc}); re-export the model") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise InkwashError(f"{cfg_path}: not an inkwash model config (format {MODEL_FORMAT!r} expected)")
    name, model = data.get("name"), data.get("model")
    if not isinstance(name, str) or not isinstance(model, dict):
        raise InkwashError(f"{cfg_path}: lacks the model's name or its network settings; re-export the model")
    if expect is not None and name != expect:
        raise InkwashError(f"{folder}: a {name!r} model, not {expect}; use --model {name} or a {expect} model")
    meta = {k: v for k, v in data.items() if k not in ("format", "name", "model")}
    return SavedModel(folder, name, model, meta)


def save_model(folder: str | Path, name: str, model: Any, tensors: dict, meta: dict | None = None,
               half: bool = False, overwrite: bool = True) -> Path:
    """Write FOLDER/model.safetensors then FOLDER/config.json, each atomically (a config means complete weights).

    model: the network config (dataclass or dict); tensors: {"NETWORK.PARAM": tensor}; half: store float16.
    """
    from safetensors.torch import save_file

    from inkwash.io import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous().cpu()
               for k, v in tensors.items()}
    config = {"format": MODEL_FORMAT, "name": name, "model": _jsonable(model), **(meta or {})}
    # durable: a config.json on the disk must mean complete weights there too, even after a power cut
    with atomic_path(folder / WEIGHTS, overwrite=overwrite, durable=True) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", "inkwash": MODEL_FORMAT, "name": name})
    with atomic_path(folder / CONFIG, overwrite=overwrite, durable=True) as tmp:
        tmp.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return folder


def load_state(module: Any, tensors: dict, prefix: str, where: str | Path) -> Any:
    """Load the tensors under `prefix.` into `module` strictly; a mismatch is one InkwashError line."""
    part = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    if not part:
        raise InkwashError(f"{where}: has no {prefix} weights; is it the right model?")
    try:
        module.load_state_dict(part)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "shapes differ")
        raise InkwashError(f"{where}: the {prefix} weights do not fit its config.json ({detail[:160]}); "
                           "re-export the model") from None
    return module


__all__ = ["MODEL_FORMAT", "CONFIG", "WEIGHTS", "EXPORT_DIR", "BEST_DIR", "WEIGHTS_DIR", "SavedModel", "read_model",
           "save_model", "load_state", "model_folder", "shipped_folder"]
