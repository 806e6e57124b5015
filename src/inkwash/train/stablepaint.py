"""Training StablePaint (thesis IV.4) in three stages with the generic loop, one run folder per stage.

    inkwash train stablepaint --stage autoencoder --data DIR --out runs/sp-ae
    inkwash train stablepaint --stage context --previous runs/sp-ae --data DIR --out runs/sp-ctx
    inkwash train stablepaint --stage noise --previous runs/sp-ctx --data DIR --out runs/sp
    inkwash colorize lineart.png --hints hints.png --model runs/sp --strength 0.5 --variations 4 -o out.png

Each stage starts from the previous stage's export (`previous`: its RUN/best/ if kept, else RUN/model/), freezes
what it got and trains one group:
    autoencoder  encoder + decoder:  L = |D(E(y)) - y|_1                                (thesis: to saturation)
    context      context encoder:    L = |D(E_k(k)) - y|_1 + w_latent |E_k(k) - E(y)|^2  (D, E frozen)
    noise        U-Net eps_theta:    L = |eps - eps_theta(x_t, t, E_k(k), k)|^2, t ~ U[0,T) (Ho et al. 2020's
                 simple loss, cosine schedule); hints dropped with p_uncond for classifier-free guidance
and exports everything so far, so the noise stage's RUN/model/ is the whole model (`--model RUN`).
The architecture (preset) must match across stages: a mismatch is refused with the differing settings.

Ours where the thesis is silent: the context k is the StencilTorch composite + mask + hints, with masks drawn per
sample (the whole image with p_full, else data/masks.py's blobs, rectangles and brush strokes), so one model does
first passes and in-painting; Adam with betas (0.9, 0.999) and no GAN terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inkwash.data.masks import composite, random_mask
from inkwash.diffusion import CosineSchedule, SamplerConfig, sample
from inkwash.errors import InkwashError
from inkwash.models.serialize import BEST_DIR, read_model
from inkwash.models.serialize import CONFIG as MODEL_CONFIG
from inkwash.models.stablepaint import (NETWORKS, StablePaintConfig, build_networks, context_input, drop_hints,
                                        load_stablepaint)
from inkwash.train.config import OptimConfig
from inkwash.train.loop import Task
from inkwash.train.paintstorch import TrainConfig

STAGES: dict[str, tuple[str, ...]] = {"autoencoder": ("encoder", "decoder"), "context": ("context",),
                                      "noise": ("unet",)}
# the model settings each stage inherits from the previous one and must not change
FROZEN_SETTINGS = ("latent_channels", "ae_width", "ae_mults", "ae_blocks")

# Width presets (train.run.make_config picks the trainer's SIZE_PRESETS); `base` is the dataclass
# defaults, about Stable Diffusion's f=8 autoencoder at half width and a 40 M-parameter U-Net.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(latent_channels=4, ae_width=8, ae_mults=(1, 1, 2, 2), ae_blocks=1, unet_width=16, unet_mults=(1, 2),
                 unet_blocks=1),
    # two CPU cores in about an hour for the three stages (recipes/stablepaint-cpu.toml): AE 0.3 M, context
    # encoder 0.1 M, U-Net 1.1 M parameters, 3 MB in float16
    "cpu": dict(latent_channels=4, ae_width=16, ae_mults=(1, 2, 2, 4), ae_blocks=1, unet_width=32,
                unet_mults=(1, 2, 2), unet_blocks=1),
    "small": dict(latent_channels=4, ae_width=32, ae_mults=(1, 2, 2, 4), ae_blocks=1, unet_width=64,
                  unet_mults=(1, 2, 2), unet_blocks=1),
    "base": {},
}


@dataclass
class StablePaintLossConfig:
    """Weights and sampling of the training inputs."""

    w_latent: float = 1.0  # context stage: pull E_k(k) onto E(y) (the thesis' "matches the illustration one")
    p_uncond: float = 0.1  # noise stage: hints dropped (Ho & Salimans 2022 use 0.1-0.2)
    p_full: float = 0.5  # masks covering the whole image: a first colouring pass


@dataclass
class StablePaintTrainConfig(TrainConfig):
    """Everything a StablePaint stage run uses; saved as RUN/config.json and rebuilds the run."""

    name: str = "stablepaint"
    stage: str = "autoencoder"  # autoencoder | context | noise
    previous: str = ""  # the run folder of the previous stage (context and noise stages)
    model: StablePaintConfig = field(default_factory=StablePaintConfig)
    loss: StablePaintLossConfig = field(default_factory=StablePaintLossConfig)
    # the thesis gives no optimiser for StablePaint; Adam's usual betas, as for DDPM (Ho et al. 2020: lr 2e-4)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-4, beta1=0.9, beta2=0.999))


def random_masks(n: int, size: int, p_full: float, device: torch.device) -> torch.Tensor:
    """n stencil masks (n,1,S,S) in {0,1}: the whole image with p_full, else data/masks.py's kinds. Drawn from
    the torch RNG (the loop reseeds it every step), so runs and resumes see the same masks."""
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    rng = np.random.default_rng(seed)
    masks = [np.ones((size, size), np.float32) if rng.random() < p_full else random_mask(size, rng)
             for _ in range(n)]
    return torch.from_numpy(np.stack(masks))[:, None].to(device)


class StablePaintTask(Task):
    """One stage of StablePaint for the generic loop: phase = the stage, trained networks = STAGES[stage].

    batch: illustration (B,3,S,S) in [-1,1], lineart (B,1,S,S) in [-1,1], hints (B,4,S/4,S/4).
    """

    stencil: ClassVar[bool] = False  # masks are drawn here; the dataset's colour simplification is not needed

    def __init__(self, cfg: StablePaintTrainConfig, device: torch.device | str = "cpu"):
        if cfg.stage not in STAGES:
            raise InkwashError(f"stage {cfg.stage!r}: use one of {', '.join(STAGES)} (trained in that order)")
        if cfg.data.size % cfg.model.multiple:
            raise InkwashError(f"--size {cfg.data.size}: must be a multiple of {cfg.model.multiple} for this preset "
                               "(8 for the autoencoder times the U-Net's halvings)")
        self.cfg, self.device = cfg, torch.device(device)
        nets = build_networks(cfg.model)
        trained = STAGES[cfg.stage]
        self.frozen: dict[str, nn.Module] = {}
        if cfg.stage != "autoencoder":
            self.frozen = self._previous(cfg)
        self.nets = {n: nets[n].to(device) for n in trained}
        self.phases = (cfg.stage,)
        o = cfg.optim
        self.opts = {cfg.stage: torch.optim.Adam([p for n in trained for p in self.nets[n].parameters()], lr=o.lr,
                                                 betas=(o.beta1, o.beta2))}
        self.schedule = CosineSchedule(cfg.model.timesteps, cfg.model.cosine_s)

    def _previous(self, cfg: StablePaintTrainConfig) -> dict[str, nn.Module]:
        """The frozen networks of the earlier stages, from `cfg.previous`, after checking the settings match."""
        if not cfg.previous:
            raise InkwashError(f"stage {cfg.stage} starts from the previous stage's run: give --previous RUN")
        before = list(NETWORKS[: NETWORKS.index(STAGES[cfg.stage][0])])
        run = Path(cfg.previous)
        if (run / BEST_DIR / MODEL_CONFIG).is_file():  # the previous stage's best held-out model, when it kept one
            run = run / BEST_DIR
        try:
            saved = read_model(run, expect="stablepaint").model
        except InkwashError as exc:
            raise InkwashError(f"--previous {run}: not a {cfg.stage}-ready StablePaint model ({exc}); give the run "
                               "folder of the previous stage") from None
        mine = vars(cfg.model)
        saved = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
        differ = [f"{k}={saved.get(k)} (here {mine[k]})" for k in FROZEN_SETTINGS if saved.get(k) != mine[k]]
        if differ:
            raise InkwashError(f"--previous {run}: trained with other model settings: {', '.join(differ)}; "
                               "use the same --preset/--config as the previous stage")
        nets, _, _ = load_stablepaint(run, self.device, need=tuple(before))
        return nets

    def networks(self) -> dict[str, nn.Module]:
        return self.nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self.opts

    def net(self, name: str) -> nn.Module:
        return self.nets[name] if name in self.nets else self.frozen[name]

    def context(self, batch: dict[str, torch.Tensor], state: dict) -> torch.Tensor:
        """k (B,8,S,S) for the batch, with a fresh random mask per sample (shared by the phases of a step)."""
        if "k" not in state:
            y, x = batch["illustration"], batch["lineart"]
            m = random_masks(y.shape[0], y.shape[-1], self.cfg.loss.p_full, y.device).to(y.dtype)
            state["k"] = context_input(composite(y, x, m), m, batch["hints"])
        return state["k"]

    def step(self, phase: str, batch: dict[str, torch.Tensor], state: dict) -> dict[str, torch.Tensor]:
        y = batch["illustration"]
        if phase == "autoencoder":
            y_hat = self.nets["decoder"](self.nets["encoder"](y))
            l1 = F.l1_loss(y_hat.float(), y.float())
            return {"loss": l1, "l1": l1, "mse": F.mse_loss(y_hat.detach().float(), y.float())}
        k = self.context(batch, state)
        with torch.no_grad():
            z0 = self.frozen["encoder"](y)  # (B,C,s,s): the target latent
        if phase == "context":
            z_ctx = self.nets["context"](k)
            recon = F.l1_loss(self.frozen["decoder"](z_ctx).float(), y.float())
            latent = F.mse_loss(z_ctx.float(), z0.float())
            return {"loss": recon + self.cfg.loss.w_latent * latent, "l1": recon, "latent": latent}
        if phase == "noise":
            drop = torch.rand(y.shape[0], device=y.device) < self.cfg.loss.p_uncond
            k = torch.where(drop[:, None, None, None], drop_hints(k), k)
            with torch.no_grad():
                z_ctx = self.frozen["context"](k)
            t = torch.randint(0, self.schedule.T, (y.shape[0],), device=y.device)
            eps = torch.randn_like(z0)
            eps_hat = self.nets["unet"](self.schedule.q_sample(z0, t, eps), t, z_ctx, k)
            mse = F.mse_loss(eps_hat.float(), eps.float())
            return {"loss": mse, "mse": mse}
        raise ValueError(f"unknown phase {phase}")

    @torch.no_grad()
    def images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        y, h = batch["illustration"], batch["hints"]
        shown = h[:, :3] * h[:, 3:] + (1 - h[:, 3:])  # hints over white paper
        panels = {"lineart": batch["lineart"], "hints": shown, "target": y}
        if self.cfg.stage == "autoencoder":
            panels["reconstruction"] = self.nets["decoder"](self.nets["encoder"](y))
        else:
            k = self.context(batch, {})
            z_ctx = self.net("context")(k)
            panels.update(composite=k[:, :3], context=self.frozen["decoder"](z_ctx))
            if self.cfg.stage == "noise":
                z = sample(self.nets["unet"], self.schedule, z_ctx, k, drop_hints(k), SamplerConfig(steps=10, strength=1.0),
                           torch.Generator().manual_seed(0))
                panels["sample"] = self.frozen["decoder"](z)
        return panels

    def exported_model(self) -> tuple[str, Any, dict]:
        name, model, meta = super().exported_model()
        return name, model, {**meta, "stage": self.cfg.stage}

    def export(self) -> dict[str, torch.Tensor]:
        """Every network so far: the noise stage's export is the whole model."""
        nets = {**self.frozen, **self.nets}
        return {f"{n}.{k}": v for n, net in nets.items() for k, v in net.state_dict().items()}


# what `train.run.trainer("stablepaint")` gives
CONFIG = StablePaintTrainConfig
TASK = StablePaintTask
