"""Draw the README's result figures from the shipped weights and examples (run after retraining them).

    .venv/bin/python docs/figures.py            # writes docs/paintstorch_examples.png, docs/stenciltorch_passes.png
    .venv/bin/python docs/figures.py paintstorch                       # only the first

paintstorch_examples.png: per example, lineart + hand-drawn hints, the default region fill, the shipped PaintsTorch
locked to the regions and raw, original.
stenciltorch_passes.png: the README's three-pass workflow on the girl example (the same masks and strokes as the
README's commands): a full pass from a few strokes, the hair re-coloured blue under a mask, then the dress under
a second mask with no hints; outside each mask the previous pass is kept pixel for pixel.
regions_default.png: four outline test drawings with hand-like hints left out of about half of the strokes (so
parts are unhinted): classic LazyBrush, the raw PaintsTorch network, the default region fill, PaintsTorch locked to
the regions, RegionColor, and the truth (from an evaluation folder: EVAL=DIR, default /work/data/eval2/outline-hand).
outline_dataset.png: lines / flats / truth of four test drawings of the outline dataset (built first with
`inkwash data openclipart-outlines data/ocal-outlines`; another place with OUTLINES=DIR docs/figures.py outlines).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inkwash.cli.demo import _contact_sheet, _hints_over  # noqa: E402
from inkwash.hints import hints_from_json, load_hints  # noqa: E402
from inkwash.infer import Colorizer  # noqa: E402

EXAMPLES = ROOT / "examples"
# the README's pass 2 and pass 3 (section "Colour in passes")
MASKS = {"hair": (100, 0, 420, 200), "dress": (80, 300, 440, 512)}
HAIR_HINTS = {"width": 512, "height": 512,
              "strokes": [{"color": "#3b5bd9", "width": 12, "points": [[200, 80], [300, 90]]}]}


def box_mask(box: tuple[int, int, int, int], size=(512, 512)) -> Image.Image:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle(box, fill=255)
    return m


def mask_over(image: Image.Image, mask: Image.Image) -> Image.Image:
    """The image with the unselected part dimmed, to show where a pass may paint."""
    a = np.asarray(image.convert("RGB"), np.float32)
    m = np.asarray(mask, np.float32)[..., None] / 255.0
    return Image.fromarray((a * (0.45 + 0.55 * m)).astype(np.uint8))


def paintstorch_examples() -> Path:
    models = [("inkwash default", "lazybrush"), ("PaintsTorch (locked)", "paintstorch"),
              ("PaintsTorch raw", "paintstorch:lock=false")]
    cols = [Colorizer.from_key(key) for _, key in models]
    rows = []
    for folder in sorted(p for p in EXAMPLES.iterdir() if (p / "hints.json").is_file()):
        lines = Image.open(folder / "lineart.png")
        hints = folder / "hints.json"
        rows.append([_hints_over(lines, load_hints(hints, lines.size))] + [c.colorize(lines, hints) for c in cols]
                    + [Image.open(folder / "illustration.png").convert("RGB")])
    out = ROOT / "docs" / "paintstorch_examples.png"
    _contact_sheet(rows, ["lineart + hints"] + [label for label, _ in models] + ["original"], 200).save(out)
    return out


def stenciltorch_passes() -> Path:
    st = Colorizer.from_pretrained("stenciltorch")
    folder = EXAMPLES / "girl"
    lines = Image.open(folder / "lineart.png")
    hints = folder / "hints.json"
    pass1 = st.colorize(lines, hints)
    hair, dress = box_mask(MASKS["hair"], lines.size), box_mask(MASKS["dress"], lines.size)
    hair_hints = hints_from_json(HAIR_HINTS, lines.size)
    pass2 = st.colorize(lines, hair_hints, mask=hair, base=pass1)
    pass3 = st.colorize(lines, None, mask=dress, base=pass2)
    for before, after, m in ((pass1, pass2, hair), (pass2, pass3, dress)):  # what the workflow promises
        keep = np.asarray(m) == 0
        assert np.array_equal(np.asarray(before)[keep], np.asarray(after)[keep])
    rows = [[_hints_over(lines, load_hints(hints, lines.size)), pass1,
             mask_over(_hints_over(pass1, hair_hints), hair), pass2, mask_over(pass2, dress), pass3]]
    out = ROOT / "docs" / "stenciltorch_passes.png"
    _contact_sheet(rows, ["pass 1: strokes", "pass 1", "pass 2: hair mask + stroke", "pass 2",
                          "pass 3: dress mask", "pass 3"], 220).save(out)
    return out


# four test drawings of the outline dataset: a thick-lined fruit, dark brown hair that is colour (not ink), sketchy
# open contours, a soft blush that is a glaze (in the truth only); () picks clean ones from the index instead
OUTLINE_IDS = ("food/fruit/pesca_architetto_frances_01", "people/head3",
               "recreation/toys/stylized_teddy_bear_wit_02", "signs_and_symbols/money/piggybank")


def outline_dataset() -> Path:
    from inkwash.data.store import ImageStore

    store = ImageStore(Path(os.environ.get("OUTLINES", ROOT / "data" / "ocal-outlines")), split="test")
    ids = [it["id"] for it in store.items]
    picks = [ids.index(i) for i in OUTLINE_IDS] if OUTLINE_IDS else _clean_outlines(store.items)
    rows = [[store.layer(i, "lines"), store.layer(i, "flats"), store[i]] for i in picks]
    out = ROOT / "docs" / "outline_dataset.png"
    _contact_sheet(rows, ["lines", "flats", "truth"], 150).save(out, optimize=True)
    return out


REGION_IDS = (3, 23, 43, 55)  # outline test items (evaluation order) with several regions and some paper


def regions_default() -> Path:
    """Before / after on drawings with unhinted parts: every other hint stroke (a connected stroke blob) removed."""
    import cv2

    from inkwash.models import registry

    folder = Path(os.environ.get("EVAL", "/work/data/eval2/outline-hand")) / "inputs"
    rows = []
    models = [("LazyBrush (classic)", "lazybrush:solver=classic"), ("PaintsTorch raw", "paintstorch:lock=false"),
              ("inkwash default", "lazybrush"), ("PaintsTorch locked", "paintstorch")]
    if registry.known("regioncolor"):
        models.append(("RegionColor", "regioncolor"))
    cols = {label: Colorizer.from_key(key) for label, key in models}
    for k in REGION_IDS:
        lines = Image.open(folder / f"{k:05d}_lineart.png").convert("L")
        hints = np.asarray(Image.open(folder / f"{k:05d}_hints.png").convert("RGBA"), np.float32) / 255.0
        n, blobs = cv2.connectedComponents((hints[..., 3] > 0.5).astype(np.uint8))
        drop = np.isin(blobs, np.arange(2, n, 2))  # every other stroke: parts of the drawing get no hint
        hints[drop] = 0.0
        row = [_hints_over(lines, cv2.resize(hints, lines.size, interpolation=cv2.INTER_NEAREST))]
        row += [col.colorize(lines, hints) for col in cols.values()]
        row.append(Image.open(folder / f"{k:05d}_target.png").convert("RGB"))
        rows.append(row)
    out = ROOT / "docs" / "regions_default.png"
    _contact_sheet(rows, ["lineart + hints"] + list(cols) + ["truth"], 200).save(out, optimize=True)
    return out


def _clean_outlines(items: list[dict], n: int = 4) -> list[int]:
    """n drawings of distinct categories whose lines outline the colours and whose flats are close to the truth."""
    order = sorted(range(len(items)), key=lambda i: (-items[i]["outlined"], items[i]["flat_error"], items[i]["id"]))
    picks, seen = [], set()
    for i in order:
        it = items[i]
        if it["category"] not in seen and it["colour_fraction"] > 0.2 and it["height"] == it["width"]:
            picks.append(i)
            seen.add(it["category"])
        if len(picks) == n:
            break
    return picks


if __name__ == "__main__":
    figures = {"paintstorch": paintstorch_examples, "stenciltorch": stenciltorch_passes, "outlines": outline_dataset,
               "regions": regions_default}
    for name in sys.argv[1:] or figures:  # e.g. `docs/figures.py stenciltorch` redraws only that one
        print("wrote", figures[name]())
