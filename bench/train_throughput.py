"""PaintsTorch training throughput: images/s, peak memory, parameters and GFLOPs per image.

    .venv/bin/python bench/train_throughput.py                       # base and small at 256 and 512 px, CPU
    PYTHONPATH=src python3 bench/train_throughput.py --device cuda --batch-size 8 --iters 10

Each (preset, size) runs in a fresh process so peak memory is its own. Prints one table and appends a dated
section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import subprocess
import sys
import time
from _report import report  # bench/ is on sys.path when run as a script


def measure(preset: str, size: int, batch: int, iters: int, device: str) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from inkwash.train.paintstorch import PaintsTorchTask
    from inkwash.train.run import make_config

    cfg = make_config("paintstorch", preset, overrides={"data.size": size})
    dev = torch.device(device)
    torch.manual_seed(0)
    task = PaintsTorchTask(cfg, dev)
    nets = task.networks()
    on_cuda = dev.type == "cuda"
    if on_cuda:
        for n in nets.values():
            n.to(memory_format=torch.channels_last)
    b = {"lineart": torch.rand(batch, 1, size, size, device=dev) * 2 - 1,
         "hints": torch.rand(batch, 4, size // 4, size // 4, device=dev),
         "illustration": torch.rand(batch, 3, size, size, device=dev) * 2 - 1}

    def iteration(phases=task.phases):
        state = {}
        for phase in phases:
            for ph, opt in task.opts.items():
                for g in opt.param_groups:
                    for p in g["params"]:
                        p.requires_grad_(ph == phase)
            task.opts[phase].zero_grad(set_to_none=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=on_cuda):
                loss = task.step(phase, b, state)["loss"]
            loss.backward()
            task.opts[phase].step()

    one = {k: v[:1] for k, v in b.items()}
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        task.colorize(one["lineart"], one["hints"])
    infer_gflops = fc.get_total_flops() / 1e9
    iteration()  # warm-up
    # FlopCounterMode cannot follow the critic's double backward (autograd.grad): count the generator phases
    with FlopCounterMode(display=False) as fc:
        iteration(tuple(p for p in task.phases if p != "critic"))
    train_gflops = fc.get_total_flops() / 1e9 / batch
    if on_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(iters):
        iteration()
    if on_cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated() / 2**30 if on_cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    params = {k: sum(p.numel() for p in v.parameters()) / 1e6 for k, v in nets.items()}
    return {"preset": preset, "size": size, "batch": batch, "iters": iters, "device": device,
            "images_per_s": batch * iters / dt, "peak_gib": peak, "params_m": params,
            "g1_gflops": infer_gflops, "train_gflops": train_gflops}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="base,small")
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: preset,size in a child process
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    if a.one:
        preset, size = a.one.split(",")
        print(json.dumps(measure(preset, int(size), a.batch_size, a.iters, a.device)))
        return
    rows = []
    for preset in a.presets.split(","):
        for size in map(int, a.sizes.split(",")):
            cmd = [sys.executable, __file__, "--one", f"{preset},{size}", "--batch-size", str(a.batch_size),
                   "--iters", str(a.iters), "--device", a.device]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"{preset} at {size} px failed:\n{res.stderr[-2000:]}")
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    mem = "peak GPU GiB" if a.device == "cuda" else "peak RSS GiB"
    head = (f"| preset | px | batch | images/s | {mem} | params G1/G2/C (M) | G1 GFLOPs/img (inference) "
            "| train GFLOPs/img (G1+G2 steps, fwd+bwd) |\n|---|---|---|---|---|---|---|---|")
    lines = [head] + [
        f"| {r['preset']} | {r['size']} | {r['batch']} | {r['images_per_s']:.3f} | {r['peak_gib']:.2f} | "
        f"{r['params_m']['g1']:.2f}/{r['params_m'].get('g2', 0):.2f}/{r['params_m']['critic']:.2f} | "
        f"{r['g1_gflops']:.1f} | {r['train_gflops']:.1f} |" for r in rows]
    table = "\n".join(lines)
    import torch

    machine = (torch.cuda.get_device_name() if a.device == "cuda" else
               f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores")
    cmd = "python bench/train_throughput.py " + " ".join(sys.argv[1:])
    section = (f"## PaintsTorch training throughput ({datetime.date.today()})\n\n"
               f"Machine: {machine}; torch {torch.__version__}; command: `{cmd.strip()}`. Default (offline) F1/F2; "
               f"FLOPs from torch.utils.flop_counter (multiply-add = 2 FLOPs); {a.iters} timed iterations after "
               "one warm-up; one iteration = critic, G1 and G2 steps; images/s counts iterations x batch.\n\n"
               + table + "\n")
    report(section, append=not a.no_write)


if __name__ == "__main__":
    main()
