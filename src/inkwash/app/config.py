"""What the colouring server offers and accepts, and the limits that keep it up under load and hostile clients."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from inkwash.models.registry import DEFAULT as DEFAULT_MODEL
from inkwash.webguard import LOOPBACK_HOSTS  # noqa: E402  (one list for the app and the study server)


def cpu_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the whole machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_memory() -> int | None:
    """Bytes of RAM, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


@dataclass
class ServerConfig:
    """What the server offers and accepts. Defaults suit one artist on their own machine."""

    default_model: str = DEFAULT_MODEL  # a registered name or a run folder given on the command line
    models: tuple[str, ...] | None = None  # offered keys; None = the default plus every registered name
    max_upload_bytes: int = 25 * 2**20  # whole request body: a 4096x4096 RGBA PNG of strokes stays well below
    max_pixels: int = 4096 * 4096  # per image, checked before decoding (decompression bombs)
    device: str = "cpu"
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> Colorizer options
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # ("*",) when serving beyond this machine on purpose

    # ---- load: a pool of model workers behind a queue bounded by memory
    workers: int | None = None  # model calls at once; None = one per core on CPU (1 torch thread each), 2 on a GPU
    max_queue_bytes: int | None = None  # estimated memory of admitted requests; None = RAM / 4, at most 4 GiB
    max_queue: int | None = None  # optional cap on requests admitted beyond the workers; None = memory decides
    # peak memory of one colorize (decode, prepare, model, finish, PNG) per lineart pixel: 100-130 B measured for
    # lazybrush and paintstorch at 1-4 MP (NOTES-serve.md); other images count 16 B per pixel (decoded + resized)
    bytes_per_pixel: int = 160
    request_bytes: int = 32 * 2**20  # per request whatever its size: the model's activations at its working size

    # ---- slow and stalled clients
    body_timeout_s: float = 60.0  # a request body must arrive within this (25 MiB at 3.5 Mbit/s), else 408 + close
    head_timeout_s: float = 10.0  # `serve`: a connection must send its request head within this, else it is closed
    keep_alive_s: int = 5  # `serve`: an idle keep-alive connection is closed after this (uvicorn's default)

    # ---- stroke documents (hints_json): checked before anything is drawn
    max_json_bytes: int = 4 * 2**20  # 100k points of [x, y] fit in about 2 MiB
    max_json_depth: int = 16  # a stroke document nests 5 deep; JSON nested deeper is refused before parsing
    max_strokes: int = 20_000  # a long session of page strokes, or hints_to_json of a busy 2K painting
    max_points: int = 100_000  # drawing costs about 12 us per point (joints): about 1.2 s at the limit
    max_stroke_area: float = 32.0  # painted area (length x width + caps) over the picture's area: 32 coats


__all__ = ["ServerConfig", "LOOPBACK_HOSTS", "cpu_cores", "physical_memory"]
