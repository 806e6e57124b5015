"""Coloured references for the page: uploads read once per content (an LRU), their palette, and the match's summary.

    ref = cache.get(uploads, config, gap)         # {"reference": file[, "reference_lineart": file]} -> Reference
    rows = reference_palette(ref)                 # its distinct flat colours, largest area first (JSON-ready)
    header = match_summary(match, regions)        # "matched=5;unmatched=1": the enclosed regions of the new page

A page sends its reference with every stroke; the reference's lines (extracted from its colours when no lineart
comes with it), regions and region colours are computed once per uploaded content and gap, not per stroke.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import IO

import numpy as np

from inkwash.app.config import ServerConfig
from inkwash.app.inputs import decode_image, input_errors


REFERENCE_FIELDS = ("reference", "reference_lineart")
MAX_ENTRIES = 4  # a page's reference, another tab's, and a little slack
MAX_BYTES = 1 << 30  # a 4096 px reference holds ~0.4 GB (its regions and lines); evict beyond this total


# ---------------------------------------------------------------------------------------------- helpers
def _content_key(uploads: dict[str, IO[bytes]], gap: float | None) -> str:
    """Content hash of the uploads (each field's bytes, in a fixed order) and the gap: the cache key."""
    h = hashlib.blake2b(digest_size=16)
    for name in REFERENCE_FIELDS:
        f = uploads.get(name)
        h.update(name.encode() + b"\0")
        if f is not None:
            f.seek(0)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    h.update(repr(gap).encode())
    return h.hexdigest()


def _nbytes(ref) -> int:
    return ref.regions.nbytes() + (0 if ref.lines is None else ref.lines.nbytes) + ref.colour.nbytes


def read_reference(uploads: dict[str, IO[bytes]], config: ServerConfig, gap: float | None = None):
    """The uploads (a coloured image, optionally its lineart) -> inkwash.reference.Reference, or a 4xx ApiError.

    InkwashError (a lineart of another shape, no lines found) passes through as the API's 400.
    """
    from inkwash.reference import reference_from_images

    with input_errors("the reference", "send a coloured PNG, JPEG or WebP of the drawing", detail=False):
        coloured = decode_image(uploads["reference"], "reference", config.max_pixels)
        lineart = uploads.get("reference_lineart")
        lines = None if lineart is None else decode_image(lineart, "reference_lineart", config.max_pixels)
        return reference_from_images(coloured, lines, gap)


# ------------------------------------------------------------------------------------------- main thing
class ReferenceCache:
    """LRU of References by uploaded content and gap; at most `max_entries` entries and `max_bytes` of arrays."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0  # references computed (tests and logs: a repeated stroke computes none)

    def cached(self, uploads: dict[str, IO[bytes]], gap: float | None = None) -> bool:
        with self._lock:
            return _content_key(uploads, gap) in self._items

    def get(self, uploads: dict[str, IO[bytes]], config: ServerConfig, gap: float | None = None):
        """The Reference of the uploads (read_reference), computed once per content and gap."""
        key = _content_key(uploads, gap)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        # computed outside the lock so other references are served meanwhile; a racing twin keeps the first
        ref = read_reference(uploads, config, gap)
        with self._lock:
            self.misses += 1
            ref = self._items.setdefault(key, ref)
            self._items.move_to_end(key)
            total = sum(_nbytes(r) for r in self._items.values())
            while len(self._items) > 1 and (len(self._items) > self.max_entries or total > self.max_bytes):
                _, old = self._items.popitem(last=False)
                total -= _nbytes(old)
        return ref

    def __len__(self) -> int:
        return len(self._items)


def _hex(c: np.ndarray) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in c)


def reference_palette(ref) -> list[dict]:
    """A Reference's distinct flat colours (8-bit, as matching tells them apart), largest area first:
    [{colour: "#rrggbb", share: of the paper's area in [0,1], regions: how many regions have it}]."""
    q = (np.clip(ref.colour[1:], 0, 1) * 255.0 + 0.5).astype(np.int64)  # (n,3) levels; row 0 is ink
    area = ref.regions.area[1:].astype(np.float64)
    if not len(q):
        return []
    colours, inverse = np.unique(q, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    total = np.bincount(inverse, weights=area, minlength=len(colours))
    count = np.bincount(inverse, minlength=len(colours))
    order = np.argsort(-total, kind="stable")
    paper = max(float(area.sum()), 1.0)
    return [{"colour": _hex(colours[i]), "share": round(float(total[i]) / paper, 4), "regions": int(count[i])}
            for i in order]


def match_summary(match, regions) -> dict[str, int]:
    """How the match went on a page's enclosed regions (the paper around a drawing left out):
    {matched, unmatched} (unmatched: left to the unhinted policy, or to a hint)."""
    enclosed = int((~regions.border[1:]).sum())
    missed = len(match.unmatched(regions))
    return {"matched": enclosed - missed, "unmatched": missed}


def summary_header(summary: dict[str, int]) -> str:
    return ";".join(f"{k}={v}" for k, v in summary.items())


__all__ = ["REFERENCE_FIELDS", "ReferenceCache", "read_reference", "reference_palette", "match_summary",
           "summary_header"]
