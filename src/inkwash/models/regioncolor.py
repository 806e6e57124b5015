"""RegionColor (ours): a small region-aware network that proposes a colour for every unhinted region.

The pipeline (inkwash.infer) already knows the drawing's regions, which of them the hints colour and which touch the
image border (paper). What it lacks is a colour for the enclosed regions no hint reaches; the rule it uses without a
model gives each the colour of the neighbour sharing the most outline (`neighbour`). RegionColor sees that same
structure and learns the rest from real outline drawings and their flat colours:

    inputs (B,17,S,S), built by `region_inputs` from the lines and hints at the working size S:
        lines (1, in [-1,1]), ink (1), border regions (1), hinted regions (1), unhinted enclosed regions (1, "todo"),
        flats with unhinted regions left paper (3), flats by the neighbour rule (3), hints RGB*mask + mask (4),
        distance to ink (1, /16 px, capped at 1), region area (1, log over log S^2)
    ids (B,S,S) int64: each pixel's region (its nearest region under the lines), 1..n per drawing

    pixel CNN       a U-Net at S/2 (stride-2 stem, 3 halvings) -> features F (B,w,S/2,S/2), upsampled to S
    region pooling  h_r = MLP(mean of [F, inputs] over region r)                      one vector per region
    graph rounds    h_r += MLP([h_r, mean over r's neighbours of h_s, weighted by shared outline])   x `rounds`
    colour          c_r = clip(neighbour rule's colour of r + Linear(h_r), 0, 1)   zero-initialised: it starts as
                    the neighbour rule and learns where to differ (a white eye, a dark pupil, no hint at all)
    shading         s = 1 + 0.5 tanh(conv(F + Linear(h_r)))   in [0.5,1.5], a brightness multiplier inside regions,
                    computed at S/2 and upsampled

Output (`RegionColorNet.forward`): the colour map (B,3,S,S) in [0,1] (c_r in unhinted enclosed regions, the hint
flats elsewhere: paper stays white) and the shading (B,1,S,S). The model's image is colour x shading: one colour per
region and its brightness variation, exactly what the region lock reads back (medians, then shading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inkwash.canvas import Canvas
from inkwash.errors import InkwashError
from inkwash.models.serialize import SavedModel, load_state, read_model

NAME = "regioncolor"
IN_CHANNELS = 17
DIST_SCALE = 16.0  # px: distance to ink is given as min(d / 16, 1)


@dataclass
class RegionColorConfig:
    """Widths of the pixel U-Net and of the region graph network (defaults: 0.4 M parameters)."""

    width: int = 16  # U-Net width at S/2
    mults: tuple[int, ...] = (1, 2, 4, 4)  # U-Net levels at S/2, S/4, S/8, S/16
    region_width: int = 64  # size of each region's vector
    rounds: int = 3  # message-passing rounds over the region adjacency graph
    shading: bool = True  # predict a shading multiplier inside regions (else 1)

    @classmethod
    def from_dict(cls, d: dict) -> "RegionColorConfig":
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise InkwashError(f"unknown RegionColor model settings {sorted(set(d) - known)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this: the stem's 2 times the U-Net's halvings."""
        return 2 * 2 ** (len(self.mults) - 1)


# ---------------------------------------------------------------------------------------------- helpers
def groups(c: int) -> int:
    return math.gcd(8, c)


