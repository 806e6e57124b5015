"""Curation: a folder of illustrations -> a prepared dataset (filtered, deduplicated, resized, packed in shards).

    inkwash prepare ~/illustrations data/illus --short-side 512 --jobs 2

Pipeline, one source file at a time (in parallel), then once over all of them:
  1. decode safely (size read from the header first, so decompression bombs are refused before decoding),
     reject unreadable, too large and too small files;
  2. convert to RGB on white, resize to `short_side` on the smaller side (thesis IV.1.4), measure colour,
     ink lines and a perceptual hash; cache the PNG + a JSON record under DST/.work/ (resumable);
  3. over all records: drop near-grayscale, line-less and near-duplicate images, split train/test by a hash of
     the source path (`store.split_of`), pack PNGs into tar shards, write index.json, report.csv, DATASET.md.
The layout written here is the one `inkwash.data.store.ImageStore` reads.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import multiprocessing
import re
import shutil
import tarfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import scipy.fft
from PIL import Image, UnidentifiedImageError

from inkwash.data.store import FORMAT, TEST_FRACTION, split_of
from inkwash.errors import InkwashError
from inkwash.io import IMAGE_SUFFIXES, MAX_PIXELS, atomic_path, open_image, to_rgb

WORK = ".work"
STATS_VERSION = 2  # bump when image_stats changes: cached records are then re-measured
MARKER = "inkwash-prepare.json"  # inside DST/.work: marks an unfinished run as ours, so it may be resumed

# Why a file was rejected, as written in report.csv and the dataset card.
REASONS = {
    "not-image": "not an image file (unknown type, or bytes Pillow cannot identify)",
    "corrupt": "corrupt or truncated image data",
    "too-large": "over the pixel cap, refused from the header before decoding",
    "too-small": "short side under --min-side",
    "render-error": "the vector renderer failed",
    "grayscale": "near-grayscale: too few coloured pixels to learn colour from",
    "no-lines": "no dark outlines: too few thin dark pixels for a lineart",
    "duplicate": "near-duplicate (perceptual hash) of an earlier kept image",
    # outline datasets (data/outlines.py): judged on the rendered lines, flats and paints
    "no-outlines": "no outlines: too little ink in the lines render, or lines that do not run along the colour edges",
    "faint-outlines": "outlines too faint: ink there, but too few pixels dark enough to read as lines",
    "mostly-gradient": "mostly gradient: most of the coloured area is gradient fills, far from any flat colour",
    "raster": "embeds a raster image, whose pixels cannot be split into ink and colour",
}


@dataclass
class CurateConfig:
    """What `prepare` keeps and how it resizes; defaults are the thesis' numbers where it gives one."""

    short_side: int = 512  # thesis IV.1.4: images resized to 512 on their smallest side
    min_side: int = 256  # below this a 2x upscale cannot reach 512: too blurry to learn from
    max_upscale: float = 2.0  # never enlarge more than 2x (only reachable when min_side < short_side / 2)
    max_pixels: int = MAX_PIXELS  # header check; Open Clip Art holds two 623-megapixel PNGs
    test_fraction: float = TEST_FRACTION  # thesis IV.1.4 holds out 3,545 of 25,475 (14%); 10% here
    grayscale_filter: bool = True  # colorization needs colour: drop near-grayscale images
    colour_chroma: float = 12.0  # Lab chroma above which a pixel counts as coloured (JND is ~2.3; paper ~0-3)
    min_colour_fraction: float = 0.03  # share of coloured pixels needed to keep an image
    line_filter: bool = True  # the lineart is extracted from outlines: drop drawings without them
    ink_level: int = 90  # gray level (0-255) under which a pixel is ink; 100+ takes mid-blue fills for ink
    line_width: int = 15  # px at 512: thinner ink is an outline (clip-art outlines render 2-14 px), wider a fill
    min_line_fraction: float = 0.006  # share of outline pixels needed; tuned by eye on Open Clip Art renders
    # Hamming distance (of 64 bits) at or under which two images are duplicates. On Open Clip Art, 6 merges copies
    # filed under two categories (distance 0), recolourings and template variants (cards, clocks): they share
    # a lineart, so keeping both would leak test linearts into training
    phash_distance: int = 6
    shard_mib: float = 28.0  # ARCHITECTURE: shards under ~30 MiB, so a few fit one 64 MiB device carry

    def cache_fingerprint(self) -> str:
        """The options that change a cached per-image result; filters are applied later and are not in it."""
        return f"{self.short_side}|{self.min_side}|{self.max_upscale}|{self.max_pixels}"

    def stats_fingerprint(self) -> str:
        """The options the cached measures depend on: changing them re-measures the cached PNGs, no re-decode."""
        return f"{STATS_VERSION}|{self.colour_chroma}|{self.ink_level}|{self.line_width}"


