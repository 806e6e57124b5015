"""The evaluation driver: colour every test lineart under the thesis' three hint conditions, then score.

Recipe (thesis IV.1.4, IV.2.3.1, IV.3.3.1): each test illustration is resized to `size` on its smaller side and
centre-cropped; its lineart and stroke hints are those of `ColorizationDataset(train=False)` with the given seed
(xDoG with a drawn sigma/threshold mode; PaintsTorch strokes at size/4), so every model sees the same inputs.
On an outline dataset (`inkwash data openclipart-outlines`) `lineart="outline"` gives the models the drawing's
real outlines instead, and `hints="hand"` hand-like scribbles inside its regions instead of random strokes.
Conditions:
  none   no hints at all;
  hints  the synthetic stroke hints (or the hand-like ones);
  full   "full hints": the colour-simplified illustration (thesis IV.3.2.1) as a dense hint map at size/4
         (nearest-neighbour resize, so colours stay the palette's); with real outlines, the drawing's true flats.
Each output is compared with the centre crop (the target): FID over the set, LPIPS / PSNR / SSIM / bleeding /
colour error / paper flood per image, hint fidelity against the hints given. Flat oracles (evaluate/oracle.py:
each region of the lineart painted with its true median colour) are scored like models, as rows of the table.

Everything lands in OUT and is reused on the next run (resume after an interrupt, or add a model):
  OUT/config.json                      the settings the cached work depends on (checked on every run)
  OUT/inputs/NNNNN_{target,lineart,hints,full}.png
  OUT/outputs/MODEL/COND/NNNNN.png     what each model made
  OUT/outputs/MODEL/fingerprint.json   what made them: the model's weights (content hash), its settings and the
                                       pipeline's defaults; when it changes, MODEL's outputs are made and scored anew
  OUT/records/MODEL/COND/NNNNN.json    per-image metrics (LPIPS keyed by its network)
  OUT/features/EXTRACTOR/{target,MODEL/COND}/NNNNN.npy   FID features
  OUT/metrics.csv, OUT/metrics.md, OUT/grid_COND.png
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inkwash.errors import InkwashError
from inkwash.evaluate.conditions import CONDITIONS, HINT_SCHEMES, LINEARTS
from inkwash.evaluate.metrics import MetricConfig, pixel_metrics
from inkwash.evaluate.oracle import ORACLES, closed_regions_available, flat_oracle
from inkwash.io import atomic_path, load_rgb, open_image, save_image

FORMAT = "inkwash-eval/1"
METRICS_VERSION = 2  # bump when a per-image metric's definition changes: cached records are then recomputed
Callback = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class EvalConfig:
    size: int = 512  # thesis IV.1.4: test images centre-cropped to 512x512
    seed: int = 0  # fixes each image's lineart and strokes (and the seed of sampling models)
    conditions: tuple[str, ...] = ("none", "hints", "full")  # thesis IV.3.3.1: the three hint conditions
    split: str = "auto"  # "auto": the test split of a prepared dataset, every image of a plain folder
    limit: int = 0  # evaluate this many images, evenly spaced over the split (0 = all)
    batch_size: int = 8  # images per batch through the metric networks
    grid_rows: int = 4  # images shown in each sample grid (0 = no grids)
    device: str = "auto"  # metric networks: "auto" = cuda when available
    fid_weights: str | None = None  # pytorch-fid's pt_inception-2015-12-05-6726825d.pth; None = offline extractor
    lpips_net: str = "alex"  # "alex" (lpips' default) or "vgg" (the thesis')
    lpips_weights: str | None = None  # torchvision's alexnet-owt-7be5be79.pth / vgg16-397923af.pth; None = offline
    lineart: str = "xdog"  # "xdog" (thesis IV.1.2) or "outline" (an outline dataset's real outlines)
    hints: str = "strokes"  # the "hints" condition: "strokes" (thesis IV.2.2.1) or "hand" (outline datasets)
    oracles: bool = True  # add the flat oracles' rows: how far each method is from a perfect flat fill
    metrics: MetricConfig = field(default_factory=MetricConfig)


@dataclass
class Sample:
    """One test item. target: RGB (S,S); lineart: L (S,S), white paper; hints, full: (S/4,S/4,4) in [0,1]."""

    target: Image.Image
    lineart: Image.Image
    hints: np.ndarray
    full: np.ndarray


# ---------------------------------------------------------------------------------------------- helpers
def slug(name: str) -> str:
    """A model name or path as a folder name: "runs/pt/" -> "runs_pt"."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_.")
    return s or "model"


