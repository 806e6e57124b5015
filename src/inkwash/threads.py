"""How many threads inkwash computes with, and how they wait: set before torch (or onnxruntime) loads.

PyTorch's OpenMP threads spin while they wait for work. On a shared 2-core machine that made the shipped
PaintsTorch 4.5-7x slower per colorize, and 2 threads up to 22x slower than 1 under load (see bench/RESULTS.md),
so every entry point that may load torch calls `configure` first: threads wait passively unless the user chose a
policy (OMP_WAIT_POLICY in the environment wins), and `--threads N` caps torch, OpenCV and onnxruntime alike.
"""

from __future__ import annotations

import os
import sys

_threads: int | None = None


def configure(threads: int | None = None) -> None:
    """Passive OpenMP waiting (unless OMP_WAIT_POLICY is set) and, with `threads`, that many compute threads."""
    global _threads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads is None:
        return
    if threads < 1:
        from inkwash.errors import InkwashError

        raise InkwashError(f"--threads {threads}: give 1 or more")
    _threads = int(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # torch reads it when it loads
    if "torch" in sys.modules:  # loaded already: tell it directly
        sys.modules["torch"].set_num_threads(threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)


def threads() -> int | None:
    """The thread count asked for with `configure`, or None (the libraries' own default)."""
    return _threads


__all__ = ["configure", "threads"]