@dataclass
class Source:
    """One input file. `name` (posix, relative to the source root) gives the id, the split and the cache key."""

    path: str
    name: str
    extra: dict = field(default_factory=dict)  # copied into the index item, e.g. {"category": "animals"}


@dataclass
class Layers:
    """What a loader may return instead of one image: the item's main image plus aligned extras of the same size.

    image: the main image (what every reader of the dataset gets); images: named extra layers (RGB, same size);
    records: named JSON-ready dicts stored beside them; stats: measures copied into the item's record for filters.
    """

    image: Image.Image
    images: dict[str, Image.Image] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


class Rejected(Exception):
    """A source file that cannot be used: a reason from REASONS and a one-line detail."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class PrepareSummary:
    """What a `prepare` run did: counts kept per split, rejected per reason, and the work it re-used."""

    dst: Path
    kept: int
    splits: dict
    rejected: Counter
    processed: int  # source files read in this run (not taken from the cache)
    cached: int  # source files whose result came from DST/.work (an earlier, possibly killed, run)
    shard_bytes: int
    seconds: float


# ---------------------------------------------------------------------------------------------------- helpers


def resize_short_side(img: Image.Image, short_side: int, max_upscale: float = 2.0) -> Image.Image:
    """Resize so the smaller side is `short_side` (enlarging at most `max_upscale` times)."""
    w, h = img.size
    scale = min(short_side / min(w, h), max_upscale)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return img
    # reducing_gap: a box pre-shrink before Lanczos; near-identical output, much faster on huge scans
    return img.resize(size, Image.LANCZOS, reducing_gap=3.0 if scale < 1 else None)


def phash(img: Image.Image) -> int:
    """64-bit DCT perceptual hash: 8x8 lowest frequencies of the 32x32 gray image against their median."""
    gray = np.asarray(img.convert("L").resize((32, 32), Image.LANCZOS), dtype=np.float32)
    low = scipy.fft.dctn(gray, norm="ortho")[:8, :8].ravel()
    bits = low > np.median(low[1:])  # DC left out of the median: it only carries mean brightness
    return int("".join("1" if b else "0" for b in bits), 2)


def image_stats(rgb: np.ndarray, cfg: CurateConfig) -> dict:
    """Colour and ink measures the filters use; rgb: (H,W,3) uint8."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)  # L in [0,100], a,b ~[-128,127]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    ink = (gray < cfg.ink_level).astype(np.uint8)
    width = max(3, round(cfg.line_width * min(gray.shape) / 512))  # line_width is given at 512 px
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    filled = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)  # ink areas wider than a line survive the opening
    return {
        "colour_fraction": round(float((chroma > cfg.colour_chroma).mean()), 5),
        "line_fraction": round(float((ink - filled).mean()), 5),
        "ink_fraction": round(float(ink.mean()), 5),
        "mean_gray": round(float(gray.mean()), 2),
        "stats_key": cfg.stats_fingerprint(),
    }


