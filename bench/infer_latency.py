"""Colorization latency of the learned default model: 512x512, batch 1, on CPU (2 threads) and GPU if present.

Run:  .venv/bin/python bench/infer_latency.py              (prints a table, appends a dated section to RESULTS.md)
      .venv/bin/python bench/infer_latency.py --no-append --repeats 3 --model runs/default

Two numbers per device:
- "model": one G1 + F1 forward at the given working size (what an app pays per stroke, without file IO);
- "colorize": `Colorizer.colorize` on a 512x512 lineart with 10 strokes, end to end (resize, hints, model, lines
  multiplied over at full size, flat-layer clean-up), at the model's default working resolution.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _report import median_seconds as timed, report  # noqa: E402
from lazybrush import synthetic_case  # noqa: E402  (the same lineart and strokes as the LazyBrush bench)

from inkwash.infer import Colorizer  # noqa: E402
from inkwash.models.paintstorch import PaintsTorchModel  # noqa: E402



def bench_device(model: str, device: str, repeats: int, sizes: list[int]) -> list[tuple[str, str, float]]:
    colorizer = Colorizer.from_pretrained(model, device=device)
    backend = colorizer.model
    assert isinstance(backend, PaintsTorchModel)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    rows = []
    for s in sizes:
        x = torch.zeros(1, 1, s, s, device=device)
        h = torch.zeros(1, 4, s // 4, s // 4, device=device)

        def forward():
            with torch.inference_mode():
                backend.g1(x, h, backend.f1(x))

        rows.append((device, f"model forward at {s}x{s}", timed(forward, repeats, sync)))
    lines, hints = synthetic_case(512)
    img = (lines * 255).astype(np.uint8)
    rows.append((device, f"colorize 512x512, 10 strokes (works at {backend.resolution} px)",
                 timed(lambda: colorizer.colorize(img, hints), repeats, sync)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="paintstorch", help="model name or run folder (default: shipped weights)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (the target machine has 2 cores)")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [256, 512]
    rows = bench_device(args.model, "cpu", args.repeats, sizes)
    if torch.cuda.is_available():
        rows += bench_device(args.model, "cuda", args.repeats * 4, sizes + [1024])
    table = ["| device | what | median s |", "|---|---|---|"]
    table += [f"| {d} | {what} | {sec:.3f} |" for d, what, sec in rows]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none available"
    header = (f"## Inference latency, model `{args.model}` ({datetime.date.today()})\n\n"
              f"Machine: {platform.machine()}, {args.threads} CPU threads; GPU: {gpu}; torch {torch.__version__}; "
              f"command: `python bench/infer_latency.py --repeats {args.repeats}`; median of {args.repeats} runs "
              "after one warm-up, batch 1.\n")
    report(header + "\n" + "\n".join(table) + "\n", append=not args.no_append)


if __name__ == "__main__":
    main()
