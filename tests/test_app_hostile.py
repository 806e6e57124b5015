"""The web app under hostile clients: pathological stroke JSON and uploads are 4xx (never 5xx), decoding stays
off the event loop, refusals carry the security headers, stalled connections are closed, and fuzzed forms
leave the server alive."""

import asyncio
import io
import json
import os
import socket
import threading
import time

import cv2
import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inkwash.app import inputs
from inkwash.app.config import ServerConfig
from inkwash.app.server import FIELDS, create_app, head_deadline_protocol

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")  # starlette's TestClient about httpx2

W, H = 48, 36
# INKWASH_FUZZ_EXAMPLES=2000 for a longer hunt (3,000 examples found no 5xx when this was written)
FUZZ = settings(max_examples=int(os.environ.get("INKWASH_FUZZ_EXAMPLES", 80)), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG")
    return buf.getvalue()


def circle_png() -> bytes:
    img = np.full((H, W), 255, np.uint8)
    cv2.circle(img, (24, 18), 14, 0, 1)
    return png(img)


LINEART = circle_png()


def config(**extra) -> ServerConfig:
    return ServerConfig(default_model="lazybrush", models=("lazybrush",), max_upload_bytes=2 * 2**20,
                        max_pixels=512 * 512, workers=1, **extra)


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    with TestClient(create_app(config()), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def post_strokes(client, text: str) -> httpx.Response:
    return client.post("/api/colorize", files={"lineart": ("l.png", LINEART, "image/png")}, data={"hints_json": text})


def stroke(**fields) -> str:
    return json.dumps({"strokes": [{"color": "#e02020", "width": 4, "points": [[10, 10], [30, 20]], **fields}]})


def assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text


# ------------------------------------------------------------------------------------ pathological strokes
def test_pathological_stroke_json_is_refused_with_4xx(client):
    cases = [
        (stroke(width=1e12), 413, "strokes_too_costly"),
        (stroke(width=1e300), 413, "strokes_too_costly"),
        (json.dumps({"width": 1e-300, "height": 0.75e-300, "strokes": []}), 400, "bad_input"),
        (json.dumps({"width": 1e-300, "height": 0.75e-300, "strokes": json.loads(stroke())["strokes"]}), 400,
         "bad_input"),
        (stroke(points=[[1e300, 5], [5, 5]]), 400, "bad_input"),
        (stroke(points=[[10**400, 5]]), 400, "bad_input"),  # an integer no float holds
        ("[" * 200_000 + "]" * 200_000, 400, "bad_json"),
        ('{"strokes": ' + "[" * 2000 + "]" * 2000 + "}", 400, "bad_json"),
        ('{"strokes": [{"color": "#fff", "width": NaN, "points": [[1, 1]]}]}', 400, "bad_json"),
        ('{"strokes": [{"color": "#fff", "width": Infinity, "points": [[1, 1]]}]}', 400, "bad_json"),
        ('{"strokes": [], "width": 1' + "0" * 5000 + ', "height": 1}', 400, "bad_json"),  # over Python's digits
        (json.dumps({"strokes": [json.loads(stroke())["strokes"][0]] * 20_001}), 413, "too_many_strokes"),
        (json.dumps({"strokes": [{"color": "#fff", "width": 1, "points": [[1, 1]] * 100_001}]}), 413,
         "too_many_points"),
        (json.dumps({"strokes": [{"color": "#fff", "width": 40, "points": [[0, 0], [48, 36]] * 50}]}), 413,
         "strokes_too_costly"),
    ]
    for text, status, code in cases:
        assert_error(post_strokes(client, text), status, code)
    assert post_strokes(client, stroke()).status_code == 200  # and an honest stroke still colours


def test_stroke_json_over_the_size_limit_is_refused_before_parsing():
    from fastapi.testclient import TestClient

    with TestClient(create_app(config(max_json_bytes=10_000)), base_url="http://127.0.0.1") as c:
        doc = json.dumps({"strokes": [json.loads(stroke())["strokes"][0]] * 400})  # ~27 kB
        assert_error(post_strokes(c, doc), 413, "too_large")


def test_json_depth_ignores_brackets_inside_strings():
    assert inputs.json_depth(b'{"a": [[1], "[[[[\\"[["], "b": {}}') == 3
    assert inputs.json_depth(b"[]") == 1 and inputs.json_depth(b"3") == 0


def test_a_lower_layer_failing_on_input_is_a_400_not_a_500(client, monkeypatch):
    import inkwash.hints

    def broken(*args, **kwargs):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(inkwash.hints, "hints_from_json", broken)
    r = post_strokes(client, stroke())
    assert_error(r, 400, "bad_input")
    assert "OverflowError" in r.json()["error"]["message"]


# --------------------------------------------------------------------------------------- event loop, headers
def test_images_are_decoded_off_the_event_loop(monkeypatch):
    started, gate = threading.Event(), threading.Event()
    real = inputs.decode_image

    def held_decode(*args, **kwargs):
        started.set()
        gate.wait(10)  # on the event loop this would freeze every other request for 10 s
        return real(*args, **kwargs)

    monkeypatch.setattr(inputs, "decode_image", held_decode)
    app = create_app(config())

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
            await c.get("/api/info")  # the models are loaded
            upload = asyncio.ensure_future(c.post("/api/colorize", files={"lineart": ("l.png", LINEART,
                                                                                       "image/png")}))
            assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            info = await c.get("/api/info")  # answered while the upload is still being decoded
            assert info.status_code == 200 and not upload.done() and not gate.is_set()
            gate.set()
            assert (await upload).status_code == 200

    asyncio.run(scenario())
    app.state.worker.close()


def test_refusals_carry_the_security_headers(client):
    refused = [client.get("/api/info", headers={"host": "attacker.example"}),
               client.post("/api/colorize", files={"lineart": ("l.png", LINEART, "image/png")},
                           headers={"origin": "https://evil.example"}),
               client.post("/api/colorize", content=b"x" * (3 * 2**20),
                           headers={"content-type": "multipart/form-data; boundary=b"}),
               client.get("/api/nothing")]
    assert [r.status_code for r in refused] == [400, 403, 413, 404]
    for r in refused:
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"


# ------------------------------------------------------------------------------------ stalled connections
@pytest.fixture(scope="module")
def live_server():
    """uvicorn in a thread, as `serve` runs it, with short deadlines: (host, port)."""
    import uvicorn

    cfg = config(body_timeout_s=0.5, head_timeout_s=0.5, keep_alive_s=1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), log_level="warning", timeout_keep_alive=cfg.keep_alive_s,
                                           http=head_deadline_protocol(cfg.head_timeout_s)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    yield sock.getsockname()
    server.should_exit = True
    thread.join(10)


def read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket timeout 15 s: a failure, not a hang)."""
    conn.settimeout(15)
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def test_a_stalled_body_gets_408_and_its_connection_closed(live_server):
    with socket.create_connection(live_server) as conn:
        conn.sendall(b"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n")  # ...and nothing more
        answer = read_until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout" in answer and b"content-security-policy" in answer


def test_a_stalled_request_head_is_closed(live_server):
    with socket.create_connection(live_server) as conn:
        conn.sendall(b"POST /api/colorize HTTP/1.1\r\nHost: 127.0")  # a head that never ends
        assert read_until_closed(conn) == b""
    with socket.create_connection(live_server) as conn:  # and a connection that never says anything
        assert read_until_closed(conn) == b""


def test_an_idle_keep_alive_connection_is_closed_and_the_server_still_answers(live_server):
    with socket.create_connection(live_server) as conn:
        conn.sendall(b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_until_closed(conn)  # closed after keep_alive_s of silence
    assert answer.startswith(b"HTTP/1.1 200")
    r = httpx.post(f"http://{live_server[0]}:{live_server[1]}/api/colorize",
                   files={"lineart": ("l.png", LINEART, "image/png")}, timeout=30)
    assert r.status_code == 200


# --------------------------------------------------------------------------------------------------- fuzz
odd_numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False),
                        st.sampled_from([0, -1, 1e12, 1e300, -1e300, 1e-300, 5e-324, 10**400]))
json_leaf = st.one_of(st.none(), st.booleans(), odd_numbers, st.text(max_size=12))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)
point = st.one_of(st.lists(odd_numbers, min_size=2, max_size=2), st.lists(st.floats(0, 60), min_size=2, max_size=2),
                  json_any)
a_stroke = st.one_of(st.fixed_dictionaries({}, optional={
    "color": st.one_of(st.sampled_from(["#e02020", "#abc", "red", "", "#gggggg"]),
                       st.lists(odd_numbers, max_size=4), json_any),
    "width": st.one_of(odd_numbers, st.floats(0.5, 30), json_any),
    "points": st.one_of(st.lists(point, max_size=12), json_any)}), json_any)
stroke_doc = st.fixed_dictionaries({}, optional={"width": st.one_of(odd_numbers, st.just(W * 2), json_any),
                                                 "height": st.one_of(odd_numbers, st.just(H * 2), json_any),
                                                 "strokes": st.one_of(st.lists(a_stroke, max_size=6), json_any)})
plausible_doc = st.fixed_dictionaries({"strokes": st.lists(st.fixed_dictionaries({
    "color": st.sampled_from(["#e02020", "#2060e0", "#0f0"]), "width": st.floats(0.1, 30),
    "points": st.lists(st.lists(st.floats(-20, 70), min_size=2, max_size=2), min_size=1, max_size=30)}),
    max_size=8)}, optional={"width": st.sampled_from([W, W * 4, 4]), "height": st.sampled_from([H, H * 4, 3])})
stroke_text = st.one_of(stroke_doc.map(json.dumps), plausible_doc.map(json.dumps), plausible_doc.map(json.dumps),
                        json_any.map(json.dumps), st.text(max_size=60),
                        st.integers(1, 3000).map(lambda n: "[" * n + "]" * n))


def test_fuzzed_stroke_json_is_never_a_5xx(client):
    @FUZZ
    @given(text=stroke_text)
    def check(text):
        r = post_strokes(client, text)
        assert r.status_code < 500, (text[:300], r.text)
        assert r.status_code == 200 or "error" in r.json()

    check()
    assert client.get("/api/info").status_code == 200
    assert post_strokes(client, stroke()).status_code == 200


@st.composite
def small_image(draw) -> bytes:
    """A small PNG of any mode Pillow writes, or a JPEG/WebP, of any size from 1x1; sometimes truncated."""
    w, h = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "P", "1", "I;16", "I", "F"]))
    fmt = draw(st.sampled_from(["PNG", "PNG", "JPEG", "WEBP"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if mode in ("I;16", "I", "F"):
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        img = Image.fromarray(rng.integers(0, 65535, (h, w)).astype(dtype))
    else:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 4), np.uint8), "RGBA").convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):  # a mode this format cannot hold
        buf = io.BytesIO()
        img.convert("RGB").save(buf, fmt)
    data = buf.getvalue()
    cut = draw(st.sampled_from([None, None, None, 0, 8, 30, len(data) // 2]))
    return data if cut is None else data[:cut]


@st.composite
def file_part(draw):
    ctype = draw(st.sampled_from(["image/png"] * 6 + ["image/jpeg", "image/webp", "text/plain", "", "image/png; x=1",
                                                       "application/octet-stream"]))
    body = draw(st.one_of(st.builds(lambda: LINEART), small_image(), st.binary(max_size=64)))
    return (draw(st.text(max_size=10)) or "f.png", body, ctype)


text_value = st.one_of(st.sampled_from(["lazybrush", "layers", "flat", "composite", "1", "-1", "0.5", "nan", "1e999",
                                        "../../etc/passwd", "{}", ""]),
                       st.text(max_size=30), stroke_text)
known_text = st.sampled_from(sorted(FIELDS - {"lineart", "hints", "mask", "base"}))
text_name = st.one_of(known_text, known_text, known_text, known_text, st.sampled_from(["lineart", "hints", "path"]),
                      st.text(min_size=1, max_size=12))
image_name = st.sampled_from(["hints", "mask", "base"])
file_name = st.one_of(image_name, image_name, image_name, st.sampled_from(["lineart", "model", "hints_json"]),
                      st.text(min_size=1, max_size=12))


def test_fuzzed_multipart_forms_are_never_a_5xx(client):
    @FUZZ
    @given(files=st.dictionaries(file_name, file_part(), max_size=3),
           data=st.dictionaries(text_name, text_value, max_size=4), lineart=st.one_of(st.just(LINEART), small_image()))
    def check(files, data, lineart):
        files = {"lineart": ("l.png", lineart, "image/png"), **files}
        data = {k: v for k, v in data.items() if k not in files}
        try:
            r = client.post("/api/colorize", files=files or None, data=data or None)
        except UnicodeEncodeError:  # the client cannot write such a field name; nothing reached the server
            return
        assert r.status_code < 500, (sorted(files), data, r.text)
        assert r.status_code == 200 or "error" in r.json()

    check()
    assert client.get("/api/info").status_code == 200
    assert post_strokes(client, stroke()).status_code == 200
