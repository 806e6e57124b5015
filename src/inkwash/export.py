"""ONNX export of the PaintsTorch-family generators, checked against PyTorch, and torch-free inference.

    inkwash export --model paintstorch -o paintstorch.onnx                 # + paintstorch.json beside it
    inkwash export --model paintstorch -o site/model.onnx --page site      # + a standalone browser page

The exported graph is G1 with its F1 and the value-range conversions folded in, so a caller needs no
knowledge of training conventions:

    lineart (1,1,H,W) in [0,1] (1 = paper), hints (1,4,H/4,W/4): RGB in [0,1] + mask in {0,1}
        -> colour (1,3,H,W) in [0,1];      H, W: any multiples of 16 (dynamic)

`OnnxColorizer("paintstorch.onnx")` runs it with onnxruntime (inkwash.models.onnx) through the same pipeline as
every model (inkwash.canvas: working size, paper padding, hint downsampling; inkwash.infer: crisp lines multiplied
over, flat layer): colouring without torch installed. The browser page (static/onnx-engine.js) reimplements the
same steps in JavaScript.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from inkwash import __version__
from inkwash.errors import InkwashError
from inkwash.infer import Colorizer, Settings
from inkwash.io import atomic_path
from inkwash.models import registry
from inkwash.models.onnx import HINT_SCALE, MULTIPLE, OnnxModel, ort, sidecar_path

OPSET = 18  # the torch.export-based exporter's native opset; onnxruntime(-web) 1.18+ run it
DEFAULT_CHECKS = ((256, 256), (320, 192))  # (H, W): square and portrait, both multiples of 16
PAGE_FILES = ("app.js", "onnx-engine.js", "style.css", "paint.js", "view.js", "regions.js", "palette.js",
              "palette-ui.js", "store.js", "prefs.js", "jobs.js", "hints-doc.js", "engine-server.js", "reference-ui.js")
VENDOR_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "LICENSE")


# ---------------------------------------------------------------------------------------------- helpers
def static_files():
    """The web app's static folder inside the installed package (no import of the app itself)."""
    from importlib.resources import files

    return files("inkwash") / "app" / "static"


