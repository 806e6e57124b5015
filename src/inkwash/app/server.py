"""FastAPI server of the colouring page: one model worker, strict uploads, JSON errors.

    inkwash serve --model lazybrush            # then open http://127.0.0.1:7860

Routes
    GET  /                 the page (static/index.html); /static/* its scripts, styles and onnxruntime-web
    GET  /api/info         version, upload limits and the models that loaded (others listed with their error)
    POST /api/colorize     multipart form -> image/png (output=composite|flat) or JSON (output=layers)

/api/colorize fields: lineart (file, required); hints (RGBA PNG, alpha = strokes) or hints_json (the JSON
stroke document of `inkwash.hints`); mask (white = colour here); base (kept outside the mask); model (a key
from /api/info, never a path); seed, steps, strength (sampling options, accepted by models that declare them
in their spec, `ModelSpec.sampling`); output. Every error is {"error": {"code": ..., "message": ...}}.

Security defaults: binds 127.0.0.1; Host header checked against loopback names (DNS rebinding); a POST
whose Origin is another site is refused; bodies over `max_upload_bytes` are cut off while streaming; images
are sniffed (PNG/JPEG/WebP only) and their pixel count checked before decoding; no path from the client
ever reaches the file system; a strict Content-Security-Policy on every response.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import math
import mimetypes
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkwash import __version__
from inkwash.errors import InkwashError

log = logging.getLogger("inkwash.app")

STATIC_DIR = Path(__file__).parent / "static"
# the order of the page's model selector; names registered later (plug-ins) follow alphabetically
MODEL_ORDER = ("lazybrush", "paintstorch", "stenciltorch", "stablepaint", "alacgan")
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
OUTPUTS = ("composite", "flat", "layers")
FIELDS = {"lineart", "hints", "hints_json", "mask", "base", "model", "seed", "steps", "strength", "output"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'none'")

mimetypes.add_type("application/wasm", ".wasm")  # older mimetypes tables lack these; browsers insist on them
mimetypes.add_type("text/javascript", ".mjs")


@dataclass
class ServerConfig:
    """What the server offers and accepts. Defaults suit one artist on their own machine."""

    default_model: str = "paintstorch"  # a registered name or a run folder given on the command line
    models: tuple[str, ...] | None = None  # offered keys; None = the default plus every registered name
    max_upload_bytes: int = 25 * 2**20  # whole request body: a 4096x4096 RGBA PNG of strokes stays well below
    max_pixels: int = 4096 * 4096  # per image, checked before decoding (decompression bombs)
    max_queue: int = 8  # requests waiting for the model beyond this get 503 "busy"
    device: str = "cpu"
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> Colorizer options
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # ("*",) when serving beyond this machine on purpose


class ApiError(Exception):
    """A client error answered as {"error": {"code", "message"}} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# ------------------------------------------------------------------------------------------ middlewares