def _batched(items: Sequence, n: int) -> Iterator[Sequence]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _write_json(path: Path, data) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or torn: the work is redone


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr)


def _load_npy(path: Path) -> np.ndarray | None:
    try:
        return np.load(path)
    except (OSError, ValueError):
        return None


def hint_image(hints: np.ndarray) -> Image.Image:
    """(h,w,4) hints in [0,1] -> RGBA PNG-able image (alpha = mask); exact for 8-bit colours."""
    return Image.fromarray((np.clip(hints, 0, 1) * 255.0 + 0.5).astype(np.uint8), "RGBA")


def hint_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGBA"), np.float32) / 255.0


def to_batch(images: Sequence[Image.Image]) -> torch.Tensor:
    """RGB PIL images of one size -> (B,3,H,W) float32 in [0,1]."""
    arr = np.stack([np.asarray(im.convert("RGB"), np.float32) / 255.0 for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise InkwashError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InkwashError(f"device {device!r} asked for but no CUDA GPU is available; use --device cpu")
    return dev


def _file_tag(path: str | Path, n: int = 8) -> str:
    """Short content hash of a weights file, so caches from another file are never mixed in."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


def model_fingerprint(key: str) -> dict:
    """What a row's outputs depend on: the --model value, the model's files (content hashes: shipped weights, a
    model folder, a .onnx file), the pipeline settings and defaults. Cached outputs with another fingerprint are
    stale (retrained weights, a changed default) and are made again."""
    from inkwash.infer import DEFAULT_SHADING, DEFAULT_UNHINTED, PIPELINE_VERSION, parse_key, resolve_model
    from inkwash.models.serialize import WEIGHTS_DIR

    name, options = parse_key(key)
    spec, weights = resolve_model(name)
    folder = Path(weights) if weights is not None else WEIGHTS_DIR / spec.name
    files = [folder] if folder.is_file() else sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() \
        else []
    return {"model": key, "spec": spec.name, "options": {k: str(v) for k, v in sorted(options.items())},
            "files": {p.name: _file_tag(p, 16) for p in files if p.suffix.lower() != ".md"},
            "pipeline": {"version": PIPELINE_VERSION, "unhinted": DEFAULT_UNHINTED, "shading": DEFAULT_SHADING}}


# ------------------------------------------------------------------------------------------- test set
def open_test_set(data, split: str = "auto"):
    """A prepared dataset or image folder (path), or any store-like object: -> (store, split used or None)."""
    from inkwash.data.store import ImageStore

    if not isinstance(data, (str, Path)):
        return data, None
    root = Path(data)
    if not root.is_dir():
        raise InkwashError(f"{root}: no such folder; give a prepared dataset or a folder of test images")
    if split == "auto":
        split = "test" if (root / "index.json").is_file() else "all"
    store = ImageStore(root, split=None if split == "all" else split)
    return store, split


def pick_indices(n: int, limit: int) -> list[int]:
    """All of range(n), or `limit` indices spread evenly over it (deterministic, covers every category)."""
    if limit <= 0 or limit >= n:
        return list(range(n))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, limit)})


def build_sample(dataset, index: int) -> Sample:
    """The evaluation inputs of item `index` of a ColorizationDataset(train=False).

    Full hints: the colour-simplified target (thesis IV.3.2.1); the true flats when the lineart is the real outline.
    """
    from inkwash.data.dataset import from_tensor
    from inkwash.data.simplify import simplify

    item = dataset[index]
    target = from_tensor(item["illustration"])
    lineart = from_tensor(item["lineart"])
    h = item["hints"].numpy().transpose(1, 2, 0)  # (q,q,4): RGB in [-1,1] (0 off-hint), mask in {0,1}
    m = h[..., 3:]
    rgb = np.round((h[..., :3] + 1.0) / 2.0 * 255.0) / 255.0 * m  # back to the exact 8-bit stroke colours
    hints = np.concatenate([rgb, m], -1).astype(np.float32)
    q = hints.shape[0]
    if dataset.lineart == "outline":
        simplified = from_tensor(item["flats"])
    else:
        simplified = simplify(target, lineart, dataset.simplify_cfg)  # thesis IV.3.2.1: full hints
    small = np.asarray(simplified.resize((q, q), Image.Resampling.NEAREST), np.float32) / 255.0
    full = np.concatenate([small, np.ones((q, q, 1), np.float32)], -1)
    return Sample(target, lineart, hints, full)


# ----------------------------------------------------------------------------------------------- driver
class Evaluation:
    """One evaluation folder: `Evaluation(data, ["lazybrush"], "report/").run()` -> rows of metrics.

    data: prepared dataset / image folder path, or a store-like object (len, [i] -> RGB PIL).
    """

    def __init__(self, data, models: Sequence[str], out: str | Path, cfg: EvalConfig | None = None):
        from inkwash.data.dataset import ColorizationDataset, has_outlines
        from inkwash.infer import Colorizer

        self.cfg = cfg = cfg or EvalConfig()
        if not models:
            raise InkwashError("give at least one model to evaluate (--model lazybrush)")
        bad = [c for c in cfg.conditions if c not in CONDITIONS]
        if bad or not cfg.conditions:
            raise InkwashError(f"unknown condition {bad[0] if bad else '(none)'!r}; "
                               f"use some of {', '.join(CONDITIONS)}")
        if cfg.size < 16 or cfg.size % 4:
            raise InkwashError(f"--size {cfg.size}: must be a multiple of 4 and at least 16 "
                               "(hints are drawn at size/4)")
        if cfg.batch_size < 1:
            raise InkwashError(f"--batch-size {cfg.batch_size}: must be at least 1")
        if cfg.lineart not in LINEARTS:
            raise InkwashError(f"--lineart {cfg.lineart}: use one of {', '.join(LINEARTS)}")
        if cfg.hints not in HINT_SCHEMES:
            raise InkwashError(f"--hints {cfg.hints}: use one of {', '.join(HINT_SCHEMES)}")
        for what, path in (("--fid-weights", cfg.fid_weights), ("--lpips-weights", cfg.lpips_weights)):
            if path and not Path(path).is_file():
                raise InkwashError(f"{what} {path}: no such file")
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise InkwashError(f"{self.out}: exists and is not a folder; give a folder to -o")
        self.data_name = str(Path(data).resolve()) if isinstance(data, (str, Path)) else type(data).__name__
        self.store, self.split = open_test_set(data, cfg.split)
        if len(self.store) == 0:
            raise InkwashError(f"{data}: no test images")
        self.indices = pick_indices(len(self.store), cfg.limit)
        outline = cfg.lineart == "outline"
        if (outline or cfg.hints == "hand") and not has_outlines(self.store):
            raise InkwashError(f"{data}: --lineart outline and --hints hand need an outline dataset; build one with "
                               "`inkwash data openclipart-outlines DST`, or evaluate with --lineart xdog "
                               "--hints strokes")
        self.dataset = ColorizationDataset(self.store, size=cfg.size, train=False, hints=cfg.hints, seed=cfg.seed,
                                           lineart=cfg.lineart, with_flats=outline)
        self.models = {slug(m): m for m in dict.fromkeys(models)}
        if len(self.models) != len(dict.fromkeys(models)):
            raise InkwashError("two --model values map to the same folder name; rename one of them")
        if any(s in ORACLES for s in self.models):
            raise InkwashError(f"model names {', '.join(ORACLES)} are the oracles' rows; rename the model folder")
        # a model may carry pipeline settings: "lazybrush:unhinted=paper", "paintstorch:lock=false"
        self.colorizers = {s: Colorizer.from_key(m) for s, m in self.models.items()}  # fail before work
        self.notes: list[str] = []
        if cfg.oracles:
            self.models["oracle-flat"] = ORACLES["oracle-flat"]
            if closed_regions_available():
                self.models["oracle-flat-closed"] = ORACLES["oracle-flat-closed"]
            else:
                self.notes.append("the gap-closed flat oracle needs the region engine (inkwash.regions), "
                                  "which this checkout lacks: its row is missing")
        self.device = resolve_device(cfg.device)
        self._fid = self._lpips = None
        self.fingerprints = {s: model_fingerprint(m) for s, m in self.models.items() if s in self.colorizers}
        from inkwash.infer import PIPELINE_VERSION

        # the gap-closed oracle's regions are the region engine's: they change with it
        self.fingerprints.update({s: {"oracle": s, "pipeline": {"version": PIPELINE_VERSION}}
                                  for s in self.models if s in ORACLES})

    # ------------------------------------------------------------------------------------------ paths
    def _input(self, k: int, kind: str) -> Path:
        return self.out / "inputs" / f"{k:05d}_{kind}.png"

    def _output(self, model: str, cond: str, k: int) -> Path:
        return self.out / "outputs" / model / cond / f"{k:05d}.png"

    def _record(self, model: str, cond: str, k: int) -> Path:
        return self.out / "records" / model / cond / f"{k:05d}.json"

    def _feature(self, who: str, k: int) -> Path:
        return self.out / "features" / self.fid.key / who / f"{k:05d}.npy"

    # ------------------------------------------------------------------------------------- networks
    @property
    def fid(self):
        if self._fid is None:
            from inkwash.evaluate.fid import build_fid_extractor

            self._fid = build_fid_extractor(self.cfg.fid_weights).to(self.device)
            if self.cfg.fid_weights:
                self._fid.key = f"{self._fid.key}-{_file_tag(self.cfg.fid_weights)}"
        return self._fid

    @property
    def lpips(self):
        if self._lpips is None:
            from inkwash.evaluate.lpips import build_lpips

            self._lpips = build_lpips(self.cfg.lpips_net, self.cfg.lpips_weights).to(self.device)
            if self.cfg.lpips_weights:
                self._lpips.key = f"{self._lpips.key}-{_file_tag(self.cfg.lpips_weights)}"
        return self._lpips

    # --------------------------------------------------------------------------------------- stages
    def check_folder(self) -> None:
        """Create OUT/config.json, or refuse when OUT holds work made with other settings."""
        settings = {
            "format": FORMAT, "data": self.data_name, "split": self.split, "size": self.cfg.size,
            "seed": self.cfg.seed, "metrics": asdict(self.cfg.metrics), "metrics_version": METRICS_VERSION,
            "lineart": self.cfg.lineart, "hints": self.cfg.hints,
            "images": [str(self.store.items[i]["id"]) if hasattr(self.store, "items") else str(i)
                       for i in self.indices],
        }
        path = self.out / "config.json"
        if path.exists():
            old = _read_json(path)
            if not isinstance(old, dict) or old.get("format") != FORMAT:
                raise InkwashError(f"{path}: not an inkwash evaluation; choose another -o folder")
            diff = [k for k in settings if old.get(k) != settings[k]]
            if diff:
                raise InkwashError(f"{self.out}: holds an evaluation with other settings ({', '.join(diff)} differ); "
                                   "choose another -o folder to start a new one")
            return
        if self.out.is_dir() and any(self.out.iterdir()):
            raise InkwashError(f"{self.out}: folder is not empty and is no inkwash evaluation; choose another -o")
        _write_json(path, settings)

    def sample(self, k: int) -> Sample:
        """Test item k (0..n-1) from OUT/inputs, building and saving it first if needed."""
        paths = {kind: self._input(k, kind) for kind in ("target", "lineart", "hints", "full")}
        if all(p.is_file() for p in paths.values()):
            try:
                return Sample(load_rgb(paths["target"]), open_image(paths["lineart"]).convert("L"),
                              hint_array(open_image(paths["hints"])), hint_array(open_image(paths["full"])))
            except InkwashError:
                pass  # a torn file: rebuild below
        s = build_sample(self.dataset, self.indices[k])
        save_image(s.target, paths["target"], overwrite=True)
        save_image(s.lineart, paths["lineart"], overwrite=True)
        save_image(hint_image(s.hints), paths["hints"], overwrite=True)
        save_image(hint_image(s.full), paths["full"], overwrite=True)
        return s

    def drop_stale(self) -> None:
        """Forget the cached outputs, scores and features of every model whose fingerprint changed (or was never
        written: work from an older inkwash), and record the current fingerprints."""
        import shutil

        for model, fp in self.fingerprints.items():
            path = self.out / "outputs" / model / "fingerprint.json"
            if _read_json(path) == fp:
                continue
            folders = [self.out / "outputs" / model, self.out / "records" / model]
            folders += [f / model for f in (self.out / "features").glob("*") if f.is_dir()]
            if any(f.exists() for f in folders):
                self.notes.append(f"{self.models[model]}: its weights, settings or the pipeline's defaults changed "
                                  "since its cached outputs; they were made and scored anew")
                for f in folders:
                    shutil.rmtree(f, ignore_errors=True)
            _write_json(path, fp)

    def prepare_inputs(self, callback: Callback | None = None) -> None:
        n = len(self.indices)
        for k in range(n):
            self.sample(k)
            if callback:
                callback("inputs", k + 1, n)

    @torch.inference_mode()
    def target_features(self, callback: Callback | None = None) -> np.ndarray:
        """FID features of every target: (N,D), cached per image."""
        n = len(self.indices)
        todo = [k for k in range(n) if _load_npy(self._feature("target", k)) is None]
        done = n - len(todo)
        for chunk in _batched(todo, self.cfg.batch_size):
            feats = self.fid(to_batch([self.sample(k).target for k in chunk]).to(self.device)).float().cpu().numpy()
            for k, f in zip(chunk, feats):
                _save_npy(self._feature("target", k), f)
            done += len(chunk)
            if callback:
                callback("target features", done, n)
        return np.stack([np.load(self._feature("target", k)) for k in range(n)])

    def _hints_for(self, s: Sample, cond: str) -> np.ndarray | None:
        return {"none": None, "hints": s.hints, "full": s.full}[cond]

    def _done(self, model: str, cond: str, k: int) -> bool:
        rec = _read_json(self._record(model, cond, k))
        return (isinstance(rec, dict) and rec.get("v") == METRICS_VERSION and self.lpips.key in rec.get("lpips", {})
                and self._output(model, cond, k).is_file() and self._feature(f"{model}/{cond}", k).is_file())

    @torch.inference_mode()
    def run_condition(self, model: str, cond: str, callback: Callback | None = None) -> None:
        """Colour every lineart of one (model, condition) not done yet, and score it."""
        n = len(self.indices)
        stage = f"{self.models[model]} / {CONDITIONS[cond]}"
        todo = [k for k in range(n) if not self._done(model, cond, k)]
        done = n - len(todo)
        if callback:
            callback(stage, done, n)
        colorizer = self.colorizers.get(model)
        for chunk in _batched(todo, self.cfg.batch_size):
            samples, outputs = [self.sample(k) for k in chunk], []
            for k, s in zip(chunk, samples):
                path = self._output(model, cond, k)
                out = None
                if path.is_file():
                    try:
                        out = load_rgb(path)
                    except InkwashError:
                        out = None
                if out is None:
                    if colorizer is None:  # an oracle: it reads the target, not the hints
                        out = flat_oracle(s.target, s.lineart, closed=model == "oracle-flat-closed")
                    else:
                        out = colorizer.colorize(s.lineart, hints=self._hints_for(s, cond), seed=self.cfg.seed + k)
                    if out.size != s.target.size:
                        raise InkwashError(f"model {self.models[model]} returned {out.size[0]}x{out.size[1]} for a "
                                           f"{s.target.size[0]}x{s.target.size[1]} lineart")
                    save_image(out, path, overwrite=True)
                outputs.append(out)
            x_out, x_tgt = to_batch(outputs).to(self.device), to_batch([s.target for s in samples]).to(self.device)
            lp = self.lpips(x_out * 2 - 1, x_tgt * 2 - 1).float().cpu().numpy()
            feats = self.fid(x_out).float().cpu().numpy()
            for i, (k, s, out) in enumerate(zip(chunk, samples, outputs)):
                rec = _read_json(self._record(model, cond, k))
                if not isinstance(rec, dict) or rec.get("v") != METRICS_VERSION:
                    rec = pixel_metrics(np.asarray(out, np.float32) / 255.0, np.asarray(s.target, np.float32) / 255.0,
                                        np.asarray(s.lineart, np.float32) / 255.0, self._hints_for(s, cond),
                                        self.cfg.metrics)
                    rec["v"], rec["lpips"] = METRICS_VERSION, {}
                rec["lpips"][self.lpips.key] = float(lp[i])
                _save_npy(self._feature(f"{model}/{cond}", k), feats[i])
                _write_json(self._record(model, cond, k), rec)
                done += 1
                if callback:
                    callback(stage, done, n)

    def summarize(self, target_feats: np.ndarray) -> list[dict]:
        """One row per (model, condition): n_images, fid, lpips, psnr, ssim, hint_de2000, bleeding, de2000,
        paper_flood."""
        from inkwash.evaluate.fid import fid_from_features

        rows = []
        n = len(self.indices)
        for model, name in self.models.items():
            for cond in self.cfg.conditions:
                recs = [_read_json(self._record(model, cond, k)) for k in range(n)]
                feats = np.stack([np.load(self._feature(f"{model}/{cond}", k)) for k in range(n)])
                row = {"model": name, "condition": cond, "n_images": n,
                       "fid": fid_from_features(target_feats, feats) if n >= 2 else float("nan"),
                       "lpips": float(np.mean([r["lpips"][self.lpips.key] for r in recs]))}
                for key in ("psnr", "ssim", "hint_de2000", "bleeding", "de2000", "paper_flood"):
                    vals = np.array([r[key] for r in recs], np.float64)
                    vals = vals[~np.isnan(vals)]
                    row[key] = float(vals.mean()) if vals.size else float("nan")
                rows.append(row)
        return rows

    def run(self, callback: Callback | None = None) -> list[dict]:
        """Every stage, resumable; writes metrics.csv, metrics.md and the grids; returns the rows."""
        from inkwash.evaluate.report import write_csv, write_grids, write_markdown

        self.check_folder()
        self.drop_stale()
        _ = (self.fid, self.lpips)  # build the metric networks outside inference mode, before any work
        self.prepare_inputs(callback)
        target_feats = self.target_features(callback)
        for model in self.models:
            for cond in self.cfg.conditions:
                self.run_condition(model, cond, callback)
        rows = self.summarize(target_feats)
        info = {
            "data": self.data_name, "split": self.split, "n_images": len(self.indices), "size": self.cfg.size,
            "seed": self.cfg.seed, "fid": self.fid.name, "lpips": self.lpips.name, "limit": self.cfg.limit,
            "conditions": list(self.cfg.conditions), "metrics": asdict(self.cfg.metrics),
            "lineart": self.cfg.lineart, "hints": self.cfg.hints, "notes": list(self.notes),
        }
        write_csv(rows, self.out / "metrics.csv", info)
        write_markdown(rows, self.out / "metrics.md", info)
        if self.cfg.grid_rows > 0:
            write_grids(self, min(self.cfg.grid_rows, len(self.indices)))
        return rows


def evaluate(data, models: Sequence[str], out: str | Path, cfg: EvalConfig | None = None,
             callback: Callback | None = None) -> list[dict]:
    """Evaluate models on a test set into folder `out` (see module docstring); returns the metric rows."""
    return Evaluation(data, models, out, cfg).run(callback)
