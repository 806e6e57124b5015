"""What user input may cost, each limit raised by an environment variable; checked before decoding or drawing.

Defaults sit far above real work (a 600 dpi A4 scan, a densely painted 4K hint layer) and well below what
would take minutes or gigabytes; the refusal names the variable, so a user with a real need raises it:

    INKWASH_MAX_PIXELS=300e6 inkwash colorize huge-scan.png -o out.png
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from inkwash.errors import InkwashError


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable, its default, and what it bounds (for the message)."""

    env: str
    default: int
    what: str

    def value(self) -> int:
        """The limit in force now (read from the environment each time, so a test or user can change it)."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            v = float(raw.replace("_", ""))
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v >= 1):
            raise InkwashError(f"{self.env}={raw!r} is not a positive number; unset it (default {self.default:,}) "
                               "or give e.g. 2e8")
        return int(min(v, 2**62))

    def value_or_default(self) -> int:
        """value(), or the default when the variable is malformed (for import-time constants)."""
        try:
            return self.value()
        except InkwashError:
            return self.default

    def refuse(self, found: str, limit: int | None = None, advice: str = "reduce it") -> InkwashError:
        """The error for input over this limit: what was found, the limit, and how to raise it."""
        limit = self.value() if limit is None else limit
        return InkwashError(f"{found}, over the limit of {limit:,} {self.what}; {advice}, or raise the limit "
                            f"with the environment variable {self.env}")


# Decoding any image: Open Clip Art holds two 623-megapixel PNGs, and a 16k x 16k scan already needs 1 GB as
# float32 RGB.
MAX_PIXELS = Limit("INKWASH_MAX_PIXELS", 100_000_000, "pixels")
# Colouring runs the whole pipeline at the lineart's size: about 90 bytes and 0.6 us per pixel on 2 CPU cores
# (an 81 MP page took 77 s and 5.4 GB). 50 MP takes an A4 page scanned at 600 dpi (35 MP) and 8K (33 MP).
MAX_COLORIZE_PIXELS = Limit("INKWASH_MAX_COLORIZE_PIXELS", 50_000_000, "pixels for colouring")
# A JSON hint file is read whole and parsed into Python objects (about 20x its size in memory); the app's
# exact export of a fully painted 4096 x 4096 layer is about 30 MB.
MAX_HINT_BYTES = Limit("INKWASH_MAX_HINT_BYTES", 64 * 2**20, "bytes of JSON")
# That export writes one stroke per run of a row: a hand-painted 4096 px layer has about 400k of them.
MAX_STROKES = Limit("INKWASH_MAX_STROKES", 1_000_000, "strokes")
MAX_STROKE_POINTS = Limit("INKWASH_MAX_STROKE_POINTS", 4_000_000, "stroke points")
# Drawing cost in painted pixels: each segment's length x brush width, each cap and round joint its brush's
# square, plus a fixed cost per stroke and joint for the Python work around them. Drawing runs at about
# 1e8 of these per second; a dense 4K hint file (3000 freehand strokes of 100 points) costs about 3e8.
MAX_STROKE_AREA = Limit("INKWASH_MAX_STROKE_AREA", 2_000_000_000, "painted pixels")
