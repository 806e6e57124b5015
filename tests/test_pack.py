"""inkwash data pack: a smaller copy of a prepared outline dataset that every reader takes, with the flats' exact
colours, the lines' darkness and the split kept."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from inkwash.data.dataset import ColorizationDataset
from inkwash.data.pack import PackConfig, pack
from inkwash.data.store import FORMAT, ImageStore
from inkwash.data.synthetic import SyntheticOutlines
from inkwash.errors import InkwashError


def outline_dataset(root, n_train=4, n_test=3, size=96):
    """A prepared outline dataset on disk (index.json + one tar shard of PNGs), from synthetic drawings."""
    store = SyntheticOutlines(n=n_train + n_test, size=size, seed=0)
    (root / "shards").mkdir(parents=True)
    items = []
    with tarfile.open(root / "shards" / "all-00000.tar", "w") as tar:
        for i in range(len(store)):
            names = {"truth": f"d{i}.png", "lines": f"d{i}.lines.png", "flats": f"d{i}.flats.png"}
            images = {"truth": store[i], "lines": store.layer(i, "lines"), "flats": store.layer(i, "flats")}
            for kind, name in names.items():
                buf = io.BytesIO()
                images[kind].save(buf, "PNG")
                info = tarfile.TarInfo(name)
                info.size = len(buf.getvalue())
                tar.addfile(info, io.BytesIO(buf.getvalue()))
            items.append({"id": f"drawing/{i}", "split": "train" if i < n_train else "test", "width": size,
                          "height": size, "shard": "shards/all-00000.tar", "member": names["truth"],
                          "layers": {"lines": names["lines"], "flats": names["flats"]}})
    (root / "index.json").write_text(json.dumps({"format": FORMAT, "short_side": size, "kind": "outlines",
                                                 "layers": ["lines", "flats"], "licence": "test", "items": items}))
    return store


def test_pack_keeps_flats_exact_lines_dark_and_the_split(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    store = outline_dataset(src)
    out = pack(src, dst, PackConfig(short_side=48, test_items=2))
    assert out["items"] == 4 + 2
    train, test = ImageStore(dst, split="train"), ImageStore(dst, split="test")
    assert len(train) == 4 and len(test) == 2 and train.kind == "outlines" and train.layers == ("lines", "flats")
    assert [it["id"] for it in test.items] == ["drawing/4", "drawing/6"]  # spread evenly over the test split
    for i in range(len(train)):
        assert train[i].size == (48, 48)
        flats = np.asarray(train.layer(i, "flats"))
        want = np.asarray(store.layer(i, "flats").resize((48, 48), Image.Resampling.NEAREST))
        assert np.array_equal(flats, want)  # palette PNG: exact colours
        lines = np.asarray(train.layer(i, "lines").convert("L"), np.float32)
        want_lines = np.asarray(store.layer(i, "lines").convert("L").resize((48, 48), Image.Resampling.BICUBIC),
                                np.float32)
        assert np.array_equal(lines < 128, want_lines < 128)  # lossless: the ink is the same
        truth = np.asarray(train[i], np.float32)
        assert np.abs(truth - np.asarray(store[i].resize((48, 48), Image.Resampling.BICUBIC))).mean() < 4
    ds = ColorizationDataset(dst, size=48, train=False, lineart="outline", with_flats=True)
    assert ds[0]["flats"].shape == (3, 48, 48)
    assert "Packed copy" in (dst / "DATASET.md").read_text()
    with pytest.raises(InkwashError, match="not empty"):
        pack(src, dst)
    with pytest.raises(InkwashError, match="not a prepared dataset"):
        pack(tmp_path / "nowhere", tmp_path / "x")


def test_cli_packs(tmp_path, cli):
    outline_dataset(tmp_path / "src", n_train=2, n_test=1, size=64)
    code, out, err = cli(["data", "pack", str(tmp_path / "src"), str(tmp_path / "dst"), "--short-side", "32"])
    assert code == 0, err
    assert "packed 3 items" in out and len(ImageStore(tmp_path / "dst")) == 3
