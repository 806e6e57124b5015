"""Reading prepared datasets: a folder with `index.json` and packed tar shards (or loose PNGs).

Layout written by `inkwash prepare` (data/curate.py):

    DST/index.json      {"format": "inkwash-prepared/1", "short_side": 512, "items": [...], ...}
    DST/shards/train-00000.tar, test-00000.tar   PNG members, each shard under ~30 MiB
    DST/report.csv      every source file rejected, with its reason
    DST/DATASET.md      the dataset card (counts, sizes, licence)

Each item: {"id", "split", "source", "width", "height"} plus either {"shard", "member"} or {"file"}.
An item may carry aligned extra members, {"layers": {"lines": "ID.lines.png", "paint": "ID.paint.json"}} in the
same shard: the main image stays what every reader gets (for an outline dataset, the drawing as published), and
`store.layer(i, "lines")` / `store.record(i, "paint")` read the others. Such a dataset's index says what it holds:
{"kind": "outlines", "layers": ["lines", "flats"], "records": ["paint"]} (data/outlines.py).
A plain folder of images also opens as a store (split by name hash), so users can train on any folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

from PIL import Image

from inkwash.errors import InkwashError
from inkwash.io import list_images, load_rgb, to_rgb

FORMAT = "inkwash-prepared/1"
TEST_FRACTION = 0.1
VAL_FRACTION = 0.05  # of the train split: the validation drawings a run keeps its best checkpoint by
SPLITS = ("train", "test", "val", "fit")  # val + fit = train; a run that validates trains on fit only


def split_of(name: str, test_fraction: float = TEST_FRACTION) -> str:
    """Deterministic train/test split from a hash of the name: stable across machines and runs."""
    h = int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big")
    return "test" if (h / 2**64) < test_fraction else "train"


def in_split(item: dict, split: str) -> bool:
    """Whether an item belongs to `split`: its stored train/test split, or the train split cut in two by a second
    hash of its id, `val` (VAL_FRACTION of it: checkpoint choice, never trained on by a run that validates) and
    `fit` (the rest), so choosing a checkpoint never looks at the test split."""
    if split in ("train", "test"):
        return item["split"] == split
    if split not in SPLITS:
        raise InkwashError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if item["split"] != "train":
        return False
    h = int.from_bytes(hashlib.sha1(f"val:{item['id']}".encode("utf-8")).digest()[:8], "big")
    return ((h / 2**64) < VAL_FRACTION) == (split == "val")


class ImageStore:
    """Random access to the illustrations of a prepared dataset or a plain image folder, as RGB PIL images."""

    def __init__(self, root: str | os.PathLike, split: str | None = None):
        self.root = Path(root)
        if not self.root.exists():
            raise InkwashError(f"{self.root}: no such dataset folder")
        index = self.root / "index.json"
        if index.is_file():
            try:
                meta = json.loads(index.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise InkwashError(f"{index}: unreadable index ({exc}); re-run inkwash prepare") from None
            if meta.get("format") != FORMAT:
                raise InkwashError(f"{index}: format {meta.get('format')!r}, expected {FORMAT!r}")
            self.meta = meta
            items = meta["items"]
        else:
            files = list_images(self.root)
            self.meta = {"format": "folder"}
            items = [
                {"id": str(p.relative_to(self.root)), "file": str(p.relative_to(self.root)),
                 "split": split_of(str(p.relative_to(self.root)))}
                for p in files
            ]
        if split is not None:
            items = [it for it in items if in_split(it, split)]
        if not items:
            raise InkwashError(f"{self.root}: no images{f' in split {split!r}' if split else ''}")
        self.items = items
        self._tars: dict[str, tarfile.TarFile] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.items)

    def _tar(self, shard: str) -> tarfile.TarFile:
        if self._pid != os.getpid():  # a DataLoader worker: never share file handles across processes
            self._tars, self._pid = {}, os.getpid()
        if shard not in self._tars:
            self._tars[shard] = tarfile.open(self.root / shard, "r")
        return self._tars[shard]

    @property
    def kind(self) -> str:
        """"images" for plain illustrations, "outlines" for outline drawings with lines and flats layers."""
        return self.meta.get("kind", "images")

    @property
    def layers(self) -> tuple[str, ...]:
        """Names of the extra image layers every item has (e.g. ("lines", "flats")); () for plain datasets."""
        return tuple(self.meta.get("layers", ()))

    def _read(self, item: dict, member: str) -> bytes:
        fh = self._tar(item["shard"]).extractfile(member)
        if fh is None:
            raise InkwashError(f"{self.root / item['shard']}: member {member} missing")
        return fh.read()

    def _member(self, i: int, name: str) -> str:
        item = self.items[i]
        member = item.get("layers", {}).get(name)
        if member is None or "shard" not in item:
            have = ", ".join(item.get("layers", {})) or "none"
            raise InkwashError(f"{self.root}: item {item['id']} has no layer {name!r} (layers: {have}); "
                               "build an outline dataset with `inkwash data openclipart-outlines`")
        return member

    def __getitem__(self, i: int) -> Image.Image:
        item = self.items[i]
        if "file" in item:
            return load_rgb(self.root / item["file"])
        img = Image.open(io.BytesIO(self._read(item, item["member"])))
        img.load()
        return to_rgb(img)

    def layer(self, i: int, name: str) -> Image.Image:
        """The named image layer of item i (e.g. "lines", "flats"), RGB, pixel-aligned with `store[i]`."""
        img = Image.open(io.BytesIO(self._read(self.items[i], self._member(i, name))))
        img.load()
        return to_rgb(img)

    def record(self, i: int, name: str) -> dict:
        """The named JSON record of item i (e.g. "paint": the drawing's elements in paint order)."""
        try:
            return json.loads(self._read(self.items[i], self._member(i, name)))
        except json.JSONDecodeError as exc:
            raise InkwashError(f"{self.root}: record {name!r} of item {self.items[i]['id']} is unreadable ({exc}); "
                               "rebuild the dataset") from None

    def __getstate__(self):  # picklable for DataLoader workers
        state = self.__dict__.copy()
        state["_tars"] = {}
        return state
