"""The API's one error shape: {"error": {"code": ..., "message": ...}} with an HTTP status."""

from __future__ import annotations

from starlette.responses import JSONResponse

from inkwash import webguard

MAX_MESSAGE = 600  # characters; a message quoting a hostile field must not echo megabytes back


class ApiError(Exception):
    """A client error answered as {"error": {"code", "message"}} with an HTTP status (and optional headers)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """webguard.error_response with the message cut to MAX_MESSAGE characters."""
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    return webguard.error_response(status, code, message, headers)


__all__ = ["ApiError", "error_response"]
