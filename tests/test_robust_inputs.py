"""Issue #20, "nothing breaks, nothing lost": hostile or odd input is one InkwashError line (CLI: exit 2),
never a traceback, a hang, a silent wrong answer or minutes of work; outputs that cannot be written are
refused before the work."""

import errno
import json
import math
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import zlib
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from inkwash.errors import InkwashError
from inkwash.hints import hints_from_json, hints_to_json, load_hints
from inkwash.io import (atomic_path, check_folder_writable, check_writable, image_size, open_image, save_image,
                        to_rgb)
from inkwash.lineart import load_lineart


# ---------------------------------------------------------------------------------------------- helpers
def one_line_error(fn, *args, match: str = "", **kwargs) -> str:
    with pytest.raises(InkwashError, match=match) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 500, msg
    return msg


def write_json(tmp_path, doc, name="h.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def write_tiff(path, arr: np.ndarray) -> None:
    """A minimal uncompressed one-strip grayscale TIFF of a 2-D array (u8/u16/u32/i32/f32), as scanners write."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape
    data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    tags = [(256, 4, w), (257, 4, h), (258, 3, arr.dtype.itemsize * 8), (259, 3, 1), (262, 3, 1), (273, 4, 0),
            (277, 3, 1), (278, 4, h), (279, 4, len(data)), (339, 3, {"u": 1, "i": 2, "f": 3}[arr.dtype.kind])]
    data_at = 8 + 2 + 12 * len(tags) + 4
    out = bytearray(b"II*\x00" + struct.pack("<IH", 8, len(tags)))
    for tag, kind, value in tags:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    path.write_bytes(bytes(out) + struct.pack("<I", 0) + data)


def png_header_only(path, width, height, bit_depth=1, colour_type=0):
    """A few-byte PNG whose header claims width x height (a 1-bit 9000 x 9000 page compresses to almost nothing)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def finishes(fn, seconds=20.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it has not returned in time. -> its exception."""
    box = {}

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001  (handed back to the test)
            box["exc"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "hung (a FIFO or device was read)"
    return box.get("exc")


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "inkwash", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def assert_one_line_exit_2(r, *needles):
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr and "╭" not in r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --------------------------------------------------------------------------------------- hint documents
BAD_DOCS = [
    ({"strokes": [{"color": "#f00", "width": 1e12, "points": [[1, 1], [3, 3]]}]}, "brush"),
    ({"strokes": [{"color": "#f00", "width": 1e300, "points": [[1, 1], [3, 3]]}]}, "brush"),
    ({"strokes": [{"color": "#f00", "width": 1e12, "points": [[1, 1]]}]}, "brush"),
    ({"width": 1e-300, "height": 1e-300, "strokes": [{"color": "#f00", "width": 3, "points": [[1, 1]]}]}, "1 or more"),
    ({"width": 1e-300, "height": 2e-300, "strokes": []}, "1 or more"),
    ({"strokes": [{"color": "#f00", "width": 3, "points": [[1e300, 1], [3, 3]]}]}, "outside"),
    ({"strokes": [{"color": "#f00", "width": 3, "points": [[-1e12, 1], [3, 3]]}]}, "outside"),
    ('{"strokes": [{"color": "#f00", "width": 1' + "0" * 400 + ', "points": [[1, 1]]}]}', "width"),
    ('{"strokes": [{"color": "#f00", "width": 3, "points": [[1' + "0" * 5000 + ', 1]]}]}', "JSON"),
    ('{"strokes": [{"color": "#f00", "width": NaN, "points": [[1, 1]]}]}', "width"),
    ('{"strokes": [{"color": "#f00", "width": Infinity, "points": [[1, 1]]}]}', "width"),
    ({"strokes": [{"color": "#f00", "width": True, "points": [[1, 1]]}]}, "width"),
    ({"strokes": [{"color": [True, 0, 0], "points": [[1, 1]]}]}, "color"),
    ({"strokes": [{"color": "#" + "f" * 100000, "points": [[1, 1]]}]}, "color"),
    ({"strokes": [{"color": "#gg0000", "points": [[1, 1]]}]}, "color"),
    ({"strokes": [{"color": "#f00", "points": [[1, True]]}]}, "points"),
    ({"strokes": [{"color": "#f00", "points": [[1, 2, 3]]}]}, "points"),
    ({"strokes": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}, "expected an object"),
    ({"strokes": "many"}, "expected"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ('{"strokes": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
    (b"\xff\xfe{\x00}", "UTF-8"),
]


@pytest.mark.parametrize("doc, match", BAD_DOCS, ids=range(len(BAD_DOCS)))
def test_hostile_stroke_json_is_one_line_error(tmp_path, doc, match):
    path = tmp_path / "h.json"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        write_json(tmp_path, doc)
    one_line_error(load_hints, path, (64, 64), match=match)


def test_hint_file_size_and_stroke_counts_are_limited_with_the_way_to_raise_them(tmp_path, monkeypatch):
    doc = {"strokes": [{"color": "#ff0000", "width": 2, "points": [[i, i], [i + 1, i]]} for i in range(40)]}
    path = write_json(tmp_path, doc)
    assert load_hints(path, (64, 64))[..., 3].sum() > 0
    for env, value, word in (("INKWASH_MAX_HINT_BYTES", "100", "bytes"), ("INKWASH_MAX_STROKES", "39", "strokes"),
                             ("INKWASH_MAX_STROKE_POINTS", "79", "points"), ("INKWASH_MAX_STROKE_AREA", "1000",
                                                                              "painted pixels")):
        monkeypatch.setenv(env, value)
        msg = one_line_error(load_hints, path, (64, 64), match=word)
        assert env in msg and f"{int(value):,}" in msg
        monkeypatch.delenv(env)
    monkeypatch.setenv("INKWASH_MAX_STROKES", "plenty")
    assert "INKWASH_MAX_STROKES" in one_line_error(load_hints, path, (64, 64), match="not a positive number")


def test_slow_stroke_work_is_refused_before_drawing_but_real_files_are_not(tmp_path):
    rng = np.random.default_rng(0)
    # 2000 strokes crossing a 4096 page with a 200 px brush: minutes of drawing, refused at once
    heavy = {"strokes": [{"color": "#00ff00", "width": 200, "points": rng.integers(0, 4096, (5, 2)).tolist()}
                         for _ in range(2000)]}
    msg = one_line_error(hints_from_json, heavy, (4096, 4096), match="INKWASH_MAX_STROKE_AREA")
    assert "2,000 strokes" in msg
    # many huge dots far off the canvas cost nothing: drawn (as nothing), not refused
    off = {"strokes": [{"color": "#0000ff", "width": 3000, "points": [[-50000, -50000]]} for _ in range(3000)]}
    assert hints_from_json(off, (1024, 1024))[..., 3].sum() == 0


def reference_raster(doc: dict, size: tuple[int, int]) -> np.ndarray:
    """Every stroke drawn with Pillow on RGBA, one by one, as inkwash always did: the ground truth."""
    w, h = size
    sx, sy = (w / doc["width"], h / doc["height"]) if "width" in doc else (1.0, 1.0)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for s in doc["strokes"]:
        c = s["color"]
        color = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) if isinstance(c, str) else tuple(c)) + (255,)
        xy = [(x * sx, y * sy) for x, y in s["points"]]
        wpx = max(1, int(round(s.get("width", 8) * math.sqrt(sx * sy))))
        if len(xy) > 1:
            draw.line(xy, fill=color, width=wpx, joint="curve")
        if wpx > 2 or len(xy) == 1:
            r = wpx / 2.0
            for x, y in (xy if len(xy) == 1 else (xy[0], xy[-1])):
                if wpx <= 2:
                    draw.point((x, y), fill=color)
                else:
                    draw.ellipse((x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5), fill=color)
    arr = np.asarray(canvas, np.float32) / 255.0
    arr[..., 3] = (arr[..., 3] > 0.5).astype(np.float32)
    return arr


def random_doc(rng, w, h) -> dict:
    strokes = []
    for _ in range(int(rng.integers(1, 40))):
        kind = rng.random()
        if kind < 0.4:  # what the app's export writes: 1-px runs on a row (or a column)
            y, x0, x1 = int(rng.integers(-2, h + 2)), *rng.integers(-5, w + 5, 2).tolist()
            pts = [[x0, y], [x1, y]] if rng.random() < 0.7 else [[y % w, x0 % h], [y % w, x1 % h]]
            width = 1
        else:  # freehand strokes, partly off the canvas, float coordinates
            n = int(rng.integers(1, 6))
            pts = rng.uniform(-30, max(w, h) + 30, (n, 2)).round(int(rng.integers(0, 3))).tolist()
            width = [1, 2, 3, 4.5, 5, 8, 12.3, 30][int(rng.integers(0, 8))]
        color = f"#{int(rng.integers(0, 2**24)):06x}" if rng.random() < 0.7 else rng.integers(0, 256, 3).tolist()
        strokes.append({"color": color, "width": width, "points": pts})
    doc = {"strokes": strokes}
    if rng.random() < 0.3:
        f = [0.5, 2.0, 1.5][int(rng.integers(0, 3))]
        doc.update(width=w * f, height=h * f)
    return doc


def test_fast_paths_draw_exactly_what_pillow_draws_in_order():
    rng = np.random.default_rng(7)
    for _ in range(120):
        w, h = int(rng.integers(8, 120)), int(rng.integers(8, 120))
        doc = random_doc(rng, w, h)
        assert np.array_equal(hints_from_json(doc, (w, h)), reference_raster(doc, (w, h)))


def test_hand_painted_layer_export_round_trips_exactly_and_quickly():
    rng = np.random.default_rng(0)
    hints = np.zeros((256, 256, 4), np.float32)
    yy, xx = np.mgrid[:256, :256]
    for _ in range(200):  # painted blobs of 30 colours: thousands of 1-px run strokes
        cx, cy, r = *rng.integers(0, 256, 2), int(rng.integers(2, 12))
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        hints[m] = np.append(rng.integers(0, 30, 3) * 8 / 255.0, 1.0)
    doc = hints_to_json(hints)
    assert len(doc["strokes"]) > 2000
    back = hints_from_json(json.loads(json.dumps(doc)), (256, 256))
    assert np.array_equal(back, np.round(hints * 255) / 255 * hints[..., 3:] + 0 * back)
    assert np.array_equal(back, reference_raster(doc, (256, 256)))


_numbers = st.one_of(st.integers(-10**6, 10**6), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([0, -0.0, 1e-300, 1e300, 1e12, 2**31, 2**63, 10**400]))
_json = st.recursive(st.none() | st.booleans() | _numbers | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                  max_size=4), max_leaves=20)
_point = st.one_of(st.lists(_numbers, min_size=2, max_size=2), _json)
_stroke = st.one_of(
    st.fixed_dictionaries({"points": st.lists(_point, max_size=6)},
                          optional={"color": st.one_of(st.sampled_from(["#f00", "#12ab9f", "red", "#"]),
                                                       st.lists(_numbers, min_size=3, max_size=3), _json),
                                    "width": st.one_of(_numbers, _json)}),
    _json)
_doc = st.one_of(
    st.fixed_dictionaries({"strokes": st.lists(_stroke, max_size=8)},
                          optional={"width": st.one_of(_numbers, _json), "height": st.one_of(_numbers, _json)}),
    _json)


@settings(max_examples=250, deadline=timedelta(seconds=10),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=_doc, w=st.integers(1, 48), h=st.integers(1, 48), as_text=st.booleans())
def test_fuzz_any_stroke_document_gives_a_hint_map_or_one_error(tmp_path, doc, w, h, as_text):
    path = tmp_path / "fuzz.json"
    try:
        text = json.dumps(doc)
    except (ValueError, OverflowError):
        return  # not expressible as JSON text
    path.write_text(text)
    try:
        out = load_hints(path, (w, h))
    except InkwashError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000
        return
    assert out.shape == (h, w, 4) and out.dtype == np.float32 and np.isfinite(out).all()
    assert ((out >= 0) & (out <= 1)).all() and set(np.unique(out[..., 3])) <= {0.0, 1.0}


@settings(max_examples=150, deadline=timedelta(seconds=10),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_fuzz_any_text_as_hint_file_is_handled(tmp_path, text):
    path = tmp_path / "fuzz.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        out = load_hints(path, (16, 12))
        assert out.shape == (12, 16, 4)
    except InkwashError:
        pass


# ------------------------------------------------------------------------------------------- image input
def test_fifo_socket_device_and_proc_files_are_refused_at_once(tmp_path):
    fifo = tmp_path / "lineart.png"
    os.mkfifo(fifo)
    json_fifo = tmp_path / "hints.json"
    os.mkfifo(json_fifo)
    sock_path = tmp_path / "s.png"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        cases = [(open_image, fifo, "FIFO"), (load_lineart, fifo, "FIFO"), (image_size, fifo, "FIFO"),
                 (lambda p: load_hints(p, (8, 8)), json_fifo, "FIFO"), (open_image, sock_path, "socket"),
                 (open_image, "/dev/zero", "character device"), (open_image, "/proc/self/status", "empty")]
        for fn, path, word in cases:
            exc = finishes(lambda: fn(path))
            assert isinstance(exc, InkwashError) and word in str(exc), (path, exc)
    finally:
        sock.close()


def test_cli_refuses_a_fifo_lineart_instead_of_hanging(tmp_path):
    fifo = tmp_path / "lineart.png"
    os.mkfifo(fifo)
    r = run_cli("colorize", str(fifo), "--model", "lazybrush", "-o", str(tmp_path / "out.png"), timeout=60)
    assert_one_line_exit_2(r, "FIFO")


@pytest.mark.parametrize("dtype, paper", [(np.uint32, 2**32 - 1), (np.uint32, 2**31), (np.uint32, 65535),
                                          (np.int32, 2**31 - 1), (np.uint16, 4095), (np.uint16, 65535),
                                          (np.float32, 1.0), (np.float32, 1000.0), (np.uint8, 255)])
def test_deep_grayscale_linearts_keep_their_lines(tmp_path, dtype, paper):
    arr = np.full((40, 48), paper, dtype)
    arr[18:22, 4:44] = 0  # a dark line
    arr[5, 5] = np.asarray(paper * 0.5).astype(dtype)  # and one mid-grey pixel
    write_tiff(tmp_path / "l.tif", arr)
    out = np.asarray(load_lineart(tmp_path / "l.tif"))
    assert out[20, 20] <= 10 and out[30, 30] >= 245, (out[20, 20], out[30, 30])
    assert 90 <= np.asarray(to_rgb(open_image(tmp_path / "l.tif")).convert("L"))[5, 5] <= 165


def test_a_32bit_tiff_is_coloured_with_its_lines(tmp_path):
    arr = np.full((48, 64), 2**32 - 1, np.uint32)
    arr[:, 30:33] = 0  # a vertical line splitting the page
    write_tiff(tmp_path / "l.tif", arr)
    hints = write_json(tmp_path, {"strokes": [{"color": "#ff0000", "width": 6, "points": [[10, 24]]},
                                              {"color": "#0000ff", "width": 6, "points": [[50, 24]]}]})
    r = run_cli("colorize", str(tmp_path / "l.tif"), "--hints", hints, "--model", "lazybrush",
                "-o", str(tmp_path / "out.png"))
    assert r.returncode == 0, r.stderr
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(int)
    assert out[24, 31].max() < 60  # the line is still there
    assert out[24, 10, 0] > 150 > out[24, 10, 2] and out[24, 54, 2] > 150 > out[24, 54, 0]  # and splits two fills


def test_colouring_cost_is_checked_from_the_header(tmp_path, monkeypatch):
    png_header_only(tmp_path / "page.png", 9000, 9000)  # 81 MP, 1-bit: a few bytes on disk
    assert (tmp_path / "page.png").stat().st_size < 200
    msg = one_line_error(load_lineart, tmp_path / "page.png", match="INKWASH_MAX_COLORIZE_PIXELS")
    assert "9000x9000" in msg and "50,000,000" in msg
    assert image_size(tmp_path / "page.png") == (9000, 9000)  # decoding alone is allowed (100 MP)
    png_header_only(tmp_path / "poster.png", 12000, 12000)
    one_line_error(image_size, tmp_path / "poster.png", match="INKWASH_MAX_PIXELS")
    monkeypatch.setenv("INKWASH_MAX_COLORIZE_PIXELS", "1000")
    Image.new("L", (64, 64), 255).save(tmp_path / "small.png")
    one_line_error(load_lineart, tmp_path / "small.png", match="1,000 pixels for colouring")
    one_line_error(load_lineart, np.ones((64, 64), np.float32), match="1,000 pixels for colouring")
    one_line_error(load_hints, tmp_path / "small.png", (64, 64), match="1,000 pixels for colouring")
    monkeypatch.setenv("INKWASH_MAX_PIXELS", "2e5")
    monkeypatch.setenv("INKWASH_MAX_COLORIZE_PIXELS", "1e9")  # the tighter limit binds, and is the one named
    png_header_only(tmp_path / "mid.png", 1000, 1000)
    one_line_error(load_lineart, tmp_path / "mid.png", match="INKWASH_MAX_PIXELS")


def test_nan_arrays_do_not_reach_the_model():
    hints = np.full((8, 8, 4), np.nan, np.float32)
    assert np.isfinite(load_hints(hints, (8, 8))).all()
    lines = np.full((8, 8), np.nan, np.float32)
    assert (np.asarray(load_lineart(lines)) == 255).all()
    one_line_error(load_hints, np.array([["a"] * 4] * 2, object).reshape(1, 2, 4), (2, 1), match="expected")


# ------------------------------------------------------------------------------------------------ output
def test_check_writable_says_why_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "exists.png").write_bytes(b"x")
    os.mkfifo(tmp_path / "pipe.png")
    cases = [
        (tmp_path / "file" / "out.png", False, "is a file, not a folder"),
        (tmp_path / "file" / "deeper" / "out.png", False, "is a file, not a folder"),
        (tmp_path / "folder", False, "is a folder"),
        (tmp_path / "folder", True, "is a folder"),
        (tmp_path / "exists.png", False, "already exists"),
        (tmp_path / "pipe.png", True, "FIFO"),
        ("/dev/null", True, "character device"),
        ("/proc/inkwash-out.png", False, "cannot write in /proc"),
        (tmp_path / ("é" * 128 + ".png"), False, "260 bytes"),  # 132 characters, over 255 bytes
    ]
    for path, overwrite, word in cases:
        one_line_error(check_writable, path, overwrite, match=word)
    assert check_writable(tmp_path / "new" / "sub" / "out.png") == tmp_path / "new" / "sub" / "out.png"
    assert check_writable(tmp_path / "exists.png", overwrite=True) == tmp_path / "exists.png"
    one_line_error(check_folder_writable, tmp_path / "file", match="not a folder")  # colorize --batch -o FILE
    assert check_folder_writable(tmp_path / "new-out" / "deeper") == tmp_path / "new-out" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.png", "file", "folder", "pipe.png"]  # no probes left


def test_a_legal_254_byte_name_is_written(tmp_path):
    name = "a" * 250 + ".png"
    assert len(name.encode()) == 254
    save_image(Image.new("RGB", (4, 4), "red"), tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.fixture
def locked_folder(tmp_path):
    """A folder nobody may write into: immutable when we are root (root ignores modes), else mode 0555."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("root, and chattr +i is not available here")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield folder
        folder.chmod(stat.S_IRWXU)


def test_unwritable_folder_is_one_line_before_and_while_writing(locked_folder):
    one_line_error(check_writable, locked_folder / "out.png", match="cannot write in")
    one_line_error(save_image, Image.new("RGB", (4, 4)), locked_folder / "out.png", match="cannot write")
    assert list(locked_folder.iterdir()) == []


def test_write_errors_become_one_line_and_leave_nothing_behind(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    one_line_error(save_image, Image.new("RGB", (4, 4)), tmp_path / "out.png", match="no space left")
    monkeypatch.undo()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    one_line_error(check_writable, tmp_path / "out.png", match="read-only file system")
    one_line_error(save_image, Image.new("RGB", (4, 4)), tmp_path / "out.png", match="read-only file system")
    monkeypatch.undo()

    def became_a_folder(src, dst):
        raise IsADirectoryError(errno.EISDIR, "Is a directory")

    monkeypatch.setattr(os, "replace", became_a_folder)
    with pytest.raises(InkwashError, match="could not put the written file in place"):
        with atomic_path(tmp_path / "late.json") as tmp:
            tmp.write_text("{}")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_cli_output_that_cannot_be_written_is_one_line(tmp_path):
    Image.new("L", (32, 32), 255).save(tmp_path / "l.png")
    (tmp_path / "file").write_text("x")
    for out, word in ((tmp_path / "file" / "o.png", "not a folder"), (tmp_path, "is a folder"),
                      (tmp_path / ("b" * 300 + ".png"), "over this file system's limit")):
        r = run_cli("colorize", str(tmp_path / "l.png"), "--model", "lazybrush", "-o", str(out), "--overwrite")
        assert_one_line_exit_2(r, word)


def test_cli_batch_goes_on_past_a_hostile_hint_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        Image.new("L", (32, 32), 255).save(src / f"{name}.png")
    (src / "a.hints.json").write_text(json.dumps({"strokes": [{"color": "#f00", "width": 1e300,
                                                              "points": [[1, 1], [2, 2]]}]}))
    r = run_cli("colorize", "--batch", str(src), "--model", "lazybrush", "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "1 of 2 linearts failed" in r.stderr, r.stderr
    assert (tmp_path / "out" / "b.png").is_file() and not (tmp_path / "out" / "a.png").exists()


# ------------------------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args, needles", [
    (["colorize", "--foo"], ["no such option: --foo", "(see inkwash colorize --help)"]),
    (["--foo"], ["no such option: --foo", "(see inkwash --help)"]),
    (["colorize", "l.png"], ["missing option '-o' / '--out'", "--help"]),
    (["colorize", "l.png", "-o"], ["option '-o' requires an argument", "--help"]),
    (["colorize", "l.png", "-o", "o.png", "--seed", "abc"], ["invalid value for '--seed'"]),
    (["colorize", "a.png", "b.png", "-o", "o.png"], ["unexpected extra argument"]),
    (["no-such-command"], ["no such command 'no-such-command'"]),
    (["study", "serve"], ["missing option '--images'", "(see inkwash study serve --help)"]),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, args, needles):
    assert_one_line_exit_2(run_cli(*args), *needles)


def test_help_is_unchanged_by_one_line_errors():
    r = run_cli("colorize", "--help")
    assert r.returncode == 0 and "Usage" in r.stdout and "inkwash colorize examples/girl" in r.stdout
    bare = run_cli("data")  # a group without a command still prints its help
    assert "Usage" in bare.stdout and "error" not in bare.stderr
