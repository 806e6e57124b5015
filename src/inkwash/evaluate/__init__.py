"""Evaluation: FID, LPIPS, hint fidelity, bleeding, PSNR and SSIM under the thesis' three hint conditions.

    from inkwash.evaluate import evaluate
    rows = evaluate("data/illus", ["lazybrush"], "report/")   # same as `inkwash evaluate --data ... -o report/`

Submodules: `fid` (Frechet distance, Inception-v3 loader, offline extractor), `lpips` (LPIPS v0.1 on a
pluggable backbone), `metrics` (per-image metrics), `oracle` (flat oracles), `conditions` (hint conditions and
schemes, lineart sources), `run` (the resumable driver), `report` (CSV, Markdown, grids).
"""

from inkwash.evaluate.conditions import CONDITIONS
from inkwash.evaluate.run import EvalConfig, Evaluation, evaluate

__all__ = ["CONDITIONS", "EvalConfig", "Evaluation", "evaluate"]
