"""Reference colouring speed and accuracy on 1024x1024 frames, 2 cores: outline drawings warped, coloured from
themselves.

Run:  .venv/bin/python bench/reference.py --data /work/data/ocal-outlines          (prints, appends to RESULTS.md)
      .venv/bin/python bench/reference.py --data DATA --no-append --limit 4 --figure docs/reference.png
Each drawing of the test split is resized to 1024x1024 pixels' worth (its aspect kept), warped at each strength
(inkwash.reference.deform) and coloured from its flats under its lineart (a model sheet): the time is one new
frame's (its regions, the alignment, the match and the flats; the key's regions are computed once per sequence,
as `colorize --batch --reference` does). Target (issue #22): <= 1 s per 1024x1024 frame on 2 cores.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from _report import cpu_name, report  # noqa: E402  (bench/ is on sys.path when run as a script)
from inkwash.evaluate.reference import (Drawing, ReferenceBenchConfig, coloured_reference,  # noqa: E402
                                        item_seed, load_drawings, score_frame)
from inkwash.reference import colour_from_reference, reference_from_images  # noqa: E402
from inkwash.reference.deform import LEVELS, random_warp  # noqa: E402
from inkwash.regions import clear_region_cache  # noqa: E402


def to_megapixel(d: Drawing, pixels: int) -> Drawing:
    """The drawing resized to about `pixels` pixels, its aspect kept (flats by nearest neighbour)."""
    h, w = d.lines.shape
    f = np.sqrt(pixels / (h * w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return Drawing(d.id, cv2.resize(d.truth, size, interpolation=cv2.INTER_CUBIC).clip(0, 1),
                   cv2.resize(d.lines, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC).clip(0, 1),
                   cv2.resize(d.flats, size, interpolation=cv2.INTER_NEAREST))


def figure(d: Drawing, level: str, path: Path, tile: int = 256) -> Path:
    """reference | new frame | result, `tile` px high each, labelled: a small PNG for the README."""
    key = reference_from_images(d.truth, d.lines)
    warp = random_warp(d.lines, level, item_seed(0, d.id))
    new_lines = warp.lines(d.lines)
    res = colour_from_reference(new_lines, key)
    result = res.flats.colour * new_lines[..., None]
    tiles = []
    for img, label in ((d.truth, "reference (coloured)"), (np.repeat(new_lines[..., None], 3, 2), f"new frame ({level})"),
                       (result, "result")):
        im = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
        im = im.resize((round(im.width * tile / im.height), tile), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (im.width, tile + 18), "white")
        canvas.paste(im, (0, 18))
        ImageDraw.Draw(canvas).text((4, 3), label, fill=(0, 0, 0))
        tiles.append(canvas)
    out = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + 8
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, optimize=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/data/ocal-outlines")
    ap.add_argument("--limit", type=int, default=16, help="drawings, evenly spread over the test split")
    ap.add_argument("--pixels", type=int, default=1024 * 1024)
    ap.add_argument("--levels", default=",".join(LEVELS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--figure", type=Path, default=None, help="also write reference | frame | result here")
    ap.add_argument("--figure-id", default=None, help="the drawing of the figure (default: the first)")
    ap.add_argument("--figure-level", default="medium")
    ap.add_argument("--no-append", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    levels = tuple(v for v in args.levels.split(",") if v)
    cfg = ReferenceBenchConfig(levels=levels, limit=args.limit)
    drawings = load_drawings(args.data, cfg)
    if args.figure is not None:
        pick = next((d for d in drawings if d.id == args.figure_id), drawings[0]) if args.figure_id else drawings[0]
        if args.figure_id and pick.id != args.figure_id:
            pick = next(d for d in load_drawings(args.data, replace(cfg, limit=0)) if d.id == args.figure_id)
        print("wrote", figure(pick, args.figure_level, args.figure))
    big = [to_megapixel(d, args.pixels) for d in drawings]
    times = {lv: [] for lv in levels}
    accs = {lv: [] for lv in levels}
    for d in big:
        coloured = coloured_reference(d, cfg)
        for lv in levels:
            warp = random_warp(d.lines, lv, item_seed(0, d.id))
            new_lines, target = warp.lines(d.lines), warp.image(d.flats, nearest=True)
            runs = []
            for _ in range(args.repeats):
                clear_region_cache()
                key = reference_from_images(coloured, d.lines)  # the key's regions: cached once per sequence
                t = time.perf_counter()
                res = colour_from_reference(new_lines, key)
                runs.append(time.perf_counter() - t)
            times[lv].append(float(np.median(runs)))
            accs[lv].append(score_frame(res.flats.colour, target, new_lines, cfg)["segment_acc"])
    shape = f"{big[0].lines.shape[1]}x{big[0].lines.shape[0]}" if big else "-"
    table = ["| deformation | drawings | s / frame, median | p90 | max | segment acc. (at this size) |",
             "|---|---:|---:|---:|---:|---:|"]
    for lv in levels:
        t = np.asarray(times[lv])
        table.append(f"| {lv} | {t.size} | {np.median(t):.3f} | {np.percentile(t, 90):.3f} | {t.max():.3f} | "
                     f"{100 * np.nanmean(accs[lv]):.1f} % |")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cmd = " ".join([".venv/bin/python", "bench/reference.py", *sys.argv[1:]])
    section = [
        f"## Reference colouring, {datetime.date.today().isoformat()}",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, OpenCV on {args.threads} threads, Python "
        f"{platform.python_version()}, OpenCV {cv2.__version__}, numpy {np.__version__}; load average "
        f"{load[0]:.1f} / {load[1]:.1f} (1 / 5 min).",
        f"Command: `{cmd}`; {len(big)} test drawings of {args.data} at {args.pixels / 1e6:.2f} MP each (aspect kept; "
        f"the first is {shape}), median of {args.repeats} per frame with the frame's regions recomputed each time. "
        "Time = one new frame from lineart to flats: its regions, the alignment, the match, the flats. "
        "Target (issue #22): <= 1 s per 1024x1024 frame on 2 cores.", "", *table,
    ]
    report("\n".join(section), append=not args.no_append)


if __name__ == "__main__":
    main()
