"""Diffusion as plain functions over tensors: the cosine schedule, DDIM/DDPM steps and the guided sampler.

Model-agnostic (StablePaint's noise U-Net is one `eps_model`): tables are precomputed once per schedule, a sampler
is a loop of numbered steps in the papers' notation (Ho et al. 2020, Song et al. 2021, Nichol & Dhariwal 2021,
Ho & Salimans 2022). `strength` starts from the context latent noised part of the way (thesis IV.4.4: the
fidelity/variety dial); in-painting replaces the kept latents at every step by the base's, noised to that step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from inkwash.errors import InkwashError


@dataclass
class SamplerConfig:
    """How `sample` runs; the backend's options."""

    steps: int = 20  # DDIM steps (Song et al. 2021 get good samples from 20-50)
    strength: float = 0.5  # 0 = the decoded context latent, 1 = pure noise (thesis IV.4.4's corruption level)
    sampler: str = "ddim"  # "ddim" (eta 0, deterministic given the start) or "ddpm" (eta 1, ancestral)
    guidance: float = 2.0  # classifier-free guidance weight w (Ho & Salimans 2022); 1 = conditional only

    def check(self) -> "SamplerConfig":
        if self.steps < 1:
            raise InkwashError(f"steps {self.steps}: give at least 1")
        if not 0.0 <= self.strength <= 1.0:
            raise InkwashError(f"strength {self.strength}: give a value in [0, 1] (0 = context, 1 = pure noise)")
        if self.sampler not in ("ddim", "ddpm"):
            raise InkwashError(f"sampler {self.sampler!r}: use ddim or ddpm")
        if self.guidance < 0:
            raise InkwashError(f"guidance {self.guidance}: give a value >= 0 (1 = no guidance)")
        return self


class CosineSchedule:
    """The cosine noise schedule of Nichol & Dhariwal 2021 (eq. 17), as tables over t in [0,T).

    alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) * pi/2); betas clipped to 0.999.
    """

    def __init__(self, timesteps: int = 1000, s: float = 0.008):
        self.T = timesteps
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
        self.alpha_bar = torch.cumprod(1 - betas, 0).float()  # (T,), alpha_bar[t] for the noised x_t

    def ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """alpha_bar at integer steps t (B,) shaped to broadcast over `like` (B,...); t = -1 means clean (1)."""
        table = torch.cat([torch.ones(1), self.alpha_bar]).to(like.device)
        return table[t.long() + 1].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps (Ho et al. 2020 eq. 4). x0, noise (B,C,h,w); t (B,)."""
        ab = self.ab(t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def step(self, x_t: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int, eta: float,
             noise: torch.Tensor | None) -> torch.Tensor:
        """One DDIM update x_t -> x_{t_prev} (Song et al. 2021 eq. 12); eta 1 is DDPM's ancestral step.

        t_prev = -1 lands on x0. x0 is clipped to [-1,1] (latents are tanh-bounded) and eps re-derived from it.
        """
        ab_t = self.ab(torch.full((x_t.shape[0],), t), x_t)
        ab_p = self.ab(torch.full((x_t.shape[0],), t_prev), x_t)
        x0 = ((x_t - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()).clamp(-1, 1)  # 1. predicted x0
        eps = (x_t - ab_t.sqrt() * x0) / (1 - ab_t).sqrt()  # 2. the noise consistent with the clipped x0
        sigma = eta * ((1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p)).clamp(min=0).sqrt()  # 3. eq. 16
        x_prev = ab_p.sqrt() * x0 + (1 - ab_p - sigma**2).clamp(min=0).sqrt() * eps  # 4. direction to x_t
        if noise is not None and eta > 0:
            x_prev = x_prev + sigma * noise  # 5. fresh noise (none on the last step: sigma is 0 there)
        return x_prev


def timesteps_for(schedule: CosineSchedule, steps: int, strength: float) -> list[int]:
    """Decreasing training steps a sampler visits: `steps` of them (fewer only if the range is shorter) spread
    evenly from strength * T - 1 down to 0, so --steps is the number of network evaluations at any strength
    (twice that with guidance). [] for strength 0: nothing to denoise."""
    start = int(round(strength * schedule.T))
    if start <= 0:
        return []
    grid = np.linspace(start - 1, 0, min(steps, start)).round().astype(int)
    return sorted({int(t) for t in grid}, reverse=True)


@torch.no_grad()
def sample(eps_model: Callable[..., torch.Tensor], schedule: CosineSchedule, z_ctx: torch.Tensor,
           cond: torch.Tensor, uncond: torch.Tensor, cfg: SamplerConfig, generator: torch.Generator | None = None,
           keep: torch.Tensor | None = None, z_base: torch.Tensor | None = None) -> torch.Tensor:
    """A latent for the context latent z_ctx (B,C,s,s): starts at z_ctx noised to strength * T, then denoises.

    eps_model(x_t, t, z_ctx, k) -> predicted noise; k is `cond` (B,...) or, for the unconditional branch of
    classifier-free guidance, `uncond` (same shape). keep (B,1,s,s) in {0,1}, 1 = keep z_base (B,C,s,s) there
    (in-painting; None = colour everything). Returns (B,C,s,s) in [-1,1]; exactly z_ctx (with z_base where keep)
    when strength is 0.
    """

    def randn() -> torch.Tensor:
        return torch.randn(z_ctx.shape, generator=generator, dtype=torch.float32).to(z_ctx)

    def paste(x: torch.Tensor, t: int) -> torch.Tensor:  # known latents noised to step t (t = -1: clean)
        if keep is None or z_base is None:
            return x
        known = z_base if t < 0 else schedule.q_sample(z_base, torch.full((x.shape[0],), t), randn())
        return torch.where(keep != 0, known, x)

    ts = timesteps_for(schedule, cfg.steps, cfg.strength)
    if not ts:
        return paste(z_ctx, -1)
    # at full strength the start is pure noise: alpha_bar(T-1) is ~0 under the cosine schedule
    x = randn() if cfg.strength >= 1.0 else schedule.q_sample(z_ctx, torch.full((z_ctx.shape[0],), ts[0]), randn())
    x = paste(x, ts[0])
    eta = 1.0 if cfg.sampler == "ddpm" else 0.0
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        tt = torch.full((x.shape[0],), t, device=x.device)
        if cfg.guidance == 1.0:
            eps = eps_model(x, tt, z_ctx, cond)
        else:  # both branches in one batch: eps_u + w (eps_c - eps_u)
            both = eps_model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([z_ctx, z_ctx]), torch.cat([cond, uncond]))
            eps_c, eps_u = both.chunk(2)
            eps = eps_u + cfg.guidance * (eps_c - eps_u)
        x = paste(schedule.step(x, eps, t, t_prev, eta, randn() if eta > 0 else None), t_prev)
    return x


__all__ = ["SamplerConfig", "CosineSchedule", "timesteps_for", "sample"]
