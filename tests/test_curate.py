"""inkwash prepare: every bad file rejected with its reason, the rest resized, packed, split and resumable."""

from __future__ import annotations

import csv
import hashlib
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inkwash.cli import main
from inkwash.data import curate
from inkwash.data.curate import CurateConfig, load_raster, prepare
from inkwash.data.store import ImageStore, split_of
from inkwash.errors import InkwashError

SIZE = 96
CFG = {"short_side": 64, "min_side": 48}


def drawing(seed: int, colour: bool = True, outlines: bool = True, size: int = SIZE) -> Image.Image:
    """A clip-art-like drawing: a few filled shapes (coloured or gray) with or without black outlines."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.integers(0, size // 2, 2)
        w, h = rng.integers(size // 4, size // 2, 2)
        fill = tuple(int(c) for c in rng.integers(60, 250, 3)) if colour else (int(rng.integers(120, 230)),) * 3
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x0 + w, y0 + h], fill=fill, outline=(0, 0, 0) if outlines else None, width=2)
    return img


def huge_png_header(path: Path, w: int = 30000, h: int = 30000) -> None:
    """A tiny file whose PNG header claims w x h pixels (a decompression bomb, cheaply)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


EXPECTED = {  # file -> reason ("kept" when it must survive)
    "good/a.png": "kept", "good/b.png": "kept", "good/deep/c.png": "kept", "good/palette.png": "kept",
    "good/rgba.png": "kept", "good/seven.png": "kept",
    "bad/corrupt.png": "corrupt", "bad/notes.png": "not-image", "bad/README.txt": "not-image",
    "bad/tiny.png": "too-small", "bad/huge.png": "too-large", "good/zz_dup_of_a.jpg": "duplicate",
    "bad/gray.png": "grayscale", "bad/flat.png": "no-lines",
}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for d in ("good/deep", "bad"):
        (root / d).mkdir(parents=True)
    drawing(1).save(root / "good/a.png")
    drawing(2).save(root / "good/b.png")
    drawing(3, size=120).save(root / "good/deep/c.png")
    drawing(4).quantize(64).save(root / "good/palette.png")  # mode P
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)  # transparent except a drawing in the middle
    rgba[16:80, 16:80] = np.dstack([np.asarray(drawing(5, size=64)), np.full((64, 64), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "good/rgba.png")
    gray16 = np.asarray(drawing(6).convert("L"), np.uint16) * 257
    Image.fromarray(gray16).save(root / "bad/gray.png")  # 16-bit grayscale: decodes fine, then "grayscale"
    drawing(7).save(root / "good/seven.png")
    drawing(1, size=80).convert("RGB").save(root / "good/zz_dup_of_a.jpg", quality=90)  # a resized re-encode
    good = (root / "good/b.png").read_bytes()
    (root / "bad/corrupt.png").write_bytes(good[: len(good) // 2])
    (root / "bad/notes.png").write_text("not a picture, just text\n")
    (root / "bad/README.txt").write_text("about these files\n")
    drawing(8, size=24).save(root / "bad/tiny.png")
    huge_png_header(root / "bad/huge.png")
    drawing(9, outlines=False).save(root / "bad/flat.png")
    return root


def outcomes(dst: Path) -> dict[str, str]:
    index = json.loads((dst / "index.json").read_text())
    result = {it["source"]: "kept" for it in index["items"]}
    with open(dst / "report.csv", newline="") as fh:
        result.update({row["path"]: row["reason"] for row in csv.DictReader(fh)})
    return result


def test_prepare_rejects_each_bad_file_with_its_reason_and_keeps_the_rest(src: Path, tmp_path: Path):
    before = tree_digest(src)
    dst = tmp_path / "dst"
    summary = prepare(src, dst, CurateConfig(**CFG), jobs=1, progress=False)
    assert outcomes(dst) == EXPECTED
    assert summary.kept == 6 and sum(summary.rejected.values()) == len(EXPECTED) - 6
    assert tree_digest(src) == before  # SRC byte-identical, nothing added
    assert not (dst / ".work").exists()  # the cache goes once the dataset is complete

    store = ImageStore(dst)
    assert len(store) == 6
    train = ImageStore(dst, split="train") if summary.splits.get("train") else []
    test = ImageStore(dst, split="test") if summary.splits.get("test") else []
    assert len(train) + len(test) == 6
    for i, item in enumerate(store.items):
        assert item["split"] == split_of(item["source"], 0.1)
        img = store[i]
        assert img.mode == "RGB" and min(img.size) == 64 and img.size == (item["width"], item["height"])
    rgba = store[[it["source"] for it in store.items].index("good/rgba.png")]
    assert np.asarray(rgba)[:4, :4].min() == 255  # the transparent margin became white paper, not black
    index = json.loads((dst / "index.json").read_text())
    assert index["counts"]["rejected"]["duplicate"] == 1 and index["licence"] == "unknown"
    card = (dst / "DATASET.md").read_text()
    assert "| too-large | 1 |" in card and "train" in card


def test_header_size_is_checked_before_decoding(tmp_path: Path):
    drawing(1).save(tmp_path / "ok.png")
    with pytest.raises(curate.Rejected) as exc:
        load_raster(tmp_path / "ok.png", CurateConfig(**CFG, max_pixels=SIZE * SIZE - 1))
    assert exc.value.reason == "too-large"
    huge_png_header(tmp_path / "bomb.png", 20000, 20000)  # decoding this would need 1.2 GB
    with pytest.raises(curate.Rejected) as exc:
        load_raster(tmp_path / "bomb.png", CurateConfig(**CFG))
    assert exc.value.reason == "too-large" and "400 megapixels" in exc.value.detail


class CountingLoader:
    """load_raster that counts its calls and can die like a killed run after `die_after` files."""

    def __init__(self, die_after: int | None = None):
        self.calls, self.die_after = 0, die_after

    def __call__(self, path, cfg):
        if self.die_after is not None and self.calls == self.die_after:
            raise KeyboardInterrupt
        self.calls += 1
        return load_raster(path, cfg)


def test_a_killed_run_resumes_without_repeating_work(src: Path, tmp_path: Path):
    dst, cfg, n = tmp_path / "dst", CurateConfig(**CFG), len(EXPECTED)
    with pytest.raises(KeyboardInterrupt):
        prepare(src, dst, cfg, jobs=1, progress=False, loader=CountingLoader(die_after=5))
    assert not (dst / "index.json").exists() and (dst / ".work").is_dir()

    second = CountingLoader()
    summary = prepare(src, dst, cfg, jobs=1, progress=False, loader=second, keep_work=True)
    assert (summary.cached, summary.processed, second.calls) == (5, n - 5, n - 5)
    assert outcomes(dst) == EXPECTED

    third = CountingLoader()
    summary = prepare(src, dst, cfg, jobs=1, progress=False, loader=third)
    assert (summary.cached, summary.processed, third.calls) == (n, 0, 0)
    assert outcomes(dst) == EXPECTED


def test_parallel_run_gives_the_same_dataset(src: Path, tmp_path: Path):
    prepare(src, tmp_path / "one", CurateConfig(**CFG), jobs=1, progress=False)
    prepare(src, tmp_path / "two", CurateConfig(**CFG), jobs=2, progress=False)
    assert outcomes(tmp_path / "one") == outcomes(tmp_path / "two")
    assert tree_digest(tmp_path / "one" / "shards") == tree_digest(tmp_path / "two" / "shards")


def test_filters_can_be_switched_off_and_shards_stay_under_the_limit(src: Path, tmp_path: Path):
    cfg = CurateConfig(**CFG, grayscale_filter=False, line_filter=False, shard_mib=0.02)  # ~20 KiB shards
    summary = prepare(src, tmp_path / "dst", cfg, jobs=1, progress=False)
    got = outcomes(tmp_path / "dst")
    assert got["bad/gray.png"] == "kept" and got["bad/flat.png"] == "kept" and summary.kept == 8
    shards = sorted((tmp_path / "dst/shards").glob("*.tar"))
    assert len(shards) >= 2 and all(p.stat().st_size <= 0.02 * 2**20 + 2048 for p in shards)


def test_foreign_destination_is_refused_and_left_alone(src: Path, tmp_path: Path):
    dst = tmp_path / "mine"
    dst.mkdir()
    (dst / "thesis.tex").write_text("precious")
    with pytest.raises(InkwashError, match="not an inkwash dataset"):
        prepare(src, dst, CurateConfig(**CFG), jobs=1, progress=False)
    assert [p.name for p in dst.iterdir()] == ["thesis.tex"]
    with pytest.raises(InkwashError, match="inside the source folder"):
        prepare(src, src / "out", CurateConfig(**CFG), jobs=1, progress=False)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


def test_cli_errors_exit_2_with_one_line(src: Path, tmp_path: Path, capsys):
    code, err = run_cli(["prepare", str(tmp_path / "missing"), str(tmp_path / "dst")], capsys)
    assert code == 2 and err.count("\n") == 1 and "no such folder" in err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("x")
    code, err = run_cli(["prepare", str(src), str(foreign)], capsys)
    assert code == 2 and err.count("\n") == 1 and "not an inkwash dataset" in err


def test_cli_prepare_writes_the_card_with_the_command(src: Path, tmp_path: Path, capsys):
    dst = tmp_path / "dst"
    code, _ = run_cli(["prepare", str(src), str(dst), "--short-side", "64", "--min-side", "48", "--jobs", "1",
                       "--licence", "CC0"], capsys)
    assert code == 0
    card = (dst / "DATASET.md").read_text()
    assert f"inkwash prepare {src} {dst} --short-side 64 --min-side 48 --jobs 1 --licence CC0" in card
    assert "CC0" in card and outcomes(dst) == EXPECTED


def test_retuned_filters_reuse_the_cache_and_only_remeasure(src: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    prepare(src, dst, CurateConfig(**CFG), jobs=1, progress=False, keep_work=True)
    loader = CountingLoader()
    summary = prepare(src, dst, CurateConfig(**CFG, ink_level=0), jobs=1, progress=False, loader=loader)
    assert loader.calls == 0 and summary.processed == 0
    got = outcomes(dst)  # nothing is darker than 0: no ink, so every drawing loses its outlines
    assert all(got[name] == "no-lines" for name, reason in EXPECTED.items() if reason == "kept")
    assert summary.kept == 0
    with pytest.raises(InkwashError, match="no images"):
        ImageStore(dst)
