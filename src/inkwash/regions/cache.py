"""A small thread-safe LRU of computed regions keyed by content, so the web app, --batch passes and a second
pass over the same lineart compute its regions once."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from inkwash.regions.engine import RegionConfig, Regions, lines_u8, region_key, regions_from_u8

MAX_ENTRIES = 4  # a web session's lineart, a batch's current one, and a little slack
MAX_BYTES = 2 << 30  # a 4096x4096 drawing's regions take ~0.3 GB; evict beyond this total


class RegionCache:
    """LRU of Regions by `region_key`; at most `max_entries` entries and `max_bytes` of arrays."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[str, Regions] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, lines: np.ndarray, config: RegionConfig | None = None) -> Regions:
        """The regions of lines (see compute_regions), computed once per content and config."""
        cfg = config or RegionConfig()
        u8 = lines_u8(lines)
        key = region_key(u8, cfg)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        # Computed outside the lock so other drawings are served meanwhile; a racing twin keeps the first result.
        regions = regions_from_u8(u8, cfg, key)
        with self._lock:
            regions = self._items.setdefault(key, regions)
            self._items.move_to_end(key)
            total = sum(r.nbytes() for r in self._items.values())
            while len(self._items) > 1 and (len(self._items) > self.max_entries or total > self.max_bytes):
                _, old = self._items.popitem(last=False)
                total -= old.nbytes()
        return regions

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_CACHE = RegionCache()


def cached_regions(lines: np.ndarray, config: RegionConfig | None = None) -> Regions:
    """compute_regions through the process-wide LRU: the same content and config return the same object."""
    return _CACHE.get(lines, config)


def clear_region_cache() -> None:
    """Forget every cached Regions (frees their memory)."""
    _CACHE.clear()
