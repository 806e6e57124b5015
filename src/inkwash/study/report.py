"""MOS table of a study, as in the thesis (IV.2.3.1, IV.3.3.1): MOS, STD and a t-test p-value per method.

MOS = mean of all ratings a method's images received (thesis eq. MOS); STD = their sample standard deviation
(ddof = 1); p-value = Welch's two-sided t-test (scipy.stats.ttest_ind, equal_var=False) of the method's ratings
against the reference method's, by default the one with the highest MOS (its own row has no p-value, as in the
thesis' StencilTorch table). A small p says the gap to the reference is unlikely to be chance.

Ballot stuffing is flagged, never silently dropped (`inkwash study report --exclude-flagged` leaves the flagged
participants out): "fast" votes come quicker than a person can load, look and click; "parallel" sessions run
at the same time from one address (one machine posing as several people; a lab running one person after
another on one machine is not flagged).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import stats

from inkwash.errors import InkwashError
from inkwash.io import atomic_path


@dataclass
class FlagConfig:
    """When a participant's votes look like a script or one person posing as several."""

    min_seconds: float = 1.0  # median seconds between one participant's votes below this: nobody looks that fast
    min_votes: int = 3  # speed is judged from this many votes on
    max_parallel: int = 1  # other sessions from the same address overlapping in time (two people sharing a NAT)


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def flag_participants(votes: list[tuple[str, str, int, str]], participants: list[tuple[str, str, str]],
                      config: FlagConfig | None = None) -> dict[str, list[str]]:
    """participant -> reasons it is flagged (only flagged ones).

    votes: (participant, method, rating, created ISO) as StudyStore.votes(); participants: (id, created ISO,
    client key) as StudyStore.participants() (participants of an old database without them are judged by
    speed only).
    """
    cfg = config or FlagConfig()
    times: dict[str, list[float]] = {}
    for pid, _, _, created in votes:
        times.setdefault(pid, []).append(_seconds(created))
    flags: dict[str, list[str]] = {}
    for pid, ts in times.items():
        ts.sort()
        if len(ts) >= cfg.min_votes:
            gap = statistics.median(b - a for a, b in zip(ts, ts[1:]))
            if gap < cfg.min_seconds:
                flags.setdefault(pid, []).append(f"fast: median {gap:.2f} s between votes")
    sessions: dict[str, list[tuple[float, float, str]]] = {}
    for pid, created, client in participants:
        if pid in times:
            start = min(_seconds(created), times[pid][0])
            sessions.setdefault(client, []).append((start, times[pid][-1], pid))
    for group in sessions.values():
        for start, end, pid in group:
            overlapping = sum(1 for s, e, other in group if other != pid and s <= end and start <= e)
            if overlapping > cfg.max_parallel:
                flags.setdefault(pid, []).append(f"parallel: {overlapping + 1} sessions from one address at once")
    return flags


def mos_table(ratings: dict[str, list[int]], reference: str | None = None) -> list[dict]:
    """Rows {"method", "n", "mos", "std", "p_value", "reference"} sorted by MOS, best first."""
    if not ratings:
        raise InkwashError("no votes yet: nothing to report")
    if reference is not None and reference not in ratings:
        raise InkwashError(f"reference method {reference!r} has no votes; methods: {', '.join(sorted(ratings))}")
    means = {m: float(np.mean(r)) for m, r in ratings.items()}
    ref = reference or max(sorted(means), key=lambda m: means[m])
    rows = []
    for m, r in ratings.items():
        a = np.asarray(r, np.float64)
        p = float("nan")
        if m != ref and len(a) >= 2 and len(ratings[ref]) >= 2:
            with np.errstate(divide="ignore", invalid="ignore"):
                p = float(stats.ttest_ind(a, np.asarray(ratings[ref], np.float64), equal_var=False).pvalue)
        rows.append({"method": m, "n": len(a), "mos": means[m],
                     "std": float(a.std(ddof=1)) if len(a) >= 2 else float("nan"),
                     "p_value": p, "reference": ref})
    return sorted(rows, key=lambda row: (-row["mos"], row["method"]))


def _p(p: float) -> str:
    return "" if math.isnan(p) else f"{p:.2e}"


def table_markdown(rows: list[dict]) -> str:
    """Markdown table: Method | N | MOS ↑ | STD | p-value ↓ (vs the reference)."""
    ref = rows[0]["reference"] if rows else ""
    lines = [f"| Method | N | MOS ↑ | STD | p-value vs {ref} ↓ |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        std = "" if math.isnan(r["std"]) else f"{r['std']:.2f}"
        name = f"**{r['method']}**" if r["method"] == ref else r["method"]
        lines.append(f"| {name} | {r['n']} | {r['mos']:.2f} | {std} | {_p(r['p_value'])} |")
    return "\n".join(lines) + "\n"


def write_report(rows: list[dict], out_dir: str | Path, counts: dict[str, int],
                 flagged: dict[str, list[str]] | None = None, excluded: bool = False) -> list[Path]:
    """OUT/mos.csv, OUT/mos.md and OUT/flagged.csv (participant, reasons), written atomically."""
    flagged = flagged or {}
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InkwashError(f"{out_dir}: exists and is not a folder")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "n", "mos", "std", "p_value", "reference"])
    for r in rows:
        w.writerow([r["method"], r["n"], f"{r['mos']:.6g}", "" if math.isnan(r["std"]) else f"{r['std']:.6g}",
                    "" if math.isnan(r["p_value"]) else f"{r['p_value']:.6g}", r["reference"]])
    note = ""
    if flagged:
        note = (f" {len(flagged)} participants were flagged as possible ballot stuffing (flagged.csv) and "
                + ("left out." if excluded else "are included; `--exclude-flagged` leaves them out."))
    md = (f"# MOS study\n\n{counts['participants']} participants, {counts['votes']} votes on {counts['images']} "
          "images; ratings 1 (bad) to 5 (excellent). p-values: Welch's t-test against the reference (bold)."
          f"{note}\n\n" + table_markdown(rows))
    fbuf = io.StringIO()
    fw = csv.writer(fbuf, lineterminator="\n")
    fw.writerow(["participant", "reasons", "excluded"])
    for pid, reasons in sorted(flagged.items()):
        fw.writerow([pid, "; ".join(reasons), int(excluded)])
    written = []
    for name, text in (("mos.csv", buf.getvalue()), ("mos.md", md), ("flagged.csv", fbuf.getvalue())):
        with atomic_path(out_dir / name, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written
