"""Speed on two cores, as ratios in one interleaved run: start-up, full resolution, memory, and the thread policy.

    .venv/bin/python bench/speed.py                 # everything (about 5 minutes on 2 cores)
    .venv/bin/python bench/speed.py --quick --no-append

What it measures (each row a median; rounds interleave the variants, so a machine that slows down mid-run slows
every variant alike and the ratios hold):
1. `inkwash colorize` of a 512x512 drawing as a whole process: the classical fill, the default learned model
   (torch), the same model exported to ONNX (torch-free). Targets: <= 1.0 s, <= 2.5 s, <= 1.5 s.
2. `Colorizer.colorize` of PNG files at 4096x4096 and 1024x1024 for each shipped model, each in a fresh process (so the
   regions are computed, as for a new drawing), with the process's peak resident memory. Targets at 4096: <= 4 s,
   <= 1.2 GB; 4096 costs at most 2x what 1024 costs beyond the fixed model time.
3. The default learned model at 1024x1024 in the API on a loaded machine (a second process keeps one core busy):
   <= 0.5 s; and the thread policy, passive against spinning OpenMP waits, 1 against 2 threads, idle and loaded.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402
from lazybrush import synthetic_case  # noqa: E402  (the LazyBrush bench's cartoon-like lineart and strokes)

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MODELS = ("lazybrush", "paintstorch", "stenciltorch", "regioncolor", "stablepaint")  # every shipped model

# one colorize of files in a fresh process, as a user's call: prints {"seconds", "peak_mb"} (ru_maxrss of this
# process: the imports, the model and the colorize; the inputs are read from PNG files inside the call)
_ONE = r"""
import json, os, resource, sys, time
from inkwash.infer import Colorizer
col = Colorizer.from_pretrained({model!r})
t = time.perf_counter()
col.colorize({lines!r}, {hints!r})
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

# repeated colorizes of one model in one process: prints the median seconds
_LOOP = r"""
import json, statistics, sys, time
sys.path.insert(0, {bench!r})
import numpy as np, torch
torch.set_num_threads({threads})
from lazybrush import synthetic_case
from inkwash.infer import Colorizer
lines, hints = synthetic_case({size})
img = (lines * 255).astype(np.uint8)
col = Colorizer.from_pretrained({model!r})
col.colorize(img, hints)
times = []
for _ in range({repeats}):
    t = time.perf_counter(); col.colorize(img, hints); times.append(time.perf_counter() - t)
print(json.dumps({{"seconds": statistics.median(times)}}))
"""


def run_json(code: str, env: dict | None = None) -> dict:
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})},
                         cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"bench child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - t


def interleave(variants: dict[str, callable], rounds: int) -> dict[str, float]:
    """Median of each variant over `rounds` rounds, the variants taking turns within each round."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for k, fn in variants.items():
            times[k].append(fn())
    return {k: statistics.median(v) for k, v in times.items()}


def startup(rounds: int, tmp: Path) -> list[str]:
    lines, hints = synthetic_case(512)
    from PIL import Image

    Image.fromarray((lines * 255).astype(np.uint8)).save(tmp / "l.png")
    Image.fromarray((hints * 255).astype(np.uint8), "RGBA").save(tmp / "h.png")
    onnx = tmp / "pt.onnx"
    subprocess.run([PY, "-m", "inkwash", "export", "--model", "paintstorch", "-o", str(onnx)], check=True,
                   capture_output=True, cwd=ROOT)
    base = [PY, "-m", "inkwash", "colorize", str(tmp / "l.png"), "--hints", str(tmp / "h.png"), "--overwrite"]
    variants = {
        "classical (lazybrush)": lambda: wall(base + ["--model", "lazybrush", "-o", str(tmp / "a.png")]),
        "learned, torch (paintstorch)": lambda: wall(base + ["--model", "paintstorch", "-o", str(tmp / "b.png")]),
        "learned, ONNX (paintstorch.onnx)": lambda: wall(base + ["--model", str(onnx), "-o", str(tmp / "c.png")]),
    }
    target = {"classical (lazybrush)": 1.0, "learned, torch (paintstorch)": 2.5,
              "learned, ONNX (paintstorch.onnx)": 1.5}
    med = interleave(variants, rounds)
    rows = ["| `inkwash colorize` 512x512, whole process | median s | target |", "|---|---|---|"]
    rows += [f"| {k} | {v:.2f} | <= {target[k]} |" for k, v in med.items()]
    return rows


def case_files(size: int, tmp: Path) -> tuple[str, str]:
    """The bench's cartoon-like lineart and strokes at size x size as PNG files: (lineart, RGBA hints)."""
    from PIL import Image

    lines, hints = synthetic_case(size)
    lp, hp = tmp / f"lines{size}.png", tmp / f"hints{size}.png"
    Image.fromarray((np.clip(lines, 0, 1) * 255 + 0.5).astype(np.uint8), "L").save(lp)
    Image.fromarray((np.clip(hints, 0, 1) * 255 + 0.5).astype(np.uint8), "RGBA").save(hp)
    return str(lp), str(hp)


