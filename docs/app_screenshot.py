"""Draw the README's screenshot of the colouring page (docs/app.png) from a real session in headless Chromium.

    .venv/bin/python docs/app_screenshot.py              # writes docs/app.png (under 200 KB)

The session: `inkwash serve` (in this process), the boy example opened, regions filled with a click, one brush
stroke, a palette named after the character; Playwright drives Debian's Chromium (/usr/bin/chromium
or INKWASH_CHROMIUM).
"""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inkwash.app.server import ServerConfig, create_app  # noqa: E402

CHROMIUM = os.environ.get("INKWASH_CHROMIUM", "/usr/bin/chromium")
LINEART = ROOT / "examples" / "boy" / "lineart.png"
# (image x, y in the 512 px lineart, colour): a click each with the fill tool (hair, face, shirt, collar)
FILLS = [((318, 102), "#8a5a3c"), ((228, 220), "#f3d2b3"), ((295, 375), "#4f86d9"), ((269, 306), "#f5d547")]
STROKE = ([(164, 45), (189, 29), (214, 21), (239, 18), (264, 21), (289, 28)], "#6e4328")  # the hair's top rim
COUNT = "Number(document.querySelector('#result-canvas').dataset.count)"


def start_server() -> str:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = ServerConfig(default_model="lazybrush", models=("lazybrush", "paintstorch"))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def settle(page) -> None:
    page.wait_for_function("document.querySelector('#cancel').hidden && "
                           "['done', 'idle'].includes(document.querySelector('#status').dataset.state)",
                           timeout=120_000)


def main() -> Path:
    from playwright.sync_api import sync_playwright

    url = start_server()
    out = ROOT / "docs" / "app.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 860}).new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        page.set_input_files("#file", str(LINEART))
        page.wait_for_selector("body[data-regions='ready']", timeout=120_000)
        size = Image.open(LINEART).size

        def at(x: float, y: float) -> tuple[float, float]:
            box = page.locator("#stack").bounding_box()
            return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]

        def colour(hex_: str) -> None:
            page.locator("#hex").fill(hex_)
            page.locator("#hex").press("Enter")

        page.fill("#palette-name", "Boy")
        page.click("#palette-new")
        page.click("[data-tool=fill]")
        for (x, y), hex_ in FILLS:
            colour(hex_)
            page.click("#palette-add")
            page.mouse.click(*at(x, y))
        page.click("[data-tool=brush]")
        points, hex_ = STROKE
        colour(hex_)
        page.click("#palette-add")
        page.locator("#size").fill("8")
        page.mouse.move(*at(*points[0]))
        page.mouse.down()
        for pt in points[1:]:
            page.mouse.move(*at(*pt), steps=6)
        page.mouse.up()
        page.wait_for_function("document.querySelector('#result-canvas').dataset.gen === document.body.dataset.gen",
                               timeout=120_000)  # the answer for the drawing as it is now
        settle(page)
        page.mouse.move(*at(330, 190))  # the brush cursor over the drawing
        shot = Image.open(io.BytesIO(page.screenshot()))
        browser.close()
    # a palette of 256 colours keeps the file small; the page's flat colours survive it
    shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, optimize=True)
    print(f"{out}: {out.stat().st_size / 1024:.0f} KB")
    return out


if __name__ == "__main__":
    main()
