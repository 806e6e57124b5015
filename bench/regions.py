"""Region engine speed and memory: regions of a lineart at 1024-4096 px, flats from cached regions at 2048 px.

Run:  .venv/bin/python bench/regions.py                 (prints a table, appends a dated section to bench/RESULTS.md)
      .venv/bin/python bench/regions.py --no-append --repeats 1
Targets (issue): regions 1024x1024 <= 0.3 s, 4096x4096 <= 3 s, peak memory <= 2 GB at 4096x4096 (2 cores);
new hints -> new flats at 2048x2048 <= 50 ms from cached regions when no region needs a split.
Linearts: a synthetic page of 80 overlapping closed shapes (anti-aliased lines ~3 px wide per 1024 px, a gap of
1-8 px per 512 px cut into every other outline), and examples/lizard/lineart.png (512 px crop, a real xDoG
lineart) upscaled.
"""

from __future__ import annotations

import os

# Two cores, as the targets: cap every thread pool before numpy/OpenCV load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from _report import cpu_name, report  # noqa: E402  (bench/ is on sys.path when run as a script)
from inkwash.regions import compute_regions, flat_colours  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def synthetic_lineart(size: int, n_shapes: int = 80, seed: int = 0) -> np.ndarray:
    """Overlapping ellipses, boxes and polygons with gaps in their outlines: (size,size) float32, 1 = paper."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 255, np.uint8)
    thick = max(1, round(2 * size / 1024))  # OpenCV draws 2 t/2 + 1 px: ~3 px per 1024 px
    outlines = []
    for _ in range(n_shapes):
        c = rng.uniform(0.08, 0.92, 2) * size
        r = rng.uniform(size / 40, size / 7, 2)
        kind = rng.integers(3)
        if kind == 0:
            pts = cv2.ellipse2Poly((int(c[0]), int(c[1])), (int(r[0]), int(r[1])), int(rng.integers(180)), 0, 360, 5)
        elif kind == 1:
            a = rng.uniform(0, np.pi)
            box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * r
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            pts = (box @ rot.T + c).astype(np.int32)
        else:
            ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 9))))
            rad = rng.uniform(0.5, 1.0, ang.size)[:, None] * r
            pts = (c + rad * np.stack([np.cos(ang), np.sin(ang)], 1)).astype(np.int32)
        cv2.polylines(img, [pts], True, 0, thick, cv2.LINE_AA)
        outlines.append(pts)
    for pts in outlines:  # one gap of 1-8 px (per 512) in every other outline
        if rng.random() < 0.5:
            a, b = pts[rng.integers(len(pts))], pts[(rng.integers(len(pts)) + 1) % len(pts)]
            p = ((a + b) / 2).astype(int)
            g = int(rng.integers(1, 9)) * size / 512
            cv2.circle(img, (int(p[0]), int(p[1])), max(1, round(g / 2)), 255, -1)
    return img.astype(np.float32) / 255.0


def real_lineart(size: int) -> np.ndarray:
    """examples/lizard/lineart.png's top-left 512x512, upscaled (bicubic) to size x size; float32, 1 = paper."""
    img = cv2.imread(str(ROOT / "examples" / "lizard" / "lineart.png"), cv2.IMREAD_GRAYSCALE)[:512, :512]
    return np.clip(cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC) / 255.0, 0, 1).astype(np.float32)


