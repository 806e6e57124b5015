"""The MOS study web app (FastAPI): images in random order, no method names, one 1-5 vote per image and person.

Routes:
  GET  /              the page (no cookie: the page asks /api/start for a participant)
  POST /api/start     a new participant (rate limited per address): sets the signed participant cookie;
                      a request that already holds a valid one keeps it
  GET  /api/next      {"image": token | null, "rated": int, "total": int}: a random image not rated yet
  GET  /img/{token}   the image, re-encoded (see below); the token is random: neither method nor file is exposed
  POST /api/vote      {"image": token, "rating": 1..5 (an integer)} -> 200; 409 already rated; 404 unknown
                      image; 422 not an integer 1-5; 429 faster than a person can look
Errors are {"error": {"code", "message"}}; 401 without a valid participant.

What it protects (see webguard for the headers): participants exist only when the server issued them
(HMAC-signed with the database's secret, and on record), so a made-up cookie is nobody; new ones are rate
limited per address; votes come at most every MIN_VOTE_SECONDS per participant. The blinding holds in the
bytes too: every image is decoded and re-encoded as an uncompressed 8-bit RGB PNG without metadata, so its
length depends only on its width and height (not on how well a method's colours compress), and no
Last-Modified or ETag tells file dates or names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from inkwash.errors import InkwashError
from inkwash.io import open_image, to_rgb
from inkwash.study.page import PAGE_HTML
from inkwash.study.store import DuplicateVote, StudyStore, UnknownImage
from inkwash.webguard import LOOPBACK_HOSTS, BodyLimitMiddleware, SecurityMiddleware, error_response

COOKIE = "inkwash_participant"
_TOKEN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{32})")


@dataclass
class StudyConfig:
    """Abuse limits. Defaults let a lab run one person after another on one machine, and stop a script."""

    starts_per_hour: float = 30.0  # new participants per client address (one every 2 minutes on average)
    start_burst: int = 3  # ... of which this many at once (a reload, a second browser)
    starts_per_hour_total: float = 3600.0  # all addresses together
    min_vote_seconds: float = 0.5  # between one participant's votes: a person must load and look first
    max_body_bytes: int = 1024  # a vote is ~60 bytes; small bodies also keep JSON nesting shallow
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # ("*",) when serving on all interfaces on purpose


class Vote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: StrictStr = Field(min_length=1, max_length=64)
    rating: StrictInt = Field(ge=1, le=5)


# ---------------------------------------------------------------------------------------------- helpers
class RateLimiter:
    """Token buckets per key (`rate` per hour, up to `burst` at once), forgetting idle keys beyond `max_keys`."""

    def __init__(self, per_hour: float, burst: int, max_keys: int = 10000):
        self.rate, self.burst, self.max_keys = per_hour / 3600.0, float(burst), max_keys
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self.buckets) >= self.max_keys and key not in self.buckets:
                self.buckets = {k: v for k, v in self.buckets.items() if v[0] + (now - v[1]) * self.rate < self.burst}
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                return False
            self.buckets[key] = (tokens - 1.0, now)
            return True


def sign(secret: bytes, pid: str) -> str:
    """The cookie value of participant `pid`: 'pid.hmac' (HMAC-SHA256 with the database's secret, 128 bits)."""
    return f"{pid}.{hmac.new(secret, pid.encode(), hashlib.sha256).hexdigest()[:32]}"


def canonical_png(path: Path) -> bytes:
    """The image as an uncompressed 8-bit RGB PNG without metadata: its length is a function of W x H only."""
    img = to_rgb(open_image(path))
    bare = Image.frombytes("RGB", img.size, img.tobytes())  # no info: no ICC profile, text, EXIF or dates
    buf = io.BytesIO()
    bare.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def _inline_hashes(page: str, tag: str) -> str:
    """CSP source list of the page's inline <tag> blocks ('sha256-...'), so nothing else may run or style."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks)


# ---------------------------------------------------------------------------------------------- the app
def create_app(images: str | os.PathLike, db: str | os.PathLike, title: str = "Lineart colorization study",
               config: StudyConfig | None = None) -> FastAPI:
    """The app serving images/METHOD/... and recording votes in the SQLite file db (created if missing)."""
    config = config or StudyConfig()
    root = Path(images).resolve()
    store = StudyStore(db)
    store.sync_images(root)
    secret = store.secret()
    page = PAGE_HTML.replace("{{title}}", html.escape(title))
    csp = (f"default-src 'none'; script-src {_inline_hashes(page, 'script')}; style-src "
           f"{_inline_hashes(page, 'style')}; img-src 'self'; connect-src 'self'; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")
    starts = RateLimiter(config.starts_per_hour, config.start_burst)
    all_starts = RateLimiter(config.starts_per_hour_total, max(config.start_burst, 10))
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store

    def participant(request: Request) -> str | None:
        """The participant of a request's cookie, if the server issued it (signature and record)."""
        m = _TOKEN.fullmatch(request.cookies.get(COOKIE, ""))
        if m is None or not hmac.compare_digest(sign(secret, m.group(1)), m.group(0)):
            return None
        return m.group(1) if store.has_participant(m.group(1)) else None

    def require_participant(request: Request) -> str:
        pid = participant(request)
        if pid is None:
            raise HTTPException(401, "no participant: open the study page (it starts one)")
        return pid

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "no_participant", 404: "not_found", 405: "method_not_allowed", 409: "already_rated",
                429: "too_fast"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "bad_vote", 'send {"image": TOKEN, "rating": an integer from 1 to 5}')

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.post("/api/start")
    def start(request: Request) -> Response:
        if participant(request) is not None:  # a reload: same person
            return JSONResponse({"ok": True, "new": False})
        address = request.client.host if request.client else "unknown"
        if not starts.allow(address) or not all_starts.allow("*"):
            raise HTTPException(429, "too many new participants from this address; wait a few minutes")
        pid = store.add_participant(store.client_key(address))
        resp = JSONResponse({"ok": True, "new": True})
        resp.set_cookie(COOKIE, sign(secret, pid), max_age=365 * 24 * 3600, httponly=True, samesite="strict")
        return resp

    @app.get("/api/next")
    def next_image(request: Request) -> dict:
        token, rated, total = store.next_image(require_participant(request))
        return {"image": token, "rated": rated, "total": total}

    @app.get("/img/{token}")
    def image(token: str, request: Request) -> Response:
        require_participant(request)
        try:
            _, method, name = store.image(token)
        except UnknownImage:
            raise HTTPException(404, "no such image") from None
        path = (root / method / name).resolve()
        if root not in path.parents or not path.is_file():
            raise HTTPException(404, "image file missing")
        try:
            data = canonical_png(path)
        except InkwashError:
            raise HTTPException(404, "image file unreadable") from None
        return Response(data, media_type="image/png")

    @app.post("/api/vote")
    def vote(body: Vote, request: Request) -> dict:
        pid = require_participant(request)
        last = store.last_vote_time(pid)
        if last is not None:
            since = datetime.now(datetime.fromisoformat(last).tzinfo) - datetime.fromisoformat(last)
            if since.total_seconds() < config.min_vote_seconds:
                raise HTTPException(429, "votes too fast: look at the image first")
        try:
            store.add_vote(pid, body.image, body.rating)
        except DuplicateVote:
            raise HTTPException(409, "you already rated this image") from None
        except UnknownImage:
            raise HTTPException(404, "no such image") from None
        except InkwashError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"ok": True}

    # added last = outermost: host and origin checks (and headers on every answer), then the size limit
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes, advice="a vote is a few bytes")
    app.add_middleware(SecurityMiddleware, allowed_hosts=config.allowed_hosts, csp=csp,
                       served_by="`inkwash study serve`")
    return app


def serve(images: str | os.PathLike, db: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
          title: str = "Lineart colorization study", config: StudyConfig | None = None) -> None:
    """Run the study server until interrupted (uvicorn)."""
    import uvicorn

    from inkwash.webguard import allowed_hosts_for

    config = config or StudyConfig(allowed_hosts=allowed_hosts_for(host))
    uvicorn.run(create_app(images, db, title, config), host=host, port=port, log_level="warning")
