"""The MOS study web app (FastAPI): images in random order, no method names, one 1-5 vote per image and person.

Routes:
  GET  /              the page (sets the participant cookie, a random id, on the first visit)
  GET  /api/next      {"image": token | null, "rated": int, "total": int}: a random image not rated yet
  GET  /img/{token}   the image file (the token is random: neither method nor file name is exposed)
  POST /api/vote      {"image": token, "rating": 1..5} -> 200, or 409 if already rated, 404 unknown image
"""

from __future__ import annotations

import html
import os
import re
import uuid
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from inkwash.errors import InkwashError
from inkwash.study.page import PAGE_HTML
from inkwash.study.store import DuplicateVote, StudyStore, UnknownImage

COOKIE = "inkwash_participant"
_PARTICIPANT = re.compile(r"[0-9a-f]{32}")


class Vote(BaseModel):
    image: str = Field(min_length=1, max_length=64)
    rating: int = Field(ge=1, le=5)


def _participant(request: Request) -> str:
    pid = request.cookies.get(COOKIE, "")
    if not _PARTICIPANT.fullmatch(pid):
        raise HTTPException(400, "no participant cookie: open the study page first")
    return pid


def create_app(images: str | os.PathLike, db: str | os.PathLike, title: str = "Lineart colorization study"
               ) -> FastAPI:
    """The app serving images/METHOD/... and recording votes in the SQLite file db (created if missing)."""
    root = Path(images).resolve()
    store = StudyStore(db)
    store.sync_images(root)
    page = PAGE_HTML.replace("{{title}}", html.escape(title))
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        resp = HTMLResponse(page, headers={"Cache-Control": "no-store"})
        if not _PARTICIPANT.fullmatch(request.cookies.get(COOKIE, "")):
            resp.set_cookie(COOKIE, uuid.uuid4().hex, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
        return resp

    @app.get("/api/next")
    def next_image(request: Request) -> dict:
        token, rated, total = store.next_image(_participant(request))
        return {"image": token, "rated": rated, "total": total}

    @app.get("/img/{token}")
    def image(token: str) -> FileResponse:
        try:
            _, method, name = store.image(token)
        except UnknownImage:
            raise HTTPException(404, "no such image") from None
        path = (root / method / name).resolve()
        if root not in path.parents or not path.is_file():
            raise HTTPException(404, "image file missing")
        return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/vote")
    def vote(body: Vote, request: Request) -> dict:
        pid = _participant(request)
        try:
            store.add_vote(pid, body.image, body.rating)
        except DuplicateVote:
            raise HTTPException(409, "you already rated this image") from None
        except UnknownImage:
            raise HTTPException(404, "no such image") from None
        except InkwashError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"ok": True}

    return app


def serve(images: str | os.PathLike, db: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
          title: str = "Lineart colorization study") -> None:
    """Run the study server until interrupted (uvicorn)."""
    import uvicorn

    app = create_app(images, db, title)
    uvicorn.run(app, host=host, port=port, log_level="warning")
