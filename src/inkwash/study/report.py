"""MOS table of a study, as in the thesis (IV.2.3.1, IV.3.3.1): MOS, STD and a t-test p-value per method.

MOS = mean of all ratings a method's images received (thesis eq. MOS); STD = their sample standard deviation
(ddof = 1); p-value = Welch's two-sided t-test (scipy.stats.ttest_ind, equal_var=False) of the method's ratings
against the reference method's, by default the one with the highest MOS (its own row has no p-value, as in the
thesis' StencilTorch table). A small p says the gap to the reference is unlikely to be chance.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from scipy import stats

from inkwash.errors import InkwashError
from inkwash.io import atomic_path


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


def write_report(rows: list[dict], out_dir: str | Path, counts: dict[str, int]) -> list[Path]:
    """OUT/mos.csv and OUT/mos.md, written atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InkwashError(f"{out_dir}: exists and is not a folder")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "n", "mos", "std", "p_value", "reference"])
    for r in rows:
        w.writerow([r["method"], r["n"], f"{r['mos']:.6g}", "" if math.isnan(r["std"]) else f"{r['std']:.6g}",
                    "" if math.isnan(r["p_value"]) else f"{r['p_value']:.6g}", r["reference"]])
    md = (f"# MOS study\n\n{counts['participants']} participants, {counts['votes']} votes on {counts['images']} "
          "images; ratings 1 (bad) to 5 (excellent). p-values: Welch's t-test against the reference (bold).\n\n"
          + table_markdown(rows))
    written = []
    for name, text in (("mos.csv", buf.getvalue()), ("mos.md", md)):
        with atomic_path(out_dir / name, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written
