"""What every inkwash web server puts in front of its routes (the colouring app and the MOS study).

  SecurityMiddleware   Host header checked against the names it serves (a page on another site cannot reach a
                       loopback server through a rebound DNS name); a state-changing request whose Origin is
                       another site refused; CSP, nosniff, no-referrer, DENY and no-store on every response,
                       errors included.
  BodyLimitMiddleware  request bodies over a byte limit refused (413): by Content-Length up front, and by counting
                       while streaming (chunked uploads declare no length); with a deadline, bodies still
                       unfinished that long after the request's head too (408). The connection is then closed.

Errors are JSON {"error": {"code": ..., "message": ...}}. ASGI middlewares, no FastAPI needed to import this.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Callable

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# For pages that load nothing but themselves; servers with more (wasm, blob workers) pass their own.
STRICT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    """A JSONResponse {"error": {"code", "message"}} (starlette imported on use)."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def host_name(host: str) -> str:
    """'127.0.0.1:7860' -> '127.0.0.1', '[::1]:7860' -> '::1'."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1 and localhost: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(bind: str) -> tuple[str, ...]:
    """Host names a server bound to `bind` answers: loopback names; plus the address itself when bound to
    one; anything ("*") when bound to every interface (0.0.0.0, ::), where names cannot be known."""
    if is_loopback(bind):
        return LOOPBACK_HOSTS
    if bind in ("0.0.0.0", "::", "[::]", ""):
        return ("*",)
    return LOOPBACK_HOSTS + (bind,)


# ------------------------------------------------------------------------------------------ middlewares
class BodyCut(Exception):
    """Raised inside the app when the streamed body breaks a limit; BodyLimitMiddleware answers for it (a route
    that catches exceptions lets this one through)."""


class BodyTooLarge(BodyCut):
    pass


class BodyTimeout(BodyCut):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` (by Content-Length up front, by counting while streaming: chunked
    uploads declare no length) and, with `timeout_s`, bodies still unfinished that long after the request's head (a
    stalled upload would hold its connection and its parts' memory forever): 413 / 408, and the connection is
    closed (the rest of the body is never read)."""

    def __init__(self, app: Callable, max_bytes: int, timeout_s: float | None = None,
                 advice: str = "send a smaller image"):
        self.app, self.max_bytes, self.timeout_s, self.advice = app, max_bytes, timeout_s, advice

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        close = {"connection": "close"}
        size = f"{self.max_bytes / 2**20:.1f} MiB" if self.max_bytes >= 2**16 else f"{self.max_bytes} bytes"
        too_large = error_response(413, "too_large", f"request body over the limit of {size}; {self.advice}", close)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout_s is None else loop.time() + self.timeout_s
        seen, done, started = 0, False, False

        async def guarded_receive() -> dict:
            nonlocal seen, done
            if done or deadline is None:  # the body is in (waiting for a disconnect has no deadline), or no deadline
                msg = await receive()
            else:
                try:
                    msg = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
                    raise BodyTimeout from None
            if msg["type"] == "http.request" and not done:
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
                done = not msg.get("more_body", False)
            elif msg["type"] != "http.request":
                done = True
            return msg

        async def tracking_send(msg: dict) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except BodyCut as cut:
            if started:
                return
            if isinstance(cut, BodyTooLarge):
                await too_large(scope, receive, send)
            else:
                await error_response(408, "body_timeout", f"the request body did not arrive within "
                                                          f"{self.timeout_s:g} s; send it again", close)(
                    scope, receive, send)


class SecurityMiddleware:
    """Host header checked (DNS rebinding), cross-site state changes refused, security headers on every
    response. allowed_hosts: names served, ("*",) for any; csp: the Content-Security-Policy sent."""

    def __init__(self, app: Callable, allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS, csp: str = STRICT_CSP,
                 served_by: str = "the server"):
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed = {host_name(h) if h.startswith("[") else h for h in allowed_hosts}
        self.served_by = served_by
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(msg: dict) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                own = {k.lower() for k, _ in self.headers}
                msg["headers"] = [(k, v) for k, v in msg.get("headers", []) if k.lower() not in own] + self.headers
            await send(msg)

        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.any_host and host_name(host) not in self.allowed:
            await error_response(400, "bad_host", f"host {host[:100]!r} is not served here; open the address "
                                                  f"{self.served_by} printed")(scope, receive, send_with_headers)
            return
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get(b"origin")
            cross = origin is not None and origin.decode("latin-1").split("://", 1)[-1] != host
            if cross or headers.get(b"sec-fetch-site") == b"cross-site":
                await error_response(403, "cross_origin", "requests from other sites' pages are refused")(
                    scope, receive, send_with_headers)
                return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # answered here so that even a crash's 500 carries the headers; the server logs it
            if not started:
                await error_response(500, "internal", "internal error; see the server's log")(
                    scope, receive, send_with_headers)
            raise


# names app/server.py used before these moved here
_BodyTooLarge = BodyTooLarge
