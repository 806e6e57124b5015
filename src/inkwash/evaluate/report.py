"""What an evaluation writes: metrics.csv (one row per model and condition), metrics.md (the thesis' table
layout: models x {No Hints, Hints, Full Hints, Mean}, one block per metric) and one sample grid per condition."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inkwash.evaluate.conditions import HINT_SCHEMES, LINEARTS, condition_label
from inkwash.io import atomic_path, load_rgb, save_image

# (key, title, lower is better, decimals)
METRICS = (
    ("fid", "FID", True, 2),
    ("lpips", "LPIPS", True, 3),
    ("hint_de2000", "Hint ΔE00", True, 2),
    ("bleeding", "Bleeding", True, 3),
    ("de2000", "Colour ΔE00", True, 2),
    ("paper_flood", "Paper flood", True, 3),
    ("psnr", "PSNR (dB)", False, 2),
    ("ssim", "SSIM", False, 3),
)
CSV_FIELDS = ("model", "condition", "n_images", "fid", "lpips", "hint_de2000", "bleeding", "de2000", "paper_flood",
              "psnr", "ssim")
GAP = 4


def _fmt(x: float, decimals: int) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{decimals}f}"


def _is_oracle(model: str) -> bool:
    return "oracle" in model


def _mean(values: list[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def write_csv(rows: list[dict], path: Path, info: dict) -> Path:
    """metrics.csv: CSV_FIELDS, then the lineart source, hint scheme and the FID and LPIPS networks (NaN: empty)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS + ("lineart", "hint_scheme", "fid_extractor", "lpips_network"))
    for r in rows:
        cells = [r[k] for k in CSV_FIELDS]
        cells = ["" if isinstance(c, float) and math.isnan(c) else (f"{c:.6g}" if isinstance(c, float) else c)
                 for c in cells]
        writer.writerow(cells + [info.get("lineart", "xdog"), info.get("hints", "strokes"), info["fid"],
                                 info["lpips"]])
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path


