"""LazyBrush speed on one CPU core: a synthetic lineart with closed shapes and 10 strokes, at 512 and 1024.

Run:  .venv/bin/python bench/lazybrush.py            (prints a table, appends a dated section to bench/RESULTS.md)
      .venv/bin/python bench/lazybrush.py --no-append --repeats 1
Target (issue): 1024x1024 with 10 strokes in under 2 s on one core.
"""

from __future__ import annotations

import os

# One core, honestly: pin the process and cap every thread pool before numpy/OpenCV load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from _report import cpu_name, report  # noqa: E402  (bench/ is on sys.path when run as a script)
from inkwash.classical.lazybrush import LazyBrushConfig, lazybrush_labels  # noqa: E402



def synthetic_case(size: int, n_strokes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A cartoon-like lineart (overlapping ellipses, anti-aliased 3 px lines at 1024) and strokes inside shapes.

    Returns intensity (H,W) in [0,1] and hints (H,W,4) in [0,1].
    """
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 255, np.uint8)
    thick = max(1, round(3 * size / 1024))
    centres = []
    for _ in range(14):
        c = (int(rng.integers(size // 8, 7 * size // 8)), int(rng.integers(size // 8, 7 * size // 8)))
        axes = (int(rng.integers(size // 16, size // 5)), int(rng.integers(size // 16, size // 5)))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, 0, thick, cv2.LINE_AA)
        centres.append(c)
    hints = np.zeros((size, size, 4), np.float32)
    canvas = np.zeros((size, size, 3), np.uint8)
    mask = np.zeros((size, size), np.uint8)
    for k in range(n_strokes):
        x, y = centres[k % len(centres)]
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        pts = np.array([[x + int(rng.integers(-size // 30, size // 30)), y + int(rng.integers(-size // 30, size // 30))]
                        for _ in range(3)], np.int32)
        width = max(2, round(8 * size / 1024))
        cv2.polylines(canvas, [pts], False, colour, width)
        cv2.polylines(mask, [pts], False, 255, width)
    hints[..., :3] = canvas / 255.0
    hints[..., 3] = mask / 255.0
    return img / 255.0, hints


def time_case(size: int, n_strokes: int, repeats: int) -> float:
    intensity, hints = synthetic_case(size, n_strokes)
    cfg = LazyBrushConfig()
    lazybrush_labels(intensity, hints, cfg)  # warm caches and imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        lazybrush_labels(intensity, hints, cfg)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--strokes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-append", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rows = [(s, args.strokes, time_case(s, args.strokes, args.repeats)) for s in args.sizes]
    table = ["| size | strokes | seconds (median of %d, 1 core) |" % args.repeats, "|---|---|---|"]
    table += [f"| {s}x{s} | {n} | {t:.3f} |" for s, n, t in rows]
    cmd = " ".join([".venv/bin/python", "bench/lazybrush.py", *sys.argv[1:]])
    section = [
        f"## LazyBrush, {datetime.date.today().isoformat()}",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores (pinned to 1), Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}, numpy {np.__version__}.",
        f"Command: `{cmd}`. Target: 1024x1024 with 10 strokes under 2 s.", "", *table,
    ]
    report("\n".join(section), append=not args.no_append)


if __name__ == "__main__":
    main()
