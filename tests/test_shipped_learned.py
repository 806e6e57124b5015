"""The shipped RegionColor weights: they load by name, stay small, and through the region lock fill unhinted regions
cleanly (one colour per region, hints kept, paper left white)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inkwash.hints import load_hints
from inkwash.infer import Colorizer, Settings, prepare, regions_of
from inkwash.models.serialize import WEIGHTS, WEIGHTS_DIR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOCKED = Settings(unhinted="model", shading=0.0)  # flats only: the model's colours, one per region


def example(name="girl", size=256):
    """An example's lineart at `size` px and its hints (a third of the strokes: most regions stay unhinted)."""
    folder = EXAMPLES / name
    lines = Image.open(folder / "lineart.png").convert("L").resize((size, size), Image.Resampling.LANCZOS)
    hints = load_hints(folder / "hints.json", (size, size))
    keep = np.zeros(hints.shape[:2], bool)
    keep[:, : size // 3] = True
    hints[~keep] = 0
    return lines, hints


def one_colour(c: np.ndarray) -> bool:
    """A region is one colour: 98 % of its pixels within 2 levels of its median (anti-aliased rims aside)."""
    near = np.abs(c.astype(int) - np.median(c, axis=0)).max(axis=1) <= 2
    return near.mean() >= 0.98


def region_colours(flat: np.ndarray, lines: Image.Image, hints: np.ndarray) -> tuple[dict[int, np.ndarray], object]:
    """Each unhinted enclosed region's colours away from the lines: {region: (k,3) uint8}, and the regions (a
    hinted region may rightly hold two colours: strokes of two colours split it)."""
    regions = regions_of(prepare(lines, hints), Settings())  # the regions the pipeline coloured
    hinted = np.unique(regions.labels[hints[..., 3] > 0.5])
    out = {}
    for r in range(1, regions.n + 1):
        inside = (regions.labels == r) & (regions.dist > 2)
        if not regions.border[r] and r not in hinted and inside.sum() >= 20:
            out[r] = flat[inside]
    return out, regions


@pytest.mark.parametrize("name", ["regioncolor"])
def test_shipped_weights_load_and_are_small(name):
    folder = WEIGHTS_DIR / name
    assert (folder / WEIGHTS).stat().st_size < 12e6 and (folder / "MODEL_CARD.md").is_file()
    col = Colorizer.from_pretrained(name)
    assert col.learned and col.model.resolution == 256


def test_regioncolor_fills_unhinted_regions_cleanly():
    lines, hints = example()
    col = Colorizer.from_pretrained("regioncolor")
    flat = np.asarray(col.colorize_layers(lines, hints, settings=LOCKED)["flat"])
    colours, regions = region_colours(flat, lines, hints)
    assert len(colours) >= 3  # enough unhinted enclosed regions for the checks below to mean something
    assert all(one_colour(c) for c in colours.values())  # one colour per region
    border = regions.border.take(regions.labels) & (regions.labels > 0)
    assert (flat[border] == 255).all()  # the paper around the drawing stays paper
    hinted = hints[..., 3] > 0.5
    err = np.abs(flat[hinted].astype(float) - hints[hinted, :3] * 255).mean()
    assert err < 20  # hints win (rims of strokes that cross a line count too)
