"""PaintsTorch objectives (thesis IV.2.2.3): conditional WGAN-GP critic with drift, adversarial, content, recon.

    L_C = E[C(y_hat, f)] - E[C(y, f)] + lambda_gp * E[(||grad C(y_tilde, f)||_2 - 1)^2] + eps_drift * E[C(y, f)^2]
    L_G = lambda_adv * (-E[C(y_hat, f)]) + L_cont + L_recon
with y_tilde on straight lines between real and fake samples (Gulrajani et al. 2017), f = F1(x).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F


@dataclass
class LossConfig:
    """Loss weights; defaults from thesis IV.2.2.3."""

    lambda_adv: float = 1e-4  # thesis eq. pt_generator_loss: lambda_adv = 1e-4
    lambda_cont: float = 1.0  # L_cont enters L_G with weight 1
    lambda_recon: float = 1.0  # L_recon enters L_G with weight 1
    lambda_gp: float = 10.0  # thesis eq. pt_critic_loss_gradient_penalty: lambda_gp = 10
    epsilon_drift: float = 1e-3  # thesis (after Karras et al. 2017): epsilon_drift = 1e-3
    # inkwash addition, off by default (thesis recipe): a pixel L1 term on G1's output. Short CPU runs with the
    # offline random-weight F2 use it to pin colours the perceptual loss only weakly constrains.
    lambda_l1: float = 0.0


def wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """L_w = E[C(fake)] - E[C(real)]. scores: (B,1) unbounded -> scalar."""
    return fake_scores.mean() - real_scores.mean()


def drift(real_scores: torch.Tensor) -> torch.Tensor:
    """E[C(real)^2]: keeps the critic's output near zero (Karras et al. 2017)."""
    return real_scores.pow(2).mean()


def gradient_penalty(critic: Callable[..., torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     *cond: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """E[(||dC/dy_tilde||_2 - 1)^2] on y_tilde = alpha*real + (1-alpha)*fake, computed in fp32 outside autocast.

    real, fake: (B,C,H,W); cond: extra critic inputs (F1 features); alpha: (B,1,1,1) in [0,1], drawn if None.
    The norm is over each whole sample (C,H,W), as in WGAN-GP.
    """
    real, fake = real.detach().float(), fake.detach().float()
    if alpha is None:
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    y_tilde = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        scores = critic(y_tilde, *[c.float() for c in cond])
        (grad,) = torch.autograd.grad(scores.sum(), y_tilde, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, gp: torch.Tensor,
                cfg: LossConfig) -> dict[str, torch.Tensor]:
    """L_C = L_w + lambda_gp * GP + eps_drift * drift, with its named parts (the total under "loss")."""
    w, d = wasserstein(real_scores, fake_scores), drift(real_scores)
    total = w + cfg.lambda_gp * gp + cfg.epsilon_drift * d
    return {"loss": total, "wasserstein": w, "gp": gp, "drift": d}


def adversarial(fake_scores: torch.Tensor) -> torch.Tensor:
    """L_adv = -E[C(y_hat, F1(x))]."""
    return -fake_scores.mean()


def content(f2: Callable[[torch.Tensor], torch.Tensor], fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L_cont = 1/(chw) ||F2(y_hat) - F2(y)||^2, averaged over the batch. images: (B,3,H,W) in [-1,1]."""
    with torch.no_grad():
        target = f2(real)
    return F.mse_loss(f2(fake), target)


def reconstruction(redrawn: torch.Tensor, lineart: torch.Tensor) -> torch.Tensor:
    """L_recon = 1/(hw) ||G2(G1(...)) - x||^2. (B,1,H,W) in [-1,1]."""
    return F.mse_loss(redrawn, lineart)


def generator_loss(cfg: LossConfig, fake_scores: torch.Tensor, f2: Callable[[torch.Tensor], torch.Tensor],
                   fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """lambda_adv * L_adv + lambda_cont * L_cont (+ lambda_l1 * L1): (total, named terms for the logs).

    A term whose weight is 0 is not computed (L_cont runs F2 forward and backward: the costliest part).
    fake_scores: C(y_hat) (B,1); fake, real: (B,3,H,W) in [-1,1].
    """
    out = {"adv": adversarial(fake_scores)}
    total = cfg.lambda_adv * out["adv"]
    if cfg.lambda_cont > 0:
        out["content"] = content(f2, fake, real)
        total = total + cfg.lambda_cont * out["content"]
    l1 = (fake.float() - real.float()).abs().mean()
    if cfg.lambda_l1 > 0:
        total = total + cfg.lambda_l1 * l1
    out["l1"] = l1.detach()
    return total, out
