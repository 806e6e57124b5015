"""The model contract: one small spec per model, read by inference, training, the CLI, the web app and export.

A spec names everything by dotted path ("module:attribute"), so the registry loads without importing torch or
any network code; the parts are imported on first use. What a spec points at:

    opener     a class or function (or its dotted path): opener(weights: Path | None, **options) -> a model
               (weights None = the shipped default; a folder made by `save_model` otherwise)
    config     the network config dataclass (`from_dict` rebuilds it from the saved config.json)
    networks   build(config) -> {name: nn.Module}, the trainable networks
    trainer    the module of inkwash.train holding CONFIG (a TrainConfig class) and TASK (a Task class)

A model instance (what inference runs, see inkwash.canvas for the canvas it is given) provides:

    spec: ModelSpec
    resolution: int | None     working short side in px (None: the lineart's own resolution)
    multiple: int              canvas sides are padded to a multiple of this
    hint_scale: int            hints come at 1/hint_scale of the canvas (the thesis' quarter: 4)
    lines_over: bool           the output is colour without lines; the original lines are multiplied over it
    run(canvas, seed, **sampling) -> (h, w, 3) float32 in [0,1] at the canvas size
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Capabilities:
    """What a model can do; front-ends read these instead of probing attributes."""

    samples: bool = False  # draws a sample per seed: --variations, steps and strength apply
    inpaints: bool = False  # sees the selection mask and what to keep outside it (the base)
    exportable: bool = False  # `inkwash export` can write it as ONNX
    trainable: bool = True  # `inkwash train NAME` exists
    needs_hints: bool = False  # without hints its output is blank (a fill), so a missing hint file is worth a warning
    weights: str = "shipped"  # "shipped" (a default under inkwash/weights/NAME), "file" (always a path), "none"


@dataclass(frozen=True)
class TrainOption:
    """A model-specific `inkwash train NAME` option: --flag VALUE sets the dotted `setting`."""

    flag: str
    setting: str
    help: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    opener: str | Callable[..., Any]  # "module:Class" (or the class itself) building a model from weights + options
    options: tuple[str, ...] = ()  # options the opener accepts (resolution, lines_over, steps, ...)
    sampling: tuple[str, ...] = ()  # per-call sampling options (steps, strength); the seed is always passed
    config: str | None = None  # "module:Class" of the network config
    networks: str | None = None  # "module:function" building the trainable networks from a config
    trainer: str | None = None  # "inkwash.train.MODULE" with CONFIG and TASK
    preset: dict = field(default_factory=dict)  # settings that distinguish this entry from its config's defaults
    hints: str = "strokes"  # the hint scheme the model trains with
    capabilities: Capabilities = Capabilities()
    train_options: tuple[TrainOption, ...] = ()
    train_help: str = ""  # extra paragraphs of `inkwash train NAME --help`

    def resolve(self, what: str) -> Any:
        """Import the object a dotted field names ("opener", "config", "networks")."""
        target = getattr(self, what)
        if callable(target):
            return target
        if not target:
            raise AttributeError(f"model {self.name!r} has no {what}")
        module, _, attr = target.partition(":")
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj

    def open(self, weights: Any = None, **options: Any) -> Any:
        """A model instance: the shipped weights (weights None) or a saved model folder; unknown options and
        missing weights are one-line InkwashErrors, before anything heavy is imported."""
        from inkwash.errors import InkwashError
        from inkwash.models.serialize import shipped_folder

        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise InkwashError(f"{self.name}: unknown option(s) {', '.join(unknown)}; known: "
                               f"{', '.join(self.options) or 'none'}")
        if weights is None and self.capabilities.weights == "shipped":
            weights = shipped_folder(self.name)
        elif weights is None and self.capabilities.weights == "file":
            raise InkwashError(f"{self.name}: no shipped weights; give a model folder or file (--model PATH)")
        model = self.resolve("opener")(weights, **options)
        model.spec = self
        return model

    def build(self, config: Any) -> dict:
        """The trainable networks of a network config: {name: nn.Module}."""
        return self.resolve("networks")(config)

    @property
    def config_cls(self) -> type:
        return self.resolve("config")

    def train_module(self) -> Any:
        if not self.trainer:
            raise AttributeError(f"model {self.name!r} does not train")
        return importlib.import_module(self.trainer)


__all__ = ["Capabilities", "ModelSpec", "TrainOption"]