def region_inputs(lines: np.ndarray, hints: np.ndarray, regions=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """What the network sees, from lines (S1,S2) float in [0,1] (1 = paper) and hints (S1,S2,4) at the same size
    (RGB in [0,1] + mask, float, or uint8 levels) -> (inputs (17,S1,S2) float32, ids (S1,S2) int64, extra).

    regions: the lines' `inkwash.regions.Regions` (computed when None). extra: {"todo": (S1,S2) bool pixels of
    unhinted enclosed regions, "paper": (S1,S2) bool pixels off the ink, "regions": Regions}.
    """
    from inkwash.regions import FlatConfig, RegionConfig, compute_regions, flat_colours
    from inkwash.regions.flats import HINTED, NEIGHBOUR, PAPER, SPLIT

    lines = np.asarray(lines, np.float32)
    if regions is None:
        regions = compute_regions(lines, RegionConfig())
    hints = np.asarray(hints)
    # one flats pass (a split's graph cut is the costly part): the paper policy's flats are the neighbour
    # policy's with the regions it coloured left white
    neigh = flat_colours(regions, hints, FlatConfig(unhinted="neighbour"))
    ids = regions.nearest.astype(np.int64)
    hinted = np.isin(neigh.source, (HINTED, SPLIT))
    todo = (neigh.source == NEIGHBOUR) | ((neigh.source == PAPER) & ~regions.border)
    todo[0] = False
    todo_px = todo.take(ids)
    paper_colour = np.where(todo_px[..., None], np.float32(1.0), neigh.colour)
    h = hints.astype(np.float32) / (255.0 if hints.dtype == np.uint8 else 1.0)
    m = (h[..., 3:4] > 0.5).astype(np.float32)
    area = np.log(np.maximum(regions.area, 1)).astype(np.float32) / np.float32(math.log(lines.size))
    maps = [
        lines[..., None] * 2.0 - 1.0,
        (lines < 0.5).astype(np.float32)[..., None],
        regions.border.take(ids)[..., None].astype(np.float32),
        hinted.take(ids)[..., None].astype(np.float32),
        todo_px[..., None].astype(np.float32),
        paper_colour,
        neigh.colour,
        h[..., :3] * m,
        m,
        np.minimum(regions.dist / DIST_SCALE, 1.0)[..., None],
        area.take(ids)[..., None],
    ]
    inputs = np.concatenate(maps, axis=2).astype(np.float32).transpose(2, 0, 1)
    extra = {"todo": todo_px & (regions.labels > 0), "paper": regions.labels > 0, "regions": regions}
    return np.ascontiguousarray(inputs), ids, extra


def batch_ids(ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Per-drawing region ids (B,S1,S2) -> ids unique across the batch (B,S1,S2) and their count N (id 0 unused)."""
    n = ids.flatten(1).amax(1) + 1  # (B,)
    offset = torch.cumsum(n, 0) - n
    return ids + offset[:, None, None], int(n.sum())


def region_mean(x: torch.Tensor, ids: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of pixel features x (B,C,S1,S2) over each region of `ids` (B,S1,S2, batch-unique) -> (N,C)."""
    c = x.shape[1]
    flat = x.permute(0, 2, 3, 1).reshape(-1, c).float()  # float32 sums: bf16 cannot count a region's pixels
    idx = ids.reshape(-1)
    total = torch.zeros(n, c, device=x.device).index_add_(0, idx, flat)
    count = torch.zeros(n, device=x.device).index_add_(0, idx, torch.ones_like(idx, dtype=torch.float32))
    return total / count.clamp(min=1.0)[:, None]


def region_edges(ids: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adjacent regions of batch-unique `ids` (B,S1,S2): 4-neighbour pixels of different regions, both ways ->
    (src (E,), dst (E,), weight (E,) = shared outline in px)."""
    pairs = []
    for a, b in ((ids[:, :, 1:], ids[:, :, :-1]), (ids[:, 1:, :], ids[:, :-1, :])):
        diff = a != b
        pairs.append(torch.stack([a[diff], b[diff]], 1))
    p = torch.cat(pairs, 0)
    p = torch.cat([p, p.flip(1)], 0)
    if p.numel() == 0:
        e = torch.zeros(0, dtype=torch.long, device=ids.device)
        return e, e, torch.zeros(0, device=ids.device)
    keys, count = torch.unique(p[:, 0] * n + p[:, 1], return_counts=True)
    return keys // n, keys % n, count.float()


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB (...,3) in [0,1] -> CIELAB (...,3) (D65), differentiable."""
    c = rgb.clamp(0.0, 1.0)
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                      [0.0193339, 0.1191920, 0.9503041]], dtype=rgb.dtype, device=rgb.device)
    xyz = lin @ m.T / torch.tensor([0.95047, 1.0, 1.08883], dtype=rgb.dtype, device=rgb.device)
    d = 6.0 / 29.0
    f = torch.where(xyz > d**3, xyz.clamp(min=1e-8) ** (1.0 / 3.0), xyz / (3 * d * d) + 4.0 / 29.0)
    return torch.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def delta_e76(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """CIE76 colour difference of sRGB images a, b (B,3,S1,S2) in [0,1] -> (B,S1,S2)."""
    la, lb = rgb_to_lab(a.movedim(1, -1)), rgb_to_lab(b.movedim(1, -1))
    return ((la - lb).pow(2).sum(-1) + 1e-6).sqrt()


# ---------------------------------------------------------------------------------------------- blocks
class ConvBlock(nn.Module):
    """conv3x3-GroupNorm-SiLU twice with a residual. (B,c_in,H,W) -> (B,c_out,H,W)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(groups(c_out), c_out), nn.SiLU(),
                                  nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(groups(c_out), c_out))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.skip(x) + self.body(x))


class PixelUNet(nn.Module):
    """Pixel features at half size: (B,17,S,S) -> (B,w,S/2,S/2); a stride-2 stem, then len(mults)-1 halvings."""

    def __init__(self, cfg: RegionColorConfig):
        super().__init__()
        widths = [cfg.width * m for m in cfg.mults]
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, widths[0], 4, stride=2, padding=1), nn.SiLU())
        self.down = nn.ModuleList([ConvBlock(widths[0], widths[0])])
        self.pool = nn.ModuleList()
        for a, b in zip(widths[:-1], widths[1:]):
            self.pool.append(nn.Conv2d(a, a, 3, stride=2, padding=1))
            self.down.append(ConvBlock(a, b))
        self.up = nn.ModuleList([ConvBlock(b + a, a) for a, b in zip(widths[:-1], widths[1:])][::-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down[0](self.stem(x))
        skips = [h]
        for pool, block in zip(self.pool, self.down[1:]):
            h = block(pool(h))
            skips.append(h)
        skips.pop()
        for block in self.up:
            s = skips.pop()
            h = block(torch.cat([F.interpolate(h, size=s.shape[-2:], mode="nearest"), s], 1))
        return h


def mlp(c_in: int, c_hidden: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c_in, c_hidden), nn.SiLU(), nn.Linear(c_hidden, c_out))


# ---------------------------------------------------------------------------------------------- network
class RegionColorNet(nn.Module):
    """(inputs (B,17,S,S), ids (B,S,S) int64) -> (colour (B,3,S,S) in [0,1], shading (B,1,S,S) in [0.5,1.5]).

    forward(..., region_colours=True) also returns the per-region colours (N,3) and the batch-unique ids.
    """

    def __init__(self, cfg: RegionColorConfig):
        super().__init__()
        self.cfg = cfg
        w, r = cfg.width, cfg.region_width
        self.pixels = PixelUNet(cfg)
        self.embed = mlp(w + IN_CHANNELS, r, r)
        self.message = nn.ModuleList([mlp(2 * r, r, r) for _ in range(cfg.rounds)])
        self.norm = nn.ModuleList([nn.LayerNorm(r) for _ in range(cfg.rounds)])
        self.colour = nn.Linear(r, 3)
        nn.init.zeros_(self.colour.weight)
        nn.init.zeros_(self.colour.bias)
        if cfg.shading:
            self.to_pixels = nn.Linear(r, w)  # region vectors brought to the pixel width before the gather
            self.shade = nn.Sequential(nn.SiLU(), nn.Conv2d(w, w, 3, padding=1), nn.SiLU(), nn.Conv2d(w, 1, 1))
            nn.init.zeros_(self.shade[-1].weight)
            nn.init.zeros_(self.shade[-1].bias)

    def forward(self, inputs: torch.Tensor, ids: torch.Tensor, region_colours: bool = False):
        size = inputs.shape[-2:]
        half = self.pixels(inputs)  # (B,w,S/2,S/2)
        feat = F.interpolate(half, size=size, mode="bilinear", align_corners=False)  # (B,w,S,S)
        gid, n = batch_ids(ids)
        with torch.no_grad():  # the inputs need no gradient: pooled once, apart from the features
            pooled = region_mean(inputs, gid, n)  # (N,17)
        h = self.embed(torch.cat([region_mean(feat, gid, n), pooled], 1))  # (N,r)
        src, dst, wt = region_edges(gid, n)
        deg = torch.zeros(n, device=h.device).index_add_(0, dst, wt).clamp(min=1.0)
        for message, norm in zip(self.message, self.norm):  # sums in float32 (under autocast too)
            h = h.float()
            m = torch.zeros_like(h).index_add_(0, dst, h[src] * wt[:, None]) / deg[:, None]
            h = h + message(torch.cat([norm(h), m], 1)).float()
        # the neighbour rule's colour of each region plus a learned change: linear, so a white start (no hint
        # reached the region) learns as fast as a coloured one (a sigmoid there would damp it 13 times)
        c = (pooled[:, 8:11] + self.colour(h)).clamp(0.0, 1.0)  # (N,3)
        todo = inputs[:, 4:5] > 0.5
        colour = torch.where(todo, c[gid].permute(0, 3, 1, 2), inputs[:, 5:8])
        if self.cfg.shading:  # at S/2 (each pixel's region from the nearest grid point), then upsampled
            hp = self.to_pixels(h)[gid[:, ::2, ::2]].permute(0, 3, 1, 2)  # (B,w,S/2,S/2)
            s = F.interpolate(self.shade(half + hp), size=size, mode="bilinear", align_corners=False)
            shading = 1.0 + 0.5 * torch.tanh(s)
        else:
            shading = torch.ones_like(colour[:, :1])
        if region_colours:
            return colour, shading, c, gid
        return colour, shading


def build_networks(cfg: RegionColorConfig) -> dict[str, nn.Module]:
    """The one trainable network: {"net": RegionColorNet}."""
    return {"net": RegionColorNet(cfg)}


def load_regioncolor(path: str | Path, device: str | torch.device = "cpu") -> tuple[RegionColorNet, SavedModel]:
    """A saved RegionColor (model folder, its model.safetensors, or a training run) in eval mode, frozen."""
    saved = read_model(path, expect=NAME)
    mcfg = saved.network_config(RegionColorConfig, "RegionColor")
    net = load_state(RegionColorNet(mcfg), saved.tensors(str(device)), "net", saved.folder)
    return net.to(device).eval().requires_grad_(False), saved


# ------------------------------------------------------------------------------------------- inference
class RegionColorModel:
    """The model stage of `inkwash.infer.Colorizer`: a colour for every unhinted enclosed region, and shading.

    Works on a canvas whose short side is `resolution` (default: the training size) with hints at the canvas size
    (hint_scale 1): it computes that canvas' regions and flats, so what it sees is what it trained on. Its image is
    colour x shading (lines not drawn: the original lines go over it). Deterministic: the seed changes nothing.
    """

    hint_scale, paints_lines = 1, False
    proposes = True  # a learned colour: the pipeline locks it to the regions unless told not to

    def __init__(self, weights: str | Path, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu"):
        from inkwash.models.paintstorch import check_resolution

        self.net, self.saved = load_regioncolor(weights, device)
        self.device = torch.device(device)
        self.multiple = self.net.cfg.multiple
        self.resolution = check_resolution(resolution or self.saved.resolution or 256)
        self.lines_over = bool(lines_over)

    @torch.inference_mode()
    def run(self, canvas: Canvas, seed: int | None = None) -> np.ndarray:
        """The canvas (lines (h,w), hints (h,w,4)) -> colour x shading (h,w,3) in [0,1]."""
        from inkwash.regions import cached_regions

        regions = cached_regions(canvas.lines)
        inputs, ids, _ = region_inputs(canvas.lines, canvas.hints, regions)
        x = torch.from_numpy(inputs)[None].to(self.device)
        colour, shading = self.net(x, torch.from_numpy(ids)[None].to(self.device))
        out = (colour * shading).clamp(0.0, 1.0)[0].permute(1, 2, 0)
        return out.float().cpu().numpy()


__all__ = ["RegionColorConfig", "RegionColorNet", "RegionColorModel", "build_networks", "load_regioncolor",
           "region_inputs", "region_mean", "region_edges", "batch_ids", "rgb_to_lab", "delta_e76", "NAME",
           "IN_CHANNELS"]
