"""Training StencilTorch (thesis IV.3.2) with the PaintsTorch trainer: the same loop, a mask-aware task.

    inkwash train stenciltorch --data DIR --out runs/st --config recipes/stenciltorch.toml    # CPU-sized
    torchrun --nproc_per_node 8 -m inkwash train stenciltorch --data DIR --out runs/st          # 8 GPUs, one node

From Python: `train.run.make_config("stenciltorch", ...)` then `train.run.train(cfg, data, out)`;
the registry entry sends them to CONFIG and TASK below. Objectives (thesis eq. core_st_objectives):

    L_C = L_w + L_gp                                         the PaintsTorch critic, on the pasted output
    L_G = lambda_adv * L_adv + L_cont + w_guide * L_guided   L_guided = 1/(chw) ||s_hat - s||^2

Each iteration: one critic step, then G together with its guide decoder (one optimizer; thesis IV.3.2.4: Adam
1e-4, betas (0.5, 0.9)). Samples come from the dataset's stencil mode: masks from small patches to the whole
image (so one model does the first full pass and later touch-ups), hints drawn on the simplified illustration.

Our choice where the thesis is silent: the critic judges the output pasted into the real illustration outside
the mask, i.e. what a user gets, seams included; L_cont (and the optional L1) cover the whole raw output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch.nn import functional as F

from inkwash.losses import LossConfig, critic_loss, generator_loss, gradient_penalty
from inkwash.models.stenciltorch import StencilTorchConfig, paste
from inkwash.train.paintstorch import PaintsTorchTask, TrainConfig


@dataclass
class StencilLossConfig(LossConfig):
    """PaintsTorch's weights plus the guide's; `lambda_recon` is unused (no G2)."""

    # thesis IV.3.2.3 and IV.3.4: at weight 1 the guide term (flat colours are easy to rebuild) made one-pass
    # colourings flat, and the thesis says to weight it down without a number; 0.1 keeps it a small share of L_G
    w_guide: float = 0.1


@dataclass
class StencilTrainConfig(TrainConfig):
    """Everything a StencilTorch run uses; saved as RUN/config.json and rebuilds the run."""

    name: str = "stenciltorch"
    model: StencilTorchConfig = field(default_factory=StencilTorchConfig)
    loss: StencilLossConfig = field(default_factory=StencilLossConfig)


def guided(s_hat: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """L_guided = 1/(chw) ||s_hat - s||^2, averaged over the batch. (B,3,S,S) in [-1,1]."""
    return F.mse_loss(s_hat.float(), s.float())


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |a - b| over the pixels where mask != 0 (0 when there are none). a, b (B,3,S,S); mask (B,1,S,S)."""
    m = (mask != 0).float()
    return ((a.float() - b.float()).abs() * m).sum() / (m.sum() * a.shape[1]).clamp(min=1.0)


class StencilTorchTask(PaintsTorchTask):
    """Critic and G (+ guide) phases of thesis IV.3.2.3 for the generic loop.

    batch: composite (B,3,S,S) in [-1,1], mask (B,1,S,S) in {0,1}, lineart (B,1,S,S) in [-1,1],
    hints (B,4,S/4,S/4), illustration (B,3,S,S) and simplified (B,3,S,S) in [-1,1].
    """

    exported: ClassVar[tuple[str, ...]] = ("g",)  # the guide decoder only trains
    stencil: ClassVar[bool] = True

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        return {"critic": ("critic",), "g": ("g", "guide") if "guide" in self.nets else ("g",)}

    def step(self, phase: str, batch: dict[str, torch.Tensor], state: dict) -> dict[str, torch.Tensor]:
        x, c, m, h, y = batch["lineart"], batch["composite"], batch["mask"], batch["hints"], batch["illustration"]
        if "f" not in state:
            state["f"] = self.features(x)  # F1 of the whole lineart: (B,Cf,S/16,S/16), frozen
        f, w = state["f"], self.cfg.loss
        g, critic = self.nets["g"], self.nets["critic"]
        if phase == "critic":
            with torch.no_grad():
                fake = paste(g(c, m, h, f), y, m)
            gp = gradient_penalty(critic, y, fake, f)
            return critic_loss(critic(y, f), critic(fake, f), gp, w)
        if phase == "g":
            enc = g.encode_stencil(c, m, h)
            y_hat = g.decode(enc, f)  # the whole image
            total, out = generator_loss(w, critic(paste(y_hat, y, m), f), self.f2, y_hat, y)
            if "guide" in self.nets:  # s_hat from the latent alone (enc[-1]), against the simplified illustration
                out["guided"] = guided(self.nets["guide"](enc[-1], f), batch["simplified"])
                total = total + w.w_guide * out["guided"]
            return {"loss": total, **out, "l1_in": _masked_l1(y_hat.detach(), y, m)}
        raise ValueError(f"unknown phase {phase}")

    @torch.no_grad()
    def colorize(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor,
                 lineart: torch.Tensor) -> torch.Tensor:
        """G's whole output (B,3,S,S) in [-1,1]; paste it with `paste` to keep the composite outside the mask."""
        return self.nets["g"](composite, mask, hints, self.features(lineart))

    def held_out(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out L1 to the illustration inside the masks (what a user gets), in [-1,1] units."""
        l1 = [float(_masked_l1(self.colorize(b["composite"], b["mask"], b["hints"], b["lineart"]),
                               b["illustration"], b["mask"])) for b in batches]
        return {"score": sum(l1) / max(len(l1), 1), "l1_in": sum(l1) / max(len(l1), 1)}

    @torch.no_grad()
    def guide(self, composite: torch.Tensor, mask: torch.Tensor, hints: torch.Tensor,
              lineart: torch.Tensor) -> torch.Tensor:
        """The guide decoder's simplified illustration s_hat (B,3,S,S) in [-1,1] (needs model.guide)."""
        enc = self.nets["g"].encode_stencil(composite, mask, hints)
        return self.nets["guide"](enc[-1], self.features(lineart))

    def images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c, m, h, x = batch["composite"], batch["mask"], batch["hints"], batch["lineart"]
        shown = h[:, :3] * h[:, 3:] + (1 - h[:, 3:])  # hints over white paper
        panels = {"composite": c, "mask": m * 2 - 1, "hints": shown,
                  "output": paste(self.colorize(c, m, h, x), batch["illustration"], m),
                  "target": batch["illustration"], "simplified": batch["simplified"]}
        if "guide" in self.nets:
            panels["guide"] = self.guide(c, m, h, x)
        return panels


# what `train.run.trainer("stenciltorch")` gives
CONFIG = StencilTrainConfig
TASK = StencilTorchTask
