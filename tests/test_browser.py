"""End to end in a real browser (Playwright driving Debian's headless Chromium): `inkwash serve`, upload a
lineart, draw a stroke, wait for the result, check its colour, save; and the in-browser ONNX page.

Chromium comes from `apt-get install -y chromium` (.ci/run does it); `playwright install` cannot download
browsers here. The tests skip, saying why, only where Chromium cannot start. Screenshots go to tests/artifacts/.
"""

import base64
import functools
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

CHROMIUM = os.environ.get("INKWASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"
W, H = 320, 240
CENTRE, RADIUS = (160, 120), 90
BLUE = (47, 127, 216)
RESULT_COUNT = "Number(document.querySelector('#result-canvas').dataset.count)"


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgb)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set INKWASH_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        except Exception as exc:  # a machine where Chromium cannot run (missing libraries, no /dev/shm, ...)
            pytest.skip(f"Chromium at {CHROMIUM} cannot start here: {str(exc).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # the app's Content-Security-Policy forbids eval, which Playwright's wait_for_function uses
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


@pytest.fixture
def circle(tmp_path) -> Path:
    img = np.full((H, W), 255, np.uint8)
    cv2.circle(img, CENTRE, RADIUS, 0, 3, cv2.LINE_AA)
    path = tmp_path / "circle.png"
    Image.fromarray(img).save(path)
    return path


@pytest.fixture(scope="module")
def server():
    """`inkwash serve --model lazybrush` in a subprocess on a free port."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "inkwash", "serve", "--model", "lazybrush", "--models",
                             "lazybrush", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    import urllib.request

    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "api/info", timeout=2) as r:
                assert json.load(r)["default"] == "lazybrush"
            break
        except (OSError, ValueError):
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"inkwash serve did not start: {proc.stdout.read()}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def draw_stroke(page, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through image coordinates on the drawing canvas."""
    box = page.locator("#stack").bounding_box()
    sx, sy = box["width"] / W, box["height"] / H
    page.mouse.move(box["x"] + points[0][0] * sx, box["y"] + points[0][1] * sy)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=3)
    page.mouse.up()


def result_pixels(page, x: int, y: int, r: int) -> np.ndarray:
    """The result canvas' RGB pixels in a (2r+1)^2 square around (x, y), image coordinates."""
    data = page.evaluate(
        "([x, y, r]) => Array.from(document.querySelector('#result-canvas').getContext('2d')"
        ".getImageData(x - r, y - r, 2 * r + 1, 2 * r + 1).data)", [x, y, r])
    return np.asarray(data, np.uint8).reshape(2 * r + 1, 2 * r + 1, 4)[..., :3]


def open_lineart(page, path: Path) -> None:
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#file", str(path))
    page.wait_for_function(f"{RESULT_COUNT} >= 1", timeout=60_000)


def test_draw_a_stroke_and_save_through_the_server(page, server, circle):
    page.goto(server)
    open_lineart(page, circle)
    page.locator("#color").fill(hex_colour(BLUE))
    stroke = [(130, 110), (150, 118), (170, 125), (185, 130)]
    t0 = time.perf_counter()
    draw_stroke(page, stroke)
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=30_000)
    latency = time.perf_counter() - t0
    assert page.locator("#status").get_attribute("data-state") == "done", page.inner_text("#status")

    near = result_pixels(page, 160, 122, 6)
    assert np.abs(near.astype(int) - BLUE).max(axis=2).min() <= 3  # the stroke's colour, where it was drawn
    assert np.median(np.abs(near.astype(int) - BLUE).max(axis=2)) <= 3
    assert result_pixels(page, 8, 8, 2).min() >= 250  # outside the circle: paper
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"))

    with page.expect_download() as download:
        page.click("#save-result")
    saved = ARTIFACTS / "app_result.png"
    download.value.save_as(saved)
    out = np.asarray(Image.open(saved).convert("RGB"))
    assert out.shape == (H, W, 3) and np.abs(out[122, 160].astype(int) - BLUE).max() <= 3
    with page.expect_download() as download:
        page.click("#save-hints")
    doc = json.loads(Path(download.value.path()).read_text())
    assert (doc["width"], doc["height"]) == (W, H) and doc["strokes"][0]["color"] == hex_colour(BLUE)
    assert not page.errors, page.errors
    print(f"stroke-to-result in the browser: {latency:.2f} s")


