"""JSON stroke drawing: time against the cost estimate that INKWASH_MAX_STROKE_AREA limits, per kind of stroke.

Run:  .venv/bin/python bench/hints_draw.py            (prints a table, appends a dated section to bench/RESULTS.md)
      .venv/bin/python bench/hints_draw.py --no-append --repeats 1
Target (issue #20): the estimate grows at least as fast as the time for every kind of stroke (the last column
stays near or above 1e8 per second, one core), so a budget of 2e9 means at most tens of seconds; real hint files
(the app's export of a painted 2048 px layer, a dense 4K page) stay far below it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["INKWASH_MAX_STROKE_AREA"] = "1e15"  # time everything, and say which the default would refuse

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

from _report import report  # noqa: E402  (bench/ is on sys.path when run as a script)
from inkwash import limits  # noqa: E402
from inkwash.hints import hints_to_json  # noqa: E402
from inkwash.strokes_draw import estimate_cost, rasterize_strokes, validate_strokes, _runs  # noqa: E402


def painted_layer(size: int, blobs: int, seed: int = 0) -> np.ndarray:
    """A hand-painted-like hint layer (H,W,4): `blobs` discs of random colours."""
    rng = np.random.default_rng(seed)
    out = np.zeros((size, size, 4), np.float32)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(blobs):
        cx, cy = rng.integers(0, size, 2)
        r = int(rng.integers(3, 40))
        y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, size), max(cx - r, 0), min(cx + r + 1, size)
        m = (xx[y0:y1, x0:x1] - cx) ** 2 + (yy[y0:y1, x0:x1] - cy) ** 2 <= r * r
        out[y0:y1, x0:x1][m] = np.append(rng.integers(0, 256, 3) / 255.0, 1.0)
    return out


def walk(rng: np.random.Generator, n: int, w: int, h: int, step: float = 4.0) -> list:
    p = rng.uniform(0, 1, 2) * (w, h)
    return (p + rng.normal(0, step, (n, 2)).cumsum(0)).round(1).tolist()


def cases(seed: int = 0) -> list[tuple[str, dict, tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    return [
        ("app export of a painted 2048 px layer", hints_to_json(painted_layer(2048, 3000)), (2048, 2048)),
        ("dense 4K page: 3000 freehand strokes x 100 points, 12 px",
         {"strokes": [{"color": "#3366aa", "width": 12, "points": walk(rng, 100, 3840, 2160)} for _ in range(3000)]},
         (3840, 2160)),
        ("20k long strokes, 5 points across a 4096 page, 8 px",
         {"strokes": [{"color": "#ff0000", "width": 8, "points": rng.integers(0, 4096, (5, 2)).tolist()}
                      for _ in range(20000)]}, (4096, 4096)),
        ("100k short strokes, 5 points, 8 px",
         {"strokes": [{"color": "#ff0000", "width": 8,
                       "points": (rng.integers(0, 4000) + rng.integers(0, 30, (5, 2))).tolist()}
                      for _ in range(100000)]}, (4096, 4096)),
        ("20 strokes of 50 points, 400 px brush",
         {"strokes": [{"color": "#00ff00", "width": 400, "points": rng.integers(0, 4096, (50, 2)).tolist()}
                      for _ in range(20)]}, (4096, 4096)),
        ("2000 off-canvas dots, 2000 px brush",
         {"strokes": [{"color": "#0000ff", "width": 2000, "points": [[-9000.0, -9000.0]]} for _ in range(2000)]},
         (1024, 1024)),
    ]


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cost_of(doc: dict, size: tuple[int, int]) -> float:
    s = validate_strokes(doc["strokes"])
    wpx = np.maximum(1, np.round(s.widths)).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(s.counts)[:-1]]).astype(np.int64)
    return estimate_cost(s, size, wpx, _runs(s, wpx, first), first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    rows = []
    for name, doc, size in cases():
        seconds = best_seconds(lambda: rasterize_strokes(doc["strokes"], size), args.repeats)
        cost = cost_of(doc, size)
        refused = "refused" if cost > limits.MAX_STROKE_AREA.default else "drawn"
        rows.append(f"| {name} | {len(doc['strokes']):,} | {size[0]}x{size[1]} | {seconds:.2f} | {cost:.2e} | "
                    f"{cost / seconds:.2e} | {refused} |")
        print(rows[-1], file=sys.stderr)
    load = os.getloadavg()
    section = (f"## JSON stroke drawing vs its cost estimate ({datetime.date.today().isoformat()})\n\n"
               f"Machine: {platform.machine()}, {os.cpu_count()} CPU threads; load average {load[0]:.1f} / "
               f"{load[1]:.1f} (1 / 5 min); command: `python bench/hints_draw.py --repeats {args.repeats}`; best "
               f"of {args.repeats}, one thread. The budget INKWASH_MAX_STROKE_AREA is "
               f"{limits.MAX_STROKE_AREA.default:.0e} painted-pixel equivalents.\n\n"
               "| strokes | count | canvas | seconds | estimated cost | cost per second | by default |\n"
               "|---|---:|---|---:|---:|---:|---|\n" + "\n".join(rows) + "\n")
    report(section, append=not args.no_append)


if __name__ == "__main__":
    main()
