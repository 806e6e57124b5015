"""The web app's server: colouring through /api/colorize, strict uploads with JSON errors, models by key only,
one model worker, and the security defaults."""

import asyncio
import io
import json
import threading
import time

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from inkwash.app.server import ApiError, ModelWorker, ServerConfig, create_app
from inkwash.errors import InkwashError
from inkwash.models import registry
from inkwash.models.spec import Capabilities, ModelSpec

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")  # starlette's TestClient about httpx2

W, H = 90, 70
RED = (230, 40, 40)


def png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG")
    return buf.getvalue()


def circle_png() -> bytes:
    img = np.full((H, W), 255, np.uint8)
    cv2.circle(img, (45, 35), 28, 0, 2)
    return png(img)


def red_stroke_png() -> bytes:
    hints = np.zeros((H, W, 4), np.uint8)
    hints[30:40, 35:55] = RED + (255,)
    return png(hints, "RGBA")


def files(**parts):
    return {k: (f"{k}.png", v, "image/png") if isinstance(v, bytes) else v for k, v in parts.items()}


@pytest.fixture
def client():
    from fastapi.testclient import TestClient

    app = create_app(ServerConfig(default_model="lazybrush", models=("lazybrush",), max_upload_bytes=200_000,
                                  max_pixels=400 * 400))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


class SlowModel:
    """A fake model that records how many calls overlap."""

    resolution, multiple, hint_scale, lines_over = None, 1, 1, True
    active = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, weights=None, **options):
        pass

    def run(self, canvas, seed):
        lines = canvas.lines
        with SlowModel.lock:
            SlowModel.active += 1
            SlowModel.most = max(SlowModel.most, SlowModel.active)
        time.sleep(0.15)
        with SlowModel.lock:
            SlowModel.active -= 1
        return np.ones(lines.shape + (3,), np.float32)


def broken_model(weights=None, **options):
    raise InkwashError("broken: its weights file is missing")


@pytest.fixture
def fake_models():
    fake = Capabilities(trainable=False, weights="none")
    registry.register(ModelSpec("_slow", "records overlapping calls", opener=SlowModel, capabilities=fake))
    registry.register(ModelSpec("_broken", "cannot load", opener=broken_model, capabilities=fake))
    SlowModel.active = SlowModel.most = 0
    yield
    registry.unregister("_slow")
    registry.unregister("_broken")


def assert_error(r, status: int, code: str, words: str = "") -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code and words in body["error"]["message"], body


# --------------------------------------------------------------------------------------------- colouring
def test_colorize_returns_a_png_of_the_lineart_size_with_the_stroke_colour(client):
    r = client.post("/api/colorize", files=files(lineart=circle_png(), hints=red_stroke_png()),
                    data={"model": "lazybrush"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and float(r.headers["x-inkwash-seconds"]) >= 0
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert out.shape == (H, W, 3)
    assert np.abs(out[35, 45].astype(int) - RED).max() <= 2  # inside the circle: the stroke's colour
    assert out[2, 2].min() >= 250  # outside: paper


def test_layers_output_and_json_hints(client):
    doc = {"width": W, "height": H, "strokes": [{"color": "#2060e0", "width": 6, "points": [[40, 35], [50, 35]]}]}
    r = client.post("/api/colorize", files=files(lineart=circle_png()),
                    data={"hints_json": json.dumps(doc), "output": "layers"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"], body["model"]) == (W, H, "lazybrush")
    import base64

    flat = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["flat"].split(",", 1)[1]))))
    assert flat.shape == (H, W, 3) and tuple(flat[35, 45]) == (0x20, 0x60, 0xE0)