class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes`: by Content-Length up front, and by counting while streaming
    (chunked uploads declare no length)."""

    def __init__(self, app: Callable, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body over the limit of {self.max_bytes / 2**20:.1f} MiB; send a smaller image"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await error_response(413, "too_large", message)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return msg

        async def tracking_send(msg: dict) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await error_response(413, "too_large", message)(scope, receive, send)


def host_name(host: str) -> str:
    """'127.0.0.1:7860' -> '127.0.0.1', '[::1]:7860' -> '::1'."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityMiddleware:
    """Host header checked (a web page cannot reach us through a rebound DNS name); a POST from another
    site's page (a different Origin) refused; security headers on every response."""

    def __init__(self, app: Callable, allowed_hosts: tuple[str, ...]):
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed = {host_name(h) if h.startswith("[") else h for h in allowed_hosts}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.any_host and host_name(host) not in self.allowed:
            await error_response(400, "bad_host", f"host {host!r} is not served here; open the address "
                                                  "`inkwash serve` printed")(scope, receive, send)
            return
        origin = headers.get(b"origin")
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin is not None:
            if origin.decode("latin-1").split("://", 1)[-1] != host:
                await error_response(403, "cross_origin", "requests from other sites' pages are refused")(
                    scope, receive, send)
                return

        async def send_with_headers(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                msg["headers"] = list(msg.get("headers", [])) + [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
            await send(msg)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------------------------------- uploads
def decode_image(data: bytes, what: str, max_pixels: int) -> Image.Image:
    """Bytes of a PNG/JPEG/WebP upload -> a fully decoded PIL image, or ApiError saying why not."""
    if not data:
        raise ApiError(400, "empty_file", f"{what}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES.values()))
            w, h = img.size
            if w * h > max_pixels:
                raise ApiError(413, "too_many_pixels", f"{what}: {w}x{h} is {w * h / 1e6:.1f} megapixels, over "
                                                       f"the server's limit of {max_pixels / 1e6:.1f}; downscale it")
            if w == 0 or h == 0:
                raise ApiError(400, "empty_image", f"{what}: empty image ({w}x{h})")
            img.load()
            return ImageOps.exif_transpose(img)
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, "too_many_pixels", f"{what}: refused as a decompression bomb; downscale it") from None
    except UnidentifiedImageError:
        raise ApiError(415, "unsupported_image", f"{what}: not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiError(400, "corrupt_image", f"{what}: corrupt or truncated image ({exc})") from None


async def read_upload(value: Any, what: str, max_pixels: int) -> Image.Image:
    """A form file field -> PIL image; the declared content type must be an image type we decode."""
    if not isinstance(value, UploadFile):
        raise ApiError(400, "not_a_file", f"{what}: expected a file upload, got a text field")
    ctype = (value.content_type or "").split(";")[0].strip().lower()
    if ctype not in IMAGE_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"{what}: content type {ctype or 'none'!r} is not one of {', '.join(IMAGE_TYPES)}")
    return decode_image(await value.read(), what, max_pixels)


def _text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, UploadFile):
        raise ApiError(400, "bad_field", f"{name}: expected a text field, got a file")
    return str(value)


def _number(form: Any, name: str, cast: type, lo: float, hi: float) -> Any:
    raw = _text(form, name)
    if raw is None:
        return None
    try:
        value = cast(raw)
    except ValueError:
        raise ApiError(400, "bad_field", f"{name}: {raw!r} is not a {cast.__name__}") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ApiError(400, "bad_field", f"{name}: {value} is outside [{lo}, {hi}]")
    return value


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # speed over size: this is on every stroke's path
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- models
@dataclass
class ModelSlot:
    """One offered model: its key (what the client sends), and once loaded its Colorizer or its error."""

    key: str
    colorizer: Any = None
    error: str | None = None

    def describe(self) -> dict:
        spec = self.colorizer.spec
        options = list(spec.sampling) + (["seed"] if spec.capabilities.samples else [])
        label = self.key if self.key == self.colorizer.name else f"{Path(self.key).name} ({self.colorizer.name})"
        return {"key": self.key, "label": label, "model": self.colorizer.name, "options": options,
                "uses_mask": spec.capabilities.inpaints}


class ModelWorker:
    """Every model call (loading and colouring) runs on one thread, in arrival order.

    An asyncio.Lock (FIFO) orders the requests; the single-thread executor keeps torch off the event loop.
    A request whose client went away while it waited (the page superseded it) is dropped unrun.
    """

    def __init__(self, config: ServerConfig):
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inkwash-model")
        self.lock = asyncio.Lock()
        self.waiting = 0
        keys = list(config.models) if config.models else self._default_keys(config.default_model)
        self.slots = {k: ModelSlot(k) for k in dict.fromkeys(keys)}
        self._loaded: asyncio.Task | None = None

    @staticmethod
    def _default_keys(default: str) -> list[str]:
        from inkwash.models import registry

        rank = {n: i for i, n in enumerate(MODEL_ORDER)}
        names = [n for n in registry.names() if registry.get(n).capabilities.weights != "file"]
        return [default] + sorted(names, key=lambda n: (rank.get(n, len(rank)), n))

    def _load(self, slot: ModelSlot) -> None:
        from inkwash.infer import Colorizer

        options = dict(self.config.model_options.get(slot.key, {}))
        if slot.key != "lazybrush" and "device" not in options and self.config.device != "cpu":
            options["device"] = self.config.device
        try:
            slot.colorizer = Colorizer.from_pretrained(slot.key, **options)
        except InkwashError as exc:
            slot.error = str(exc)
        except Exception as exc:  # a half-written plug-in must not take the server down; say what broke
            log.exception("loading model %s failed", slot.key)
            slot.error = f"failed to load ({type(exc).__name__}: {exc})"

    async def load_all(self) -> None:
        """Load every offered model once (default first), on the worker; idempotent."""
        if self._loaded is None:
            async def load() -> None:
                for slot in self.slots.values():
                    async with self.lock:
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

    async def run(self, request: Request, job: Callable[[], Any]) -> tuple[Any, float]:
        """Run `job` on the model thread after the requests before it -> (result, seconds spent waiting)."""
        if self.waiting >= self.config.max_queue:
            raise ApiError(503, "busy", f"{self.waiting} requests are already waiting for the model; retry shortly")
        t0 = time.perf_counter()
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        try:
            waited = time.perf_counter() - t0
            if await request.is_disconnected():
                raise ApiError(499, "superseded", "the client went away before its turn; nothing was run")
            return await asyncio.get_running_loop().run_in_executor(self.executor, job), waited
        finally:
            self.lock.release()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------- the app
async def parse_colorize_form(request: Request, config: ServerConfig) -> dict:
    """The multipart form of /api/colorize -> validated arguments (images decoded, numbers in range)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type",
                       "send multipart/form-data with a 'lineart' file (and optional hints, mask, base)")
    try:
        form = await request.form(max_files=4, max_fields=16, max_part_size=config.max_upload_bytes)
    except _BodyTooLarge:
        raise
    except Exception as exc:  # malformed multipart: the parser's message is the useful part
        raise ApiError(400, "bad_form", f"unreadable multipart form ({exc})") from None
    unknown = sorted(set(form.keys()) - FIELDS)
    if unknown:
        raise ApiError(400, "unknown_field",
                       f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    if form.get("lineart") is None:
        raise ApiError(400, "missing_lineart", "a 'lineart' image file is required")
    args: dict[str, Any] = {"lineart": await read_upload(form["lineart"], "lineart", config.max_pixels)}
    for name in ("hints", "mask", "base"):
        if form.get(name) is not None:
            args[name] = await read_upload(form[name], name, config.max_pixels)
    hints_json = _text(form, "hints_json")
    if hints_json is not None:
        if "hints" in args:
            raise ApiError(400, "bad_field", "give hints as an image or as hints_json, not both")
        try:
            args["hints_json"] = json.loads(hints_json)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "bad_json", f"hints_json: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if "base" in args and "mask" not in args:
        raise ApiError(400, "bad_field", "base is kept outside the mask; send a mask too")
    args["model"] = _text(form, "model") or config.default_model
    args["seed"] = _number(form, "seed", int, 0, 2**32 - 1)
    args["steps"] = _number(form, "steps", int, 1, 1000)
    args["strength"] = _number(form, "strength", float, 0.0, 1.0)
    args["output"] = _text(form, "output") or "composite"
    if args["output"] not in OUTPUTS:
        raise ApiError(400, "bad_field", f"output: {args['output']!r} is not one of {', '.join(OUTPUTS)}")
    return args


def colorize_job(slot: ModelSlot, args: dict) -> dict[str, Image.Image]:
    """On the model thread: the request's images through the Colorizer -> its layers (PIL, lineart's size)."""
    from inkwash.hints import hints_from_json

    colorizer = slot.colorizer
    hints = args.get("hints")
    if "hints_json" in args:
        hints = hints_from_json(args["hints_json"], args["lineart"].size, where="hints_json")
    # sampling options plug in for models that declare them (StablePaint); others refuse them by name
    sampling = {k: args[k] for k in ("steps", "strength") if args.get(k) is not None}
    unsupported = set(sampling) - set(colorizer.spec.sampling)
    if unsupported:
        raise InkwashError(f"model {slot.key!r} takes no {', '.join(sorted(unsupported))}; leave it out")
    return colorizer.colorize_layers(args["lineart"], hints, mask=args.get("mask"), base=args.get("base"),
                                     seed=args.get("seed"), **sampling)


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The ASGI app: the page, /api/info and /api/colorize over one model worker."""
    config = config or ServerConfig()
    worker = ModelWorker(config)

    async def lifespan(app: FastAPI):  # start loading models as soon as the server is up
        task = asyncio.ensure_future(worker.load_all())
        yield
        task.cancel()
        worker.close()

    app = FastAPI(title="inkwash", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.worker = worker
    app.state.config = config

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(InkwashError)
    async def _inkwash_error(request: Request, exc: InkwashError) -> JSONResponse:
        return error_response(400, "bad_input", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal", f"internal error ({type(exc).__name__}); see the server's log")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/info")
    async def info() -> dict:
        await worker.load_all()
        return {"version": __version__, **worker.info(),
                "limits": {"max_upload_bytes": config.max_upload_bytes, "max_pixels": config.max_pixels}}

    @app.post("/api/colorize")
    async def colorize(request: Request) -> Response:
        args = await parse_colorize_form(request, config)
        slot = await worker.slot(args["model"])
        t0 = time.perf_counter()
        layers, waited = await worker.run(request, lambda: colorize_job(slot, args))
        seconds = time.perf_counter() - t0 - waited
        headers = {"X-Inkwash-Model": slot.key, "X-Inkwash-Seconds": f"{seconds:.3f}",
                   "X-Inkwash-Queue-Seconds": f"{waited:.3f}"}
        if args["output"] == "layers":
            def data_url(img: Image.Image) -> str:
                return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")

            w, h = layers["composite"].size
            return JSONResponse({"model": slot.key, "width": w, "height": h, "seconds": round(seconds, 3),
                                 "composite": data_url(layers["composite"]), "flat": data_url(layers["flat"])},
                                headers=headers)
        return Response(png_bytes(layers[args["output"]]), media_type="image/png", headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # added last = outermost: host and origin checks (and headers on every answer), then the size limit
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_upload_bytes)
    app.add_middleware(SecurityMiddleware, allowed_hosts=config.allowed_hosts)
    return app


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


__all__ = ["ServerConfig", "ApiError", "create_app", "serve", "decode_image", "STATIC_DIR"]
