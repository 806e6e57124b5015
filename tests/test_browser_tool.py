"""The page as an artist's tool, in a real browser (Playwright driving Debian's headless Chromium, as
test_browser.py): region fill with instant flats, zoom and pan, palettes, pipeline options, layers and .ora,
work kept across a reload, cancelling long work, shortcuts whatever has focus, and the ONNX page's requests.

The server runs in this process (uvicorn on a thread) so a test can offer a model that blocks until told to go.
"""

import base64
import io
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from test_browser import browser  # noqa: F401  (the Chromium fixture, shared)

W, H = 320, 240
BIG = 1024
RESULT_COUNT = "Number(document.querySelector('#result-canvas').dataset.count)"


# ------------------------------------------------------------------------------------------ the server
class BlockingModel:
    """A model that waits until the test lets it go (a long colouring), counting its calls."""

    resolution, multiple, hint_scale, lines_over = None, 1, 1, True
    go = threading.Event()
    started = threading.Event()
    finished = threading.Event()

    def __init__(self, weights=None, **options):
        pass

    def run(self, canvas, seed):
        BlockingModel.started.set()
        BlockingModel.go.wait(30)
        BlockingModel.finished.set()
        return np.ones(canvas.lines.shape + (3,), np.float32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The app (lazybrush and the blocking model) served by uvicorn on a thread."""
    uvicorn = pytest.importorskip("uvicorn")
    from inkwash.app.server import ServerConfig, create_app
    from inkwash.models import registry
    from inkwash.models.spec import Capabilities, ModelSpec

    registry.register(ModelSpec("_blocking", "waits for the test", opener=BlockingModel,
                                capabilities=Capabilities(trainable=False, weights="none")))
    app = create_app(ServerConfig(default_model="lazybrush", models=("lazybrush", "_blocking"), workers=2))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not srv.started:
        assert thread.is_alive() and time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{srv.config.port}/"
    BlockingModel.go.set()
    srv.should_exit = True
    thread.join(10)
    registry.unregister("_blocking")


@pytest.fixture
def page(browser):  # noqa: F811
    # the app's Content-Security-Policy forbids eval, which Playwright's wait_for_function uses
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


# ------------------------------------------------------------------------------------------- drawings
def save_png(arr: np.ndarray, path: Path) -> Path:
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def circle(tmp_path) -> Path:
    img = np.full((H, W), 255, np.uint8)
    cv2.circle(img, (160, 120), 90, 0, 3, cv2.LINE_AA)
    return save_png(img, tmp_path / "circle.png")


@pytest.fixture
def grid(tmp_path) -> Path:
    """A 1024 px drawing: 4 x 4 closed cells of 256 px (4 px lines)."""
    img = np.full((BIG, BIG), 255, np.uint8)
    for k in range(5):
        p = min(BIG - 2, k * 256)
        img[:, max(0, p - 2):p + 2] = 0
        img[max(0, p - 2):p + 2, :] = 0
    return save_png(img, tmp_path / "grid.png")


@pytest.fixture
def boxes(tmp_path) -> Path:
    """Two boxes inside a frame, their shared wall open by a 4 px gap (test_app's gapped figure, at 240 px)."""
    n = 240
    img = np.full((n, n), 255, np.uint8)
    cv2.rectangle(img, (16, 16), (n - 17, n - 17), 0, 3)
    img[16:n - 16, n // 2 - 1:n // 2 + 2] = 0
    img[n // 2 - 2:n // 2 + 2, n // 2 - 1:n // 2 + 2] = 255
    return save_png(img, tmp_path / "boxes.png")


# -------------------------------------------------------------------------------------------- helpers
def open_lineart(page, url: str, path: Path, regions: bool = True) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.set_input_files("#file", str(path))
    page.wait_for_function(f"{RESULT_COUNT} >= 1", timeout=60_000)
    if regions:
        page.wait_for_selector("body[data-regions='ready']", timeout=60_000)


def screen_point(page, x: float, y: float, size: tuple[int, int]) -> tuple[float, float]:
    """Where image pixel (x, y) is on the screen now (the drawing's box, whatever the zoom and pan)."""
    box = page.locator("#stack").bounding_box()
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


def drag(page, points, size=(W, H)) -> None:
    page.mouse.move(*screen_point(page, *points[0], size))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*screen_point(page, *p, size), steps=4)
    page.mouse.up()


def set_colour(page, hex_: str) -> None:
    page.locator("#hex").fill(hex_)
    page.locator("#hex").press("Enter")


def canvas_pixels(page, selector: str) -> np.ndarray:
    """A canvas' RGBA pixels (H,W,4), through a PNG: exact for opaque pixels, fast for big canvases."""
    url = page.evaluate(f"document.querySelector('{selector}').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def rgb(hex_: str) -> tuple[int, int, int]:
    return tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5))


def wait_settled(page) -> None:
    """No request scheduled or running, and the last one answered."""
    page.wait_for_function("document.querySelector('#cancel').hidden && "
                           "['done', 'idle'].includes(document.querySelector('#status').dataset.state)", timeout=60_000)


# ---------------------------------------------------------------------------------------------- tests
def test_fill_click_shows_the_new_flats_at_once_then_the_result(page, server, grid):
    open_lineart(page, server, grid)
    page.click("[data-tool=fill]")
    page.click("[data-view=flat]")
    page.evaluate("""() => { window.clicks = [];
        document.querySelector('#drop').addEventListener('pointerdown', (e) => window.clicks.push(e.timeStamp),
                                                         { capture: true }); }""")
    times = []
    for k, (cell, colour) in enumerate([((1, 1), "#d03030"), ((2, 1), "#3050d0"), ((1, 2), "#30a040")]):
        set_colour(page, colour)
        wait_settled(page)
        count = page.evaluate(RESULT_COUNT)
        cx, cy = cell[0] * 256 + 128, cell[1] * 256 + 128
        page.mouse.click(*screen_point(page, cx, cy, (BIG, BIG)))
        page.wait_for_function(f"Number(document.querySelector('#result-canvas').dataset.previews) >= {k + 1}")
        ms, shown, answered = page.evaluate(f"""() => {{ const c = document.querySelector('#result-canvas');
            return [Number(c.dataset.previewAt) - window.clicks[{k}],
                    Array.from(c.getContext('2d').getImageData({cx}, {cy}, 1, 1).data.slice(0, 3)),
                    {RESULT_COUNT}]; }}""")
        assert tuple(shown) == rgb(colour)  # the clicked cell, in the flats, before the server answered
        assert answered == count
        times.append(ms)
        page.wait_for_function(f"{RESULT_COUNT} > {count}", timeout=30_000)
        flat = canvas_pixels(page, "#result-canvas")
        assert tuple(flat[cy, cx, :3]) == rgb(colour)  # the server's flats agree
        assert tuple(flat[cy - 120, cx - 120, :3]) == rgb(colour)  # the whole cell, up to its lines
    print(f"fill click -> flats on the canvas at {BIG}x{BIG}: {', '.join(f'{t:.1f}' for t in times)} ms")
    assert sorted(times)[1] < 100, times  # the median: the page fills from its regions, no round trip
    hints = canvas_pixels(page, "#hints-canvas")
    assert tuple(hints[384, 384, :3]) == rgb("#d03030") and hints[256, 384, 3] == 0  # a region-sized hint, not ink
    page.click("#undo")  # the last fill goes: its cell is no hint any more
    assert canvas_pixels(page, "#hints-canvas")[640, 384, 3] == 0
    assert not page.errors, page.errors


def test_zoom_and_pan_then_paint_lands_on_the_image_pixel(page, server, circle):
    open_lineart(page, server, circle, regions=False)
    page.click("#zoom-100")
    assert page.inner_text("#zoom-label") == "100%"
    assert abs(page.locator("#stack").bounding_box()["width"] - W) < 0.5
    box = page.locator("#stack").bounding_box()
    pointer = (round(box["x"]) + 100, round(box["y"]) + 80)  # mouse events come in whole px
    anchor = ((pointer[0] - box["x"]) * W / box["width"], (pointer[1] - box["y"]) * H / box["height"])
    page.mouse.move(*pointer)
    page.mouse.wheel(0, -800)  # zoom in around the pointer
    page.wait_for_function("parseInt(document.querySelector('#zoom-label').textContent) >= 200")
    zoom = int(page.inner_text("#zoom-label").rstrip("%")) / 100
    after = screen_point(page, *anchor, (W, H))
    assert abs(after[0] - pointer[0]) < 0.5 and abs(after[1] - pointer[1]) < 0.5  # the point under the pointer stays
    assert page.evaluate("getComputedStyle(document.querySelector('#hints-canvas')).imageRendering") == "pixelated"

    page.locator("#size").fill("20")  # 20 screen px: 20 / zoom image px
    page.mouse.click(*screen_point(page, 120.5, 90.5, (W, H)))
    hints = canvas_pixels(page, "#hints-canvas")
    ys, xs = np.nonzero(hints[..., 3])
    assert hints[90, 120, 3] == 255 and abs(xs.mean() - 120) < 1 and abs(ys.mean() - 90) < 1
    assert abs((xs.max() - xs.min() + 1) - 20 / zoom) <= 2  # the brush's size is on screen, not in the image

    # space + drag pans; then a stroke still lands where the image pixel is shown
    box0 = page.locator("#stack").bounding_box()
    panel = page.locator("#drop").bounding_box()
    start = (panel["x"] + panel["width"] / 2, panel["y"] + panel["height"] / 2)
    page.mouse.move(*start)
    page.keyboard.down(" ")
    page.mouse.down()
    page.mouse.move(start[0] + 100, start[1] + 50, steps=5)
    page.mouse.up()
    page.keyboard.up(" ")
    box1 = page.locator("#stack").bounding_box()
    assert abs(box1["x"] - box0["x"] - 100) < 1 and abs(box1["y"] - box0["y"] - 50) < 1
    assert canvas_pixels(page, "#hints-canvas")[..., 3].sum() == hints[..., 3].sum()  # panning painted nothing
    page.mouse.click(*screen_point(page, 60.5, 40.5, (W, H)))
    assert canvas_pixels(page, "#hints-canvas")[40, 60, 3] == 255
    # two fingers: a pinch zooms and pans, and the first finger's stroke is taken back
    painted = canvas_pixels(page, "#hints-canvas")[..., 3].sum()
    zoom0 = int(page.inner_text("#zoom-label").rstrip("%"))
    page.evaluate("""([x, y]) => { const vp = document.querySelector('#drop');
        const ev = (type, id, cx) => vp.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch',
            isPrimary: id === 11, clientX: cx, clientY: y, button: 0, buttons: 1, bubbles: true }));
        ev('pointerdown', 11, x - 20); ev('pointermove', 11, x - 25); ev('pointerdown', 12, x + 20);
        for (let k = 1; k <= 5; k++) { ev('pointermove', 11, x - 20 - 10 * k); ev('pointermove', 12, x + 20 + 10 * k); }
        ev('pointerup', 11, x - 70); ev('pointerup', 12, x + 70); }""", list(start))
    assert int(page.inner_text("#zoom-label").rstrip("%")) > zoom0 * 2  # fingers 40 px -> 140 px apart
    assert canvas_pixels(page, "#hints-canvas")[..., 3].sum() == painted
    page.click("#zoom-fit")
    box = page.locator("#stack").bounding_box()
    panel = page.locator("#drop").bounding_box()
    assert box["width"] <= panel["width"] and box["height"] <= panel["height"]
    assert page.evaluate("getComputedStyle(document.querySelector('#hints-canvas')).imageRendering") != "pixelated"
    assert not page.errors, page.errors


def test_a_reload_brings_the_work_back(page, server, circle):
    open_lineart(page, server, circle, regions=False)
    set_colour(page, "#2f7fd8")
    page.locator("#size").fill("14")
    drag(page, [(130, 110), (185, 130)])
    page.click("[data-layer=mask]")
    drag(page, [(100, 60), (220, 60)])
    page.click("[data-layer=hints]")
    page.wait_for_function("document.body.dataset.autosaved === document.body.dataset.gen")
    hints, mask = (page.evaluate(f"document.querySelector('#{c}').toDataURL()")
                   for c in ("hints-canvas", "mask-canvas"))
    with page.expect_download() as dl:
        page.click("#save-hints")
    strokes = json.loads(Path(dl.value.path()).read_text())["strokes"]
    drag(page, [(150, 170), (170, 170)])  # not saved to a file: leaving asks first
    page.wait_for_function("document.body.dataset.autosaved === document.body.dataset.gen")
    hints = page.evaluate("document.querySelector('#hints-canvas').toDataURL()")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    page.reload()
    assert dialogs == ["beforeunload"]
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function(f"{RESULT_COUNT} >= 1", timeout=30_000)
    assert page.inner_text("#size-label").startswith("circle")
    assert page.evaluate("document.querySelector('#mask-canvas').toDataURL()") == mask
    assert page.evaluate("document.querySelector('#hints-canvas').toDataURL()") == hints  # all three strokes
    with page.expect_download() as dl:
        page.click("#save-hints")
    assert json.loads(Path(dl.value.path()).read_text())["strokes"][:len(strokes)] == strokes
    assert page.input_value("#hex") == "#2f7fd8" and page.input_value("#size") == "14"  # settings too
    assert not page.errors, page.errors


def test_layers_and_openraster_save(page, server, circle):
    open_lineart(page, server, circle, regions=False)
    set_colour(page, "#d03030")
    drag(page, [(130, 110), (185, 130)])
    page.eval_on_selector("#shading", "(el) => { el.value = '0.6'; el.dispatchEvent(new Event('input')); "
                                      "el.dispatchEvent(new Event('change')); }")
    page.wait_for_function("!document.querySelector('[data-view=shading]').disabled", timeout=30_000)
    wait_settled(page)
    page.click("[data-view=shading]")
    shading = canvas_pixels(page, "#result-canvas")
    assert shading[40:200, 80:240, :3].min() < 230 and (shading[5, 5, :3] == 255).all()  # shade inside, paper clean
    with page.expect_download() as dl:
        page.click("#save-ora")
    assert dl.value.suggested_filename == "circle.ora"
    with zipfile.ZipFile(dl.value.path()) as z:
        assert z.infolist()[0].filename == "mimetype" and z.read("mimetype") == b"image/openraster"
        stack = ET.fromstring(z.read("stack.xml"))
        assert [e.get("name") for e in stack.iter("layer")] == ["lines", "shading", "flat", "composite"]
        for e in stack.iter("layer"):
            assert Image.open(io.BytesIO(z.read(e.get("src")))).size == (W, H)
        flat = np.asarray(Image.open(io.BytesIO(z.read("data/flat.png"))).convert("RGB"))
        assert tuple(flat[120, 160]) == (0xD0, 0x30, 0x30)
    for button, name in [("#save-flat", "circle_flats.png"), ("#save-shading", "circle_shading.png"),
                         ("#save-lines", "circle_lines.png"), ("#save-result", "circle_coloured.png")]:
        with page.expect_download() as dl:
            page.click(button)
        assert dl.value.suggested_filename == name and Image.open(dl.value.path()).size == (W, H)
    assert not page.errors, page.errors


def test_cancel_stops_a_long_request(page, server, circle):
    BlockingModel.go.clear()
    BlockingModel.started.clear()
    BlockingModel.finished.clear()
    page.goto(server)
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#model", "_blocking")
    page.set_input_files("#file", str(circle))
    assert BlockingModel.started.wait(30)
    page.wait_for_function("!document.querySelector('#cancel').hidden")
    page.wait_for_function("/colouring… [0-9.]+ s/.test(document.querySelector('#status').textContent) && "
                           "parseFloat(document.querySelector('#status').textContent.match(/([0-9.]+) s/)[1]) >= 0.3")
    page.click("#cancel")
    assert page.locator("#status").get_attribute("data-state") == "cancelled"
    assert page.locator("#cancel").is_hidden()
    BlockingModel.go.set()  # the model ends its call; its answer must not reach the page
    assert BlockingModel.finished.wait(30)
    time.sleep(0.3)  # the server sends its answer into the closed connection
    assert page.evaluate(RESULT_COUNT) == 0 and page.locator("#status").get_attribute("data-state") == "cancelled"
    page.select_option("#model", "lazybrush")  # and the page goes on working
    page.wait_for_function(f"{RESULT_COUNT} >= 1", timeout=30_000)
    assert not page.errors, page.errors


def test_shortcuts_work_with_a_slider_or_select_focused_but_not_while_typing(page, server, circle):
    open_lineart(page, server, circle, regions=False)
    drag(page, [(130, 110), (185, 130)])
    assert canvas_pixels(page, "#hints-canvas")[..., 3].any()
    page.locator("#size").focus()
    size = int(page.input_value("#size"))
    page.keyboard.press("e")
    assert "on" in page.get_attribute("[data-tool=eraser]", "class")
    page.keyboard.press("]")
    assert int(page.input_value("#size")) == size + 2
    page.keyboard.press("Control+z")
    assert not canvas_pixels(page, "#hints-canvas")[..., 3].any()  # undone with the slider focused
    page.locator("#unhinted").focus()
    page.keyboard.press("f")
    assert "on" in page.get_attribute("[data-tool=fill]", "class") and page.input_value("#unhinted") == ""
    page.keyboard.press("Control+Shift+z")
    assert canvas_pixels(page, "#hints-canvas")[..., 3].any()  # redone
    page.locator("#hex").focus()
    page.keyboard.type("b")  # typing: the letter goes to the field, the tool stays
    assert "on" in page.get_attribute("[data-tool=fill]", "class")
    assert not page.errors, page.errors


def test_mask_overlay_leaves_hint_colours_as_they_are(page, server, circle):
    open_lineart(page, server, circle, regions=False)
    page.click("#zoom-100")
    colour = (0xD0, 0x80, 0x30)
    set_colour(page, "#d08030")
    page.locator("#size").fill("24")
    drag(page, [(120, 120), (200, 120)])

    def on_screen(x, y) -> tuple[int, ...]:
        sx, sy = screen_point(page, x + 0.5, y + 0.5, (W, H))
        shot = page.screenshot(clip={"x": sx - 2, "y": sy - 2, "width": 5, "height": 5})
        return tuple(np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))[2, 2])

    assert on_screen(160, 120) == colour
    paper = on_screen(160, 60)
    page.click("[data-layer=mask]")
    page.locator("#size").fill("120")
    drag(page, [(100, 100), (220, 100)])  # the mask covers the stroke and the paper around it
    assert on_screen(160, 120) == colour  # the hint looks as it is
    assert on_screen(160, 60) != paper  # where the mask is, it shows
    assert not page.errors, page.errors