def test_mask_keeps_the_base_outside(client):
    mask = np.zeros((H, W), np.uint8)
    mask[:, : W // 2] = 255
    base = np.zeros((H, W, 3), np.uint8)
    base[...] = (10, 200, 10)
    r = client.post("/api/colorize", files=files(lineart=circle_png(), hints=red_stroke_png(), mask=png(mask),
                                                 base=png(base)))
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert (out[:, W // 2 + 1:] == (10, 200, 10)).all()  # bit-exact outside the mask


def test_info_lists_what_loaded_and_why_others_did_not(fake_models):
    from fastapi.testclient import TestClient

    app = create_app(ServerConfig(default_model="_broken", models=("_broken", "lazybrush", "_slow")))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        info = c.get("/api/info").json()
        assert [m["key"] for m in info["models"]] == ["lazybrush", "_slow"]
        assert info["default"] == "lazybrush"  # the configured default did not load
        assert info["unavailable"] == [{"key": "_broken", "error": "broken: its weights file is missing"}]
        r = c.post("/api/colorize", files=files(lineart=circle_png()), data={"model": "_broken"})
        assert_error(r, 503, "model_unavailable", "weights file is missing")


# ------------------------------------------------------------------------------------------------ errors
def test_bad_uploads_get_clear_json_errors(client):
    lineart = circle_png()
    cases = [
        (files(lineart=("a.png", lineart, "text/plain")), {}, 415, "unsupported_media_type", "text/plain"),
        (files(lineart=b"\x89PNG\r\n\x1a\n" + lineart[8:60]), {}, 400, "corrupt_image", "lineart"),
        (files(lineart=b"GIF89a not really"), {}, 415, "unsupported_image", "PNG, JPEG or WebP"),
        (files(lineart=png(np.full((500, 500), 255, np.uint8))), {}, 413, "too_many_pixels", "megapixels"),
        (files(lineart=png(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8))), {}, 413,
         "too_large", "MiB"),
        (files(hints=red_stroke_png()), {}, 400, "missing_lineart", "lineart"),
        (files(lineart=lineart), {"path": "/etc/passwd"}, 400, "unknown_field", "path"),
        (files(lineart=lineart), {"seed": "abc"}, 400, "bad_field", "seed"),
        (files(lineart=lineart), {"strength": "1.5"}, 400, "bad_field", "strength"),
        (files(lineart=lineart), {"steps": "10"}, 400, "bad_input", "takes no steps"),
        (files(lineart=lineart, hints=red_stroke_png()), {"hints_json": "{}"}, 400, "bad_field", "not both"),
        (files(lineart=lineart), {"hints_json": "{oops"}, 400, "bad_json", "hints_json"),
        (files(lineart=lineart, hints=png(np.zeros((10, 60, 4), np.uint8), "RGBA")), {}, 400, "bad_input",
         "does not match"),
        (files(lineart=lineart, base=lineart), {}, 400, "bad_field", "mask"),
    ]
    for parts, data, status, code, words in cases:
        assert_error(client.post("/api/colorize", files=parts, data=data), status, code, words)
    assert_error(client.post("/api/colorize", content=b"{}", headers={"content-type": "application/json"}),
                 415, "unsupported_media_type", "multipart")
    assert_error(client.get("/api/nothing"), 404, "not_found")


def test_streamed_body_without_length_is_cut_off(client):
    def chunks():
        for _ in range(50):
            yield b"x" * 10_000

    r = client.post("/api/colorize", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert_error(r, 413, "too_large")


def test_models_are_keys_never_paths(client):
    for key in ("nope", "../src/inkwash/weights/paintstorch", "/etc"):
        r = client.post("/api/colorize", files=files(lineart=circle_png()), data={"model": key})
        assert_error(r, 404, "unknown_model", "offers lazybrush")


def test_security_defaults(client):
    page = client.get("/")
    assert page.status_code == 200 and "inkwash" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    r = client.post("/api/colorize", files=files(lineart=circle_png()), headers={"origin": "https://evil.example"})
    assert_error(r, 403, "cross_origin")
    r = client.post("/api/colorize", files=files(lineart=circle_png()), headers={"origin": "http://127.0.0.1"})
    assert r.status_code == 200  # the page itself
    assert_error(client.get("/api/info", headers={"host": "attacker.example"}), 400, "bad_host")


# ----------------------------------------------------------------------------------------------- worker
def test_concurrent_requests_use_the_workers_and_a_bounded_queue(fake_models):
    app = create_app(ServerConfig(default_model="_slow", models=("_slow",), workers=2, max_queue=3))
    body = {"lineart": ("a.png", circle_png(), "image/png")}

    async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            first = await asyncio.gather(*(c.post("/api/colorize", files=body) for _ in range(5)))
            # two running + 3 waiting; the rest are told when to retry
            second = await asyncio.gather(*(c.post("/api/colorize", files=body) for _ in range(8)))
        return first, second

    first, second = asyncio.run(scenario())
    assert [r.status_code for r in first] == [200] * 5
    assert SlowModel.most == 2  # both workers used, never more model calls at once than workers
    waits = sorted(float(r.headers["x-inkwash-queue-seconds"]) for r in first)
    assert waits[-1] >= 0.15  # the fifth waited for a worker to free up
    codes = sorted(r.status_code for r in second)
    assert codes.count(200) >= 5 and set(codes) <= {200, 503} and 503 in codes
    for r in second:
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "busy" and int(r.headers["retry-after"]) >= 1
    assert SlowModel.most == 2


def test_the_queue_is_bounded_by_estimated_memory(fake_models):
    # each request is estimated at 32 MiB + 160 B per lineart pixel: a 100 MiB budget admits three
    app = create_app(ServerConfig(default_model="_slow", models=("_slow",), workers=1, max_queue_bytes=100 * 2**20))
    body = {"lineart": ("a.png", circle_png(), "image/png")}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await asyncio.gather(*(c.post("/api/colorize", files=body) for _ in range(6)))

    codes = sorted(r.status_code for r in asyncio.run(scenario()))
    assert codes.count(200) >= 3 and 503 in codes and set(codes) <= {200, 503}
    assert SlowModel.most == 1


def test_a_request_whose_client_left_is_not_run():
    worker = ModelWorker(ServerConfig(default_model="lazybrush", models=("lazybrush",)))
    ran = []

    class GoneRequest:
        async def is_disconnected(self) -> bool:
            return True

    with pytest.raises(ApiError) as err:
        asyncio.run(worker.run(GoneRequest(), lambda: ran.append(1)))
    assert err.value.code == "superseded" and ran == []
    worker.close()


# ------------------------------------------------------------------------------ the page's tool features
def gapped_figure_png(size: int = 128) -> bytes:
    """Two boxes side by side sharing a wall with a 4 px gap in it; a frame around all."""
    img = np.full((size, size), 255, np.uint8)
    cv2.rectangle(img, (8, 8), (size - 9, size - 9), 0, 2)
    img[8:size - 8, size // 2 - 1:size // 2 + 1] = 0
    img[size // 2 - 2:size // 2 + 2, size // 2 - 1:size // 2 + 1] = 255  # the gap
    return png(img)


def layer(body: dict, name: str) -> np.ndarray:
    import base64

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(body[name].split(",", 1)[1]))))


def test_regions_endpoint_gives_the_cached_regions_as_packed_labels(client):
    from inkwash.app.regions import decode_labels
    from inkwash.infer import Settings, prepare, regions_of

    r = client.post("/api/regions", files=files(lineart=gapped_figure_png()))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    nearest, ink = decode_labels(Image.open(io.BytesIO(r.content)))
    want = regions_of(prepare(Image.open(io.BytesIO(gapped_figure_png()))), Settings())
    assert int(r.headers["x-inkwash-regions"]) == want.n and float(r.headers["x-inkwash-gap"]) == want.gap
    assert (nearest == want.nearest).all() and (ink == (want.labels == 0)).all()
    assert nearest[64, 30] != nearest[64, 100]  # the gap is closed: two boxes
    r0 = client.post("/api/regions", files=files(lineart=gapped_figure_png()), data={"gap": "0"})
    nearest0, _ = decode_labels(Image.open(io.BytesIO(r0.content)))
    assert nearest0[64, 30] == nearest0[64, 100]  # no gap closing: one region through the gap
    assert_error(client.post("/api/regions", files=files(lineart=gapped_figure_png()), data={"gap": "-1"}),
                 400, "bad_field", "gap")
    assert_error(client.post("/api/regions", files=files(hints=red_stroke_png())), 400, "unknown_field", "hints")
    assert_error(client.post("/api/regions", data={"gap": "4"}), 415, "unsupported_media_type")
    assert_error(client.post("/api/regions", files=files(lineart=b"GIF89a")), 415, "unsupported_image")


def test_pipeline_settings_reach_the_colorizer(client):
    stroke = np.zeros((128, 128, 4), np.uint8)
    stroke[60:68, 24:40] = RED + (255,)  # in the left box only
    parts = files(lineart=gapped_figure_png(), hints=png(stroke, "RGBA"))

    def flat(**data) -> np.ndarray:
        r = client.post("/api/colorize", files=parts, data={"output": "layers", **data})
        assert r.status_code == 200, r.text
        return layer(r.json(), "flat")

    # the right box, unhinted: its neighbour's colour by default, left white by the paper policy
    assert tuple(flat()[64, 100]) == RED and tuple(flat(unhinted="paper")[64, 100]) == (255, 255, 255)
    # no gap closing: the stroke's region runs through the gap into the right box
    assert tuple(flat(unhinted="paper", gap="0")[64, 100]) == RED
    shaded = client.post("/api/colorize", files=parts, data={"output": "layers", "shading": "0.8", "light": "90"})
    body = shaded.json()
    assert "shading" in body and layer(body, "shading").min() < 255  # a shading layer, and some shade in it
    assert "shading" not in client.post("/api/colorize", files=parts, data={"output": "layers"}).json()
    for data, words in [({"unhinted": "model"}, "learned"), ({"shade": "model"}, "learned"),
                        ({"unhinted": "rainbow"}, "unhinted"), ({"shading": "2"}, "shading"),
                        ({"lock": "maybe"}, "lock"), ({"preview": "10"}, "preview")]:
        r = client.post("/api/colorize", files=parts, data=data)
        assert r.status_code == 400 and words in r.json()["error"]["message"], (data, r.text)


def test_preview_colours_a_smaller_copy_with_the_same_colours(client):
    stroke = np.zeros((128, 128, 4), np.uint8)
    stroke[60:68, 24:40] = RED + (255,)
    parts = files(lineart=gapped_figure_png(), hints=png(stroke, "RGBA"))
    r = client.post("/api/colorize", files=parts, data={"output": "layers", "preview": str(64 * 64)})
    body = r.json()
    assert (body["width"], body["height"]) == (64, 64) and r.headers["x-inkwash-size"] == "64x64"
    assert tuple(layer(body, "flat")[32, 16]) == RED  # hint colours stay exact (nearest-neighbour)
    full = client.post("/api/colorize", files=parts, data={"output": "layers", "preview": str(400 * 400)}).json()
    assert (full["width"], full["height"]) == (128, 128)  # already within the preview size: untouched


def test_ora_output_holds_the_layers(client):
    import xml.etree.ElementTree as ET
    import zipfile

    r = client.post("/api/colorize", files=files(lineart=circle_png(), hints=red_stroke_png()),
                    data={"output": "ora", "shading": "0.5"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/openraster", r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.namelist()[0] == "mimetype"
        names = [e.get("name") for e in ET.fromstring(z.read("stack.xml")).iter("layer")]
        assert names == ["lines", "shading", "flat", "composite"]
        merged = np.asarray(Image.open(io.BytesIO(z.read("mergedimage.png"))))
        assert merged.shape == (H, W, 3) and np.abs(merged[35, 45].astype(int) - RED).max() <= 60  # shaded red


def test_info_describes_the_pipeline_and_which_models_learn(client):
    info = client.get("/api/info").json()
    assert info["pipeline"]["unhinted"] == ["paper", "neighbour", "model"] and "cel" in info["pipeline"]["shades"]
    assert info["models"][0]["learned"] is False  # lazybrush: a fill
