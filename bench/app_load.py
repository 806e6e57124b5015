"""The web app under load and stalled clients: `inkwash serve` in a subprocess, many clients at once.

Run:  PYTHONPATH=src .venv/bin/python bench/app_load.py                  (prints tables, appends them to RESULTS.md)
      PYTHONPATH=src .venv/bin/python bench/app_load.py --no-append --models lazybrush --clients 10 --requests 2

Phases, per model and server layout (workers x torch threads):
- load: `--clients` clients at once, each sending `--requests` colorizes one after the other (512x512 lineart +
  hint PNGs, output=layers, as the page sends them). A client does not retry: a `503 busy` is counted, and it is
  honest when it carries Retry-After. Latency percentiles are over the answered requests; peak memory is the
  server process' high-water mark (VmHWM), after the models had loaded (RSS then in brackets).
- stalled (first layout only): `--stalled` connections that send a request head and part of a body, then
  nothing, plus as many that send half a request head: the server's open descriptors before, with them open,
  and after the body/head deadlines; meanwhile one colorize is timed (the server still answers).
- big (first layout only): 12 clients upload 4096x4096 linearts at once while /api/info is polled; the slowest
  /api/info answer and the server's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402
from lazybrush import synthetic_case  # noqa: E402  (the same lineart and strokes as the other benches)


def png(arr: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG")
    return buf.getvalue()


def case_files(size: int) -> dict:
    lines, hints = synthetic_case(size)
    return {"lineart": ("lineart.png", png((lines * 255 + 0.5).astype(np.uint8), "L"), "image/png"),
            "hints": ("hints.png", png((hints * 255 + 0.5).astype(np.uint8), "RGBA"), "image/png")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, key: str) -> int:
    """A memory line of /proc/PID/status in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    """`inkwash serve` in a subprocess on a free port, until closed."""

    def __init__(self, model: str, workers: int, threads: int, body_timeout: float):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "inkwash", "serve", "--model", model, "--models", model, "--port",
               str(self.port), "--workers", str(workers), "--threads", str(threads), "--body-timeout",
               str(body_timeout)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/api/info", timeout=60).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("the server did not start")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ------------------------------------------------------------------------------------------------ phases
async def load(url: str, key: str, files: dict, clients: int, requests: int) -> dict:
    """`clients` at once, `requests` each in turn -> counts, latencies and wall time."""
    lat, codes, honest = [], [], 0

    async def client() -> None:
        nonlocal honest
        async with httpx.AsyncClient(base_url=url, timeout=600) as c:
            for _ in range(requests):
                t = time.perf_counter()
                r = await c.post("/api/colorize", files=files, data={"model": key, "output": "layers"})
                codes.append(r.status_code)
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t)
                elif r.status_code == 503 and r.json()["error"]["code"] == "busy" and "retry-after" in r.headers:
                    honest += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"ok": codes.count(200), "busy": honest, "other": len(codes) - codes.count(200) - honest,
            "lat": sorted(lat), "wall": time.perf_counter() - t0}


def percentile(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


async def stalled(server: Server, key: str, files: dict, n: int) -> dict:
    """n stalled bodies + n stalled heads: descriptors before / with them / after the deadlines; one colorize."""
    pid = server.proc.pid
    before = open_fds(pid)
    conns = []
    for k in range(2 * n):
        r, w = await asyncio.open_connection("127.0.0.1", server.port)
        if k < n:
            w.write(b"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                    b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n")
        else:
            w.write(b"POST /api/colorize HTTP/1.1\r\nHost: 127.0")
        await w.drain()
        conns.append((r, w))
    await asyncio.sleep(0.5)
    during = open_fds(pid)
    t = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.url, timeout=600) as c:
        ok = (await c.post("/api/colorize", files=files, data={"model": key, "output": "layers"}))
    served = time.perf_counter() - t
    answers = await asyncio.gather(*(r.read() for r, _ in conns))  # each until the server closes it
    after = open_fds(pid)
    for _, w in conns:
        w.close()
    got_408 = sum(a.startswith(b"HTTP/1.1 408") for a in answers[:n])
    closed_silently = sum(a == b"" for a in answers[n:])
    return {"before": before, "during": during, "after": after, "408": got_408, "heads_closed": closed_silently,
            "colorize_ok": ok.status_code == 200, "colorize_s": served}


