"""Training PaintsTorch (thesis IV.2.2) and its AlacGAN baseline with the generic loop.

    inkwash train paintstorch --data DIR --out runs/pt                      # one GPU or CPU
    torchrun --nproc_per_node 8 -m inkwash train paintstorch --data DIR --out runs/pt   # 8 GPUs, one node

Each iteration: one critic step, then G1, then G2 (thesis IV.2.2.4).

`make_config`, `config_from_dict`, `open_dataset` and `train` serve every registered model: the registry entry
names the module of `inkwash.train` that holds its `CONFIG` (a TrainConfig class) and `TASK` (a Task class);
StencilTorch (train/stenciltorch.py) plugs in that way.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import torch
from torch import nn

from inkwash.errors import InkwashError
from inkwash.losses import LossConfig, critic_loss, generator_loss, gradient_penalty, reconstruction
from inkwash.models import registry
from inkwash.models.features import build_f1, build_f2
from inkwash.models.paintstorch import PaintsTorchConfig
from inkwash.train.config import DataConfig, LoopConfig, OptimConfig, apply_dict, load_toml, set_value, to_dict
from inkwash.train.loop import Task, fit

# Width/depth variants; `base` is AlacGAN's NetG/NetD (the dataclass defaults).
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(ngf=8, ndf=8, feat_channels=16, bottlenecks=1, dilations=(1, 2), dilations_top=(1,),
                 cardinality=4, cardinality_top=4, critic_cardinality=4, critic_tail_downsamples=1, f2_width=0.5),
    "small": dict(ngf=32, ndf=32, feat_channels=128, bottlenecks=4, dilations=(1, 2, 4, 1), dilations_top=(1, 2, 1),
                  cardinality=8, cardinality_top=8, critic_cardinality=8, critic_tail_downsamples=2, f2_width=0.25),
    "base": {},
}


@dataclass
class TrainConfig:
    """Everything a PaintsTorch run uses; saved as RUN/config.json and rebuilds the run."""

    name: str = "paintstorch"  # registry name: paintstorch | alacgan (stenciltorch has its own subclass)
    preset: str = "base"  # tiny | small | base
    model: PaintsTorchConfig = field(default_factory=PaintsTorchConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)


def trainer(name: str) -> ModuleType:
    """The `inkwash.train` module that trains a registered model (it defines CONFIG and TASK)."""
    return importlib.import_module(f"inkwash.train.{registry.get(name).trainer}")


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


class PaintsTorchTask(Task):
    """Critic, G1 and (PaintsTorch only) G2 phases of thesis IV.2.2.3, for the generic loop.

    batch: lineart (B,1,S,S) in [-1,1], hints (B,4,S/4,S/4), illustration (B,3,S,S) in [-1,1].
    Subclasses (StencilTorch) change `phase_networks`, `step`, `exported` and `stencil`.
    """

    exported: ClassVar[tuple[str, ...]] = ("g1",)  # networks written to RUN/model.safetensors (with our F1)
    stencil: ClassVar[bool] = False  # whether the dataset yields the in-painting inputs (composite, mask, ...)

    def __init__(self, cfg: TrainConfig, device: torch.device | str = "cpu"):
        self.cfg = cfg
        entry = registry.get(cfg.name)
        self.nets: dict[str, nn.Module] = {k: v.to(device) for k, v in entry.build(cfg.model).items()}
        self.f1 = build_f1(cfg.model).to(device)
        self.f2 = build_f2(cfg.model).to(device)
        groups = self.phase_networks()
        self.phases = tuple(groups)
        o = cfg.optim
        self.opts = {ph: torch.optim.Adam([p for n in nets for p in self.nets[n].parameters()], lr=o.lr,
                                          betas=(o.beta1, o.beta2))
                     for ph, nets in groups.items()}

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        """Phases in their order, each with the networks its optimizer trains."""
        if "g2" in self.nets:
            return {"critic": ("critic",), "g1": ("g1",), "g2": ("g2",)}
        return {"critic": ("critic",), "g1": ("g1",)}

    def networks(self) -> dict[str, nn.Module]:
        return self.nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.opts

    def features(self, lineart: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.f1(lineart)

    def step(self, phase: str, batch: dict[str, torch.Tensor], state: dict) -> dict[str, torch.Tensor]:
        x, h, y = batch["lineart"], batch["hints"], batch["illustration"]
        if "f" not in state:
            state["f"] = self.features(x)  # F1(x): (B,Cf,S/16,S/16), frozen
        f, w = state["f"], self.cfg.loss
        g1, critic = self.nets["g1"], self.nets["critic"]
        if phase == "critic":
            with torch.no_grad():
                y_hat = g1(x, h, f)
            gp = gradient_penalty(critic, y, y_hat, f)
            return critic_loss(critic(y, f), critic(y_hat, f), gp, w)
        if phase == "g1":
            y_hat = g1(x, h, f)
            total, out = generator_loss(w, critic(y_hat, f), self.f2, y_hat, y)
            if "g2" in self.nets:  # the cycle term also trains G1 through the (frozen this phase) G2
                out["recon"] = reconstruction(self.nets["g2"](y_hat, h, f), x)
                total = total + w.lambda_recon * out["recon"]
            state["y_hat"] = y_hat.detach()
            return {"loss": total, **out}
        if phase == "g2":
            recon = reconstruction(self.nets["g2"](state["y_hat"], h, f), x)
            return {"loss": w.lambda_recon * recon, "recon": recon}
        raise ValueError(f"unknown phase {phase}")

    @torch.no_grad()
    def colorize(self, lineart: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """G1 output (B,3,S,S) in [-1,1] for lineart (B,1,S,S) and hints (B,4,S/4,S/4)."""
        return self.nets["g1"](lineart, hints, self.features(lineart))

    def images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = batch["hints"]
        # hints over white paper so strokes read as a user drew them
        shown = h[:, :3] * h[:, 3:] + (1 - h[:, 3:])
        return {"lineart": batch["lineart"], "hints": shown,
                "output": self.colorize(batch["lineart"], h), "target": batch["illustration"]}

    def export(self) -> dict[str, torch.Tensor]:
        tensors = {f"{n}.{k}": v for n in self.exported for k, v in self.nets[n].state_dict().items()}
        if self.cfg.model.f1 == "seeded":  # our own F1 ships with the generator; Illustration2Vec does not
            tensors.update({f"f1.{k}": v for k, v in self.f1.state_dict().items()})
        return tensors


def open_dataset(data: Any, cfg: TrainConfig):
    """`synthetic`, a folder (prepared dataset or images) or a ready Dataset of dicts -> ColorizationDataset."""
    if not isinstance(data, (str, Path)):
        if len(data) and isinstance(data[0], dict):
            return data
    from inkwash.data.dataset import ColorizationDataset
    from inkwash.data.strokes import StrokeConfig

    source = data
    if isinstance(data, str) and data == "synthetic":
        from inkwash.data.synthetic import SyntheticIllustrations

        source = SyntheticIllustrations(n=256, size=max(cfg.data.size, 64), seed=cfg.loop.seed)
    elif isinstance(data, (str, Path)) and not Path(data).is_dir():
        raise InkwashError(f"--data {data}: not a folder; give a folder of illustrations, a prepared dataset, "
                           "or 'synthetic'")
    return ColorizationDataset(source, size=cfg.data.size, train=True, hints=cfg.data.hints, seed=cfg.loop.seed,
                               with_stencil=trainer(cfg.name).TASK.stencil, crop=cfg.data.crop,
                               lineart=cfg.data.lineart, lineart_mix=cfg.data.lineart_mix,
                               stroke_cfg=StrokeConfig(n_strokes=tuple(cfg.data.n_strokes),
                                                       w_range=tuple(cfg.data.stroke_box)))


def prepare_run(out: str | Path, cfg: TrainConfig, resume: bool) -> TrainConfig:
    """Check RUN (refuse to reuse one without --resume), write RUN/config.json; on resume read it back."""
    out = Path(out)
    cfg_path = out / "config.json"
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
    elif out.exists() and any(out.iterdir()):
        raise InkwashError(f"{out}: already exists; pass --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:
        from inkwash.io import atomic_path

        with atomic_path(cfg_path, overwrite=True) as tmp:
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
    cfg = prepare_run(out, cfg, resume)
    dataset = open_dataset(data, cfg)
    task = trainer(cfg.name).TASK
    return fit(lambda device: task(cfg, device), dataset, cfg.loop, cfg.data.batch_size,
               cfg.data.workers, out, to_dict(cfg), resume=resume, progress=progress, log=log)


# what `trainer(name)` gives for the models this module trains (see the registry entries)
CONFIG = TrainConfig
TASK = PaintsTorchTask
