"""A smaller copy of a prepared dataset, for a machine that receives data only as carried files (a GPU lent for one
call, a laptop): the same layout (`ImageStore` reads it), each image at a smaller short side.

    inkwash data pack data/ocal-outlines data/pack-256 --short-side 256        # 20 MiB for the outline dataset

Truth images are stored as lossy WebP (quality 90: 9.5 KB a 256 px drawing against 22 KB as JPEG q92), line layers as
lossless greyscale WebP (8.3 KB against 9.6 KB as PNG), flat layers as palette PNG when they hold at most 256 colours
(they are flat), else RGB PNG: the lines and the flats' exact colours survive, which is what a model sees and is
scored against. Resizing is the dataset's own (bicubic for truth
and lines, nearest neighbour for flats), so a model trained on the pack sees what it sees on the original at that
size. JSON records (an outline dataset's paint order) are left out.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inkwash.data.store import FORMAT, ImageStore
from inkwash.errors import InkwashError
from inkwash.io import atomic_path


@dataclass
class PackConfig:
    short_side: int = 256  # the training size of the CPU recipes: nothing is lost that they use
    quality: int = 90  # WebP quality of the truth images
    shard_mib: float = 16.0  # each shard under this, so every file also fits a 16 MiB transfer
    splits: tuple[str, ...] = ("train", "test")
    test_items: int = 0  # > 0: only this many test items, spread evenly (enough for held-out scoring), 0 = all


def _resize(img: Image.Image, short: int, nearest: bool = False) -> Image.Image:
    from inkwash.data.dataset import _resize_nearest, resize_short_side

    return _resize_nearest(img, short) if nearest else resize_short_side(img, short)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _flats_png(img: Image.Image) -> bytes:
    """A flat layer as a palette PNG (exact colours) when it has at most 256 of them, else RGB."""
    rgb = img.convert("RGB")
    colours = rgb.getcolors(256)
    if colours is None:
        return _png(rgb)
    palette = np.array([c for _, c in colours], np.uint8)  # (k,3)
    arr = np.asarray(rgb)
    key = (arr[..., 0].astype(np.int32) << 16) | (arr[..., 1].astype(np.int32) << 8) | arr[..., 2]
    pkey = (palette[:, 0].astype(np.int32) << 16) | (palette[:, 1].astype(np.int32) << 8) | palette[:, 2]
    order = np.argsort(pkey)
    index = order[np.searchsorted(pkey[order], key)].astype(np.uint8)
    out = Image.fromarray(index, "P")
    out.putpalette(palette.reshape(-1).tolist())
    return _png(out)


def _webp(img: Image.Image, quality: int | None) -> bytes:
    """WebP bytes: lossy at `quality`, lossless when it is None."""
    buf = io.BytesIO()
    opts = {"lossless": True} if quality is None else {"quality": quality}
    img.save(buf, "WEBP", method=6, **opts)
    return buf.getvalue()


class _Shards:
    """Tar shards written in turn, each closed before it passes `limit` bytes."""

    def __init__(self, root: Path, limit: int):
        self.root, self.limit = root, limit
        self.tar = None
        self.names: dict[str, int] = {}
        self.size = 0

    def add(self, split: str, members: dict[str, bytes]) -> str:
        """Write one item's members to the current shard of `split` -> the shard's path relative to the root."""
        total = sum(len(b) + 1024 for b in members.values())
        if self.tar is None or self.split != split or self.size + total > self.limit:
            self.close()
            n = self.names.get(split, 0)
            self.names[split] = n + 1
            self.split, self.current = split, f"shards/{split}-{n:05d}.tar"
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            self.tar, self.size = tarfile.open(self.root / self.current, "w"), 0
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            self.tar.addfile(info, io.BytesIO(data))
            self.size += len(data) + 1024
        return self.current

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()
            self.tar = None


def pack(src: str | Path, dst: str | Path, cfg: PackConfig | None = None, progress=None) -> dict:
    """Write DST (new or empty) as a copy of the prepared dataset SRC at `cfg.short_side` -> a summary dict."""
    cfg = cfg or PackConfig()
    src, dst = Path(src), Path(dst)
    if not (src / "index.json").is_file():
        raise InkwashError(f"{src}: not a prepared dataset (no index.json); give a folder made by inkwash prepare or "
                           "inkwash data openclipart[-outlines]")
    if dst.exists() and any(dst.iterdir()):
        raise InkwashError(f"{dst}: exists and is not empty; give a new folder")
    if cfg.short_side < 16:
        raise InkwashError(f"--short-side {cfg.short_side}: give 16 px or more")
    t0 = time.perf_counter()
    dst.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "index.json").read_text())
    layers = [name for name in meta.get("layers", [])]
    shards = _Shards(dst, int(cfg.shard_mib * 2**20))
    items = []
    for split in cfg.splits:
        try:
            store = ImageStore(src, split=split)
        except InkwashError:
            continue  # no item in this split
        keep = range(len(store))
        if split == "test" and cfg.test_items > 0:
            keep = sorted({int(round(x)) for x in np.linspace(0, len(store) - 1, min(cfg.test_items, len(store)))})
        for done, i in enumerate(keep):
            item = store.items[i]
            stem = f"{split}-{i:05d}"
            truth = _resize(store[i], cfg.short_side)
            members = {f"{stem}.webp": _webp(truth.convert("RGB"), cfg.quality)}
            names = {}
            for name in layers:
                img = store.layer(i, name)
                if name == "flats":
                    data, ext = _flats_png(_resize(img, cfg.short_side, nearest=True)), "png"
                else:
                    small = _resize(img, cfg.short_side).convert("L" if name == "lines" else "RGB")
                    data, ext = _webp(small, None), "webp"
                names[name] = f"{stem}.{name}.{ext}"
                members[names[name]] = data
            shard = shards.add(split, members)
            kept = {k: v for k, v in item.items() if k not in ("shard", "member", "layers", "file")}
            items.append({**kept, "width": truth.width, "height": truth.height, "shard": shard,
                          "member": f"{stem}.webp", **({"layers": names} if names else {})})
            if progress:
                progress(split, done + 1, len(keep))
    shards.close()
    out = {k: v for k, v in meta.items() if k not in ("items", "records")}
    out.update(format=FORMAT, short_side=cfg.short_side, items=items,
               packed_from={"path": str(src.resolve()), "short_side": meta.get("short_side"),
                            "quality": cfg.quality, "splits": list(cfg.splits), "test_items": cfg.test_items})
    with atomic_path(dst / "index.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(out, indent=1))
    size = sum(p.stat().st_size for p in (dst / "shards").glob("*.tar"))
    card = (src / "DATASET.md").read_text(encoding="utf-8") if (src / "DATASET.md").is_file() else ""
    with atomic_path(dst / "DATASET.md", overwrite=True) as tmp:
        tmp.write_text(f"# Packed copy of {src.name}\n\n{len(items)} items at {cfg.short_side} px on the short side "
                       f"({size / 2**20:.1f} MiB; truth WebP q{cfg.quality}, lines lossless WebP, flats PNG), made by `inkwash data pack` "
                       f"from {src}. Licence and sources as below.\n\n{card}", encoding="utf-8")
    return {"items": len(items), "bytes": size, "seconds": time.perf_counter() - t0, "dst": dst}


__all__ = ["PackConfig", "pack"]
