"""Colour a new page or frame from a coloured reference: its regions take the colours of the matching regions.

    from inkwash.reference import colour_from_reference, reference_from_images
    key = reference_from_images("key.png")                     # coloured; lines extracted, or lineart="key_lines.png"
    result = colour_from_reference("frame2.png", key)          # regions of frame2, matched, filled
    result.flats.colour         # (H,W,3) flat colours in [0,1] (colour under the lines too)
    result.match.region_colour  # (n+1,3) the matched palette per region, NaN where no confident match
    result.match.confidence     # (n+1,) how sure; result.regions.labels (H,W) says which pixel is which region
    palette_table(result.regions, result.match)   # the same per region as JSON-ready dicts (for a web app)

Hints given with the new lineart win over the match; regions with no confident match follow the unhinted policy
(neighbour by default); regions touching the image border take a match too (a painted background) but stay paper
when unmatched. A sequence passes [key, previous_frame(...)] as references so each frame agrees with the last.
How matching works: match.py (votes through an alignment, area check, graph relaxation, colours decided by
share); align.py (moments, ECC, DIS flow); extract.py (lines of a coloured drawing); deform.py (benchmark warps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inkwash.reference.align import AlignConfig, correspond
from inkwash.reference.extract import ExtractConfig, extract_lineart
from inkwash.reference.frames import (ImageLike, palette_table, previous_frame, reference_from_images,
                                      unmatched_rows)
from inkwash.reference.match import Match, MatchConfig, Reference, interior_points, match_regions
from inkwash.regions import FlatConfig, Flats, RegionConfig, cached_regions, flat_colours
from inkwash.regions.engine import Regions


@dataclass
class ReferenceResult:
    """A frame coloured from references: its regions, the match and the flat colours."""

    lines: np.ndarray  # (H,W) float32 in [0,1], 1 = paper
    regions: Regions
    match: Match
    flats: Flats


def colour_from_reference(lineart: ImageLike, references: Reference | list[Reference],
                          hints: ImageLike | None = None, gap: float | None = None, unhinted: str = "neighbour",
                          config: MatchConfig | None = None) -> ReferenceResult:
    """A lineart (path, PIL or array) coloured from one or more references; hints (file, PIL or (H,W,4)) win.

    unhinted: paper | neighbour, what regions with neither a hint nor a confident match get.
    """
    from inkwash.hints import load_hints
    from inkwash.lineart import lineart_array, load_lineart

    img = load_lineart(lineart)
    lines = lineart_array(img)
    hint_map = load_hints(hints, img.size) if hints is not None else np.zeros(lines.shape + (4,), np.float32)
    refs = [references] if isinstance(references, Reference) else list(references)
    regions = cached_regions(lines, RegionConfig(gap=gap))
    match = match_regions(regions, lines, refs, config)
    flats = flat_colours(regions, hint_map, FlatConfig(unhinted=unhinted), region_colours=match.region_colour)
    return ReferenceResult(lines, regions, match, flats)


__all__ = ["AlignConfig", "ExtractConfig", "Match", "MatchConfig", "Reference", "ReferenceResult",
           "colour_from_reference", "correspond", "extract_lineart", "interior_points", "match_regions", "palette_table",
           "previous_frame", "reference_from_images", "unmatched_rows"]
