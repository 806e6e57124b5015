"""ColorizationDataset: shapes, ranges, determinism, the recipe's crops; and the `inkwash preview` command."""

import numpy as np
import pytest
import torch
from PIL import Image

from inkwash.cli import main
from inkwash.data.dataset import ColorizationDataset, from_tensor, resize_short_side, to_tensor
from inkwash.data.synthetic import SyntheticIllustrations, make_illustration
from inkwash.errors import InkwashError


class Wide:
    """Non-square illustrations (160x96): resized to 64 on the short side they leave room for random crops."""

    def __init__(self, n=3):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return make_illustration(128, seed=i).resize((160, 96))


def _check_item(item, s, stencil):
    assert item["illustration"].shape == (3, s, s)
    assert item["lineart"].shape == (1, s, s)
    assert item["hints"].shape == (4, s // 4, s // 4)
    for v in item.values():
        assert v.dtype == torch.float32 and torch.isfinite(v).all()
        assert v.min() >= -1 and v.max() <= 1
    line = item["lineart"]
    assert (line > 0).float().mean() > 0.5  # mostly white paper, +1
    mask = item["hints"][3]
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert (item["hints"][:3][:, mask == 0] == 0).all()
    if stencil:
        for k in ("simplified", "composite"):
            assert item[k].shape == (3, s, s)
        m = item["mask"]
        assert m.shape == (1, s, s) and set(m.unique().tolist()) <= {0.0, 1.0}
        out = (m == 0).expand(3, s, s)
        assert torch.equal(item["composite"][out], item["illustration"][out])
        assert torch.equal(item["composite"][~out], item["lineart"].expand(3, s, s)[~out])
    else:
        assert set(item) == {"illustration", "lineart", "hints"}


@pytest.mark.parametrize("hints", ["strokes", "pixels", "none"])
@pytest.mark.parametrize("stencil", [False, True])
def test_items_have_the_right_shapes_and_ranges(hints, stencil):
    ds = ColorizationDataset(SyntheticIllustrations(4, 80), size=64, hints=hints, with_stencil=stencil)
    assert len(ds) == 4
    for i in range(len(ds)):
        _check_item(ds[i], 64, stencil)
    if hints == "none":
        assert (ds[0]["hints"] == 0).all()


def test_stroke_hints_take_the_colours_of_the_quarter_size_illustration():
    ds = ColorizationDataset(SyntheticIllustrations(8, 64), size=64, hints="strokes", seed=1)
    seen = 0
    for i in range(len(ds)):
        item = ds[i]
        small = np.asarray(from_tensor(item["illustration"]).resize((16, 16), Image.Resampling.BICUBIC))
        m = item["hints"][3].numpy() == 1
        rgb = ((item["hints"][:3].numpy().transpose(1, 2, 0) + 1) * 127.5).round().astype(np.uint8)
        # every stroke's colour is a colour of the small illustration under it somewhere
        palette = {tuple(c) for c in small.reshape(-1, 3)}
        assert all(tuple(c) in palette for c in rgb[m])
        seen += m.sum()
    assert seen > 0


def test_deterministic_for_a_seed_and_varied_across_seeds_and_epochs():
    src = Wide(3)
    a = ColorizationDataset(src, size=64, seed=5, with_stencil=True)
    b = ColorizationDataset(src, size=64, seed=5, with_stencil=True)
    c = ColorizationDataset(src, size=64, seed=6, with_stencil=True)
    for i in range(3):
        x, y = a[i], b[i]
        assert all(torch.equal(x[k], y[k]) for k in x)
        assert all(torch.equal(x[k], a[i][k]) for k in x)  # re-reading an item gives the same item
    assert any(not torch.equal(a[i]["illustration"], c[i]["illustration"]) for i in range(3))
    before = a[0]
    a.set_epoch(1)
    after = a[0]
    assert not torch.equal(before["illustration"], after["illustration"])  # a new random crop
    b.set_epoch(1)
    assert all(torch.equal(after[k], b[0][k]) for k in after)  # and reproducible, e.g. after a resume


def test_test_split_is_centre_cropped_and_fixed_across_epochs():
    src = SyntheticIllustrations(2, 100)
    ds = ColorizationDataset(src, size=64, train=False)
    first = ds[1]
    ds.set_epoch(7)
    assert all(torch.equal(first[k], ds[1][k]) for k in first)
    img = resize_short_side(src[1], 64)
    assert img.size == (64, 64)
    assert torch.equal(first["illustration"], to_tensor(img))


def test_non_square_sources_are_resized_on_the_short_side_then_cropped():
    ds = ColorizationDataset(Wide(1), size=48, train=False)
    assert ds[0]["illustration"].shape == (3, 48, 48)
    full = resize_short_side(Wide()[0], 48)
    assert full.size == (80, 48)
    assert torch.equal(ds[0]["illustration"], to_tensor(full.crop((16, 0, 64, 48))))


def test_smaller_crops_keep_the_scale_of_the_resized_image():
    src = SyntheticIllustrations(2, 100)
    ds = ColorizationDataset(src, size=64, crop=32, train=False)
    item = ds[1]
    assert item["illustration"].shape == (3, 32, 32) and item["hints"].shape == (4, 8, 8)
    full = resize_short_side(src[1], 64)  # resized to the size, then a crop of it: not a downscale
    assert torch.equal(item["illustration"], to_tensor(full.crop((16, 16, 48, 48))))
    with pytest.raises(InkwashError, match="crop"):
        ColorizationDataset(src, size=64, crop=80)


def test_tensor_round_trip_is_exact():
    img = make_illustration(32, seed=2)
    t = to_tensor(img)
    assert t.shape == (3, 32, 32) and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(np.asarray(from_tensor(t)), np.asarray(img))
    gray = img.convert("L")
    assert np.array_equal(np.asarray(from_tensor(to_tensor(gray))), np.asarray(gray))


def test_folder_source_and_dataloader(tmp_path):
    for i in range(6):
        make_illustration(72, seed=i).save(tmp_path / f"img{i}.png")
    ds = ColorizationDataset(tmp_path, size=64, train=True)
    assert 1 <= len(ds) <= 6
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["illustration"].shape[1:] == (3, 64, 64) and batch["hints"].shape[1:] == (4, 16, 16)


def test_bad_arguments_are_user_errors(tmp_path):
    with pytest.raises(InkwashError):
        ColorizationDataset(SyntheticIllustrations(2), size=64, hints="crayons")
    with pytest.raises(InkwashError):
        ColorizationDataset(SyntheticIllustrations(2), size=62)
    with pytest.raises(InkwashError):
        ColorizationDataset(tmp_path / "missing", size=64)


def test_synthetic_illustrations_are_deterministic_and_distinct():
    a, b = SyntheticIllustrations(4, 64, seed=0), SyntheticIllustrations(4, 64, seed=0)
    assert all(np.array_equal(np.asarray(a[i]), np.asarray(b[i])) for i in range(4))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))
    assert a[0].mode == "RGB" and a[0].size == (64, 64)
    with pytest.raises(IndexError):
        a[4]


