"""Training PaintsTorch (thesis IV.2.2) and its AlacGAN baseline: the task the generic loop runs.

    inkwash train paintstorch --data DIR --out runs/pt                      # one GPU or CPU
    torchrun --nproc_per_node 8 -m inkwash train paintstorch --data DIR --out runs/pt   # 8 GPUs, one node

Each iteration: one critic step, then G1, then G2 (thesis IV.2.2.4). The entry points that serve every model
(`make_config`, `train`) are in inkwash.train.run; a model's spec names this module as its trainer, which
gives `CONFIG` (a TrainConfig class), `TASK` (a Task class) and `SIZE_PRESETS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from inkwash.losses import LossConfig, critic_loss, generator_loss, gradient_penalty, reconstruction
from inkwash.models import registry
from inkwash.models.features import build_f1, build_f2
from inkwash.models.paintstorch import PaintsTorchConfig
from inkwash.train.config import DataConfig, LoopConfig, OptimConfig
from inkwash.train.loop import Task

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


class PaintsTorchTask(Task):
    """Critic, G1 and (PaintsTorch only) G2 phases of thesis IV.2.2.3, for the generic loop.

    batch: lineart (B,1,S,S) in [-1,1], hints (B,4,S/4,S/4), illustration (B,3,S,S) in [-1,1].
    Subclasses (StencilTorch) change `phase_networks`, `step`, `exported` and `stencil`.
    """

    exported: ClassVar[tuple[str, ...]] = ("g1",)  # networks written to RUN/model/ (with our F1)
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

    def held_out(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out L1 of G1's colouring to the illustration (in [-1,1] units): the GAN losses rank nothing."""
        l1 = [float((self.colorize(b["lineart"], b["hints"]) - b["illustration"]).abs().mean()) for b in batches]
        return {"score": sum(l1) / max(len(l1), 1), "l1": sum(l1) / max(len(l1), 1)}

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


# what `trainer(name)` gives for the models this module trains (see the registry entries)
CONFIG = TrainConfig
TASK = PaintsTorchTask