def full_resolution(rounds: int, tmp: Path) -> list[str]:
    rows = ["| model | 1024x1024 s | 4096x4096 s | 4096 / 1024 | peak MB at 4096 | targets (4096) |",
            "|---|---|---|---|---|---|"]
    files = {size: case_files(size, tmp) for size in (1024, 4096)}
    for model in MODELS:
        res = {size: [run_json(_ONE.format(model=model, lines=files[size][0], hints=files[size][1]))
                      for _ in range(rounds)] for size in (1024, 4096)}
        s1 = statistics.median(r["seconds"] for r in res[1024])
        s4 = statistics.median(r["seconds"] for r in res[4096])
        mb = max(r["peak_mb"] for r in res[4096])
        rows.append(f"| {model} | {s1:.2f} | {s4:.2f} | {s4 / s1:.1f}x | {mb:.0f} | <= 4 s, <= 1200 MB |")
    return rows


def threads(rounds: int) -> list[str]:
    """Passive vs spinning waits, 1 vs 2 threads, on an idle machine and with one core kept busy."""
    bench = str(Path(__file__).parent)
    rows = ["| machine | wait policy | threads | paintstorch colorize 1024 s |", "|---|---|---|---|"]
    for loaded in (False, True):
        hog = None
        if loaded:  # one busy core: the other jobs of a shared machine
            hog = subprocess.Popen([PY, "-c", "while True: pass"])
        try:
            variants = {}
            for policy in ("PASSIVE", "ACTIVE"):
                for n in (1, 2):
                    code = _LOOP.format(bench=bench, size=1024, model="paintstorch", threads=n, repeats=3)
                    variants[(policy, n)] = (lambda c=code, p=policy: run_json(c, {"OMP_WAIT_POLICY": p})["seconds"])
            med = interleave(variants, rounds)
        finally:
            if hog is not None:
                hog.kill()
        for (policy, n), v in med.items():
            rows.append(f"| {'one core busy' if loaded else 'idle'} | {policy.lower()} | {n} | {v:.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per measurement (default 3)")
    ap.add_argument("--quick", action="store_true", help="one round of everything")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    ap.add_argument("--only", default="", help="comma-separated parts: startup, full, threads (default: all)")
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        parts = {"startup": lambda: startup(rounds, Path(tmp)), "full": lambda: full_resolution(rounds, Path(tmp)),
                 "threads": lambda: threads(rounds)}
        tables = [parts[name]() for name in (args.only.split(",") if args.only else parts)]
    load = os.getloadavg()[0]
    header = (f"## Speed on two cores ({datetime.date.today()})\n\nMachine: {platform.machine()}, "
              f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; command: `python bench/speed.py"
              f"{' --quick' if args.quick else ''}{' --only ' + args.only if args.only else ''}`; medians of {rounds} interleaved round(s).\n")
    report(header + "\n" + "\n\n".join("\n".join(t) for t in tables) + "\n", append=not args.no_append)


if __name__ == "__main__":
    main()
