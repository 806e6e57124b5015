"""Outline drawings with ground truth: tiny SVGs rendered as truth, lines and flats, checked pixel by pixel where the
answer is known; the curation's reasons; hand-like hints; the dataset's outline / xdog / mix linearts."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from inkwash.cli import main
from inkwash.data.curate import CurateConfig
from inkwash.data.dataset import ColorizationDataset
from inkwash.data.openclipart import cairosvg_available, openclipart_sources
from inkwash.data.outlines import OutlineConfig, prepare_outlines, render_outlines
from inkwash.data.store import ImageStore, split_of
from inkwash.data.strokes import HandHintConfig, flat_regions, hand_hints
from inkwash.data.svgpaint import InkRule, analyse, darkness, gradient_mean
from inkwash.data.xdog import random_xdog
from inkwash.errors import InkwashError

pytestmark = pytest.mark.skipif(not cairosvg_available(), reason="CairoSVG (pip install cairosvg) not installed")
CFG = CurateConfig(short_side=64, min_side=32)
RED, BLUE = (224, 32, 32), (32, 64, 224)


def svg_doc(body: str, w: int = 100, h: int = 100) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" '
            f'height="{h}" viewBox="0 0 {w} {h}">{body}</svg>')


# a red square outlined by a black stroke (the stroke is centred on the square's edge at x = 20 and x = 80)
STROKED = '<rect x="20" y="20" width="60" height="60" fill="#e02020" stroke="black" stroke-width="8"/>'
# a black-filled outline under a blue shape: only the black rim (10..20 and 80..90) shows
FILLED_RIM = '<rect x="10" y="10" width="80" height="80" fill="#000"/><rect x="20" y="20" width="60" height="60" ' \
             'fill="#2040e0"/>'
# a gradient reached through an xlink:href chain, a stroke from a CSS class on a group, the shape itself through
# <use>, stop colours in style=, and a translucent black shadow
GRADIENT = (
    '<defs><linearGradient id="base"><stop offset="0" style="stop-color:#ff0000"/>'
    '<stop offset="1" stop-color="#0000ff"/></linearGradient>'
    '<linearGradient id="g" xlink:href="#base" x1="0" x2="1"/>'
    '<style>.outline { stroke: #111111; stroke-width: 6 }</style>'
    '<rect id="box" x="20" y="20" width="60" height="60"/></defs>'
    '<ellipse cx="50" cy="93" rx="40" ry="5" fill="black" fill-opacity="0.3"/>'
    '<g fill="url(#g)" class="outline"><use xlink:href="#box"/></g>'
)


def px(user: float) -> int:
    """A user-space coordinate of the 100x100 drawings -> its pixel at 64 px."""
    return int(user * 64 / 100)


def render(tmp_path: Path, body: str, name: str = "d.svg"):
    path = tmp_path / name
    path.write_text(svg_doc(body))
    layers = render_outlines(path, CFG)
    truth, lines, flats = (np.asarray(im, np.int16) for im in (layers.image, layers.images["lines"],
                                                                layers.images["flats"]))
    assert truth.shape == lines.shape == flats.shape == (64, 64, 3)  # pixel-aligned renders
    return truth, lines, flats, layers


def near(a, b, tol: int = 6) -> bool:
    return bool(np.all(np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)) <= tol))


# ------------------------------------------------------------------------------------------- the renders


def test_black_stroke_outline(tmp_path):
    truth, lines, flats, layers = render(tmp_path, STROKED)
    c, edge = px(50), px(20)
    assert near(truth[c, c], RED) and near(flats[c, c], RED) and near(lines[c, c], (255, 255, 255))
    assert lines[c, edge].max() < 40  # the stroke is black in the lines
    assert flats[c, edge].min() > 20 and flats[c, edge].max() > 150  # ... and gone from the flats (red or paper)
    assert near(truth[2, 2], (255, 255, 255)) and near(lines[2, 2], (255, 255, 255))  # paper stays white
    shapes = layers.records["paint"]["shapes"]
    assert [(s[2], s[3], s[5], s[6]) for s in shapes] == [("colour", "#e02020", "ink", "#000000")]


def test_black_filled_outline_under_a_coloured_shape(tmp_path):
    truth, lines, flats, layers = render(tmp_path, FILLED_RIM)
    c, rim = px(50), px(15)
    assert near(truth[c, rim], (0, 0, 0)) and near(lines[c, rim], (0, 0, 0))
    assert near(flats[c, rim], (255, 255, 255))  # the ink shape is removed from the flats
    # occlusion: the blue shape hides the black one under it, so the lines are white inside
    assert near(lines[c, c], (255, 255, 255)) and near(truth[c, c], BLUE) and near(flats[c, c], BLUE)
    assert [s[2] for s in layers.records["paint"]["shapes"]] == ["ink", "colour"]  # paint order


def test_gradient_fill_becomes_its_mean_stop_colour(tmp_path):
    truth, lines, flats, layers = render(tmp_path, GRADIENT)
    c = px(50)
    assert near(flats[c, c], (128, 0, 128), tol=2) and near(flats[c, px(30)], (128, 0, 128), tol=2)  # one colour
    assert truth[c, px(28), 0] > truth[c, px(28), 2] + 60 and truth[c, px(72), 2] > truth[c, px(72), 0] + 60
    assert near(lines[c, c], (255, 255, 255)) and lines[c, px(20)].max() < 60  # the class' stroke is ink
    shadow = (px(93), px(50))
    assert truth[shadow].max() < 230 and near(lines[shadow], (255, 255, 255)) and near(flats[shadow], (255, 255, 255))
    record = layers.records["paint"]
    assert record["uses_expanded"] == 1
    assert [(s[2], s[5]) for s in record["shapes"]] == [("glaze", "none"), ("gradient", "ink")]
    assert record["shapes"][1][3] == "#800080"  # the gradient's flat colour, from the stops behind the href


def test_ink_rule_and_gradient_mean():
    rule = InkRule()
    for dark in ("#000000", "#333333", "#3d2b1f", "#555555"):  # black, dark grey, greyish dark brown
        assert rule.is_dark(dark, "fill") and rule.is_dark(dark, "stroke")
    for colour in ("#49270d", "#4f0800", "#000080", "#800000", "#ff0000", "#e02020", "#ffffff"):
        assert not rule.is_dark(colour, "fill")  # dark brown, dark red, navy and maroon bodies stay colours
    assert rule.is_dark("#800000", "stroke") and not rule.is_dark("#ff0000", "stroke")  # a maroon outline is ink
    assert darkness("#000000") == 0.0 and darkness("#ffffff") == pytest.approx(100.0, abs=0.01)
    rgb, a = gradient_mean([(0.0, (1.0, 0.0, 0.0), 1.0), (1.0, (0.0, 0.0, 1.0), 1.0)])
    assert np.allclose(rgb, (0.5, 0.0, 0.5)) and a == 1.0
    # colour held flat before the first stop: red over [0, 0.5], then red->blue over [0.5, 1]
    rgb, _ = gradient_mean([(0.5, (1.0, 0.0, 0.0), 1.0), (1.0, (0.0, 0.0, 1.0), 1.0)])
    assert np.allclose(rgb, (0.75, 0.0, 0.25))
    rgb, a = gradient_mean([(0.0, (1.0, 0.0, 0.0), 1.0), (1.0, (0.0, 0.0, 1.0), 0.0)])  # fading out: mostly red
    assert a == pytest.approx(0.5) and rgb[0] > 2 * rgb[2]


def test_paints_from_css_inheritance_and_current_color():
    svg = svg_doc('<style>.c { fill: #2040e0 }</style><g fill="#000" color="#e02020">'
                  '<rect class="c" width="10" height="10"/><rect width="5" height="5"/>'
                  '<rect fill="currentColor" width="5" height="5"/><rect style="fill:#111" fill="#eee" width="5" '
                  'height="5"/></g>').encode()
    d = analyse(svg)
    assert [(s.fill.cls, s.fill.rgb) for s in d.shapes] == [("colour", "#2040e0"), ("ink", "#000000"),
                                                            ("colour", "#e02020"), ("ink", "#111111")]
    assert b"#2040e0" in d.svg("truth") and d.svg("lines").count(b"fill:#ffffff !important") == 2


# -------------------------------------------------------------------------------------------- the dataset


GOOD = {
    "animals/cat.svg": STROKED,
    "food/apple.svg": FILLED_RIM,
    "people/kid.svg": '<circle cx="50" cy="50" r="35" fill="#30c040" stroke="#000" stroke-width="5"/>',
}
BAD = {
    "shapes/flat.svg": ("no-outlines", '<rect x="20" y="20" width="60" height="60" fill="#e02020"/>'),
    "shapes/hairline.svg": ("faint-outlines", '<rect x="20" y="20" width="60" height="60" fill="#e02020" '
                                              'stroke="#000" stroke-width="0.3"/>'),
    "shapes/rainbow.svg": ("mostly-gradient", GRADIENT.replace('<ellipse cx="50" cy="93" rx="40" ry="5" '
                                                               'fill="black" fill-opacity="0.3"/>', "")),
    "shapes/photo.svg": ("raster", STROKED + '<image x="0" y="0" width="10" height="10" xlink:href="data:image/png;'
                         'base64,{png}"/>'),
    "shapes/grey.svg": ("grayscale", STROKED.replace("#e02020", "#aaaaaa")),
    "zz/cat_copy.svg": ("duplicate", STROKED),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A fake /usr/share/openclipart holding outline drawings and one of each kind of bad drawing."""
    base = tmp_path_factory.mktemp("ocal") / "openclipart"
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 100, 50)).save(buf, format="PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    files = {**GOOD, **{k: v[1].replace("{png}", png) for k, v in BAD.items()}}
    for rel, body in files.items():
        path = base / "svg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg_doc(body))
    (base / "svg/shapes/broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><circle r=")
    return base


@pytest.fixture(scope="module")
def dataset(root, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("built") / "ocal-outlines"
    prepare_outlines(dst, root=root, cfg=CurateConfig(short_side=64, min_side=32), jobs=1, progress=False,
                     keep_work=True)
    return dst


def test_curation_reasons_and_layout(dataset, root):
    with open(dataset / "report.csv", newline="") as fh:
        got = {row["path"]: row["reason"] for row in csv.DictReader(fh)}
    want = {k[:-4]: v[0] for k, v in BAD.items()} | {"shapes/broken": "render-error"}
    assert got == want
    index = json.loads((dataset / "index.json").read_text())
    assert index["kind"] == "outlines" and index["layers"] == ["lines", "flats"] and index["records"] == ["paint"]
    # ids and splits are those of `inkwash data openclipart`
    ids = {s.name for s in openclipart_sources(root, "svg")}
    assert {it["id"] for it in index["items"]} == {k[:-4] for k in GOOD} and {it["id"] for it in index["items"]} <= ids
    assert all(it["split"] == split_of(it["id"]) for it in index["items"])
    store = ImageStore(dataset)
    assert store.kind == "outlines" and store.layers == ("lines", "flats")
    for i in range(len(store)):
        truth, lines, flats = store[i], store.layer(i, "lines"), store.layer(i, "flats")
        assert truth.size == lines.size == flats.size == (64, 64)
        assert store.record(i, "paint")["counts"]["ink"] >= 1
    card = (dataset / "DATASET.md").read_text()
    for text in ("Ink rule", "faint-outlines", "mostly-gradient", "| raster | 1 |", "L\\* + 1 C\\* <= 40"):
        assert text in card


def test_rerun_reuses_the_renders_and_plain_stores_have_no_layers(dataset, root, tmp_path):
    summary = prepare_outlines(dataset, root=root, cfg=CurateConfig(short_side=64, min_side=32), jobs=1,
                               progress=False, keep_work=True)
    assert summary.processed == 0 and summary.kept == len(GOOD)
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(InkwashError, match="no layer 'lines'"):
        ImageStore(tmp_path).layer(0, "lines")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not available")
def test_cli_reads_a_deb(root, tmp_path):
    pkg = tmp_path / "pkg"
    shutil.copytree(root / "svg", pkg / "usr/share/openclipart/svg")
    (pkg / "DEBIAN").mkdir()
    (pkg / "DEBIAN/control").write_text("Package: openclipart-svg\nVersion: 1:0.18+dfsg-19\nArchitecture: all\n"
                                        "Maintainer: test <t@example.org>\nDescription: fake clip art\n")
    deb = tmp_path / "openclipart-svg.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg), str(deb)], check=True,
                   capture_output=True)
    dst = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["data", "openclipart-outlines", str(dst), "--deb", str(deb), "--short-side", "64", "--jobs", "1"])
    assert exc.value.code == 0
    assert ImageStore(dst).kind == "outlines" and f"--deb {deb}" in (dst / "DATASET.md").read_text()