def table_markdown(rows: list[dict], conditions: list[str], hints: str = "strokes") -> str:
    """The thesis-style table: a header row per metric, a row per model, the best of each column in bold.

    Oracle rows (models named "... oracle ...") are shown but never bold: they read the target.
    """
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["condition"]): r for r in rows}
    cols = [condition_label(c, hints) for c in conditions] + (["Mean"] if len(conditions) > 1 else [])
    lines = ["| Model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for key, title, lower, dec in METRICS:
        arrow = "↓" if lower else "↑"
        lines.append(f"| *{title}* {arrow} |" + " |" * len(cols))
        grid = []
        for m in models:
            vals = [by[(m, c)][key] if (m, c) in by else float("nan") for c in conditions]
            grid.append(vals + ([_mean(vals)] if len(conditions) > 1 else []))
        arr = np.array(grid, np.float64)
        ranked = np.array([not _is_oracle(m) for m in models])
        for i, m in enumerate(models):
            cells = []
            for j in range(arr.shape[1]):
                col = arr[ranked, j][~np.isnan(arr[ranked, j])]
                text = _fmt(arr[i, j], dec)
                best = (col.size > 1 and ranked[i] and not np.isnan(arr[i, j])
                        and arr[i, j] == (col.min() if lower else col.max()))
                cells.append(f"**{text}**" if best else text)
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(rows: list[dict], path: Path, info: dict) -> Path:
    """metrics.md: what was measured, on what, with which networks, then the table."""
    split = f"split `{info['split']}`, " if info.get("split") else ""
    lineart, hints = info.get("lineart", "xdog"), info.get("hints", "strokes")
    m = info["metrics"]
    hint_text = (f"*{HINT_SCHEMES['hand']}* = hand-like scribbles, a few short strokes inside each region of one "
                 "flat colour (away from the lines), coloured with the region's flat colour"
                 if hints == "hand" else "*Hints* = synthetic PaintsTorch strokes (thesis IV.2.2.1)")
    full_text = ("the drawing's true flats" if lineart == "outline"
                 else "the colour-simplified illustration (thesis IV.3.2.1)")
    notes = "".join(f"Note: {n}.\n\n" for n in info.get("notes", []))
    text = (
        "# inkwash evaluation\n\n"
        f"Test set: `{info['data']}` ({split}{info['n_images']} images, resized to {info['size']} px on the "
        f"smaller side and centre-cropped to {info['size']}x{info['size']}); seed {info['seed']}. "
        f"Linearts: {LINEARTS[lineart]}.\n\n"
        f"Conditions: *No Hints*; {hint_text} at {info['size'] // 4}x{info['size'] // 4}; *Full Hints* = "
        f"{full_text} as a dense hint map at the same size.\n\n"
        f"FID features: {info['fid']}.  \nLPIPS: {info['lpips']}.  \n"
        "Hint ΔE00: mean CIEDE2000 between each stroke's colour and the output under it (No Hints: –). "
        f"Bleeding: area fraction of line-bounded regions whose output colour spread exceeds the target's by "
        f"{m['bleed_threshold']:g} ΔE76. Colour ΔE00: mean CIEDE2000 between output and target over the "
        f"coloured pixels, i.e. target pixels that are neither white paper (within {m.get('paper_de', 3):g} "
        f"CIEDE2000 of white) nor lines (lineart < {m['line_level']:g}, with a {m['margin_at_512']:g} px margin at "
        "512). Paper flood: share of the target's white-paper pixels (away from the lines) that the output colours "
        f"(more than {m.get('flood_de', 10):g} CIEDE2000 from white). Per-image metrics are averaged over images; "
        "FID is over the set. Flat oracles paint each region of the lineart with the target's median colour there "
        "(raw: connected non-ink areas; gaps closed: the region engine's regions): they read the target, show how "
        "far each method is from a perfect flat fill, and are never bold. Best of each column in bold.\n\n"
        + notes + table_markdown(rows, info["conditions"], hints)
    )
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- grids
def _font(px: int):
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _hints_tile(lineart: Image.Image, hints: np.ndarray | None, size: int) -> Image.Image:
    """The hints as the model got them: strokes (nearest-upsampled) over the lineart."""
    base = np.asarray(lineart.convert("RGB").resize((size, size)), np.float32) / 255.0
    if hints is None:
        return Image.fromarray((base * 255 + 0.5).astype(np.uint8))
    u8 = (np.clip(hints, 0, 1) * 255 + 0.5).astype(np.uint8)
    up = np.asarray(Image.fromarray(u8, "RGBA").resize((size, size), Image.Resampling.NEAREST), np.float32) / 255
    m = up[..., 3:]
    return Image.fromarray(((up[..., :3] * m + base * (1 - m)) * 255 + 0.5).astype(np.uint8))


def grid_image(columns: list[str], rows: list[list[Image.Image]], tile: int) -> Image.Image:
    """A labelled grid: header of column names, then rows of tiles (any size, resized to tile x tile)."""
    font_px = max(10, tile // 14)
    header = font_px * 3 // 2 + 4
    grid = Image.new("RGB", (len(columns) * (tile + GAP) + GAP, header + len(rows) * (tile + GAP) + GAP),
                     (128, 128, 128))
    draw = ImageDraw.Draw(grid)
    font = _font(font_px)
    max_chars = max(4, int(tile / (font_px * 0.6)))
    for c, name in enumerate(columns):
        x = GAP + c * (tile + GAP)
        label = name if len(name) <= max_chars else "…" + name[-(max_chars - 1):]
        draw.text((x + tile // 2, header // 2), label, fill=(255, 255, 255), font=font, anchor="mm")
        for r, row in enumerate(rows):
            im = row[c].convert("RGB")
            if im.size != (tile, tile):  # small crops are shown enlarged pixel for pixel
                im = im.resize((tile, tile), Image.Resampling.LANCZOS if im.width > tile else Image.Resampling.NEAREST)
            grid.paste(im, (x, header + r * (tile + GAP)))
    return grid


def write_grids(ev, n_rows: int, tile: int = 192) -> list[Path]:
    """OUT/grid_COND.png per condition: lineart, hints, target, then each model's output, for n_rows images."""
    written = []
    for cond in ev.cfg.conditions:
        columns = ["lineart + hints", "target"] + list(ev.models.values())
        rows = []
        for k in range(n_rows):
            s = ev.sample(k)
            row = [_hints_tile(s.lineart, ev._hints_for(s, cond), tile), s.target]
            row += [load_rgb(ev._output(m, cond, k)) for m in ev.models]
            rows.append(row)
        written.append(save_image(grid_image(columns, rows, tile), ev.out / f"grid_{cond}.png", overwrite=True))
    return written