def test_palettes_save_load_extract_and_recent(page, server, circle, tmp_path):
    open_lineart(page, server, circle, regions=False)
    page.fill("#palette-name", "Alice")
    page.click("#palette-new")
    for c in ("#112233", "#d08030", "#f3d2b3"):
        set_colour(page, c)
        page.click("#palette-add")
    with page.expect_download() as dl:
        page.click("#palette-save")
    doc = json.loads(Path(dl.value.path()).read_text())
    assert doc == {"name": "Alice", "colors": ["#112233", "#d08030", "#f3d2b3"]}
    page.click("#palette-delete")
    assert "Alice" not in page.eval_on_selector_all("#palette-select option", "(os) => os.map((o) => o.value)")
    page.set_input_files("#palette-file", dl.value.path())
    page.wait_for_function("document.querySelector('#palette-select').value === 'Alice'")  # the file reads async
    assert page.eval_on_selector_all("#palette button", "(bs) => bs.map((b) => b.dataset.color)") == doc["colors"]
    page.locator("#palette button").nth(1).click()
    assert page.input_value("#color") == "#d08030"

    ref = np.zeros((60, 90, 3), np.uint8)
    ref[:, :30], ref[:, 30:60], ref[:, 60:] = (200, 40, 40), (40, 160, 60), (30, 60, 200)
    page.set_input_files("#palette-image", str(save_png(ref, tmp_path / "reference.png")))
    page.wait_for_function("document.querySelector('#palette-select').value === 'reference'")
    got = [rgb(c) for c in page.eval_on_selector_all("#palette button", "(bs) => bs.map((b) => b.dataset.color)")]
    for want in [(200, 40, 40), (40, 160, 60), (30, 60, 200)]:
        assert min(max(abs(a - b) for a, b in zip(g, want)) for g in got) <= 2, got

    drag(page, [(130, 110), (185, 130)])  # a stroke in #d08030: a recent colour
    assert page.eval_on_selector_all("#recent button", "(bs) => bs.map((b) => b.dataset.color)")[0] == "#d08030"
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=30_000)
    set_colour(page, "#000000")
    page.click("[data-tool=picker]")
    page.mouse.click(*screen_point(page, 160, 160, (W, H)))  # inside the circle, away from the stroke: the result
    assert page.input_value("#color") == "#d08030"
    assert not page.errors, page.errors


