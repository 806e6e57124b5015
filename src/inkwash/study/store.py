"""The MOS study's SQLite file: the images shown (one folder per method) and every participant's 1-5 votes.

Schema (inkwash-study/2; a /1 file is upgraded in place by adding what /2 adds):
  meta(key PRIMARY KEY, value)          schema version; 'secret': the key participant tokens are signed with
  images(id INTEGER PRIMARY KEY, token TEXT UNIQUE, method TEXT, name TEXT, active INTEGER, UNIQUE(method, name))
  votes(participant TEXT, image_id INTEGER REFERENCES images(id), rating INTEGER CHECK (rating BETWEEN 1 AND 5),
        created TEXT, UNIQUE(participant, image_id))
  participants(id TEXT PRIMARY KEY, created TEXT, client TEXT)   (/2) issued by the server; client: a keyed
        hash of the address that asked (never the address), to spot one machine posing as many people
The token is random, so nothing a participant sees (URL, page) names the method or the file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from inkwash.errors import InkwashError
from inkwash.io import IMAGE_SUFFIXES

SCHEMA_VERSION = "inkwash-study/2"
UPGRADABLE = ("inkwash-study/1",)
RATINGS = (1, 2, 3, 4, 5)  # thesis IV.1.4.2: 1 = bad ... 5 = excellent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, method TEXT NOT NULL, name TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1, UNIQUE(method, name));
CREATE TABLE IF NOT EXISTS votes (
    participant TEXT NOT NULL, image_id INTEGER NOT NULL REFERENCES images(id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5), created TEXT NOT NULL,
    UNIQUE(participant, image_id));
"""
_SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS participants (id TEXT PRIMARY KEY, created TEXT NOT NULL, client TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def is_rating(value: object) -> bool:
    """A rating is an integer 1-5: JSON true, 1.0 or "3" are not."""
    return type(value) is int and value in RATINGS


class DuplicateVote(InkwashError):
    """This participant already rated this image."""


class UnknownImage(InkwashError):
    """No image has this token."""


def scan_images(root: str | os.PathLike) -> list[tuple[str, str]]:
    """(method, name) of every image under root/METHOD/... (name: path below the method folder, '/'-joined)."""
    root = Path(root)
    if not root.is_dir():
        raise InkwashError(f"{root}: no such folder; give a folder with one subfolder of images per method")
    found, loose = [], []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        rel = p.relative_to(root).parts
        if len(rel) < 2:
            loose.append(p.name)
            continue
        found.append((rel[0], "/".join(rel[1:])))
    if not found:
        hint = f" ({len(loose)} images lie directly in it)" if loose else ""
        raise InkwashError(f"{root}: no images in method subfolders{hint}; lay them out as {root}/METHOD/NAME.png")
    return found


class StudyStore:
    """Open (or create) a study database. Every method opens its own short-lived connection (thread-safe)."""

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InkwashError(f"{self.path}: no such study database; run `inkwash study serve` first")
        if self.path.is_dir():
            raise InkwashError(f"{self.path}: is a folder; give the study's .sqlite file")
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        try:
            with self._connect() as db:
                if create and fresh:  # never add our tables to somebody else's database
                    db.executescript(_SCHEMA)
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                db.execute("SELECT id, token, method, name, active FROM images LIMIT 1")
                db.execute("SELECT participant, image_id, rating, created FROM votes LIMIT 1")
                if row is not None and row[0] in UPGRADABLE + (SCHEMA_VERSION,):
                    db.executescript(_SCHEMA_2)  # (executescript commits; each statement is idempotent)
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
                    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                    row = (SCHEMA_VERSION,)
        except sqlite3.DatabaseError as exc:
            raise InkwashError(f"{self.path}: not an inkwash study database ({exc})") from None
        if row is None or row[0] != SCHEMA_VERSION:
            raise InkwashError(f"{self.path}: not an inkwash study database (schema {row[0] if row else None!r})")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    # ---------------------------------------------------------------------------------------- images
    def sync_images(self, root: str | os.PathLike) -> int:
        """Register every image under root/METHOD/; images gone from disk are no longer shown. -> active count."""
        found = scan_images(root)
        with self._connect() as db:
            db.execute("UPDATE images SET active = 0")
            for method, name in found:
                db.execute("INSERT OR IGNORE INTO images (token, method, name) VALUES (?, ?, ?)",
                           (secrets.token_urlsafe(12), method, name))
                db.execute("UPDATE images SET active = 1 WHERE method = ? AND name = ?", (method, name))
        return len(found)

    def image(self, token: str) -> tuple[int, str, str]:
        """(id, method, name) of an active image token, or UnknownImage."""
        with self._connect() as db:
            row = db.execute("SELECT id, method, name FROM images WHERE token = ? AND active = 1",
                             (token,)).fetchone()
        if row is None:
            raise UnknownImage(f"no image {token!r}")
        return row

    def next_image(self, participant: str, rng: random.Random | None = None) -> tuple[str | None, int, int]:
        """A random active image this participant has not rated: (token or None when done, rated, total)."""
        with self._connect() as db:
            todo = [r[0] for r in db.execute(
                "SELECT token FROM images WHERE active = 1 AND id NOT IN "
                "(SELECT image_id FROM votes WHERE participant = ?) ORDER BY id", (participant,))]
            total = db.execute("SELECT COUNT(*) FROM images WHERE active = 1").fetchone()[0]
        rng = rng or random.SystemRandom()
        return (rng.choice(todo) if todo else None), total - len(todo), total

    # ---------------------------------------------------------------------------------- participants
    def secret(self) -> bytes:
        """This database's key for signing participant tokens (made when the file was created or upgraded)."""
        with self._connect() as db:
            return bytes.fromhex(db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0])

    def client_key(self, address: str) -> str:
        """A keyed hash of a client address: equal for equal addresses, and the address is not stored."""
        return hmac.new(self.secret(), address.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]

    def add_participant(self, client: str) -> str:
        """Register a new participant -> its id (32 hex digits). client: from client_key()."""
        pid = secrets.token_hex(16)
        with self._connect() as db:
            db.execute("INSERT INTO participants VALUES (?, ?, ?)", (pid, now_iso(), client))
        return pid

    def has_participant(self, pid: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM participants WHERE id = ?", (pid,)).fetchone() is not None

    def participants(self) -> list[tuple[str, str, str]]:
        """(id, created ISO time, client key) of every issued participant, oldest first."""
        with self._connect() as db:
            return list(db.execute("SELECT id, created, client FROM participants ORDER BY created, id"))

    def last_vote_time(self, participant: str) -> str | None:
        with self._connect() as db:
            return db.execute("SELECT MAX(created) FROM votes WHERE participant = ?", (participant,)).fetchone()[0]

    # ----------------------------------------------------------------------------------------- votes
    def add_vote(self, participant: str, token: str, rating: int) -> None:
        """Store one rating; DuplicateVote if this participant already rated the image."""
        if not participant or len(participant) > 128:
            raise InkwashError("missing or invalid participant id")
        if not is_rating(rating):
            raise InkwashError(f"rating {str(rating)[:20]!r} must be an integer from 1 to 5")
        image_id = self.image(token)[0]
        try:
            with self._connect() as db:
                db.execute("INSERT INTO votes VALUES (?, ?, ?, ?)", (participant, image_id, int(rating), now_iso()))
        except sqlite3.IntegrityError:
            raise DuplicateVote("this participant already rated this image") from None

    def votes(self) -> list[tuple[str, str, int, str]]:
        """(participant, method, rating, created ISO time) of every vote, by participant then time."""
        with self._connect() as db:
            return [(p, m, int(r), c) for p, m, r, c in db.execute(
                "SELECT v.participant, i.method, v.rating, v.created FROM votes v JOIN images i "
                "ON i.id = v.image_id ORDER BY v.participant, v.created")]

    def ratings(self, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, list[int]]:
        """Every rating, grouped by method, leaving out the participants in `exclude` (and methods without votes)."""
        out: dict[str, list[int]] = {}
        for participant, method, rating, _ in sorted(self.votes(), key=lambda v: v[1]):
            if participant not in exclude:
                out.setdefault(method, []).append(rating)
        return out

    def counts(self, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, int]:
        """{"images": active images, "votes": votes, "participants": distinct voters}, without `exclude`."""
        votes = [v for v in self.votes() if v[0] not in exclude]
        with self._connect() as db:
            images = db.execute("SELECT COUNT(*) FROM images WHERE active = 1").fetchone()[0]
        return {"images": images, "votes": len(votes), "participants": len({v[0] for v in votes})}