def strokes_for(regions, n: int, split: bool, seed: int = 0) -> np.ndarray:
    """Hints (H,W,4): one short stroke of its own colour deep inside each of the n largest enclosed regions
    (so no region needs a split); with split=True, the largest gets a second colour far from the first."""
    rng = np.random.default_rng(seed)
    h, w = regions.shape
    hints = np.zeros((h, w, 4), np.float32)
    inner = np.flatnonzero(~regions.border)
    inner = inner[inner > 0]
    width = max(2, round(8 * min(h, w) / 1024))
    for k, r in enumerate(inner[np.argsort(-regions.area[inner])][:n]):
        d = np.where(regions.labels == r, regions.dist, 0)
        y, x = np.unravel_index(np.argmax(d), d.shape)
        half = int(max(1, min(d[y, x] - width, 4 * width)))
        colour = rng.uniform(0.1, 0.9, 3)
        pts = np.array([[x - half, y], [x + half, y]], np.int32)
        mask = np.zeros((h, w), np.uint8)
        cv2.polylines(mask, [pts], False, 1, width)
        on = mask > 0
        hints[on, :3], hints[on, 3] = colour, 1.0
        if split and k == 0:  # a second colour at the far end of the same region
            far = np.where(regions.labels == r, np.hypot(*np.mgrid[:h, :w] - np.array([y, x])[:, None, None]), 0)
            y2, x2 = np.unravel_index(np.argmax(far * (d > width)), far.shape)
            cv2.circle(hints, (int(x2), int(y2)), width, (0.1, 0.2, 0.9, 1.0), -1)
    return hints


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) of `repeats` calls after one warm-up. CPU time
    counts both threads but not the time spent waiting for a core, so it tells work apart from a busy machine."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def memory_child(size: int) -> None:
    """Print JSON: peak resident memory during compute_regions at size x size, and the tracemalloc peak."""
    lines = synthetic_lineart(size)
    status = Path("/proc/self/status")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to the current RSS
    except OSError:
        pass

    def rss(field: str) -> float:
        for line in status.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 2**20  # kB -> GB
        return float("nan")

    before = rss("VmRSS:")
    tracemalloc.start()
    compute_regions(lines)
    traced = tracemalloc.get_traced_memory()[1] / 2**30
    print(json.dumps({"before_gb": before, "peak_gb": rss("VmHWM:"), "numpy_peak_gb": traced}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--flats-size", type=int, default=2048)
    ap.add_argument("--no-append", action="store_true", help="print only; leave bench/RESULTS.md alone")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cv2.setNumThreads(2)
    if args.memory_child:
        return memory_child(args.memory_child)

    rows = []
    for size in args.sizes:
        for name, make in (("synthetic shapes", synthetic_lineart), ("lizard upscaled", real_lineart)):
            lines = make(size)
            reg = compute_regions(lines)
            t, c = timed(lambda lines=lines: compute_regions(lines), args.repeats)
            rows.append(f"| regions | {name} | {size}x{size} | {reg.n} regions, gap {reg.gap:.0f} px, "
                        f"line {reg.line_width:.1f} px | {t:.3f} | {c:.3f} |")
    s = args.flats_size
    reg = compute_regions(synthetic_lineart(s))
    for split in (False, True):
        hints = strokes_for(reg, 10, split)
        flats = flat_colours(reg, hints)
        n_split = int((flats.source == 2).sum())
        t, c = timed(lambda hints=hints: flat_colours(reg, hints), max(args.repeats, 5))
        what = "10 strokes, " + (f"{n_split} region split" if split else "no split")
        rows.append(f"| flats (cached regions) | synthetic shapes | {s}x{s} | {what} | {t:.3f} | {c:.3f} |")
    big = max(args.sizes)
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(big)], capture_output=True, text=True,
                         check=True)
    mem = json.loads(out.stdout.strip().splitlines()[-1])
    table = ["| what | lineart | size | result | wall s (median) | CPU s (median) |", "|---|---|---|---|---|---|",
             *rows]
    cmd = " ".join([".venv/bin/python", "bench/regions.py", *sys.argv[1:]])
    load = os.getloadavg()
    section = [
        f"## Region engine, {datetime.date.today().isoformat()}",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores (OpenCV and BLAS capped at 2 threads), Python "
        f"{platform.python_version()}, OpenCV {cv2.__version__}, numpy {np.__version__}; load average "
        f"{load[0]:.1f} / {load[1]:.1f} (1 / 5 min). Command: `{cmd}`; median of {args.repeats} (flats: "
        f"{max(args.repeats, 5)}) after one warm-up. Targets: regions 1024 <= 0.3 s, 4096 <= 3 s; flats at 2048 "
        "without a split <= 0.05 s; peak memory at 4096 <= 2 GB.", "", *table, "",
        f"Peak memory of compute_regions on the synthetic {big}x{big} lineart (a fresh process): "
        f"{mem['peak_gb']:.2f} GB resident at the peak ({mem['peak_gb'] - mem['before_gb']:.2f} GB above the "
        f"{mem['before_gb']:.2f} GB before the call); numpy arrays alone peaked at {mem['numpy_peak_gb']:.2f} GB "
        "(tracemalloc).",
    ]
    report("\n".join(section), append=not args.no_append)


if __name__ == "__main__":
    main()