def test_pipeline_options_reach_the_result(page, server, boxes):
    open_lineart(page, server, boxes)
    n = 240
    page.select_option("#unhinted", "paper")
    set_colour(page, "#d03030")
    page.locator("#size").fill("10")
    drag(page, [(60, 120), (80, 120)], (n, n))  # in the left box only
    wait_settled(page)
    page.wait_for_function(f"{RESULT_COUNT} >= 3", timeout=30_000)
    wait_settled(page)
    page.click("[data-view=flat]")
    assert tuple(canvas_pixels(page, "#result-canvas")[120, 180, :3]) == (255, 255, 255)  # the gap closes it
    count = page.evaluate(RESULT_COUNT)
    page.uncheck("#gap-auto")
    page.eval_on_selector("#gap", "(el) => { el.value = '0'; el.dispatchEvent(new Event('change')); }")
    page.wait_for_function(f"{RESULT_COUNT} > {count}", timeout=30_000)
    wait_settled(page)
    assert tuple(canvas_pixels(page, "#result-canvas")[120, 180, :3]) == (0xD0, 0x30, 0x30)  # no gap closing
    page.wait_for_selector("body[data-regions='ready']")  # the regions again, for the gap now asked
    assert "gaps up to 0 px" in page.inner_text("#regions-status")
    assert not page.errors, page.errors


