"""ONNX export: dynamic height/width, onnxruntime against PyTorch, torch-free colouring, the standalone page."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from inkwash.cli import main
from inkwash.infer import Colorizer

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")






@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """`inkwash export` of the tiny run, checked at 64x48 and 96x128, with the standalone page."""
    out = tmp_path_factory.mktemp("onnx")
    try:
        main(["export", "--model", str(tiny_run), "-o", str(out / "tiny.onnx"), "--check", "64x48,96x128",
              "--page", str(out / "site")])
    except SystemExit as exc:
        assert not exc.code, f"inkwash export exited with {exc.code}"
    return out


def lineart_and_hints(h: int = 75, w: int = 53):
    lines = np.full((h, w), 255, np.uint8)
    cv2.circle(lines, (w // 2, h // 2), min(h, w) // 3, 0, 2, cv2.LINE_AA)
    hints = np.zeros((h, w, 4), np.float32)
    hints[h // 2 - 3:h // 2 + 3, w // 2 - 6:w // 2 + 6] = (0.9, 0.2, 0.1, 1.0)
    return lines, hints


def test_export_reports_small_differences_at_two_sizes(exported):
    meta = json.loads((exported / "tiny.json").read_text())
    assert set(meta["max_abs_diff"]) == {"64x48", "96x128"}
    assert max(meta["max_abs_diff"].values()) < 1e-3
    assert meta["resolution"] == 64 and meta["model"] == "onnx" and meta["source_model"] == "paintstorch"


def test_the_graph_has_dynamic_height_and_width(exported, tiny_run):
    import onnxruntime as ort

    from inkwash.export import compare, exportable

    session = ort.InferenceSession(str(exported / "tiny.onnx"), providers=["CPUExecutionProvider"])
    dims = {i.name: i.shape for i in session.get_inputs()}
    assert all(isinstance(d, str) for d in dims["lineart"][2:]) and all(isinstance(d, str) for d in dims["hints"][2:])
    backend = Colorizer.from_pretrained(str(tiny_run)).backend
    # 80x112: neither the size traced at export nor a checked one
    rows = compare(exported / "tiny.onnx", exportable(backend.g1, backend.f1), [(80, 112)], seed=3)
    assert rows[0][:2] == (80, 112) and rows[0][2] < 1e-3


def test_onnx_colorizer_matches_the_torch_colorizer(exported, tiny_run):
    from inkwash.export import OnnxColorizer

    lines, hints = lineart_and_hints()
    ref = Colorizer.from_pretrained(str(tiny_run)).colorize_layers(lines, hints)
    got = OnnxColorizer(exported / "tiny.onnx").colorize_layers(lines, hints)
    for layer in ("composite", "flat"):
        diff = np.abs(np.asarray(got[layer], np.int16) - np.asarray(ref[layer], np.int16))
        assert diff.max() <= 1, layer  # identical pipeline; only float rounding may flip a level
    via_name = Colorizer.from_pretrained(str(exported / "tiny.onnx"))  # through tiny.json's "model": "onnx"
    assert np.array_equal(np.asarray(via_name.colorize(lines, hints)), np.asarray(got["composite"]))


def test_onnx_colouring_needs_no_torch(exported, tmp_path):
    lines, hints = lineart_and_hints()
    Image.fromarray(lines).save(tmp_path / "l.png")
    np.save(tmp_path / "h.npy", hints)
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
        "import numpy as np\n"
        "from inkwash.export import OnnxColorizer\n"
        f"out = OnnxColorizer({str(exported / 'tiny.onnx')!r}).colorize({str(tmp_path / 'l.png')!r}, "
        f"np.load({str(tmp_path / 'h.npy')!r}))\n"
        "print(out.size)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(53, 75)"


def test_standalone_page_is_written(exported):
    site = exported / "site"
    assert 'data-engine="onnx"' in (site / "index.html").read_text()
    for name in ("app.js", "onnx-engine.js", "style.css", "model.onnx", "model.json", "vendor/ort.wasm.min.mjs",
                 "vendor/ort-wasm-simd-threaded.wasm", "vendor/LICENSE"):
        assert (site / name).is_file(), name
    assert (site / "model.onnx").read_bytes() == (exported / "tiny.onnx").read_bytes()


def test_export_refuses_what_it_cannot_do(exported, tmp_path, run):
    code, err = run(["export", "--model", "lazybrush", "-o", str(tmp_path / "l.onnx")])
    assert code == 2 and "cannot be exported" in err
    code, err = run(["export", "--model", "lazybrush", "-o", str(tmp_path / "l.onnx"), "--check", "50x50"])
    assert code == 2 and "multiples of 16" in err
    code, err = run(["export", "-o", str(exported / "tiny.onnx")])
    assert code == 2 and "already exists" in err
    assert not list(tmp_path.iterdir())


def test_the_page_files_hold_every_module_the_page_imports():
    import re

    from inkwash.app import STATIC_DIR
    from inkwash.export import PAGE_FILES

    imported = {m for f in PAGE_FILES if f.endswith(".js")
                for m in re.findall(r"""from\s+["']\./([\w.-]+\.js)["']|import\(["']\./([\w.-]+\.js)["']\)""",
                                    (STATIC_DIR / f).read_text()) for m in m if m}
    assert imported and imported <= set(PAGE_FILES), imported - set(PAGE_FILES)
