"""The drawing's regions, computed once per lineart, and what every colorizer builds on them.

    regions = cached_regions(lines)                       # lines: (H,W) float in [0,1], 1 = paper
    flats = flat_colours(regions, hints)                  # hints: (H,W,4); flats.colour: (H,W,3)
    flat, shading = lock_to_regions(regions, raw_output)  # a learned model's (H,W,3) snapped to the regions
"""

from inkwash.regions.cache import RegionCache, cached_regions, clear_region_cache
from inkwash.regions.engine import Adjacency, RegionConfig, Regions, auto_gap, compute_regions, region_key
from inkwash.regions.flats import SOURCES, UNHINTED, FlatConfig, Flats, flat_colours
from inkwash.regions.lock import LockConfig, lock_medians, lock_shading, lock_to_regions
from inkwash.regions.stats import region_medians

__all__ = [
    "Adjacency", "FlatConfig", "Flats", "LockConfig", "RegionCache", "RegionConfig", "Regions", "SOURCES",
    "UNHINTED", "auto_gap", "cached_regions", "clear_region_cache", "compute_regions", "flat_colours",
    "lock_medians", "lock_shading", "lock_to_regions", "region_key", "region_medians",
]
