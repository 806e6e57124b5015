"""An exported generator run by onnxruntime: the model stage of `inkwash.infer.Colorizer` without torch.

The graph (written by `inkwash export`, see inkwash.export) takes lineart (1,1,H,W) in [0,1] and hints
(1,4,H/4,W/4) RGB in [0,1] + mask, and gives colour (1,3,H,W) in [0,1]; the canvas around it (working size,
paper padding, hint reduction, the way back) is inkwash.canvas, the same as for the torch models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from inkwash.canvas import Canvas
from inkwash.errors import InkwashError

MULTIPLE = 16  # F1 and the U-Net downsample 16x: H and W must divide by it
HINT_SCALE = 4  # hints live at a quarter of the image size (thesis IV.2)


def ort():
    """onnxruntime, or an InkwashError saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise InkwashError("onnxruntime is not installed; pip install 'inkwash[onnx]'") from None
    return onnxruntime


def sidecar_path(onnx_path: str | Path) -> Path:
    """model.onnx -> model.json: the settings the page and `Colorizer.from_pretrained` read."""
    return Path(onnx_path).with_suffix(".json")


class OnnxModel:
    """An exported PaintsTorch-family generator for `Colorizer`, run by onnxruntime on the CPU (or CUDA).

    weights: the .onnx file (or a folder holding model.onnx). resolution: working short side (default: the
    training size recorded in the file's metadata). threads: onnxruntime intra-op threads (0 = its default).
    """

    multiple, hint_scale, paints_lines = MULTIPLE, HINT_SCALE, True
    proposes = True  # a learned colour: the pipeline locks it to the regions unless told not to

    def __init__(self, weights: str | Path | None, resolution: int | None = None, lines_over: bool = True,
                 device: str = "cpu", providers: Sequence[str] | None = None, threads: int = 0):
        if weights is None:
            raise InkwashError("an ONNX model is a file: give its path (made by inkwash export)")
        path = Path(weights)
        if path.is_dir() or path.suffix.lower() != ".onnx":
            path = path / "model.onnx" if path.is_dir() else path.with_suffix(".onnx")
        if not path.is_file():
            raise InkwashError(f"{path}: no such ONNX file; make one with inkwash export --model NAME -o {path}")
        rt = ort()
        if providers is None:  # device as for the torch models: "cuda" uses CUDA when this onnxruntime has it
            providers = (["CUDAExecutionProvider"] if device.startswith("cuda") else []) + ["CPUExecutionProvider"]
            providers = [p for p in providers if p in rt.get_available_providers()]
        from inkwash.threads import threads as asked

        opts = rt.SessionOptions()
        opts.intra_op_num_threads = int(threads or asked() or 0)  # 0: onnxruntime's default, one per core
        try:
            self.session = rt.InferenceSession(str(path), opts, providers=list(providers))
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for bad files
            raise InkwashError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map.get("inkwash")
        self.meta = json.loads(meta) if meta else {}
        self.resolution = int(resolution or self.meta.get("resolution", 512))
        if self.resolution < MULTIPLE:
            raise InkwashError(f"resolution {self.resolution}: must be at least {MULTIPLE} px")
        self.lines_over = bool(lines_over)
        self.source = self.meta.get("source_model", "onnx")

    def run(self, canvas: Canvas, seed: int | None = None) -> np.ndarray:
        """canvas.lines (h,w), canvas.hints (h/4,w/4,4) -> colour (h,w,3) float32 in [0,1]."""
        feeds = {"lineart": np.ascontiguousarray(canvas.lines, np.float32)[None, None],
                 "hints": np.ascontiguousarray(canvas.hints.transpose(2, 0, 1), np.float32)[None]}
        y = self.session.run(["colour"], feeds)[0][0].transpose(1, 2, 0)
        return np.clip(y, 0.0, 1.0).astype(np.float32)


__all__ = ["OnnxModel", "ort", "sidecar_path", "MULTIPLE", "HINT_SCALE"]
