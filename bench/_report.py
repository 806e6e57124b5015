"""What every benchmark does with its table: print it and append it, dated, to bench/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


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
