"""FastAPI server of the colouring page: a pool of model workers, strict uploads, JSON errors, bounded work.

    inkwash serve --model lazybrush            # then open http://127.0.0.1:7860

Routes
    GET  /                 the page (static/index.html); /static/* its scripts, styles and onnxruntime-web
    GET  /api/info         version, upload limits, the pipeline's options and the models that loaded (others
                           listed with their error)
    POST /api/colorize     multipart form -> image/png (output=composite|flat), JSON (output=layers) or an
                           OpenRaster file (output=ora: lines, shading, flat, composite as layers)
    POST /api/regions      multipart lineart (+ gap) -> the drawing's regions as a PNG (app/regions.py), for the
                           page's fill bucket and its instant flats
    POST /api/reference    multipart reference (a coloured drawing) (+ reference_lineart, gap) -> JSON: its palette
                           (distinct flat colours and their area share), for the page's reference panel

/api/colorize fields: lineart (file, required); hints (RGBA PNG, alpha = strokes) or hints_json (the JSON
stroke document of `inkwash.hints`); mask (white = colour here); base (kept outside the mask); model (a key
from /api/info, never a path); seed, steps, strength (sampling options, accepted by models that declare them
in their spec, `ModelSpec.sampling`); the pipeline's settings (`inkwash.infer.Settings`): gap (px, absent =
automatic), unhinted (paper|neighbour|model), lock (true|false), shade (soft|cel|model), shading (strength in
[0,1]), light (degrees); preview (colour a copy of at most this many pixels: live updates of a big drawing);
reference (a coloured drawing whose matching regions give their colours; hints win) and reference_lineart (its
lineart; extracted from its colours when absent), read once per content (app/references.py), the match summed
up in X-Inkwash-Reference ("matched=N;unmatched=M", enclosed regions) and, for output=layers, in the JSON's
"reference"; output. Every error is {"error": {"code": ..., "message": ...}}.

A request's way through: body read (size and time bounded) -> form checked on the event loop -> image headers
sniffed and the request's memory estimated -> admitted within the memory budget or 503 busy with Retry-After ->
decoded, stroke JSON parsed, priced and drawn, inputs checked (input threads) -> a model worker in arrival
order (app/workers.py) -> PNGs encoded (input threads). Nothing that costs CPU runs on the event loop, and any
failure of reading or drawing user input is a 4xx (app/inputs.py).

Security defaults: binds 127.0.0.1; Host header checked against loopback names (DNS rebinding); a POST
whose Origin is another site is refused; bodies over `max_upload_bytes` are cut off while streaming, and one
that does not arrive within `body_timeout_s` gets 408 and a closed connection; images are sniffed
(PNG/JPEG/WebP only) and their pixel count checked before decoding; no path from the client ever reaches the
file system; a strict Content-Security-Policy and the other security headers on every response, refusals too.
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkwash import __version__
from inkwash.app.config import LOOPBACK_HOSTS, ServerConfig, cpu_cores
from inkwash.app.errors import ApiError, error_response
from inkwash.app.inputs import IMAGE_TYPES, decode_image, prepare_request, sniff_image
from inkwash.app.references import (REFERENCE_FIELDS, ReferenceCache, match_summary, reference_palette,
                                    summary_header)
from inkwash.app.regions import find_regions, labels_png, read_lines, region_headers
from inkwash.app.workers import MODEL_ORDER, ModelSlot, ModelWorker
from inkwash.errors import InkwashError
from inkwash.webguard import BodyCut, BodyLimitMiddleware, SecurityMiddleware

log = logging.getLogger("inkwash.app")

STATIC_DIR = Path(__file__).parent / "static"
OUTPUTS = ("composite", "flat", "layers", "ora")
WANTED = {"composite": ("composite",), "flat": ("flat",), "layers": ("composite", "flat", "shading"), "ora": None}
IMAGE_FIELDS = ("lineart", "hints", "mask", "base")
SETTINGS_FIELDS = ("gap", "unhinted", "lock", "shade", "shading", "light")  # inkwash.infer.Settings
FIELDS = {"lineart", "hints", "hints_json", "mask", "base", "model", "seed", "steps", "strength", "output",
          "preview", *REFERENCE_FIELDS, *SETTINGS_FIELDS}
MIN_PREVIEW = 64 * 64  # px: a smaller preview shows nothing of a drawing
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'none'")

mimetypes.add_type("application/wasm", ".wasm")  # older mimetypes tables lack these; browsers insist on them
mimetypes.add_type("text/javascript", ".mjs")


# ------------------------------------------------------------------------------------------ middlewares
def head_deadline_protocol(seconds: float) -> type:
    """uvicorn's HTTP protocol, closing a connection that has not sent a complete request head `seconds` after it
    opened or after its last answer (uvicorn waits for a first request forever: slowloris)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class HeadDeadline(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_head_deadline()

        def _arm_head_deadline(self) -> None:
            self.loop.call_later(seconds, self._head_deadline, self.cycle)

        def _head_deadline(self, cycle: Any) -> None:
            idle = self.cycle is cycle and (cycle is None or cycle.response_complete)  # no new head since
            if idle and not self.transport.is_closing():
                self.transport.close()

    return HeadDeadline


# ---------------------------------------------------------------------------------------------- the form
@dataclass
class ColorizeForm:
    """The checked fields of one /api/colorize request; its images still undecoded (their uploaded files)."""

    uploads: dict[str, IO[bytes]]
    hints_json: str | None
    model: str
    seed: int | None
    sampling: dict[str, Any]  # steps, strength: for models that sample
    output: str
    settings: dict[str, Any] = field(default_factory=dict)  # the Settings fields the client gave
    preview: int | None = None  # colour a copy of at most this many pixels
    references: dict[str, IO[bytes]] = field(default_factory=dict)  # reference (+ reference_lineart), undecoded


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
        raise ApiError(400, "bad_field", f"{name}: {raw[:40]!r} is not a {cast.__name__}") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ApiError(400, "bad_field", f"{name}: {value} is outside [{lo}, {hi}]")
    return value


def _choice(form: Any, name: str, options: tuple[str, ...]) -> str | None:
    value = _text(form, name)
    if value is not None and value not in options:
        raise ApiError(400, "bad_field", f"{name}: {value[:40]!r} is not one of {', '.join(options)}")
    return value


def _flag(form: Any, name: str) -> bool | None:
    value = _text(form, name)
    if value is None:
        return None
    if value.lower() not in ("true", "false", "1", "0", "on", "off"):
        raise ApiError(400, "bad_field", f"{name}: {value[:40]!r} is not true or false")
    return value.lower() in ("true", "1", "on")


def pipeline_settings(form: Any) -> dict[str, Any]:
    """The inkwash.infer.Settings fields a form gives (checked for range here, against the model later)."""
    from inkwash.infer import SHADES, UNHINTED

    light = _number(form, "light", float, -360.0, 720.0)
    given = {"gap": _number(form, "gap", float, 0.0, 1000.0), "unhinted": _choice(form, "unhinted", UNHINTED),
             "lock": _flag(form, "lock"), "shade": _choice(form, "shade", SHADES),
             "shading": _number(form, "shading", float, 0.0, 1.0), "light": None if light is None else light % 360.0}
    return {k: v for k, v in given.items() if v is not None}


def _upload(value: Any, what: str) -> IO[bytes]:
    """A form file field -> its file; the declared content type must be an image type we decode."""
    if not isinstance(value, UploadFile):
        raise ApiError(400, "not_a_file", f"{what}: expected a file upload, got a text field")
    ctype = (value.content_type or "").split(";")[0].strip().lower()
    if ctype not in IMAGE_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"{what}: content type {ctype[:60] or 'none'!r} is not one of {', '.join(IMAGE_TYPES)}")
    return value.file


