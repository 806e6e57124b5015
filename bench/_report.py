"""What every benchmark does with its table: print it and append it, dated, to bench/RESULTS.md."""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).with_name("RESULTS.md")


def cpu_name() -> str:
    """The processor's model name (for a table's machine line)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(section: str, append: bool = True) -> None:
    """Print a markdown section (starting with its `## ` heading) and, unless told not to, append it."""
    section = section.strip("\n") + "\n"
    print(section)
    if not append:
        return
    new_file = not RESULTS.exists() or RESULTS.stat().st_size == 0
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("# Benchmarks\n" if new_file else "")
        f.write("\n" + section)
    print(f"appended to {RESULTS}")


def median_seconds(fn: Callable[[], object], repeats: int, sync: Callable[[], object] = lambda: None,
                   warmup: bool = True) -> float:
    """Median wall seconds of `repeats` calls of fn (after one untimed warm-up call unless warmup=False);
    `sync` waits for queued GPU work so it is counted."""
    if warmup:
        fn()
        sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
