"""Training RegionColor (inkwash.models.regioncolor) on outline drawings with the generic loop.

    inkwash train regioncolor --data data/ocal-outlines --out runs/rc --config recipes/regioncolor.toml
    inkwash train regioncolor --data synthetic --out runs/rc-smoke --preset tiny --size 64 --steps 50

Each sample is an outline drawing (its real outline, or xDoG over it: data.lineart "mix") with hints drawn per sample
(data.hints "mixed": none, hand-like scribbles in a random share of the regions, or random strokes). The sample's
regions and flats are computed as the pipeline computes them (`region_inputs`), in the data loader's workers.
Losses, on the regions the pipeline asks a model about (unhinted, enclosed; pixels off the ink):
    colour   mean CIE76 difference (Lab) between the proposed region colour and the drawing's flat colours (SVG
             fills, gradients at their mean), per pixel, so a region counts by its area as in the evaluation
    shading  L1 between the shading and the truth's brightness over the flats' (clipped to [0.5,1.5]), inside every
             enclosed region: the drawing's own light and shade
Held-out score (loop.val_every): the colour loss on fixed test drawings, in ΔE76, beside what the neighbour rule and
paper score on the same pixels, so the log says when the model beats the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from inkwash.models.regioncolor import RegionColorConfig, build_networks, delta_e76, region_inputs
from inkwash.train.config import DataConfig, OptimConfig
from inkwash.train.loop import Task
from inkwash.train.paintstorch import TrainConfig

LUMA = (0.299, 0.587, 0.114)  # BT.601, as the region lock's shading

SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(width=8, mults=(1, 2), region_width=16, rounds=1),
    "base": {},
}


@dataclass
class RegionColorLossConfig:
    w_shading: float = 0.5  # the shading's L1 (in multiplier units) against the colour's ΔE76 / 100


@dataclass
class RegionColorTrainConfig(TrainConfig):
    """Everything a RegionColor run uses; saved as RUN/config.json and rebuilds the run."""

    name: str = "regioncolor"
    model: RegionColorConfig = field(default_factory=RegionColorConfig)
    loss: RegionColorLossConfig = field(default_factory=RegionColorLossConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=2e-3, beta1=0.9, beta2=0.999))
    # whole drawings at 256 px (no smaller crops: a crop's cut regions would look like paper at the border)
    data: DataConfig = field(default_factory=lambda: DataConfig(size=256, batch_size=8, hints="mixed",
                                                                lineart="mix", lineart_mix=0.75, n_strokes=(0, 24),
                                                                stroke_box=(0, 16), workers=1))


class RegionSamples(Dataset):
    """A ColorizationDataset with flats -> the network's inputs for each item (see `__getitem__`)."""

    def __init__(self, base):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def set_epoch(self, epoch: int) -> None:
        self.base.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """inputs (17,S,S) float32, ids (S,S) int64, target (flats) and truth (3,S,S) in [0,1], todo and inner (1,S,S)
        in {0,1}: pixels off the ink of unhinted enclosed regions, and of every enclosed region."""
        item = self.base[index]
        lines = (item["lineart"][0].numpy() + 1.0) / 2.0
        h = item["hints"].numpy().transpose(1, 2, 0)  # (S/4,S/4,4): RGB in [-1,1] (0 off-hint), mask
        m = h[..., 3:]
        rgb = np.round((h[..., :3] + 1.0) / 2.0 * 255.0) / 255.0 * m
        scale = lines.shape[0] // h.shape[0]
        hints = np.repeat(np.repeat(np.concatenate([rgb, m], -1), scale, 0), scale, 1).astype(np.float32)
        inputs, ids, extra = region_inputs(lines, hints)
        regions = extra["regions"]
        inner = (~regions.border).take(regions.labels) & extra["paper"]
        return {"inputs": torch.from_numpy(inputs), "ids": torch.from_numpy(ids),
                "target": (item["flats"] + 1.0) / 2.0, "truth": (item["illustration"] + 1.0) / 2.0,
                "todo": torch.from_numpy(extra["todo"][None].astype(np.float32)),
                "inner": torch.from_numpy(inner[None].astype(np.float32))}