# ------------------------------------------------------------------------------------------ hand-like hints


def two_regions(size: int = 128):
    """Flats with a red and a blue region inside a black frame split by a black line; lines: (H,W), 1 = paper."""
    flats = np.full((size, size, 3), 255, np.uint8)
    flats[16:112, 16:62] = RED
    flats[16:112, 66:112] = BLUE
    lines = np.ones((size, size), np.float32)
    lines[14:114, 14:16] = lines[14:114, 112:114] = lines[14:16, 14:114] = lines[112:114, 14:114] = 0
    lines[14:114, 62:66] = 0
    return flats, lines


def test_hand_hints_stay_inside_regions_and_take_their_colour():
    flats, lines = two_regions()
    cfg = HandHintConfig()
    ink = lines < 0.5
    margin = ndimage.distance_transform_edt(~ink) <= round(cfg.line_margin * 128 / 512)
    for seed in range(8):
        h = hand_hints(flats, lines, np.random.default_rng(seed), cfg)
        assert h.shape == (32, 32, 4) and set(np.unique(h[..., 3])) <= {0.0, 1.0}
        mask = h[..., 3] > 0
        foot = np.kron(mask, np.ones((4, 4), bool))  # each hint pixel's footprint at full size
        assert not (foot & margin).any()  # never on a line or its margin
        colours = {tuple(np.round(c * 255).astype(int)) for c in h[mask, :3]}
        assert colours == {RED, BLUE}  # both regions hinted, the white paper around not
        for c in colours:  # each stroke's colour is the flat colour under its footprint
            under = np.kron(np.all(np.round(h[..., :3] * 255) == c, -1) & mask, np.ones((4, 4), bool))
            assert (flats[under] == c).all()
    truth = (flats // 2).astype(np.uint8)
    h = hand_hints(flats, lines, np.random.default_rng(0), HandHintConfig(colour="truth"), truth=truth)
    colours = {tuple(np.round(c * 255).astype(int)) for c in h[h[..., 3] > 0, :3]}
    assert colours == {tuple(c // 2 for c in RED), tuple(c // 2 for c in BLUE)}


def test_flat_regions_split_colours_and_lines():
    flats, lines = two_regions()
    regions = flat_regions(flats, lines)
    assert regions[64, 40] != regions[64, 90] and regions[64, 40] > 0 and regions[64, 64] == 0
    assert regions[0, 0] > 0 and regions[0, 0] not in (regions[64, 40], regions[64, 90])


# --------------------------------------------------------------------------------- outline / xdog / mix


class OutlineStore:
    """An in-memory outline dataset: a truth whose black lines are exactly the lines layer's."""

    kind, layers = "outlines", ("lines", "flats")

    def __init__(self, n: int = 6, size: int = 96):
        self.items = []
        for i in range(n):
            flats, lines = two_regions(size)
            flats = np.roll(flats, 3 * i, axis=1)
            lines = np.roll(lines, 3 * i, axis=1)
            truth = (flats * lines[..., None]).astype(np.uint8)
            self.items.append((Image.fromarray(truth), Image.fromarray((lines * 255).astype(np.uint8)).convert("RGB"),
                               Image.fromarray(flats)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i][0]

    def layer(self, i, name):
        return self.items[i][1 if name == "lines" else 2]


def to_u8(t):
    """A dataset tensor in [-1,1], (H,W) or (3,H,W), as uint8 (H,W[,3])."""
    a = ((t.numpy() + 1) * 127.5 + 0.5).astype(np.uint8)
    return a.transpose(1, 2, 0) if a.ndim == 3 else a


def test_outline_lineart_is_cropped_with_the_illustration():
    store = OutlineStore()
    ds = ColorizationDataset(store, size=96, crop=64, train=True, lineart="outline", hints="hand", with_flats=True)
    for i in range(len(store)):
        item = ds[i]
        lineart, ill, flats = to_u8(item["lineart"][0]), to_u8(item["illustration"]), to_u8(item["flats"])
        assert lineart.shape == (64, 64)
        assert np.array_equal(lineart < 128, ill.max(-1) < 16)  # the truth's black lines are the lineart's
        assert np.array_equal(flats[lineart > 128], ill[lineart > 128])  # flats aligned: truth = flats x lines
        m = item["hints"][3].numpy() > 0
        assert m.any() and (np.kron(m, np.ones((4, 4), bool)) <= (lineart > 128)).all()  # hand hints off lines


def test_xdog_and_mix_linearts():
    store = OutlineStore()
    xdog = ColorizationDataset(store, size=96, train=False, lineart="xdog")
    item = xdog[0]
    rng = xdog.rng(0)
    want = np.asarray(random_xdog(store[0], rng, xdog.xdog_cfg))
    assert np.array_equal(to_u8(item["lineart"][0]), want)
    outline = [to_u8(ColorizationDataset(store, size=96, train=False, lineart="outline")[i]["lineart"][0])
               for i in range(len(store))]
    for p, expect in ((0.0, "xdog"), (1.0, "outline")):
        mix = ColorizationDataset(store, size=96, train=False, lineart="mix", lineart_mix=p)
        got = [np.array_equal(to_u8(mix[i]["lineart"][0]), outline[i]) for i in range(len(store))]
        assert all(got) if expect == "outline" else not any(got)
    mix = ColorizationDataset(store, size=96, train=True, lineart="mix", lineart_mix=0.5, seed=1)
    kinds = {np.array_equal(to_u8(mix[i]["lineart"][0]) < 128, to_u8(mix[i]["illustration"]).max(-1) < 16)
             for i in range(len(store)) for _ in range(1)}
    assert kinds == {True, False}  # both kinds in one epoch
    plain = [store[i] for i in range(3)]  # no layers: mix means xDoG, outline is refused
    assert ColorizationDataset(plain, size=96, lineart="mix").lineart == "xdog"
    with pytest.raises(InkwashError, match="outline dataset"):
        ColorizationDataset(plain, size=96, lineart="outline")
    with pytest.raises(InkwashError, match="outline dataset"):
        ColorizationDataset(plain, size=96, hints="hand")