async def read_form(request: Request, config: ServerConfig) -> Any:
    """The request's multipart form (files spooled to disk past 1 MiB by starlette); ApiError if unreadable."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type",
                       "send multipart/form-data with a 'lineart' file (and optional hints, mask, base)")
    try:
        return await request.form(max_files=6, max_fields=16, max_part_size=config.max_json_bytes + 1024)
    except BodyCut:
        raise
    except Exception as exc:  # malformed multipart: the parser's message is the useful part
        detail = getattr(exc, "detail", None) or str(exc)
        if "maximum size" in detail:
            raise ApiError(413, "too_large", f"a text field is over the limit of {config.max_json_bytes / 2**20:.1f} "
                                             "MiB; send fewer strokes or the hints as a PNG") from None
        raise ApiError(400, "bad_form", f"unreadable multipart form ({detail})") from None


def check_form(form: Any, config: ServerConfig) -> ColorizeForm:
    """Every field of /api/colorize checked, cheaply (no image decoded yet)."""
    unknown = sorted(set(form.keys()) - FIELDS)
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s) {', '.join(k[:40] for k in unknown[:8])}; known: "
                                             f"{', '.join(sorted(FIELDS))}")
    if form.get("lineart") is None:
        raise ApiError(400, "missing_lineart", "a 'lineart' image file is required")
    uploads = {name: _upload(form[name], name) for name in IMAGE_FIELDS if form.get(name) is not None}
    hints_json = _text(form, "hints_json")
    if hints_json is not None and "hints" in uploads:
        raise ApiError(400, "bad_field", "give hints as an image or as hints_json, not both")
    if "base" in uploads and "mask" not in uploads:
        raise ApiError(400, "bad_field", "base is kept outside the mask; send a mask too")
    sampling = {"steps": _number(form, "steps", int, 1, 1000), "strength": _number(form, "strength", float, 0.0, 1.0)}
    output = _text(form, "output") or "composite"
    if output not in OUTPUTS:
        raise ApiError(400, "bad_field", f"output: {output[:40]!r} is not one of {', '.join(OUTPUTS)}")
    return ColorizeForm(uploads, hints_json, _text(form, "model") or config.default_model,
                        _number(form, "seed", int, 0, 2**32 - 1),
                        {k: v for k, v in sampling.items() if v is not None}, output, pipeline_settings(form),
                        _number(form, "preview", int, MIN_PREVIEW, config.max_pixels), reference_uploads(form))


def reference_uploads(form: Any) -> dict[str, IO[bytes]]:
    """The reference fields of a form: {} or {"reference": file[, "reference_lineart": file]}."""
    uploads = {name: _upload(form[name], name) for name in REFERENCE_FIELDS if form.get(name) is not None}
    if uploads and "reference" not in uploads:
        raise ApiError(400, "bad_field", "reference_lineart is the lineart of a reference; send the coloured "
                                         "reference too")
    return uploads


def check_reference_form(form: Any) -> tuple[dict[str, IO[bytes]], float | None]:
    """/api/reference: (the reference uploads, gap in px or None = automatic)."""
    unknown = sorted(set(form.keys()) - {*REFERENCE_FIELDS, "gap"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s) {', '.join(k[:40] for k in unknown[:8])}; known: "
                                             f"gap, {', '.join(REFERENCE_FIELDS)}")
    if form.get("reference") is None:
        raise ApiError(400, "missing_reference", "a 'reference' image file (a coloured drawing) is required")
    return reference_uploads(form), _number(form, "gap", float, 0.0, 1000.0)


def check_regions_form(form: Any) -> tuple[IO[bytes], float | None]:
    """/api/regions: (the lineart upload, gap in px or None = automatic)."""
    unknown = sorted(set(form.keys()) - {"lineart", "gap"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s) {', '.join(k[:40] for k in unknown[:8])}; known: "
                                             "gap, lineart")
    if form.get("lineart") is None:
        raise ApiError(400, "missing_lineart", "a 'lineart' image file is required")
    return _upload(form["lineart"], "lineart"), _number(form, "gap", float, 0.0, 1000.0)


# ------------------------------------------------------------------------------------------- the answer
def colorize_job(colorizer: Any, inputs: Any, req: ColorizeForm, settings: Any
                 ) -> tuple[dict[str, Image.Image], dict[str, int] | None]:
    """One colorize on a model worker -> (the wanted layers as images, the reference match's summary or None)."""
    from inkwash.infer import regions_of, to_images

    wanted = WANTED[req.output]
    out = colorizer.layers(inputs, req.seed, settings, wanted, **req.sampling)
    match = out.pop("reference", None)
    summary = None if match is None else match_summary(match, regions_of(inputs, settings))
    return to_images(out, inputs, wanted), summary


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # speed over size: this is on every stroke's path
    return buf.getvalue()


def sniff_uploads(uploads: dict[str, IO[bytes]], max_pixels: int) -> dict[str, tuple[int, int]]:
    """(W, H) of every upload from its header, checked: what the request's memory estimate needs."""
    return {name: sniff_image(f, name, max_pixels) for name, f in uploads.items()}


def encode_answer(layers: dict[str, Image.Image], output: str, key: str, seconds: float,
                  reference: dict[str, int] | None = None) -> tuple[bytes, str]:
    """The layers as the client asked -> (body, media type): one PNG, an OpenRaster file, or JSON with the
    composite, flat and (when there is one) shading layers as base64 PNGs (and the reference's match summary)."""
    if output == "ora":
        from inkwash.ora import MIMETYPE, ora_bytes

        return ora_bytes(layers), MIMETYPE
    if output != "layers":
        return png_bytes(layers[output]), "image/png"

    def data_url(img: Image.Image) -> str:
        return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")

    w, h = layers["composite"].size
    body = {"model": key, "width": w, "height": h, "seconds": round(seconds, 3),
            **{k: data_url(layers[k]) for k in ("composite", "flat", "shading") if k in layers}}
    if reference is not None:
        body["reference"] = reference
    return json.dumps(body).encode(), "application/json"


# ---------------------------------------------------------------------------------------------- the app
def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The ASGI app: the page, /api/info and /api/colorize over a pool of model workers."""
    config = config or ServerConfig()
    worker = ModelWorker(config)
    references = ReferenceCache()

    async def lifespan(app: FastAPI):  # start loading models as soon as the server is up
        task = asyncio.ensure_future(worker.load_all())
        yield
        task.cancel()
        worker.close()

    app = FastAPI(title="inkwash", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.worker = worker
    app.state.config = config
    app.state.references = references

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

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
        from inkwash.infer import DEFAULT_UNHINTED, SHADES, UNHINTED, Settings

        await worker.load_all()
        return {"version": __version__, **worker.info(),
                "pipeline": {"unhinted": list(UNHINTED), "shades": list(SHADES), "light": Settings().light,
                             "default_unhinted": DEFAULT_UNHINTED},
                "limits": {"max_upload_bytes": config.max_upload_bytes, "max_pixels": config.max_pixels,
                           "max_strokes": config.max_strokes, "max_points": config.max_points,
                           "workers": worker.workers}}

    @app.post("/api/colorize")
    async def colorize(request: Request) -> Response:
        form = await read_form(request, config)
        try:
            req = check_form(form, config)
            slot = await worker.slot(req.model)
            unsupported = set(req.sampling) - set(slot.colorizer.spec.sampling)
            if unsupported:  # sampling options plug in for models that declare them (StablePaint)
                raise InkwashError(f"model {slot.key!r} takes no {', '.join(sorted(unsupported))}; leave it out")
            settings = replace(slot.colorizer.settings, **req.settings).check(slot.colorizer.learned)
            sizes = await worker.in_thread(sniff_uploads, {**req.uploads, **req.references}, config.max_pixels)
            w, h = sizes["lineart"]
            # a reference's lines, regions and medians cost about what the lineart's do, per pixel
            w_ref, h_ref = sizes.get("reference", (0, 0))
            others = sum(a * b for name, (a, b) in sizes.items() if name not in ("lineart", "reference"))
            need = worker.estimate(w * h + w_ref * h_ref, others, 16 * len(req.hints_json or ""))  # JSON: ~16x text
            async with worker.admit(need):
                ref = None
                if req.references:
                    ref = await worker.in_thread(references.get, req.references, config, settings.gap)
                inputs = await worker.in_thread(prepare_request, req.uploads, req.hints_json, config, req.preview,
                                                ref)
                t0 = time.perf_counter()
                (layers, summary), waited = await worker.run(request, lambda: slot.call(
                    lambda col: colorize_job(col, inputs, req, settings)))
                seconds = time.perf_counter() - t0 - waited
                body, media = await worker.in_thread(encode_answer, layers, req.output, slot.key, seconds, summary)
        finally:
            await form.close()
        headers = {"X-Inkwash-Model": slot.key, "X-Inkwash-Seconds": f"{seconds:.3f}",
                   "X-Inkwash-Queue-Seconds": f"{waited:.3f}", "X-Inkwash-Size": "%dx%d" % inputs.size}
        if summary is not None:
            headers["X-Inkwash-Reference"] = summary_header(summary)
        if req.output == "ora":
            headers["Content-Disposition"] = 'attachment; filename="coloured.ora"'
        return Response(body, media_type=media, headers=headers)

    @app.post("/api/regions")
    async def regions(request: Request) -> Response:
        form = await read_form(request, config)
        try:
            upload, gap = check_regions_form(form)
            w, h = await worker.in_thread(sniff_image, upload, "lineart", config.max_pixels)
            async with worker.admit(worker.estimate(w * h)):
                lines = await worker.in_thread(read_lines, upload, config)
                found, _ = await worker.run(request, lambda: find_regions(lines, gap))
                body = await worker.in_thread(labels_png, found)
        finally:
            await form.close()
        return Response(body, media_type="image/png", headers=region_headers(found))

    @app.post("/api/reference")
    async def reference(request: Request) -> JSONResponse:
        form = await read_form(request, config)
        try:
            uploads, gap = check_reference_form(form)
            sizes = await worker.in_thread(sniff_uploads, uploads, config.max_pixels)
            w, h = sizes["reference"]
            lw, lh = sizes.get("reference_lineart", (0, 0))
            async with worker.admit(worker.estimate(w * h, lw * lh)):
                ref, _ = await worker.run(request, lambda: references.get(uploads, config, gap))
        finally:
            await form.close()
        return JSONResponse({"width": w, "height": h, "regions": ref.regions.n, "gap": ref.regions.gap,
                             "palette": reference_palette(ref)})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # added last = outermost: host and origin checks (and headers on every answer), then the size and time limits
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_upload_bytes, timeout_s=config.body_timeout_s)
    # outermost: its headers reach every answer, the body limit's 408/413 included
    app.add_middleware(SecurityMiddleware, allowed_hosts=config.allowed_hosts, csp=CSP, served_by="`inkwash serve`")
    return app


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the app with uvicorn until interrupted: cores / workers compute threads per worker (unless set with
    inkwash.threads.configure), idle keep-alive connections closed, stalled request heads closed."""
    import uvicorn

    from inkwash import threads
    from inkwash.app.workers import default_workers

    if threads.threads() is None:
        import cv2  # noqa: F401  loaded first, so the thread count reaches OpenCV's pool as well as torch's

        threads.configure(max(1, cpu_cores() // default_workers(config)))
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning",
                timeout_keep_alive=config.keep_alive_s, http=head_deadline_protocol(config.head_timeout_s))


__all__ = ["ServerConfig", "ApiError", "ModelWorker", "ModelSlot", "create_app", "serve", "decode_image",
           "STATIC_DIR", "LOOPBACK_HOSTS", "MODEL_ORDER", "head_deadline_protocol"]
