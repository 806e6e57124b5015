"""StablePaint sampling latency vs steps at 512x512, batch 1, CPU (and GPU if present), `small` preset.

Run:  .venv/bin/python bench/stablepaint_latency.py --repeats 1        (prints a table, appends to RESULTS.md)
      .venv/bin/python bench/stablepaint_latency.py --steps 1 5 20 50 --preset base --no-append

Untrained (randomly initialised) networks: latency depends on shapes, not weights. One sample = the context
encoder at 512 px, `steps` U-Net evaluations on the 64x64 latent (two per step in one batch of 2 with
classifier-free guidance), and the decoder back to 512 px: `StablePaint.__call__` at strength 1 (all steps).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform

import torch

from _report import median_seconds, report  # noqa: E402  (bench/ is on sys.path when run as a script)
from inkwash.diffusion import SamplerConfig
from inkwash.models.stablepaint import StablePaint, build_networks
from inkwash.train import run as tr



def bench_device(preset: str, device: str, steps: list[int], guidance: float, repeats: int, size: int
                 ) -> list[tuple[str, str, float]]:
    mcfg = tr.make_config("stablepaint", preset).model
    torch.manual_seed(0)
    nets = {k: v.to(device).eval().requires_grad_(False) for k, v in build_networks(mcfg).items()}
    pipe = StablePaint(nets, mcfg)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    c = torch.zeros(1, 3, size, size, device=device)
    m = torch.ones(1, 1, size, size, device=device)
    h = torch.zeros(1, 4, size // 4, size // 4, device=device)

    def run(n: int, strength: float = 1.0) -> None:
        pipe(c, m, h, SamplerConfig(steps=n, strength=strength, guidance=guidance), seed=0)

    run(1)  # warm-up
    sync()
    rows = [(device, "strength 0 (context encoder + decoder only)",
             median_seconds(lambda: run(1, 0.0), repeats, sync, warmup=False))]
    for n in steps:
        rows.append((device, f"{n} step(s)", median_seconds(lambda: run(n), repeats, sync, warmup=False)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", help="tiny | small | base (default small, the CPU recipe's)")
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--guidance", type=float, default=2.0, help="1 halves the U-Net cost (no unconditional pass)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (the target machine has 2 cores)")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = bench_device(args.preset, "cpu", args.steps, args.guidance, args.repeats, args.size)
    if torch.cuda.is_available():
        rows += bench_device(args.preset, "cuda", args.steps, args.guidance, args.repeats * 4, args.size)
    table = ["| device | sampling | seconds (median) |", "|---|---|---|"]
    table += [f"| {d} | {what} | {sec:.2f} |" for d, what, sec in rows]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none available"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()[:2])
    header = (f"## StablePaint sampling latency vs steps, {args.size}x{args.size} ({datetime.date.today()})\n\n"
              f"Machine: {platform.machine()}, {args.threads} CPU threads; GPU: {gpu}; torch {torch.__version__}; "
              f"load average {load} (1 / 5 min); command: `python bench/stablepaint_latency.py --repeats "
              f"{args.repeats}`. Preset `{args.preset}`, untrained weights (latency depends on shapes only), "
              f"DDIM at strength 1, guidance {args.guidance} (two U-Net passes per step, batched), batch 1; "
              f"median of {args.repeats} after one warm-up. Includes the context encoder and the decoder at "
              f"full size.\n")
    report(header + "\n" + "\n".join(table) + "\n", append=not args.no_append)


if __name__ == "__main__":
    main()
