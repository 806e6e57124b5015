"""The server's model workers: every offered model loaded once, a pool of threads running colorizes in arrival
order, a queue bounded by the memory its requests are estimated to need, and an input pool that decodes and
draws off the event loop.

    pool = ModelWorker(config)
    async with pool.admit(pool.estimate(lineart_px, other_px)):     # 503 busy + Retry-After when full
        inputs = await pool.in_thread(prepare_request, uploads, doc, config)
        layers, waited = await pool.run(request, lambda: slot.call(colorize))

Threads, not processes: torch, OpenCV, Pillow and NumPy release the GIL in their kernels, models are shared by
every worker (one copy of the weights) and run under inference_mode; a model whose instance says
`thread_safe = False` is called by one worker at a time. Each worker computes with the process' torch thread
count, which `serve` sets to cores / workers (1 by default): on CPU that gives the most colorizes per second.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from inkwash.app.config import ServerConfig, cpu_cores, physical_memory
from inkwash.app.errors import ApiError
from inkwash.errors import InkwashError

log = logging.getLogger("inkwash.app")

# the order of the page's model selector; names registered later (plug-ins) follow alphabetically
MODEL_ORDER = ("lazybrush", "paintstorch", "stenciltorch", "stablepaint", "alacgan")
DEFAULT_QUEUE_BYTES = 4 * 2**30  # at most; a quarter of the machine's memory below 16 GiB


# ---------------------------------------------------------------------------------------------- helpers
def default_workers(config: ServerConfig) -> int:
    """Model calls at once: the configured number, one per core on CPU, or 2 on a GPU (host work overlaps)."""
    if config.workers is not None:
        if config.workers < 1:
            raise InkwashError(f"workers {config.workers}: give 1 or more")
        return int(config.workers)
    return cpu_cores() if config.device == "cpu" else 2


def default_queue_bytes(config: ServerConfig) -> int:
    if config.max_queue_bytes is not None:
        return int(config.max_queue_bytes)
    ram = physical_memory()
    return min(DEFAULT_QUEUE_BYTES, ram // 4) if ram else DEFAULT_QUEUE_BYTES // 2


class FifoSlots:
    """`n` slots handed out strictly in request order (asyncio's Semaphore does not promise fairness)."""

    def __init__(self, n: int):
        self.free = n
        self.waiters: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self) -> None:
        if self.free and not self.waiters:
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a slot while being cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        while self.waiters:
            turn = self.waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


@dataclass
class ModelSlot:
    """One offered model: its key (what the client sends), and once loaded its Colorizer or its error."""

    key: str
    colorizer: Any = None
    error: str | None = None
    lock: threading.Lock | None = field(default=None, repr=False)  # for a model that says it is not thread-safe

    def describe(self) -> dict:
        spec = self.colorizer.spec
        options = list(spec.sampling) + (["seed"] if spec.capabilities.samples else [])
        label = self.key if self.key == self.colorizer.name else f"{Path(self.key).name} ({self.colorizer.name})"
        return {"key": self.key, "label": label, "model": self.colorizer.name, "options": options,
                "uses_mask": spec.capabilities.inpaints, "learned": self.colorizer.learned}

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """fn(colorizer) on the calling worker thread, alone if the model is not thread-safe."""
        if self.lock is None:
            return fn(self.colorizer)
        with self.lock:
            return fn(self.colorizer)


