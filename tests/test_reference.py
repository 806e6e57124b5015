"""Colouring from a coloured reference: a drawing and its warped copy (known correspondences), hints over matches,
a new region that matches nothing, different sizes, extracted lines, the sequence batch and the benchmark."""

import io
import json
import tarfile

import cv2
import numpy as np
import pytest
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.reference import (MatchConfig, colour_from_reference, extract_lineart, previous_frame,
                               reference_from_images)
from inkwash.reference.deform import make_warp, random_warp
from inkwash.regions import SOURCES, FlatConfig, compute_regions, flat_colours

PALETTE = np.array([[230, 60, 50], [60, 120, 220], [250, 210, 60], [90, 180, 90], [240, 160, 200],
                    [150, 90, 50], [120, 60, 160], [250, 140, 40]], np.uint8)


# ---------------------------------------------------------------------------------------------- drawings
def drawing(seed=0, size=256, shapes=9):
    """Overlapping outlined shapes with flat fills: (lines (H,W) float in [0,1], flats (H,W,3) uint8, truth
    (H,W,3) uint8 = flats under the lines). Outlines are every boundary between shapes, 2 px."""
    rng = np.random.default_rng(seed)
    flats = np.full((size, size, 3), 255, np.uint8)
    owner = np.zeros((size, size), np.int32)
    for k in range(shapes):
        c = rng.integers(int(size * 0.25), int(size * 0.75), 2)
        r = rng.integers(int(size * 0.07), int(size * 0.2), 2)
        pts = cv2.ellipse2Poly((int(c[0]), int(c[1])), (int(r[0]), int(r[1])), int(rng.integers(0, 180)), 0, 360, 5)
        cv2.fillPoly(flats, [pts], tuple(int(v) for v in PALETTE[k % len(PALETTE)]))
        cv2.fillPoly(owner, [pts], k + 1)
    edge = np.zeros((size, size), bool)
    edge[:, 1:] |= owner[:, 1:] != owner[:, :-1]
    edge[1:, :] |= owner[1:, :] != owner[:-1, :]
    edge = cv2.dilate(edge.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    lines = np.where(edge, 0.0, 1.0).astype(np.float32)
    truth = (flats * lines[..., None]).astype(np.uint8)
    return lines, flats, truth


def colour_of(img, regions, r):
    ys, xs = np.nonzero((regions.labels == r) & (regions.dist > 2))
    return np.median(img[ys, xs], axis=0)


def hints_at(shape, xy, colour, radius=3):
    h = np.zeros(shape + (4,), np.float32)
    cv2.circle(h, xy, radius, (*colour, 1.0), -1)
    return h


# -------------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("level", ["small", "large"])
def test_a_warped_copy_finds_its_known_correspondences(level):
    lines, flats, truth = drawing(1)
    key = reference_from_images(truth, lines)
    warp = random_warp(lines, level, seed=7)
    new_lines = warp.lines(lines)
    res = colour_from_reference(new_lines, key)
    regions, match = res.regions, res.match
    # the true correspondence: where each new region's interior lands under the known map
    pts = np.array([np.unravel_index(np.argmax(np.where(regions.labels == r, regions.dist, -1)), regions.shape)
                    for r in range(1, regions.n + 1)])
    sx = np.rint(warp.map_x[pts[:, 0], pts[:, 1]]).astype(int)
    sy = np.rint(warp.map_y[pts[:, 0], pts[:, 1]]).astype(int)
    inside = (sx >= 0) & (sx < 256) & (sy >= 0) & (sy < 256)
    true_ref = np.zeros(regions.n + 1, int)
    true_ref[1:][inside] = key.regions.labels[sy[inside], sx[inside]]
    sizable = (regions.area >= 80) & (true_ref > 0)
    sizable[0] = False
    ids = np.flatnonzero(sizable)
    assert ids.size >= 8
    assert np.mean(match.ref_region[ids] == true_ref[ids]) >= 0.9
    # and every sizable region that matched has exactly the colour of its true counterpart
    got = ids[match.matched[ids]]
    assert got.size >= 0.9 * ids.size
    expected = key.colour[true_ref[got]]
    assert np.abs(match.region_colour[got] - expected).max() < 2 / 255


def test_a_hint_wins_over_the_match():
    lines, flats, truth = drawing(2)
    key = reference_from_images(truth, lines)
    new_lines = random_warp(lines, "small", seed=3).lines(lines)
    plain = colour_from_reference(new_lines, key)
    regions = plain.regions
    r = int(np.argmax(np.where(plain.match.matched & ~regions.border, regions.area, 0)))
    ys, xs = np.nonzero((regions.labels == r) & (regions.dist > 4))
    hinted = colour_from_reference(new_lines, key, hints=hints_at(regions.shape, (int(xs[0]), int(ys[0])), (0, 1, 1)))
    assert SOURCES[hinted.flats.source[r]] == "hinted"
    assert np.allclose(hinted.flats.region_colour[r], (0, 1, 1))
    others = plain.match.matched.copy()
    others[[0, r]] = False
    assert np.array_equal(hinted.flats.region_colour[others], plain.match.region_colour[others])
    assert all(SOURCES[s] == "reference" for s in hinted.flats.source[others])


@pytest.mark.parametrize("policy", ["paper", "neighbour"])
def test_a_new_region_that_matches_nothing_follows_the_unhinted_policy(policy):
    lines, flats, truth = drawing(3)
    key = reference_from_images(truth, lines)
    ref = key.regions
    big = int(np.argmax(np.where(ref.border, 0, ref.area)))
    ys, xs = np.nonzero(ref.dist * (ref.labels == big) > 14)
    cx, cy = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    new = (lines * 255).astype(np.uint8)
    cv2.circle(new, (cx, cy), 7, 0, 2)  # a button drawn on the new page only
    res = colour_from_reference(new.astype(np.float32) / 255.0, key, unhinted=policy)
    button = int(res.regions.labels[cy, cx])
    assert button > 0 and not res.match.matched[button]
    assert button in res.match.unmatched(res.regions)
    host = int(res.regions.labels[cy, cx + 14])
    assert res.match.matched[host] and np.allclose(res.match.region_colour[host], key.colour[big])
    if policy == "paper":
        assert SOURCES[res.flats.source[button]] == "paper" and np.allclose(res.flats.region_colour[button], 1.0)
    else:
        assert SOURCES[res.flats.source[button]] == "neighbour"
        assert np.allclose(res.flats.region_colour[button], key.colour[big])


def test_a_reference_at_another_size_and_with_extracted_lines():
    lines, flats, truth = drawing(4)
    big_truth = cv2.resize(truth, (512, 512), interpolation=cv2.INTER_NEAREST)
    key = reference_from_images(big_truth)  # lines read from the colours, at twice the frame's size
    new_lines = random_warp(lines, "small", seed=5).lines(lines)
    res = colour_from_reference(new_lines, key)
    enclosed = ~res.regions.border & (res.regions.area >= 80)
    enclosed[0] = False
    assert res.match.matched[enclosed].mean() >= 0.9


def test_extracted_lines_are_dark_thin_strokes_not_dark_fills_or_colour_edges():
    img = np.full((128, 128, 3), 1.0, np.float32)
    img[:, :64] = (0.35, 0.2, 0.1)  # a wide dark brown fill
    img[:, 64:] = (0.2, 0.4, 0.9)  # meeting a blue one with no line between
    cv2.circle(img, (90, 64), 20, (0.0, 0.0, 0.0), 2)  # a black outline
    lines = extract_lineart(img)
    assert lines[64, 110] < 0.5 and lines[84, 90] < 0.5  # on the circle
    assert lines[64, 20] > 0.9 and lines[10, 63] > 0.9 and lines[10, 64] > 0.9  # fill and colour edge: paper


def test_given_region_colours_go_to_unhinted_regions_border_included_and_hints_win():
    lines, flats, truth = drawing(5)
    regions = compute_regions(lines)
    given = np.full((regions.n + 1, 3), np.nan, np.float32)
    bg = int(regions.labels[0, 0])
    inner = int(np.argmax(np.where(regions.border, 0, regions.area)))
    given[bg], given[inner] = (0.1, 0.2, 0.3), (0.5, 0.5, 0.5)
    ys, xs = np.nonzero((regions.labels == inner) & (regions.dist > 3))
    hints = hints_at(regions.shape, (int(xs[0]), int(ys[0])), (1, 0, 0), radius=2)
    f = flat_colours(regions, np.zeros(regions.shape + (4,), np.float32), FlatConfig(unhinted="paper"),
                     region_colours=given)
    assert np.allclose(f.region_colour[bg], (0.1, 0.2, 0.3)) and SOURCES[f.source[bg]] == "reference"
    assert np.allclose(f.region_colour[inner], 0.5)
    rest = np.isnan(given[:, 0]) & (np.arange(regions.n + 1) > 0)
    assert all(SOURCES[s] == "paper" for s in f.source[rest])
    f = flat_colours(regions, hints, FlatConfig(unhinted="paper"), region_colours=given)
    assert np.allclose(f.region_colour[inner], (1, 0, 0)) and SOURCES[f.source[inner]] == "hinted"


def test_warps_are_seeded_identity_at_zero_and_keep_labels_exact():
    lines, flats, truth = drawing(6)
    a, b = random_warp(lines, "medium", seed=11), random_warp(lines, "medium", seed=11)
    assert np.array_equal(a.map_x, b.map_x) and np.array_equal(a.map_y, b.map_y)
    still = make_warp(lines.shape, a.params.at(0.0))
    ys, xs = np.mgrid[0:256, 0:256]
    assert np.abs(still.map_x - xs).max() < 1e-3 and np.abs(still.map_y - ys).max() < 1e-3
    colours = {tuple(c) for c in flats.reshape(-1, 3)}
    assert {tuple(c) for c in a.image(flats, nearest=True).reshape(-1, 3)} <= colours | {(255, 255, 255)}
    small, large = random_warp(lines, "small", seed=11), random_warp(lines, "large", seed=11)
    assert np.abs(large.map_x - xs).mean() > np.abs(small.map_x - xs).mean()


def test_previous_frame_trusts_matches_more_than_guesses():
    lines, flats, truth = drawing(7)
    key = reference_from_images(truth, lines)
    res = colour_from_reference(random_warp(lines, "small", seed=1).lines(lines), key)
    prev = previous_frame(res.lines, res.regions, res.flats.colour, res.match, res.flats.source)
    m = res.match.matched
    m[0] = False
    assert (prev.trust[m] >= 0.5).all()
    assert np.allclose(prev.colour[m], res.match.region_colour[m], atol=1 / 255)


def test_no_lock_and_a_reference_is_a_clear_error(tiny_run):
    from inkwash.infer import Colorizer, Settings

    lines, flats, truth = drawing(8, size=64, shapes=3)
    col = Colorizer.from_pretrained(tiny_run, settings=Settings(lock=False))
    with pytest.raises(InkwashError, match="region lock"):
        col.colorize(lines, reference=truth)


def test_colorizer_takes_a_reference_image():
    from inkwash.infer import Colorizer

    lines, flats, truth = drawing(9)
    new_lines = random_warp(lines, "small", seed=2).lines(lines)
    out = Colorizer.from_pretrained("lazybrush").colorize_layers(new_lines, reference=truth)
    res = colour_from_reference(new_lines, reference_from_images(truth))
    assert np.array_equal(np.asarray(out["flat"]), (res.flats.colour * 255 + 0.5).astype(np.uint8))


# ------------------------------------------------------------------------------------------------- CLI
def _save(path, arr):
    Image.fromarray(arr if arr.dtype == np.uint8 else (arr * 255 + 0.5).astype(np.uint8)).save(path)


def test_cli_colours_a_page_from_a_reference(tmp_path, cli):
    lines, flats, truth = drawing(10)
    warp = random_warp(lines, "small", seed=4)
    _save(tmp_path / "key.png", truth)
    _save(tmp_path / "key_lines.png", lines)
    _save(tmp_path / "page.png", warp.lines(lines))
    code, out, err = cli(["colorize", str(tmp_path / "page.png"), "--reference", str(tmp_path / "key.png"),
                          "--reference-lineart", str(tmp_path / "key_lines.png"), "-o", str(tmp_path / "o.png"),
                          "--layers"])
    assert code == 0, err
    assert "enclosed regions matched the reference" in err and "stays uncoloured" not in err
    flat = np.asarray(Image.open(tmp_path / "o_flat.png"))
    target = warp.image(flats, nearest=True)
    new_lines = warp.lines(lines)
    far = cv2.distanceTransform((new_lines > 0.5).astype(np.uint8), cv2.DIST_L2, 3) > 3
    assert np.mean(np.all(flat[far] == target[far], axis=1)) > 0.97
    code, _, err = cli(["colorize", str(tmp_path / "page.png"), "--reference-lineart", str(tmp_path / "key.png"),
                        "-o", str(tmp_path / "p.png")])
    assert code == 2 and "give --reference too" in err


def test_cli_sequence_follows_the_key_and_the_previous_frame(tmp_path, cli):
    lines, flats, truth = drawing(11)
    full = random_warp(lines, "large", seed=9).params
    frames = tmp_path / "frames"
    frames.mkdir()
    names = ["shot1.png", "shot2.png", "shot10.png"]  # natural order: 1, 2, 10
    targets = {}
    for k, name in enumerate(names, start=1):
        w = make_warp(lines.shape, full.at(k / 3))
        _save(frames / name, w.lines(lines))
        targets[name] = (w.image(flats, nearest=True), w.lines(lines))
    _save(tmp_path / "key.png", truth)
    out = tmp_path / "out"
    code, _, err = cli(["colorize", "--batch", str(frames), "--reference", str(tmp_path / "key.png"), "-o", str(out),
                        "--layers"])
    assert code == 0, err
    report = json.loads((out / "reference-report.json").read_text())
    assert [f["frame"] for f in report["frames"]] == names
    assert (out / "reference-report.csv").read_text().startswith("frame,region,x,y,area,score,confidence")
    assert "regions in" in err and "had no confident match" in err
    for name in names:
        flat = np.asarray(Image.open(out / name.replace(".png", "_flat.png")))
        target, new_lines = targets[name]
        far = cv2.distanceTransform((new_lines > 0.5).astype(np.uint8), cv2.DIST_L2, 3) > 3
        assert np.mean(np.all(flat[far] == target[far], axis=1)) > 0.95, name
    # a rerun keeps the frames and their report entries say so
    code, _, err = cli(["colorize", "--batch", str(frames), "--reference", str(tmp_path / "key.png"), "-o", str(out),
                        "--layers"])
    assert code == 0, err
    assert all(f.get("skipped") for f in json.loads((out / "reference-report.json").read_text())["frames"])


# ------------------------------------------------------------------------------------------- benchmark
def outline_dataset(root, n=2, size=128):
    """A tiny outline dataset as `inkwash data openclipart-outlines` lays it out (truth, lines, flats)."""
    (root / "shards").mkdir(parents=True)
    items = []
    with tarfile.open(root / "shards" / "test-00000.tar", "w") as tf:
        for k in range(n):
            lines, flats, truth = drawing(20 + k, size=size, shapes=5)
            iid = f"synthetic/d{k}"
            layers = {"lines": f"{iid}.lines.png", "flats": f"{iid}.flats.png"}
            for name, arr in ((f"{iid}.png", truth), (layers["lines"], (lines * 255).astype(np.uint8)),
                              (layers["flats"], flats)):
                buf = io.BytesIO()
                Image.fromarray(arr).save(buf, "PNG")
                info = tarfile.TarInfo(name)
                info.size = buf.tell()
                buf.seek(0)
                tf.addfile(info, buf)
            items.append({"id": iid, "split": "test", "source": iid, "width": size, "height": size,
                          "shard": "shards/test-00000.tar", "member": f"{iid}.png", "layers": layers})
    (root / "index.json").write_text(json.dumps({"format": "inkwash-prepared/1", "kind": "outlines",
                                                 "layers": ["lines", "flats"], "items": items}))
    return root


def test_segment_accuracy_has_its_known_values():
    from inkwash.evaluate.reference import ReferenceBenchConfig, score_frame

    lines, flats, truth = drawing(12)
    cfg = ReferenceBenchConfig()
    perfect = score_frame(flats / 255.0, flats, lines, cfg)
    assert perfect["segment_acc"] == 1.0 and perfect["pixel_acc"] == 1.0 and perfect["segments"] >= 5
    blank = score_frame(np.ones_like(flats, np.float32), flats, lines, cfg)
    assert blank["segment_acc"] == 0.0  # the page is not counted, so white is right nowhere
    assert perfect["paper_flood"] == 0.0 and blank["paper_flood"] == 0.0
    painted = score_frame(np.full_like(flats, 0.5, np.float32), flats, lines, cfg)
    assert painted["paper_flood"] > 0.9  # a match that paints the page around the drawing is seen
    one = flats.copy()
    lab = cv2.connectedComponents((np.all(flats == PALETTE[0], axis=2) & (lines > 0.5)).astype(np.uint8), 4)[1]
    one[lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1] = (0, 0, 0)
    got = score_frame(one / 255.0, flats, lines, cfg)
    assert got["correct"] == got["segments"] - 1


def test_evaluate_reference_cli_writes_its_report(tmp_path, cli):
    data = outline_dataset(tmp_path / "data")
    code, out, err = cli(["evaluate-reference", "--data", str(data), "-o", str(tmp_path / "rep"),
                          "--levels", "small", "--sequence", "2"])
    assert code == 0, err
    assert "| small | reference |" in out and "| small | oracle |" in out and "sequence-2" in out
    summary = json.loads((tmp_path / "rep" / "reference.json").read_text())["summary"]
    oracle = next(s for s in summary if s["method"] == "oracle")
    assert oracle["segment_acc"] > 0.9
    code, _, err = cli(["evaluate-reference", "--data", str(data), "-o", str(tmp_path / "r2"), "--levels", "huge"])
    assert code == 2 and "levels huge" in err


def test_match_config_thresholds_decide_what_counts_as_matched():
    lines, flats, truth = drawing(13)
    key = reference_from_images(truth, lines)
    new_lines = random_warp(lines, "small", seed=6).lines(lines)
    strict = colour_from_reference(new_lines, key, config=MatchConfig(min_fit=1.01))
    assert not strict.match.matched.any()


def test_the_drawing_elsewhere_on_a_new_page_beside_other_shapes():
    lines, flats, truth = drawing(14)
    key = reference_from_images(truth, lines)
    page = np.ones((256, 512), np.float32)
    page[:, 256:] = random_warp(lines, "small", seed=8).lines(lines)  # the character on the right half
    other = np.full((256, 256), 255, np.uint8)
    for c, r in (((60, 60), 30), ((170, 90), 45), ((90, 190), 40)):
        cv2.circle(other, c, r, 0, 2)
    page[:, :256] = other / 255.0  # and unrelated shapes on the left
    res = colour_from_reference(page, key)
    right = ~res.regions.border & (res.regions.area >= 80)
    right[0] = False
    xs = np.array([res.regions.bbox[r, 1] for r in range(res.regions.n + 1)])
    assert res.match.matched[right & (xs >= 256)].mean() >= 0.9
    from inkwash.reference.align import correspond

    corr = correspond(page, lines, regions_new=res.regions, regions_ref=key.regions)
    assert corr.score > 0.5


def test_palette_table_lists_every_region_with_its_matched_colour():
    from inkwash.reference import palette_table

    lines, flats, truth = drawing(15)
    key = reference_from_images(truth, lines)
    res = colour_from_reference(random_warp(lines, "small", seed=2).lines(lines), key)
    table = palette_table(res.regions, res.match)
    assert [row["region"] for row in table] == list(range(1, res.regions.n + 1))
    for row in table:
        assert int(res.regions.labels[row["y"], row["x"]]) == row["region"] or row["area"] < 20
        c = res.match.region_colour[row["region"]]
        if row["colour"] is None:
            assert np.isnan(c[0])
        else:
            assert row["colour"] == "#" + "".join(f"{int(round(v * 255)):02x}" for v in c)
    json.dumps(table)


def test_warped_thin_lines_keep_their_weight_and_stay_closed():
    img = np.full((256, 256), 255, np.uint8)
    cv2.circle(img, (128, 128), 80, 0, 1, cv2.LINE_AA)  # a 1 px outline
    lines = img.astype(np.float32) / 255.0
    warp = random_warp(lines, "large", seed=1)  # zooms out: a plain 1x bilinear warp breaks this circle in 17
    warped = warp.lines(lines)
    ink = (warped < 0.5).astype(np.uint8)
    assert cv2.connectedComponents(ink, connectivity=8)[0] - 1 == 1  # still one unbroken stroke
    inside = cv2.connectedComponents(1 - ink, connectivity=4)[0] - 1
    assert inside == 2  # the page and the disc: no gap


def test_an_open_outline_does_not_paint_the_page_in_the_body_colour():
    # a body whose outline has a wide opening: body and page are one region; the reference paints only the body
    lines = np.ones((256, 256), np.float32)
    cv2.ellipse(lines, (128, 128), (122, 122), 0, 0, 180, 0.0, 3)  # half an outline: body and page are one region
    coloured = np.ones((256, 256, 3), np.float32)
    inside = np.zeros((256, 256), np.uint8)
    cv2.circle(inside, (128, 128), 120, 1, -1)
    coloured[inside > 0] = (0.9, 0.7, 0.4)  # the body tan (most of the joined region), the page white
    coloured[lines < 0.5] = 0.0
    key = reference_from_images(coloured, lines)
    res = colour_from_reference(lines, key)
    corner = res.flats.colour[5:30, 5:30]
    assert np.allclose(corner, 1.0, atol=0.02)  # the page around the drawing stays paper