def test_a_newer_stroke_supersedes_and_undo_recolours(page, server, circle):
    page.goto(server)
    open_lineart(page, circle)
    red, green = (0xD0, 0x30, 0x30), (0x30, 0xA0, 0x40)
    page.locator("#color").fill("#d03030")
    draw_stroke(page, [(120, 150), (200, 150)])
    page.locator("#color").fill("#30a040")
    draw_stroke(page, [(140, 80), (180, 80)])  # within the debounce: one request, for the latest state
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=30_000)
    page.wait_for_timeout(800)
    assert page.evaluate(RESULT_COUNT) == 2
    assert {tuple(p) for p in result_pixels(page, 160, 80, 2).reshape(-1, 3)} == {green}
    assert {tuple(p) for p in result_pixels(page, 160, 150, 2).reshape(-1, 3)} == {red}
    page.click("#undo")  # the green stroke goes: the whole circle is red again
    page.wait_for_function(f"{RESULT_COUNT} >= 3", timeout=30_000)
    assert {tuple(p) for p in result_pixels(page, 160, 80, 2).reshape(-1, 3)} == {red}
    page.click("#redo")
    page.wait_for_function(f"{RESULT_COUNT} >= 4", timeout=30_000)
    assert {tuple(p) for p in result_pixels(page, 160, 80, 2).reshape(-1, 3)} == {green}
    assert not page.errors, page.errors


def test_mask_keeps_the_base_outside(page, server, circle):
    page.goto(server)
    open_lineart(page, circle)
    blue, red = BLUE, (0xD0, 0x30, 0x30)
    page.locator("#color").fill(hex_colour(blue))
    draw_stroke(page, [(140, 150), (180, 150)])
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=30_000)
    page.click("#use-base")  # keep this blue circle; refine inside a mask only
    page.wait_for_function(f"{RESULT_COUNT} >= 3", timeout=30_000)
    page.click("[data-layer=mask]")
    page.locator("#size").fill("60")
    draw_stroke(page, [(100, 70), (220, 70)])  # a band across the top of the circle
    page.click("[data-layer=hints]")
    page.locator("#size").fill("8")
    page.locator("#color").fill("#d03030")
    draw_stroke(page, [(150, 70), (170, 70)])
    page.wait_for_function(f"{RESULT_COUNT} >= 4", timeout=30_000)
    page.wait_for_timeout(600)
    n = page.evaluate(RESULT_COUNT)
    page.wait_for_function(f"{RESULT_COUNT} == {n} && document.querySelector('#status').dataset.state == 'done'")
    assert {tuple(p) for p in result_pixels(page, 160, 70, 2).reshape(-1, 3)} == {red}  # inside the mask
    assert {tuple(p) for p in result_pixels(page, 160, 170, 4).reshape(-1, 3)} == {blue}  # the base, kept
    with page.expect_download() as download:
        page.click("#save-mask")
    mask = np.asarray(Image.open(download.value.path()).convert("L"))
    assert mask.shape == (H, W) and mask[70, 160] == 255 and mask[170, 160] == 0
    assert not page.errors, page.errors


@pytest.fixture(scope="module")
def onnx_site(tmp_path_factory):
    """A tiny untrained PaintsTorch exported with --page, served by a plain static file server."""
    pytest.importorskip("onnxruntime")
    import torch

    from inkwash.cli import main
    from inkwash.train.loop import export
    from inkwash.train.paintstorch import PaintsTorchTask
    from inkwash.train.run import make_config

    root = tmp_path_factory.mktemp("onnx-site")
    torch.manual_seed(0)
    cfg = make_config("paintstorch", "tiny", overrides={"data.size": 64})
    export(PaintsTorchTask(cfg), root, 0)  # root/model/: the model folder
    try:  # the legacy exporter: seconds faster than the default, which test_export.py covers
        main(["export", "--model", str(root), "-o", str(root / "m.onnx"), "--check", "64x64", "--exporter",
              "legacy", "--page", str(root / "site")])
    except SystemExit as exc:
        assert not exc.code
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root / "site")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root / "m.onnx"
    httpd.shutdown()


def test_onnx_page_colours_in_the_browser_like_python(page, onnx_site, circle):
    from inkwash.export import OnnxColorizer
    from inkwash.infer import Settings

    url, model = onnx_site
    page.goto(url)
    page.wait_for_selector("#model option[value='onnx']", state="attached", timeout=60_000)
    open_lineart(page, circle)
    page.locator("#color").fill(hex_colour(BLUE))
    draw_stroke(page, [(130, 110), (185, 130)])
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=60_000)
    assert page.locator("#status").get_attribute("data-state") == "done", page.inner_text("#status")
    hints_png = page.evaluate("document.querySelector('#hints-canvas').toDataURL('image/png')")
    hints = Image.open(io.BytesIO(base64.b64decode(hints_png.split(",", 1)[1])))
    got = result_pixels(page, W // 2, H // 2, min(W, H) // 2 - 1).astype(int)
    ref = np.asarray(OnnxColorizer(model, Settings(lock=False)).colorize(circle, hints), int)  # the page: raw
    r = min(W, H) // 2 - 1
    ref = ref[H // 2 - r:H // 2 + r + 1, W // 2 - r:W // 2 + r + 1]
    diff = np.abs(got - ref)
    print(f"ONNX page vs OnnxColorizer: mean {diff.mean():.3f}, p99 {np.percentile(diff, 99):.1f}, max {diff.max()}")
    assert diff.mean() < 0.5 and diff.max() <= 4, (diff.mean(), diff.max())  # the JS pipeline mirrors numpy
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_onnx.png"))
    assert not page.errors, page.errors
