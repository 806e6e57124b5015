"""OpenRaster export: the file layout readers rely on, the layer stack, and layers that compose to the result."""

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.ora import MIMETYPE, write_ora


def layers(w: int = 300, h: int = 200, shading: bool = True) -> dict[str, Image.Image]:
    rng = np.random.default_rng(0)
    flat = np.zeros((h, w, 3), np.uint8)
    flat[:, : w // 2] = (200, 60, 40)
    flat[:, w // 2:] = (40, 90, 210)
    lines = np.full((h, w), 255, np.uint8)
    lines[h // 2 - 2: h // 2 + 2] = 0
    shade = rng.integers(120, 256, (h, w)).astype(np.uint8) if shading else np.full((h, w), 255, np.uint8)
    comp = (flat.astype(np.float32) * (shade[..., None] / 255.0) * (lines[..., None] / 255.0) + 0.5).astype(np.uint8)
    out = {"flat": Image.fromarray(flat), "lines": Image.fromarray(lines, "L"), "composite": Image.fromarray(comp)}
    if shading:
        out["shading"] = Image.fromarray(shade, "L")
    return out


def read_png(z: zipfile.ZipFile, name: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(z.read(name))))


def test_ora_layout_stack_and_layers(tmp_path):
    src = layers()
    path = tmp_path / "out.ora"
    write_ora(src, path)
    raw = path.read_bytes()
    assert raw[30:38] == b"mimetype" and raw[38:38 + len(MIMETYPE)] == MIMETYPE.encode()  # sniffable by offset
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"image/openraster"
        root = ET.fromstring(z.read("stack.xml"))
        assert (root.get("w"), root.get("h")) == ("300", "200")
        stack = [(e.get("name"), e.get("composite-op"), e.get("visibility")) for e in root.iter("layer")]
        assert stack == [("lines", "svg:multiply", "visible"), ("shading", "svg:multiply", "visible"),
                         ("flat", "svg:src-over", "visible"), ("composite", "svg:src-over", "hidden")]
        for e in root.iter("layer"):
            assert read_png(z, e.get("src")).shape == (200, 300, 4)
        assert (read_png(z, "mergedimage.png") == np.asarray(src["composite"])).all()
        thumb = Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png")))
        assert max(thumb.size) == 256 and thumb.size == (256, 171)
        # the visible stack, composed as a paint program would, is the result
        f, s, l_ = (read_png(z, f"data/{k}.png")[..., :3].astype(np.float32) / 255
                    for k in ("flat", "shading", "lines"))
        assert np.abs(f * s * l_ * 255 - np.asarray(src["composite"])).max() <= 1.0


def test_ora_without_shading_to_a_file_object_and_no_silent_overwrite(tmp_path):
    buf = io.BytesIO()
    write_ora(layers(64, 64, shading=False) | {}, buf)
    with zipfile.ZipFile(buf) as z:
        names = [e.get("name") for e in ET.fromstring(z.read("stack.xml")).iter("layer")]
        assert names == ["lines", "flat", "composite"]
        assert Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png"))).size == (64, 64)  # never upscaled
    path = tmp_path / "a.ora"
    write_ora(layers(64, 64), path)
    with pytest.raises(InkwashError, match="exists"):
        write_ora(layers(64, 64), path)
    write_ora(layers(32, 32), path, overwrite=True)
    with pytest.raises(InkwashError, match="lines missing"):
        write_ora({k: v for k, v in layers(32, 32).items() if k != "lines"}, io.BytesIO())


def test_colorize_writes_an_openraster_file_beside_the_result(tmp_path, cli):
    import zipfile

    import cv2
    import numpy as np
    from PIL import Image

    lines = np.full((60, 80), 255, np.uint8)
    cv2.rectangle(lines, (10, 10), (60, 50), 0, 2)
    Image.fromarray(lines).save(tmp_path / "l.png")
    hints = np.zeros((60, 80, 4), np.uint8)
    hints[25:35, 25:45] = (200, 30, 30, 255)
    Image.fromarray(hints, "RGBA").save(tmp_path / "h.png")
    code, _, err = cli(["colorize", str(tmp_path / "l.png"), "--hints", str(tmp_path / "h.png"), "--model", "lazybrush",
                        "--shading", "0.3", "--ora", "-o", str(tmp_path / "out.png")])
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "out.ora") as z:
        assert z.namelist()[0] == "mimetype" and z.read("mimetype") == b"image/openraster"
        assert z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        stack = z.read("stack.xml").decode()
        assert all(f'name="{n}"' in stack for n in ("lines", "shading", "flat"))
        merged = np.asarray(Image.open(__import__("io").BytesIO(z.read("mergedimage.png"))).convert("RGB"))
    assert np.array_equal(merged, np.asarray(Image.open(tmp_path / "out.png").convert("RGB")))
