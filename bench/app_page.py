"""The colouring page as a user meets it, in headless Chromium: a fill click to flats on the screen, and a stroke
(or a click) to the server's result on the screen, at 1024x1024 and on a 3584x3008 page.

Run:  .venv/bin/python bench/app_page.py                     (prints a table, appends a dated section to RESULTS.md)
      .venv/bin/python bench/app_page.py --no-append --repeats 3 --models lazybrush

A real uvicorn server in this process (as `inkwash serve`); Playwright drives Debian's Chromium (/usr/bin/chromium or
INKWASH_CHROMIUM). The drawing is a grid of closed cells (4 px lines) so every click lands in a known region.
  fill -> flats   the page fills the clicked region from the regions it holds (POST api/regions, once) and draws
                  the new flats: time from the pointerdown event to the pixels on the result canvas
  fill -> result  the same click to the server's answer drawn (the page asks at once after a fill)
  stroke -> result  a brush stroke to the answer drawn, including the page's 300 ms debounce
At 3584x3008 (10.8 MP) the live answers are previews (1.5 MP); "Colour now" colours at full size.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _report import report  # noqa: E402

from inkwash.app.server import ServerConfig, create_app  # noqa: E402

CHROMIUM = os.environ.get("INKWASH_CHROMIUM", "/usr/bin/chromium")
COUNT = "Number(document.querySelector('#result-canvas').dataset.count)"


def grid_png(w: int, h: int, cell: int, path: Path) -> Path:
    img = np.full((h, w), 255, np.uint8)
    for x in range(0, w + 1, cell):
        img[:, max(0, x - 2):x + 2] = 0
    for y in range(0, h + 1, cell):
        img[max(0, y - 2):y + 2, :] = 0
    Image.fromarray(img).save(path)
    return path


def start_server(models: tuple[str, ...]) -> str:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(ServerConfig(default_model=models[0], models=models)),
                                           log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def at(page, x: float, y: float, size: tuple[int, int]) -> tuple[float, float]:
    box = page.locator("#stack").bounding_box()
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


def settle(page) -> None:
    page.wait_for_function("document.querySelector('#cancel').hidden && ['done', 'idle'].includes("
                           "document.querySelector('#status').dataset.state)", timeout=600_000)


def measure(page, url: str, model: str, path: Path, size: tuple[int, int], cell: int, repeats: int) -> dict:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#model", model)
    page.set_input_files("#file", str(path))
    page.wait_for_function(f"{COUNT} >= 1", timeout=600_000)
    page.wait_for_selector("body[data-regions='ready']", timeout=600_000)
    settle(page)
    page.evaluate("""() => { window.clicks = [];
        document.querySelector('#drop').addEventListener('pointerdown', (e) => window.clicks.push(e.timeStamp),
                                                         { capture: true }); }""")
    page.click("[data-tool=fill]")
    flats, fills, strokes = [], [], []
    cols, rows = size[0] // cell, size[1] // cell
    for k in range(repeats):
        page.locator("#hex").fill(f"#{(37 * k + 80) % 256:02x}{(91 * k + 40) % 256:02x}c0")
        page.locator("#hex").press("Enter")
        settle(page)
        n = page.evaluate(COUNT)
        cx, cy = (k % cols) * cell + cell // 2, (k // cols % rows) * cell + cell // 2
        t0 = time.perf_counter()
        page.mouse.click(*at(page, cx, cy, size))
        page.wait_for_function(f"Number(document.querySelector('#result-canvas').dataset.previews) >= {k + 1}")
        flats.append(page.evaluate("Number(document.querySelector('#result-canvas').dataset.previewAt) - "
                                   "window.clicks[window.clicks.length - 1]") / 1000)
        page.wait_for_function(f"{COUNT} > {n}", timeout=600_000)
        fills.append(time.perf_counter() - t0)
    page.click("[data-tool=brush]")
    for k in range(repeats):
        settle(page)
        n = page.evaluate(COUNT)
        y = (k % rows) * cell + cell // 3
        t0 = time.perf_counter()
        page.mouse.move(*at(page, cell * 0.3, y, size))
        page.mouse.down()
        page.mouse.move(*at(page, cell * 0.6, y, size), steps=4)
        page.mouse.up()
        page.wait_for_function(f"{COUNT} > {n}", timeout=600_000)
        strokes.append(time.perf_counter() - t0)
    out = {"flats": statistics.median(flats), "fill": statistics.median(fills), "stroke": statistics.median(strokes),
           "status": page.inner_text("#status")}
    if size[0] * size[1] > 1_500_000:
        settle(page)
        n = page.evaluate(COUNT)
        t0 = time.perf_counter()
        page.click("#run")
        page.wait_for_function(f"{COUNT} > {n}", timeout=600_000)
        out["full"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lazybrush,paintstorch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    models = tuple(args.models.split(","))
    url = start_server(models)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        cases = [((1024, 1024), 256), ((3584, 3008), 512)]
        for size, cell in cases:
            path = grid_png(*size, cell, Path(tmp) / f"grid{size[0]}.png")
            for model in models:
                ctx = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
                r = measure(ctx.new_page(), url, model, path, size, cell, args.repeats)
                ctx.close()
                full = f"{r['full']:.2f}" if "full" in r else "(live is full size)"
                rows.append(f"| {model} | {size[0]}x{size[1]} | {r['flats'] * 1000:.0f} | {r['fill']:.2f} | "
                            f"{r['stroke']:.2f} | {full} |")
                print(rows[-1], flush=True)
        browser.close()
    load = os.getloadavg()
    section = f"""## Web page in Chromium: fill click and stroke to the screen ({datetime.date.today()})

Machine: {platform.machine()}, {os.cpu_count()} CPU cores, CPU only; headless Chromium (software rendering); load
average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min) at the end; command:
`python bench/app_page.py --repeats {args.repeats}`.
Server in-process (uvicorn), page driven by Playwright; medians of {args.repeats}. A grid of closed cells; "fill ->
flats": pointerdown to the new flats on the result canvas, drawn by the page from the regions it holds; the others:
to the server's answer drawn (a stroke includes the 300 ms debounce). Over 1.5 MP the live answers are previews
(1.5 MP); "Colour now" colours at full size.

| model | drawing | fill -> flats, ms | fill -> result, s | stroke -> result, s | Colour now (full size), s |
|---|---|---|---|---|---|
""" + "\n".join(rows)
    report(section, append=not args.no_append)


if __name__ == "__main__":
    main()
