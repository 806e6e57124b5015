"""inkwash data openclipart on a fake, tiny Open Clip Art tree: categories kept, SVGs rendered, failures reported."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inkwash.cli import main
from inkwash.data.curate import CurateConfig
from inkwash.data.openclipart import cairosvg_available, prepare_openclipart
from inkwash.data.store import ImageStore
from inkwash.errors import InkwashError

CFG = {"short_side": 64, "min_side": 48}
needs_cairo = pytest.mark.skipif(not cairosvg_available(), reason="CairoSVG (pip install cairosvg) not installed")

SVGS = {
    "animals/cat.svg": '<circle cx="50" cy="50" r="30" fill="#e08030" stroke="black" stroke-width="3"/>'
                       '<circle cx="40" cy="42" r="6" fill="#30a0e0" stroke="black" stroke-width="2"/>',
    "food/fruit/apple.svg": '<rect x="10" y="20" width="35" height="70" fill="#30c040" stroke="black" '
                            'stroke-width="3"/><rect x="55" y="10" width="35" height="40" fill="#c03040" '
                            'stroke="black" stroke-width="3"/>',
    # landscape, transparent background: must come out 64 px high, on white
    "buildings/house.svg": '<polygon points="20,90 20,40 100,10 180,40 180,90" fill="#5b8def" stroke="black" '
                           'stroke-width="3"/>',
}


def svg_doc(body: str, w: int = 100, h: int = 100) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>'


def png_drawing(seed: int, size: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x0, y0 = rng.integers(0, size // 2, 2)
        fill = tuple(int(c) for c in rng.integers(60, 250, 3)) + (255,)
        draw.ellipse([x0, y0, x0 + size // 3, y0 + size // 3], fill=fill, outline=(0, 0, 0, 255), width=2)
    return img.quantize(32) if seed % 2 else img


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A fake /usr/share/openclipart with svg/ and png/ category folders."""
    base = tmp_path / "openclipart"
    for rel, body in SVGS.items():
        path = base / "svg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg_doc(body, w=200 if "house" in rel else 100))
    (base / "svg/people").mkdir()
    (base / "svg/people/broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><circle r=")
    for i, rel in enumerate(["animals/cat.png", "food/fruit/apple.png", "people/kid.png"]):
        path = base / "png" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        png_drawing(i, 96 if i < 2 else 20).save(path)  # kid.png is too small
    return base


def reasons(dst: Path) -> dict[str, str]:
    with open(dst / "report.csv", newline="") as fh:
        return {row["path"]: row["reason"] for row in csv.DictReader(fh)}


@needs_cairo
def test_svgs_render_at_the_short_side_and_keep_their_category(root: Path, tmp_path: Path):
    dst = tmp_path / "ocal"
    summary = prepare_openclipart(dst, root=root, cfg=CurateConfig(**CFG), jobs=1, progress=False)
    index = json.loads((dst / "index.json").read_text())
    got = {it["id"]: it["category"] for it in index["items"]}
    assert got == {"animals/cat": "animals", "food/fruit/apple": "food", "buildings/house": "buildings"}
    assert reasons(dst) == {"people/broken": "render-error"} and summary.kept == 3
    assert index["openclipart"]["format"] == "svg" and "public domain" in index["licence"]
    store = ImageStore(dst)
    house = store[[it["id"] for it in store.items].index("buildings/house")]
    assert house.size == (128, 64)  # landscape: the short side (height) is the one set to 64
    assert np.asarray(house)[0, 0].tolist() == [255, 255, 255]  # transparent corner rendered on white
    card = (dst / "DATASET.md").read_text()
    assert "public domain" in card and "| buildings | 1 |" in card and "CairoSVG" in card


def test_png_format_keeps_categories_and_rejects_small_drawings(root: Path, tmp_path: Path):
    dst = tmp_path / "ocal"
    prepare_openclipart(dst, root=root, fmt="png", cfg=CurateConfig(**CFG), jobs=1, progress=False)
    items = ImageStore(dst).items
    assert {it["id"]: it["category"] for it in items} == {"animals/cat": "animals", "food/fruit/apple": "food"}
    assert reasons(dst) == {"people/kid": "too-small"}


def test_missing_installation_tells_how_to_get_it(tmp_path: Path):
    with pytest.raises(InkwashError, match="apt-get"):
        prepare_openclipart(tmp_path / "out", root=tmp_path / "nowhere", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InkwashError, match="apt-get download openclipart-svg"):
        prepare_openclipart(tmp_path / "out", root=tmp_path / "empty", progress=False)
    assert not (tmp_path / "out").exists()


@needs_cairo
@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not available")
def test_deb_file_is_unpacked_without_root(root: Path, tmp_path: Path, capsys):
    pkg = tmp_path / "pkg"
    shutil.copytree(root / "svg", pkg / "usr/share/openclipart/svg")
    (pkg / "DEBIAN").mkdir()
    (pkg / "DEBIAN/control").write_text("Package: openclipart-svg\nVersion: 1:0.18+dfsg-19\nArchitecture: all\n"
                                        "Maintainer: test <t@example.org>\nDescription: fake clip art\n")
    deb = tmp_path / "openclipart-svg.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg), str(deb)], check=True,
                   capture_output=True)
    dst = tmp_path / "ocal"
    with pytest.raises(SystemExit) as exc:
        main(["data", "openclipart", str(dst), "--deb", str(deb), "--short-side", "64", "--min-side", "48",
              "--jobs", "1"])
    assert exc.value.code == 0
    assert {it["category"] for it in ImageStore(dst).items} == {"animals", "food", "buildings"}
    assert f"--deb {deb}" in (dst / "DATASET.md").read_text()