async def big(server: Server, key: str, clients: int = 12) -> dict:
    """`clients` 4096x4096 uploads at once while /api/info is polled -> codes, slowest info, peak memory."""
    files = case_files(4096)
    slowest, done = 0.0, False

    async def poll() -> None:
        nonlocal slowest
        async with httpx.AsyncClient(base_url=server.url, timeout=600) as c:
            while not done:
                t = time.perf_counter()
                await c.get("/api/info")
                slowest = max(slowest, time.perf_counter() - t)
                await asyncio.sleep(0.1)

    async def upload() -> int:
        async with httpx.AsyncClient(base_url=server.url, timeout=900) as c:
            r = await c.post("/api/colorize", files=files, data={"model": key})
            return r.status_code

    poller = asyncio.ensure_future(poll())
    codes = await asyncio.gather(*(upload() for _ in range(clients)))
    done = True
    await poller
    return {"ok": codes.count(200), "busy": codes.count(503), "other": len(codes) - codes.count(200) -
            codes.count(503), "slowest_info": slowest, "peak": proc_status(server.proc.pid, "VmHWM")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="lazybrush,paintstorch")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=4, help="requests per client, one after the other")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--stalled", type=int, default=500, help="stalled bodies (and as many stalled heads)")
    ap.add_argument("--body-timeout", type=float, default=5.0)
    ap.add_argument("--no-big", action="store_true", help="skip the 12 x 4096x4096 phase")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    ap.add_argument("--layouts", default=None, help="server layouts WORKERSxTHREADS, comma-separated (default: "
                                                     "CORESx1 (the server's default), 1xCORES, CORESxCORES)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    layouts = ([tuple(int(v) for v in lay.split("x")) for lay in args.layouts.split(",")] if args.layouts else
               list(dict.fromkeys([(cores, 1), (1, cores), (cores, cores)])))
    files = case_files(args.size)
    rows, extra = [], []
    for model in args.models.split(","):
        for i, (workers, threads) in enumerate(layouts):
            server = Server(model, workers, threads, args.body_timeout)
            try:
                rss = proc_status(server.proc.pid, "VmRSS")
                idle = asyncio.run(load(server.url, model, files, 1, 5))["lat"]
                res = asyncio.run(load(server.url, model, files, args.clients, args.requests))
                peak = proc_status(server.proc.pid, "VmHWM")
                lat = res["lat"]
                rows.append(f"| {model} | {workers} x {threads} | {statistics.median(idle):.2f} | "
                            f"{res['ok']} / {res['busy']} / {res['other']} | {percentile(lat, 0.5):.2f} | "
                            f"{percentile(lat, 0.99):.2f} | {res['ok'] / res['wall']:.2f} | "
                            f"{peak / 2**20:.0f} ({rss / 2**20:.0f}) |")
                print(rows[-1], flush=True)
                if i == 0 and args.stalled:
                    st = asyncio.run(stalled(server, model, files, args.stalled))
                    extra.append(f"| {model} stalled | {args.stalled} bodies + {args.stalled} heads | descriptors "
                                 f"{st['before']} -> {st['during']} -> {st['after']} | {st['408']} got 408, "
                                 f"{st['heads_closed']} heads closed | colorize meanwhile: "
                                 f"{'200' if st['colorize_ok'] else 'FAILED'} in {st['colorize_s']:.2f} s |")
                    print(extra[-1], flush=True)
                if i == 0 and not args.no_big:
                    b = asyncio.run(big(server, model))
                    extra.append(f"| {model} 12 x 4096x4096 | at once | {b['ok']} answered, {b['busy']} busy, "
                                 f"{b['other']} other | slowest /api/info {b['slowest_info']:.2f} s | peak "
                                 f"{b['peak'] / 2**20:.0f} MiB |")
                    print(extra[-1], flush=True)
            finally:
                server.close()
    load_avg = os.getloadavg()
    table = ["| model | workers x threads | idle, median s | answered / 503 busy + Retry-After / other | p50 s | "
             "p99 s | answered / s | server peak MiB (after load) |", "|---|---|---|---|---|---|---|---|"] + rows
    header = (f"## Web app under load: {args.clients} clients x {args.requests} requests, {args.size}x{args.size} "
              f"({datetime.date.today()})\n\n"
              f"Machine: {platform.machine()}, {cores} CPU cores, CPU only; load average {load_avg[0]:.1f} / "
              f"{load_avg[1]:.1f} (1 / 5 min) at the end; command: `python bench/app_load.py --models {args.models} "
              f"--clients {args.clients} --requests {args.requests}"
              f"{' --layouts ' + args.layouts if args.layouts else ''}`. `inkwash serve` in a subprocess; every client "
              "posts lineart + hint PNGs (output=layers, as the page) and waits for the answer before its next; no "
              "retries. Latency over answered requests; `idle` = one client alone.\n")
    stall = ["", "| case | clients | server | outcome | meanwhile |", "|---|---|---|---|---|"] + extra if extra else []
    report(header + "\n" + "\n".join(table + stall) + "\n", append=not args.no_append)


if __name__ == "__main__":
    main()