def test_a_big_drawing_previews_live_and_colours_in_full_on_demand(page, server, tmp_path):
    w, h = 1600, 1000  # 1.6 MP: over the page's live-preview size
    img = np.full((h, w), 255, np.uint8)
    cv2.circle(img, (800, 500), 400, 0, 6)
    sizes = []  # the size each answer was coloured at
    page.on("response", lambda r: sizes.append(r.headers.get("x-inkwash-size")) if r.url.endswith("api/colorize")
            else None)
    open_lineart(page, server, save_png(img, tmp_path / "big.png"), regions=False)
    assert sizes == ["1549x968"] and "preview at 1549×968" in page.inner_text("#status")
    assert page.evaluate("[document.querySelector('#result-canvas').width, "
                         "document.querySelector('#result-canvas').height]") == [w, h]  # shown at full size
    page.click("#run")
    page.wait_for_function(f"{RESULT_COUNT} >= 2", timeout=60_000)
    assert sizes[-1] == "1600x1000" and "preview" not in page.inner_text("#status")
    assert not page.errors, page.errors


def test_a_reference_colours_the_regions_without_strokes(page, server, tmp_path):
    n, cells = 240, [(200, 60, 50), (60, 120, 220), (250, 210, 60), (90, 180, 90)]
    lines = np.full((n, n), 255, np.uint8)
    for p in (20, 120, 219):  # a 2 x 2 grid of 100 px cells
        lines[20:220, p - 1:p + 2] = 0
        lines[p - 1:p + 2, 20:220] = 0
    coloured = np.full((n, n, 3), 255, np.uint8)
    centres = [(70, 70), (170, 70), (70, 170), (170, 170)]  # (x, y) of each cell
    for (x, y), c in zip(centres, cells):
        coloured[y - 50:y + 50, x - 50:x + 50] = c
    coloured[lines == 0] = 0
    open_lineart(page, server, save_png(lines, tmp_path / "page2.png"), regions=False)
    wait_settled(page)
    count = page.evaluate(RESULT_COUNT)
    page.set_input_files("#reference-file", str(save_png(coloured, tmp_path / "page1.png")))
    page.wait_for_selector("body[data-reference='ready']", timeout=60_000)  # read by the server, async
    swatches = page.eval_on_selector_all("#reference-palette button", "(bs) => bs.map((b) => b.dataset.color)")
    assert {rgb(c) for c in swatches} == set(cells) | {(255, 255, 255)}, swatches
    page.wait_for_function(f"{RESULT_COUNT} > {count}", timeout=60_000)
    wait_settled(page)
    assert "reference: 4 of 4 regions matched" in page.inner_text("#status")
    page.click("[data-view=flat]")
    flat = canvas_pixels(page, "#result-canvas")
    assert [tuple(flat[y, x, :3]) for x, y in centres] == cells  # no stroke: the reference's colours
    page.locator("#reference-palette button").nth(1).click()  # a swatch picks the brush colour
    assert page.input_value("#color") == swatches[1]
    count = page.evaluate(RESULT_COUNT)
    page.click("#reference-clear")
    page.wait_for_function(f"{RESULT_COUNT} > {count}", timeout=60_000)
    wait_settled(page)
    assert "reference" not in page.inner_text("#status")
    assert tuple(canvas_pixels(page, "#result-canvas")[70, 70, :3]) != cells[0]  # colours gone with it
    assert page.locator("#reference-palette button").count() == 0
    assert not page.errors, page.errors


