"""What an evaluation varies, with the names its tables print: hint conditions, hint schemes, lineart sources.

Its own module so the driver (run.py) and the writer (report.py) share it without importing each other.
"""

from __future__ import annotations

# thesis IV.3.3.1: the three hint conditions
CONDITIONS = {"none": "No Hints", "hints": "Hints", "full": "Full Hints"}
# how the "hints" condition's hints are drawn: PaintsTorch's random strokes coloured from the target (thesis
# IV.2.2.1), or hand-like scribbles inside the regions of an outline drawing (data/strokes.py, hand_hints)
HINT_SCHEMES = {"strokes": "Hints", "hand": "Hand hints"}
# where the test linearts come from: xDoG over the target (thesis IV.1.2), or the drawing's real outlines
LINEARTS = {"xdog": "xDoG", "outline": "real outlines"}


def condition_label(cond: str, hints: str = "strokes") -> str:
    """The column title of a condition: "Hints" names the hint scheme ("Hand hints" for hand-like ones)."""
    return HINT_SCHEMES[hints] if cond == "hints" else CONDITIONS[cond]