def check_inputs(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A lineart-like input and sparse stroke hints in the graph's contract, for comparing runtimes.

    -> lineart (1,1,h,w) float32 in [0,1] (paper with dark rings), hints (1,4,h/4,w/4) (a few coloured blobs).
    """
    import cv2

    rng = np.random.default_rng(seed)
    lines = np.ones((h, w), np.float32)
    for _ in range(6):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(lines, centre, int(rng.integers(4, max(5, min(h, w) // 2))), 0.0, 2, cv2.LINE_AA)
    hints = np.zeros((4, h // HINT_SCALE, w // HINT_SCALE), np.float32)
    for _ in range(5):
        y, x = int(rng.integers(0, h // HINT_SCALE)), int(rng.integers(0, w // HINT_SCALE))
        hints[:3, y:y + 3, x:x + 3] = rng.random(3, dtype=np.float32)[:, None, None]
        hints[3, y:y + 3, x:x + 3] = 1.0
    return lines[None, None], hints[None]


# ---------------------------------------------------------------------------------------------- export
def exportable(g1, f1):
    """G1 + F1 wrapped as f(lineart in [0,1], hints in [0,1]) -> colour in [0,1] (see the module docstring)."""
    import torch

    class ExportedGenerator(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.g1, self.f1 = g1, f1

        def forward(self, lineart: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
            x = lineart * 2.0 - 1.0  # (1,1,H,W) in [-1,1]
            rgb, mask = hints[:, :3], hints[:, 3:]
            h = torch.cat([(rgb * 2.0 - 1.0) * mask, mask], 1)  # as in training: 0 where unhinted
            return (self.g1(x, h, self.f1(x)) + 1.0) / 2.0  # (1,3,H,W) in [0,1]

    return ExportedGenerator().eval()


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter narrates its passes on stdout and warns about torchvision ops we never use."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def _torch_export(module, path: Path, opset: int, exporter: str) -> None:
    import torch

    x, h = (torch.from_numpy(a) for a in check_inputs(64, 48))
    names = {"input_names": ["lineart", "hints"], "output_names": ["colour"], "opset_version": opset}
    with _quiet_exporter():
        if exporter == "dynamo":
            from torch.export import Dim

            kh, kw = Dim("h16", min=1, max=1024), Dim("w16", min=1, max=1024)  # H = 16*kh, W = 16*kw
            shapes = {"lineart": {2: MULTIPLE * kh, 3: MULTIPLE * kw},
                      "hints": {2: (MULTIPLE // HINT_SCALE) * kh, 3: (MULTIPLE // HINT_SCALE) * kw}}
            torch.onnx.export(module, (x, h), str(path), dynamo=True, external_data=False,
                              dynamic_shapes=shapes, **names)
        elif exporter == "legacy":
            axes = {"lineart": {2: "H", 3: "W"}, "hints": {2: "H/4", 3: "W/4"}, "colour": {2: "H", 3: "W"}}
            torch.onnx.export(module, (x, h), str(path), dynamo=False, dynamic_axes=axes, **names)
        else:
            raise InkwashError(f"exporter {exporter!r}: use 'dynamo' (default) or 'legacy' (TorchScript)")


def compare(path: Path, module, sizes: Sequence[tuple[int, int]], seed: int = 0) -> list[tuple[int, int, float]]:
    """Run the ONNX file (onnxruntime, CPU) and the torch module on the same inputs -> (H, W, max |diff|)."""
    import torch

    session = ort().InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = []
    for h, w in sizes:
        lineart, hints = check_inputs(h, w, seed)
        with torch.inference_mode():
            ref = module(torch.from_numpy(lineart), torch.from_numpy(hints)).numpy()
        got = session.run(["colour"], {"lineart": lineart, "hints": hints})[0]
        if got.shape != ref.shape:
            raise InkwashError(f"ONNX output {got.shape} differs from torch's {ref.shape} at {h}x{w}")
        rows.append((h, w, float(np.abs(got - ref).max())))
    return rows


@dataclass
class ExportReport:
    """What `export_onnx` wrote and how close onnxruntime came to PyTorch."""

    path: Path
    sidecar: Path
    checks: list[tuple[int, int, float]] = field(default_factory=list)  # (H, W, max abs diff)
    seconds: float = 0.0

    @property
    def max_abs_diff(self) -> float:
        return max((d for _, _, d in self.checks), default=0.0)


def export_onnx(model: str, out: str | Path, check_sizes: Sequence[tuple[int, int]] = DEFAULT_CHECKS,
                opset: int = OPSET, exporter: str = "dynamo", atol: float = 1e-3, overwrite: bool = False,
                **options: Any) -> ExportReport:
    """Export a PaintsTorch/AlacGAN model (name or run folder) to ONNX with dynamic H/W and check it.

    Writes OUT (a single file, weights inline, settings in its metadata) and OUT.json beside it; raises
    InkwashError, writing nothing, if onnxruntime differs from torch by more than `atol` at any check size.
    """
    import onnx

    out = Path(out)
    sidecar = sidecar_path(out)
    if out.suffix.lower() != ".onnx":
        raise InkwashError(f"{out}: give an output name ending in .onnx")
    for p in (out, sidecar):
        if p.exists() and not overwrite:
            raise InkwashError(f"{p}: already exists; pass --overwrite to replace it")
    if opset < 17:
        raise InkwashError(f"opset {opset}: use 17 or newer")
    for h, w in check_sizes:
        if h <= 0 or w <= 0 or h % MULTIPLE or w % MULTIPLE:
            raise InkwashError(f"check size {h}x{w}: height and width must be positive multiples of {MULTIPLE}")
    t0 = time.perf_counter()
    colorizer = Colorizer.from_pretrained(model, **options)
    backend = colorizer.model
    if not colorizer.spec.capabilities.exportable:
        able = ", ".join(n for n in registry.names() if registry.get(n).capabilities.exportable)
        raise InkwashError(f"model {colorizer.name!r} cannot be exported to ONNX; export works for {able} "
                           "(or a model folder of one)")
    module = exportable(backend.g1, backend.f1)
    meta = {"model": "onnx", "source_model": colorizer.name, "source": str(model), "inkwash": __version__,
            "resolution": backend.resolution, "multiple": MULTIPLE, "hint_scale": HINT_SCALE, "opset": opset,
            "inputs": {"lineart": "(1,1,H,W) float32 in [0,1], 1 = paper",
                       "hints": "(1,4,H/4,W/4) float32: RGB in [0,1] + mask in {0,1}"},
            "outputs": {"colour": "(1,3,H,W) float32 in [0,1]"}}
    with atomic_path(out, overwrite=overwrite) as tmp:
        try:
            _torch_export(module, tmp, opset, exporter)
        except InkwashError:
            raise
        except Exception as exc:  # the exporter's own failures are long; the first line says what broke
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InkwashError(f"ONNX export failed ({first}); try --exporter legacy") from exc
        checks = compare(tmp, module, check_sizes)
        worst = max((d for _, _, d in checks), default=0.0)
        if worst > atol:
            raise InkwashError(f"onnxruntime differs from torch by {worst:.2e} (> {atol:g}); not written")
        meta["max_abs_diff"] = {f"{h}x{w}": d for h, w, d in checks}
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, {"inkwash": json.dumps(meta)})
        proto.producer_name = "inkwash"
        onnx.save(proto, str(tmp))
    with atomic_path(sidecar, overwrite=True) as tmp:
        tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return ExportReport(out, sidecar, checks, time.perf_counter() - t0)


def write_page(folder: str | Path, onnx_path: str | Path, overwrite: bool = False) -> Path:
    """A standalone site: the colouring page running `onnx_path` in the browser, nothing fetched elsewhere.

    FOLDER gets index.html, the page's scripts, onnxruntime-web (vendor/) and model.onnx + model.json;
    serve it with any static file server (python -m http.server -d FOLDER) and open it.
    """
    from importlib.resources import as_file

    folder, onnx_path = Path(folder), Path(onnx_path)
    index = folder / "index.html"
    if index.exists() and not overwrite:
        raise InkwashError(f"{index}: already exists; pass --overwrite to replace the page")
    with as_file(static_files()) as static:
        missing = [f for f in VENDOR_FILES if not (static / "vendor" / f).is_file()]
        if missing:
            raise InkwashError(f"this install lacks onnxruntime-web ({', '.join(missing)} in {static / 'vendor'}); "
                               "run `npm ci && npm run vendor` in web/")
        (folder / "vendor").mkdir(parents=True, exist_ok=True)
        for name in VENDOR_FILES:
            shutil.copyfile(static / "vendor" / name, folder / "vendor" / name)
        for name in PAGE_FILES:
            shutil.copyfile(static / name, folder / name)
        # the page loads model.onnx (+ model.json) beside it only where it is told to: the copy the server offers
        # has no model beside it
        page = (static / "onnx.html").read_text(encoding="utf-8")
        marked = page.replace('<body data-engine="onnx">', '<body data-engine="onnx" data-model="model.onnx">', 1)
        index.write_text(marked, encoding="utf-8")
    if onnx_path.resolve() != (folder / "model.onnx").resolve():
        shutil.copyfile(onnx_path, folder / "model.onnx")
    if sidecar_path(onnx_path).resolve() != (folder / "model.json").resolve():
        shutil.copyfile(sidecar_path(onnx_path), folder / "model.json")
    return index


# ------------------------------------------------------------------------------------- torch-free use
class OnnxColorizer(Colorizer):
    """`Colorizer` over an exported .onnx file: OnnxColorizer("model.onnx").colorize(lineart, hints)."""

    def __init__(self, path: str | Path, settings: Settings | None = None, **options: Any):
        super().__init__(registry.get("onnx").open(path, **options), settings=settings)


__all__ = ["export_onnx", "compare", "exportable", "write_page", "ExportReport", "OnnxModel", "OnnxColorizer",
           "check_inputs", "sidecar_path", "static_files"]
