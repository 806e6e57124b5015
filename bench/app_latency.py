"""Stroke-to-result latency of the web app: one HTTP round trip of /api/colorize at 512x512, on CPU.

Run:  .venv/bin/python bench/app_latency.py                 (prints a table, appends a dated section to RESULTS.md)
      .venv/bin/python bench/app_latency.py --no-append --repeats 3 --no-onnx

What the page does after each stroke, minus the browser: a real uvicorn server (in this process, on a free
port) receives the lineart and the hint layer as PNGs (multipart, output=layers as the page asks) and answers
with the coloured and flat layers as base64 PNGs. Per model: the median round trip, and the part of it the
server spent in the model (X-Inkwash-Seconds); the rest is upload, PNG decode/encode and HTTP. The browser
adds its debounce (300 ms) and the PNG encoding of the hint canvas on top.

Models: lazybrush, paintstorch (shipped weights, torch) and, unless --no-onnx, the same paintstorch exported
to ONNX and served through onnxruntime (inkwash serve --model paintstorch.onnx).
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402
from lazybrush import synthetic_case  # noqa: E402  (the same lineart and strokes as the other benches)

from inkwash.app.server import ServerConfig, create_app  # noqa: E402



def png(arr: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG")
    return buf.getvalue()


def start_server(config: ServerConfig) -> tuple[str, object]:
    """uvicorn in a thread on a free port -> (base URL, server)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.time() + 120
    while not server.started:
        if time.time() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return url, server


def bench(url: str, key: str, files: dict, repeats: int) -> tuple[float, float, float]:
    """-> (median round trip s, median model s, min round trip s) after one warm-up request."""
    trips, model = [], []
    with httpx.Client(base_url=url, timeout=600) as client:
        for k in range(repeats + 1):
            t = time.perf_counter()
            r = client.post("/api/colorize", files=files, data={"model": key, "output": "layers"})
            dt = time.perf_counter() - t
            if r.status_code != 200:
                raise SystemExit(f"{key}: {r.status_code} {r.text}")
            if k:  # the first request pays for lazy imports and allocator warm-up
                trips.append(dt)
                model.append(float(r.headers["x-inkwash-seconds"]))
    return statistics.median(trips), statistics.median(model), min(trips)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (the target machine has 2 cores)")
    ap.add_argument("--no-onnx", action="store_true", help="skip the exported-ONNX row")
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lines, hints = synthetic_case(512)
    files = {"lineart": ("lineart.png", png((lines * 255 + 0.5).astype(np.uint8), "L"), "image/png"),
             "hints": ("hints.png", png((hints * 255 + 0.5).astype(np.uint8), "RGBA"), "image/png")}
    keys = ["lazybrush", "paintstorch"]
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_onnx:
            from inkwash.export import export_onnx

            onnx_path = Path(tmp) / "paintstorch.onnx"
            export_onnx("paintstorch", onnx_path, check_sizes=[(256, 256)])
            keys.append(str(onnx_path))
        url, server = start_server(ServerConfig(default_model="lazybrush", models=tuple(keys),
                                                model_options={str(k): {"threads": args.threads}
                                                               for k in keys if k.endswith(".onnx")}))
        rows = []
        for key in keys:
            trip, model, best = bench(url, key, files, args.repeats)
            name = "paintstorch (ONNX, onnxruntime)" if key.endswith(".onnx") else key
            rows.append((name, trip, model, best))
            print(f"{name}: {trip:.3f} s", flush=True)
        server.should_exit = True
    load = os.getloadavg()
    table = ["| model | round trip, median s | in the model, median s | round trip, best s |", "|---|---|---|---|"]
    table += [f"| {n} | {t:.3f} | {m:.3f} | {b:.3f} |" for n, t, m, b in rows]
    header = (f"## Web app stroke-to-result latency, 512x512 ({datetime.date.today()})\n\n"
              f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {args.threads} torch/onnxruntime threads, "
              f"CPU only; torch {torch.__version__}; load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min) while "
              f"measuring; command: `python bench/app_latency.py --repeats {args.repeats}`. One POST /api/colorize "
              "(lineart + hint PNGs in, coloured + flat PNGs out, as the page sends after each stroke) to `inkwash "
              f"serve` on 127.0.0.1; median of {args.repeats} after one warm-up. 10 strokes; paintstorch works at "
              "its training size (256 px short side) and returns 512x512. The page adds its 300 ms debounce.\n")
    report(header + "\n" + "\n".join(table) + "\n", append=not args.no_append)


if __name__ == "__main__":
    main()
