"""A labelled grid of what the models see: one row per sample, one column per input of ColorizationDataset."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from inkwash.data.dataset import ColorizationDataset, from_tensor

COLUMNS = ("illustration", "lineart", "hints", "simplified", "mask", "composite")
GAP = 4  # px between tiles, so neighbouring white tiles stay distinguishable


def hints_on_white(hints: torch.Tensor, size: int) -> Image.Image:
    """Hint map (4,h,w), RGB in [-1,1] and mask in {0,1}, as an RGB image on white, upsampled (nearest) to size."""
    rgb = (hints[:3].clamp(-1, 1) + 1) / 2
    m = hints[3:4].clamp(0, 1)
    shown = rgb * m + (1 - m)  # white paper where there is no hint
    arr = (shown.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(arr, "RGB").resize((size, size), Image.Resampling.NEAREST)


def _tiles(item: dict[str, torch.Tensor], size: int) -> dict[str, Image.Image]:
    """Every column of one sample as an RGB PIL tile of side size."""
    tiles = {
        "illustration": from_tensor(item["illustration"]),
        "lineart": from_tensor(item["lineart"]).convert("RGB"),
        "hints": hints_on_white(item["hints"], size),
    }
    if "mask" in item:
        tiles["simplified"] = from_tensor(item["simplified"])
        tiles["mask"] = from_tensor(item["mask"] * 2 - 1).convert("RGB")  # white = region to colour
        tiles["composite"] = from_tensor(item["composite"]).convert("RGB")
    return {k: v.resize((size, size)) if v.size != (size, size) else v for k, v in tiles.items()}


def _font(px: int):
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def preview_grid(
    dataset: ColorizationDataset,
    indices: Iterable[int],
    tile: int | None = None,
    on_item: Callable[[], None] | None = None,
) -> Image.Image:
    """Grid image (RGB PIL): a header of column names, then one row per index of `dataset`.

    tile: side of each tile in px (default dataset.size). on_item: called after each sample (progress bars).
    """
    tile = tile or dataset.size
    rows = []
    for i in indices:
        rows.append(_tiles(dataset[i], tile))
        if on_item is not None:
            on_item()
    columns = [c for c in COLUMNS if rows and c in rows[0]]
    font_px = max(12, tile // 16)  # labels readable at any tile size
    header = font_px * 3 // 2 + 4
    width = len(columns) * tile + (len(columns) + 1) * GAP
    height = header + len(rows) * (tile + GAP) + GAP
    grid = Image.new("RGB", (width, height), (128, 128, 128))
    draw = ImageDraw.Draw(grid)
    font = _font(font_px)
    for c, name in enumerate(columns):
        x = GAP + c * (tile + GAP)
        draw.text((x + tile // 2, header // 2), name, fill=(255, 255, 255), font=font, anchor="mm")
        for r, row in enumerate(rows):
            grid.paste(row[name], (x, header + r * (tile + GAP)))
    return grid