def test_the_onnx_page_served_asks_for_no_model_file(page, server):
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(server + "static/onnx.html")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    assert not [u for u in asked if u.endswith((".json", ".onnx"))], asked
    assert page.locator("#model-file-field").is_visible()
    assert not page.errors, page.errors


def onnx_page_from(index: str) -> str:
    """static/onnx.html as it must read: index.html with the in-browser engine and paths relative to static/.
    After editing index.html: python -c "import sys; sys.path[:0] = ['tests', 'src']; from test_browser_tool import
    onnx_page_from as f; from inkwash.app import STATIC_DIR as d; (d / 'onnx.html').write_text(f((d /
    'index.html').read_text()))" """
    changes = [("<!doctype html>\n", "<!doctype html>\n<!-- index.html with the in-browser engine (onnx-engine.js) "
                "and paths relative to this folder: keep the two in step. -->\n"),
               ("<title>inkwash: colour as you draw</title>", "<title>inkwash: colour in your browser (ONNX)</title>"),
               ('href="static/style.css"', 'href="style.css"'), ('src="static/app.js"', 'src="app.js"'),
               ('<body data-engine="server">', '<body data-engine="onnx">'),
               ('<a href="static/onnx.html">In-browser (ONNX) mode</a>',
                "Runs an exported model in this browser (onnxruntime-web); nothing is uploaded.")]
    for old, new in changes:
        assert index.count(old) == 1, old
        index = index.replace(old, new)
    return index


def test_onnx_page_is_the_index_page_in_step():
    from inkwash.app import STATIC_DIR

    assert (STATIC_DIR / "onnx.html").read_text() == onnx_page_from((STATIC_DIR / "index.html").read_text())
