"""inkwash.io: every odd image a user may hand us decodes to clean RGB, or fails with a one-line InkwashError."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.io import load_rgb, open_image, save_image, to_rgb


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height but carries almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def test_transparent_paper_becomes_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2:4, 2:4] = (0, 0, 0, 255)  # an opaque black line on transparent paper
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = np.asarray(load_rgb(tmp_path / "a.png"))
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[2, 2].tolist() == [0, 0, 0]


@pytest.mark.parametrize("mode", ["P", "LA", "L", "CMYK", "1"])
def test_modes_convert_to_rgb(tmp_path, mode):
    img = Image.new("RGB", (6, 5), (200, 30, 30)).convert(mode)
    out = to_rgb(img)
    assert out.mode == "RGB" and out.size == (6, 5)


def test_16bit_is_scaled_not_clipped():
    arr = np.full((4, 4), 65535, np.uint16)
    arr[0, 0] = 0
    img = Image.fromarray(arr)  # mode I;16
    out = np.asarray(to_rgb(img))
    assert out[1, 1].tolist() == [255, 255, 255] and out[0, 0].tolist() == [0, 0, 0]
    mid = Image.fromarray(np.full((2, 2), 32896, np.uint16))
    assert abs(int(np.asarray(to_rgb(mid))[0, 0, 0]) - 128) <= 1


def test_corrupt_and_non_images_give_clear_errors(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 64), "red").save(good)
    (tmp_path / "trunc.png").write_bytes(good.read_bytes()[:60])
    with pytest.raises(InkwashError, match="not an image"):
        open_image(tmp_path / "text.png")
    with pytest.raises(InkwashError, match="corrupt|truncated"):
        open_image(tmp_path / "trunc.png")
    with pytest.raises(InkwashError, match="no such file"):
        open_image(tmp_path / "missing.png")


def test_huge_header_refused_before_decoding(tmp_path):
    _png_header_only(tmp_path / "bomb.png", 40000, 40000)
    with pytest.raises(InkwashError, match="megapixels|decompression bomb"):
        open_image(tmp_path / "bomb.png")


def test_save_is_atomic_and_never_overwrites(tmp_path):
    out = tmp_path / "o.png"
    save_image(Image.new("RGB", (4, 4), "blue"), out)
    before = out.read_bytes()
    with pytest.raises(InkwashError, match="already exists"):
        save_image(Image.new("RGB", (4, 4), "red"), out)
    assert out.read_bytes() == before
    save_image(Image.new("RGB", (4, 4), "red"), out, overwrite=True)
    assert np.asarray(Image.open(out))[0, 0].tolist() == [255, 0, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temporary left behind


def test_pixel_cap_is_configurable(tmp_path):
    Image.new("RGB", (100, 100), "white").save(tmp_path / "w.png")
    with pytest.raises(InkwashError, match="megapixels"):
        open_image(tmp_path / "w.png", max_pixels=5000)
    assert open_image(tmp_path / "w.png", max_pixels=10000).size == (100, 100)