# ------------------------------------------------------------------------------------------- main thing
class ModelWorker:
    """Loads the offered models, admits requests within a memory budget and runs them on a pool of workers.

    Requests take a worker in arrival order; one whose client went away while it waited (the page superseded
    it) is dropped unrun. Never more model calls at once than `workers` (the executor's thread count).
    """

    def __init__(self, config: ServerConfig):
        self.config = config
        self.workers = default_workers(config)
        self.budget = default_queue_bytes(config)
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="inkwash-model")
        self.input_pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="inkwash-input")
        self.turns = FifoSlots(self.workers)
        self.admitted = 0  # requests between admission and their answer
        self.admitted_bytes = 0
        self.waiting = 0  # of those, waiting for a worker
        self.model_seconds = 1.0  # moving average of one model call, for Retry-After
        keys = list(config.models) if config.models else self._default_keys(config.default_model)
        self.slots = {k: ModelSlot(k) for k in dict.fromkeys(keys)}
        self._loaded: asyncio.Future | None = None

    @staticmethod
    def _default_keys(default: str) -> list[str]:
        from inkwash.models import registry

        rank = {n: i for i, n in enumerate(MODEL_ORDER)}
        names = [n for n in registry.names() if registry.get(n).capabilities.weights != "file"]
        return [default] + sorted(names, key=lambda n: (rank.get(n, len(rank)), n))

    # ---- models
    def _load(self, slot: ModelSlot) -> None:
        from inkwash.infer import Colorizer

        options = dict(self.config.model_options.get(slot.key, {}))
        if slot.key != "lazybrush" and "device" not in options and self.config.device != "cpu":
            options["device"] = self.config.device
        try:
            slot.colorizer = Colorizer.from_pretrained(slot.key, **options)
            if not getattr(slot.colorizer.model, "thread_safe", True):
                slot.lock = threading.Lock()
        except InkwashError as exc:
            slot.error = str(exc)
        except Exception as exc:  # a half-written plug-in must not take the server down; say what broke
            log.exception("loading model %s failed", slot.key)
            slot.error = f"failed to load ({type(exc).__name__}: {exc})"

    async def load_all(self) -> None:
        """Load every offered model once (default first), on a worker thread; idempotent."""
        if self._loaded is None:
            async def load() -> None:
                for slot in self.slots.values():
                    await asyncio.get_running_loop().run_in_executor(self.executor, self._load, slot)
            self._loaded = asyncio.ensure_future(load())
        await asyncio.shield(self._loaded)

    def info(self) -> dict:
        """The models that loaded (for the selector), those that did not with why, and the default key."""
        available = [s.describe() for s in self.slots.values() if s.colorizer is not None]
        keys = [m["key"] for m in available]
        default = self.config.default_model if self.config.default_model in keys else (keys[0] if keys else None)
        return {"default": default, "models": available,
                "unavailable": [{"key": s.key, "error": s.error} for s in self.slots.values() if s.error]}

    async def slot(self, key: str) -> ModelSlot:
        await self.load_all()
        if key not in self.slots:
            raise ApiError(404, "unknown_model",
                           f"unknown model {key!r}; this server offers {', '.join(self.slots)} (see /api/info)")
        slot = self.slots[key]
        if slot.colorizer is None:
            raise ApiError(503, "model_unavailable", f"model {key!r} is not available here: {slot.error}")
        return slot

    # ---- the queue
    def estimate(self, lineart_pixels: int, other_pixels: int = 0, other_bytes: int = 0) -> int:
        """Bytes one request is expected to need at its peak (ServerConfig.bytes_per_pixel and request_bytes)."""
        c = self.config
        return lineart_pixels * c.bytes_per_pixel + other_pixels * 16 + other_bytes + c.request_bytes

    def retry_after(self) -> int:
        """Seconds until a request refused now would likely be admitted (the queue ahead of it, drained)."""
        return max(1, min(300, math.ceil(self.model_seconds * (self.admitted + 1) / self.workers)))

    @contextlib.asynccontextmanager
    async def admit(self, nbytes: int) -> AsyncIterator[None]:
        """Hold `nbytes` of the memory budget while a request is decoded, queued, run and answered; 503 busy
        (with Retry-After) when it does not fit. A request alone is always admitted, whatever its size."""
        cap = self.config.max_queue
        full = cap is not None and self.admitted >= self.workers + cap
        if full or (self.admitted and self.admitted_bytes + nbytes > self.budget):
            why = (f"{self.admitted} requests are in progress" if full else
                   f"the requests in progress already hold {self.admitted_bytes / 2**20:.0f} MiB of the "
                   f"{self.budget / 2**20:.0f} MiB budget")
            wait = self.retry_after()
            raise ApiError(503, "busy", f"{why}; retry in {wait} s", headers={"Retry-After": str(wait)})
        self.admitted += 1
        self.admitted_bytes += nbytes
        try:
            yield
        finally:
            self.admitted -= 1
            self.admitted_bytes -= nbytes

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) on the input pool (decoding, drawing strokes, PNG encoding), keeping the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self.input_pool, functools.partial(fn, *args))

    async def run(self, request: Any, job: Callable[[], Any]) -> tuple[Any, float]:
        """Run `job` on a model worker once the requests before it have theirs -> (result, seconds waited)."""
        t0 = time.perf_counter()
        self.waiting += 1
        try:
            await self.turns.acquire()
        finally:
            self.waiting -= 1
        try:
            waited = time.perf_counter() - t0
            if await request.is_disconnected():
                raise ApiError(499, "superseded", "the client went away before its turn; nothing was run")
            t1 = time.perf_counter()
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, job), waited
            finally:
                self.model_seconds = 0.8 * self.model_seconds + 0.2 * (time.perf_counter() - t1)
        finally:
            self.turns.release()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.input_pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["ModelWorker", "ModelSlot", "FifoSlots", "MODEL_ORDER", "default_workers", "default_queue_bytes"]