def _run(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def test_preview_cli_writes_a_png_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert _run(["preview", "--synthetic", "-o", str(out), "-n", "3", "--size", "32"]) in (0, None)
    grid = Image.open(out)
    assert grid.format == "PNG" and grid.width > 6 * 32 and grid.height > 3 * 32
    before = out.read_bytes()
    assert _run(["preview", "--synthetic", "-o", str(out), "-n", "2", "--size", "32"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert _run(["preview", "--synthetic", "-o", str(out), "-n", "2", "--size", "32", "--overwrite"]) in (0, None)
    assert Image.open(out).height < grid.height


def test_preview_cli_reads_an_image_folder_and_reports_missing_input(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        make_illustration(48, seed=i).save(folder / f"{i}.png")
    assert _run(["preview", str(folder), "-o", str(tmp_path / "g.png"), "-n", "2", "--size", "32"]) in (0, None)
    assert (tmp_path / "g.png").is_file()
    assert _run(["preview", "-o", str(tmp_path / "h.png")]) == 2
    assert _run(["preview", str(tmp_path / "nope"), "-o", str(tmp_path / "h.png")]) == 2
    assert not (tmp_path / "h.png").exists()


def test_validation_drawings_come_from_the_train_split_and_are_never_trained_on(tmp_path):
    from inkwash.data.store import ImageStore, in_split
    from inkwash.train.run import make_config, open_dataset, open_held_out

    items = [{"id": f"d{i}", "split": "test" if i % 10 == 0 else "train"} for i in range(2000)]
    val = {it["id"] for it in items if in_split(it, "val")}
    fit = {it["id"] for it in items if in_split(it, "fit")}
    train = {it["id"] for it in items if in_split(it, "train")}
    assert val | fit == train and not val & fit  # the train split, cut in two
    assert 0.03 < len(val) / len(train) < 0.07
    with pytest.raises(InkwashError, match="unknown split"):
        in_split(items[1], "dev")

    for i in range(60):  # a plain folder opens as a store, split by name hash
        Image.new("RGB", (72, 72), (40 * (i % 6), 90, 200)).save(tmp_path / f"img{i:02d}.png")
    cfg = make_config("paintstorch", "tiny")
    cfg.data.size, cfg.loop.val_every = 64, 10
    held = open_held_out(str(tmp_path), cfg)
    trained = open_dataset(str(tmp_path), cfg, split="fit")
    held_ids = {it["id"] for it in held.source.items}
    assert held_ids and held_ids == {it["id"] for it in ImageStore(tmp_path, split="val").items}
    assert not held_ids & {it["id"] for it in trained.source.items}
    assert all(it["split"] == "train" for it in held.source.items)