def luma(x: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) -> (B,1,H,W) brightness."""
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def shading_target(truth: torch.Tensor, flats: torch.Tensor) -> torch.Tensor:
    """The truth's brightness over the flats', (B,1,H,W) clipped to the shading's range [0.5,1.5]."""
    return ((luma(truth) + 1 / 255) / (luma(flats) + 1 / 255)).clamp(0.5, 1.5)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


class RegionColorTask(Task):
    """One phase ("net"): the colour and shading losses of the module doc.

    batch: RegionSamples items, collated: inputs (B,17,S,S), ids (B,S,S), target/truth (B,3,S,S), todo/inner (B,1,S,S).
    """

    stencil: ClassVar[bool] = False
    with_flats: ClassVar[bool] = True  # the dataset yields each drawing's flats (the colour target)
    phases = ("net",)

    def __init__(self, cfg: RegionColorTrainConfig, device: torch.device | str = "cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.nets = {k: v.to(device) for k, v in build_networks(cfg.model).items()}
        o = cfg.optim
        self.opts = {"net": torch.optim.Adam(self.nets["net"].parameters(), lr=o.lr, betas=(o.beta1, o.beta2))}

    @staticmethod
    def dataset(ds, cfg: RegionColorTrainConfig, train: bool) -> RegionSamples:
        return RegionSamples(ds)

    def networks(self):
        return self.nets

    def optimizers(self):
        return self.opts

    def step(self, phase: str, batch: dict[str, torch.Tensor], state: dict) -> dict[str, torch.Tensor]:
        colour, shading = self.nets["net"](batch["inputs"], batch["ids"])
        de = delta_e76(colour.float(), batch["target"].float())[:, None]  # (B,1,S,S); float32 under autocast too
        l_colour = _masked_mean(de, batch["todo"])
        target = shading_target(batch["truth"].float(), batch["target"].float())
        l_shading = _masked_mean((shading.float() - target).abs(), batch["inner"])
        loss = l_colour / 100.0 + self.cfg.loss.w_shading * l_shading
        return {"loss": loss, "de": l_colour.detach(), "shading": l_shading.detach()}

    @torch.no_grad()
    def held_out(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """ΔE76 to the flats on the unhinted enclosed pixels (model, neighbour rule, paper), pixel-weighted."""
        sums = {"model": 0.0, "neighbour": 0.0, "paper": 0.0, "shading": 0.0}
        todo_px = inner_px = 0.0
        for b in batches:
            colour, shading = (t.float() for t in self.nets["net"](b["inputs"], b["ids"]))
            todo, inner, target = b["todo"][:, 0], b["inner"], b["target"]
            for key, guess in (("model", colour), ("neighbour", b["inputs"][:, 8:11]),
                               ("paper", torch.ones_like(colour))):
                sums[key] += float((delta_e76(guess, target) * todo).sum())
            sums["shading"] += float(((shading - shading_target(b["truth"], target)).abs() * inner).sum())
            todo_px += float(todo.sum())
            inner_px += float(inner.sum())
        out = {f"de_{k}": sums[k] / max(todo_px, 1.0) for k in ("model", "neighbour", "paper")}
        out["shading_l1"] = sums["shading"] / max(inner_px, 1.0)
        out["score"] = out["de_model"]
        return out

    @torch.no_grad()
    def images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        colour, shading = self.nets["net"](batch["inputs"], batch["ids"])
        x = batch["inputs"]
        hints = x[:, 11:14] + (1 - x[:, 14:15])  # strokes over white
        return {"lines": x[:, :1], "hints": hints * 2 - 1, "neighbour": x[:, 8:11] * 2 - 1,
                "model": (colour * shading).clamp(0, 1) * 2 - 1, "flats": batch["target"] * 2 - 1,
                "truth": batch["truth"] * 2 - 1}

    def export(self) -> dict[str, torch.Tensor]:
        return {f"net.{k}": v for k, v in self.nets["net"].state_dict().items()}


# what `train.run.trainer("regioncolor")` gives
CONFIG = RegionColorTrainConfig
TASK = RegionColorTask