def load_raster(path: Path, cfg: CurateConfig) -> Image.Image:
    """Decode a raster file to RGB on white, or raise Rejected; the size is checked from the header first."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise Rejected("not-image", f"suffix {path.suffix or '(none)'} is not an image type")
    # Pillow itself refuses (as a bomb warning inside open_image) anything over its own cap
    limit = min(cfg.max_pixels, Image.MAX_IMAGE_PIXELS or cfg.max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as probe:  # lazy: reads the header only
                w, h = probe.size
    except UnidentifiedImageError:
        raise Rejected("not-image", "Pillow cannot identify the bytes as an image") from None
    except Image.DecompressionBombError as exc:  # Pillow's own cap (2x MAX_IMAGE_PIXELS), hit in the header
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found[1]) / 1e6:.0f} megapixels" if found else "too many pixels"
        raise Rejected("too-large", f"{size}, refused by Pillow as a decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Rejected("corrupt", f"unreadable header ({exc})") from None
    if w * h > limit:
        raise Rejected("too-large",
                       f"{w}x{h} = {w * h / 1e6:.0f} megapixels, over the cap of {limit / 1e6:.0f} megapixels")
    if min(w, h) < cfg.min_side:
        raise Rejected("too-small", f"{w}x{h}, short side under {cfg.min_side}")
    try:
        return to_rgb(open_image(path, max_pixels=limit))
    except InkwashError as exc:
        raise Rejected("corrupt", str(exc).split(": ", 1)[-1]) from None
    except Exception as exc:  # noqa: BLE001 - odd decoder failures on hostile files must cost one file, not the run
        raise Rejected("corrupt", f"{type(exc).__name__}: {exc}") from None


def scan_folder(src: Path) -> list[Source]:
    """Every regular file below `src` (hidden ones skipped), in a stable order."""
    files = sorted(p for p in src.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(src).parts))
    return [Source(str(p), p.relative_to(src).as_posix()) for p in files]


def _cache_key(source: Source, cfg: CurateConfig, loader_key: str = "") -> str:
    st = Path(source.path).stat()
    raw = f"{source.name}\0{st.st_mtime_ns}\0{st.st_size}\0{cfg.cache_fingerprint()}\0{loader_key}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:20]


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *args, **kwargs):
        return 0

    def advance(self, *args, **kwargs):
        pass


def _progress(enabled: bool):
    if not enabled:
        return _NoBar()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn())


def _write_json(path: Path, obj) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n")


# ------------------------------------------------------------------------------------------- per-image work


def _save_png(img: Image.Image, path: Path) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        img.save(tmp, format="PNG", compress_level=6)


def process_one(source: Source, cfg: CurateConfig, loader: Callable, items_dir: Path, loader_key: str = "") -> dict:
    """Load, resize and measure one source; returns its record, from the cache when it is there.

    `loader(path, cfg)` returns an image or a `Layers`; extra layers are resized like the main image and cached
    beside it. `loader_key` names what the loader's output depends on beyond cfg (a new key redoes the work).
    """
    key = _cache_key(source, cfg, loader_key)
    record_path = items_dir / key[:2] / f"{key}.json"
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text())
            if record.get("name") == source.name:
                if record["status"] == "ok" and record.get("stats_key") != cfg.stats_fingerprint():
                    img = to_rgb(open_image(items_dir / record["png"]))  # filters retuned: re-measure only
                    record.update(image_stats(np.asarray(img), cfg))
                    _write_json(record_path, record)
                return {**record, "cached": True}
        except (OSError, json.JSONDecodeError, InkwashError):
            pass  # a half-written record or a lost PNG from a killed run: redo it
    record: dict = {"name": source.name, "key": key}
    try:
        loaded = loader(Path(source.path), cfg)
        layers = loaded if isinstance(loaded, Layers) else Layers(loaded)
        img = layers.image
        w, h = img.size
        if min(w, h) < cfg.min_side:
            raise Rejected("too-small", f"{w}x{h}, short side under {cfg.min_side}")
        img = resize_short_side(img, cfg.short_side, cfg.max_upscale)
        png = items_dir / key[:2] / f"{key}.png"
        members = {}
        for name, layer in layers.images.items():  # extras first: the main PNG and the record mark completion
            path = png.with_name(f"{key}.{name}.png")
            _save_png(resize_short_side(layer, cfg.short_side, cfg.max_upscale), path)
            members[name] = str(path.relative_to(items_dir))
        for name, obj in layers.records.items():
            path = png.with_name(f"{key}.{name}.json")
            with atomic_path(path, overwrite=True) as tmp:  # compact: records can list thousands of elements
                tmp.write_text(json.dumps(obj, separators=(",", ":")) + "\n")
            members[name] = str(path.relative_to(items_dir))
        _save_png(img, png)
        record.update(status="ok", png=str(png.relative_to(items_dir)), width=img.width, height=img.height,
                      source_width=w, source_height=h, phash=f"{phash(img):016x}",
                      **image_stats(np.asarray(img), cfg), **layers.stats)
        if members:
            record["layers"] = members
    except Rejected as rej:
        record.update(status="rejected", reason=rej.reason, detail=rej.detail)
    _write_json(record_path, record)  # last: a record only exists once its PNGs do
    return {**record, "cached": False}


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one image per process: OpenCV's own threads would oversubscribe the cores


# ---------------------------------------------------------------------------------------- whole-set steps


def _claim(dst: Path) -> Path:
    """Make DST ours: new, empty, an inkwash dataset, or an unfinished run; anything else is refused."""
    if dst.exists() and not dst.is_dir():
        raise InkwashError(f"{dst}: exists and is a file; give a new or empty folder as the destination")
    if dst.is_dir() and any(dst.iterdir()):
        ours = (dst / WORK / MARKER).is_file()
        try:
            ours = ours or json.loads((dst / "index.json").read_text()).get("format") == FORMAT
        except (OSError, json.JSONDecodeError, AttributeError):
            pass
        if not ours:
            raise InkwashError(f"{dst}: exists, is not empty and is not an inkwash dataset; "
                               "choose a new or empty folder (nothing was written)")
    work = dst / WORK
    (work / "items").mkdir(parents=True, exist_ok=True)
    _write_json(work / MARKER, {"format": FORMAT, "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    return work


Filter = Callable[[dict], "tuple[str, str] | None"]  # record -> (reason, detail) to reject it, or None to keep


def apply_filters(records: list[dict], cfg: CurateConfig,
                  filters: Iterable[Filter] = ()) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """Split decoded records into kept and rejected (name, reason, detail); duplicates keep the first by name.

    `filters` (a loader's own, e.g. outlines') run after the built-in grayscale and line filters, before duplicates.
    """
    filters = list(filters)
    kept, rejected = [], []
    hashes = np.zeros(len(records), dtype=np.uint64)
    for rec in sorted(records, key=lambda r: r["name"]):
        if rec["status"] != "ok":
            rejected.append((rec["name"], rec["reason"], rec["detail"]))
            continue
        if cfg.grayscale_filter and rec["colour_fraction"] < cfg.min_colour_fraction:
            rejected.append((rec["name"], "grayscale",
                             f"{rec['colour_fraction']:.1%} coloured pixels < {cfg.min_colour_fraction:.1%}"))
            continue
        if cfg.line_filter and rec["line_fraction"] < cfg.min_line_fraction:
            rejected.append((rec["name"], "no-lines",
                             f"{rec['line_fraction']:.2%} outline pixels < {cfg.min_line_fraction:.2%}"))
            continue
        verdict = next((v for v in (f(rec) for f in filters) if v), None)
        if verdict:
            rejected.append((rec["name"], *verdict))
            continue
        h = np.uint64(int(rec["phash"], 16))
        if kept:
            dist = np.bitwise_count(hashes[: len(kept)] ^ h)
            j = int(dist.argmin())
            if dist[j] <= cfg.phash_distance:
                rejected.append((rec["name"], "duplicate", f"of {kept[j]['name']} (Hamming distance {dist[j]})"))
                continue
        hashes[len(kept)] = h
        kept.append(rec)
    return kept, rejected


def _item_ids(names: list[str]) -> dict[str, str]:
    """Ids are names without an image suffix, unless that collides (a.png beside a.jpg): then the full name."""
    def stem(name: str) -> str:
        suffix = Path(name).suffix.lower()
        return name[: -len(suffix)] if suffix in IMAGE_SUFFIXES | {".svg"} else name

    stems = Counter(stem(n) for n in names)
    return {n: (stem(n) if stems[stem(n)] == 1 else n) for n in names}


def write_shards(dst: Path, kept: list[dict], items_dir: Path, sources: dict[str, Source],
                 cfg: CurateConfig, item_keys: Iterable[str] = ()) -> tuple[list[dict], int]:
    """Pack kept PNGs into shards/{split}-NNNNN.tar, each under cfg.shard_mib; returns index items and bytes.

    Each item's layers go in the same shard as its main image; `item_keys` are record measures copied into the item.
    """
    item_keys = tuple(item_keys)
    shard_dir = dst / "shards"
    shard_dir.mkdir(exist_ok=True)
    limit = int(cfg.shard_mib * 2**20)
    ids = _item_ids([r["name"] for r in kept])
    items, written, total = [], set(), 0
    for split in ("train", "test"):
        recs = [r for r in kept if split_of(r["name"], cfg.test_fraction) == split]
        groups: list[list[tuple[dict, bytes]]] = [[]]
        size = 0
        for rec in recs:
            files = {"": (items_dir / rec["png"]).read_bytes()}  # "" = the main image; then the named layers
            files.update({name: (items_dir / rel).read_bytes() for name, rel in rec.get("layers", {}).items()})
            nbytes = sum(len(d) + 1024 for d in files.values())  # 1 KiB: tar header + padding per member
            if groups[-1] and size + nbytes > limit:
                groups.append([])
                size = 0
            groups[-1].append((rec, files))
            size += nbytes
        for n, group in enumerate(g for g in groups if g):
            shard = f"shards/{split}-{n:05d}.tar"
            with atomic_path(dst / shard, overwrite=True) as tmp, tarfile.open(tmp, "w") as tar:
                for rec, files in group:
                    members = {}
                    for name, data in files.items():
                        suffix = Path(rec["png"] if not name else rec["layers"][name]).suffix
                        member = ids[rec["name"]] + (f".{name}" if name else "") + suffix
                        info = tarfile.TarInfo(member)
                        info.size, info.mtime, info.mode = len(data), 0, 0o644  # mtime 0: same data, same bytes
                        tar.addfile(info, io.BytesIO(data))
                        members[name] = member
                    item = {"id": ids[rec["name"]], "split": split, "source": rec["name"],
                            "width": rec["width"], "height": rec["height"], "shard": shard, "member": members.pop(""),
                            **sources[rec["name"]].extra, **{k: rec[k] for k in item_keys if k in rec}}
                    if members:
                        item["layers"] = members
                    items.append(item)
            written.add(shard)
            total += (dst / shard).stat().st_size
    for old in shard_dir.glob("*.tar"):  # shards of an earlier run with more images
        if f"shards/{old.name}" not in written:
            old.unlink()
    return items, total


def _size_line(values: list[int]) -> str:
    if not values:
        return "-"
    return f"min {min(values)}, median {int(np.median(values))}, max {max(values)}"


def write_card(dst: Path, items: list[dict], rejected: Counter, cfg: CurateConfig, *, source: str, licence: str,
               command: str, shard_bytes: int, extra_markdown: str = "", options: dict | None = None) -> None:
    """DATASET.md: where the images come from, their licence, counts, rejections and how to rebuild it."""
    splits = Counter(it["split"] for it in items)
    lines = [
        f"# Dataset card: {dst.name}", "",
        f"Prepared by inkwash ({FORMAT}) on {time.strftime('%Y-%m-%d')}.", "",
        f"- **Source**: {source}",
        f"- **Licence**: {licence}",
        f"- **Command**: `{command}`",
        (f"- **Images kept**: {len(items)} (train {splits['train']}, test {splits['test']}); "
         "the split is a hash of each source path, so the test images stay the same on every rebuild"),
        f"- **Rejected**: {sum(rejected.values())} (reasons below; every file is listed in report.csv)",
        (f"- **Size**: short side {cfg.short_side} px (enlarged at most {cfg.max_upscale:g}x); width "
         f"{_size_line([it['width'] for it in items])}; height {_size_line([it['height'] for it in items])}"),
        f"- **Shards**: {len({it['shard'] for it in items})} tar files of PNGs, {shard_bytes / 2**20:.1f} MiB in all",
        "", "## Rejections", "", "| reason | files | meaning |", "|---|---:|---|",
    ]
    lines += [f"| {r} | {n} | {REASONS.get(r, '')} |" for r, n in rejected.most_common()]
    lines += ["", "## Options", "", "```json", json.dumps({**asdict(cfg), **(options or {})}, indent=1), "```", ""]
    if extra_markdown:
        lines += [extra_markdown.rstrip(), ""]
    with atomic_path(dst / "DATASET.md", overwrite=True) as tmp:
        tmp.write_text("\n".join(lines))


# ------------------------------------------------------------------------------------------------ main thing


def prepare_sources(sources: list[Source], dst: str | Path, cfg: CurateConfig | None = None, *,
                    loader: Callable[[Path, CurateConfig], Image.Image] | None = None, jobs: int = 2,
                    progress: bool = True, source_label: str = "unknown", licence: str = "unknown",
                    command: str = "", extra_meta: dict | None = None,
                    extra_card: Callable[[list[dict]], str] | None = None,
                    keep_work: bool = False, filters: Iterable[Filter] = (), loader_key: str = "",
                    card_options: dict | None = None, item_keys: Iterable[str] = ()) -> PrepareSummary:
    """Curate `sources` into the prepared dataset `dst`; re-running after a kill re-uses finished images.

    A loader may return `Layers` (extra aligned images and JSON records per item, stored as members beside the
    main image); `filters` add reasons of its own; `loader_key` must change whenever the loader's output does;
    `card_options` are extra settings shown in the card and index beside the CurateConfig; `item_keys` are
    record measures copied into each index item.
    """
    cfg = cfg or CurateConfig()
    loader = loader or load_raster
    dst = Path(dst)
    start = time.perf_counter()
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("source names must be unique")
    work = _claim(dst)
    items_dir = work / "items"
    by_name = {s.name: s for s in sources}
    task = functools.partial(process_one, cfg=cfg, loader=loader, items_dir=items_dir, loader_key=loader_key)
    records: list[dict] = []
    # forkserver where there is one: a plain fork after OpenCV's or torch's thread pools have run in this
    # process (any caller that already decoded an image) deadlocks the workers on a lock copied mid-use
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(jobs, initializer=_init_worker) if jobs > 1 else None
    try:
        results: Iterable[dict] = pool.imap_unordered(task, sources, chunksize=4) if pool else map(task, sources)
        with _progress(progress) as bar:
            todo = bar.add_task("curating", total=len(sources))
            for rec in results:
                records.append(rec)
                bar.advance(todo)
    finally:
        if pool:
            pool.terminate()
            pool.join()
    kept, rejected_rows = apply_filters(records, cfg, filters)
    (dst / "index.json").unlink(missing_ok=True)  # shards are rewritten next: never leave a stale index
    items, shard_bytes = write_shards(dst, kept, items_dir, by_name, cfg, item_keys)
    rejected = Counter(reason for _, reason, _ in rejected_rows)
    with atomic_path(dst / "report.csv", overwrite=True) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "reason", "detail"])
        writer.writerows(rejected_rows)
    command = command or "inkwash.data.curate.prepare_sources(...)"
    write_card(dst, items, rejected, cfg, source=source_label, licence=licence, command=command,
               shard_bytes=shard_bytes, extra_markdown=extra_card(items) if extra_card else "",
               options=card_options)
    splits = dict(Counter(it["split"] for it in items))
    index = {"format": FORMAT, "short_side": cfg.short_side, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
             "source": source_label, "licence": licence, "command": command,
             "options": {**asdict(cfg), **(card_options or {})},
             "counts": {"kept": len(items), "splits": splits, "rejected": dict(rejected.most_common())},
             **(extra_meta or {}), "items": items}
    _write_json(dst / "index.json", index)
    if not keep_work:
        shutil.rmtree(work)
    cached = sum(1 for r in records if r["cached"])
    return PrepareSummary(dst=dst, kept=len(items), splits=splits, rejected=rejected,
                          processed=len(records) - cached, cached=cached, shard_bytes=shard_bytes,
                          seconds=time.perf_counter() - start)


def prepare(src: str | Path, dst: str | Path, cfg: CurateConfig | None = None, **kwargs) -> PrepareSummary:
    """Curate every file below the folder `src` into `dst` (see `prepare_sources` for the options)."""
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    if not src.is_dir():
        raise InkwashError(f"{src}: no such folder; give the folder of illustrations to prepare")
    src_r, dst_r = src.resolve(), dst.resolve()
    if dst_r == src_r or src_r in dst_r.parents:
        raise InkwashError(f"{dst}: is inside the source folder {src}; write the dataset somewhere else")
    sources = scan_folder(src)
    if not sources:
        raise InkwashError(f"{src}: no files found; give the folder of illustrations to prepare")
    kwargs.setdefault("source_label", f"folder {src_r}")
    return prepare_sources(sources, dst, cfg, **kwargs)
