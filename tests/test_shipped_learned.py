"""The shipped RegionColor and StablePaint weights: they load by name, stay small, and through the region lock fill
unhinted regions cleanly (one colour per region, hints kept, paper left white); StablePaint's seeds give different
region colourings, and the CLI writes the variations sheet."""

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


@pytest.mark.parametrize("name", ["regioncolor", "stablepaint"])
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


def test_stablepaint_seeds_give_different_clean_region_colourings():
    lines, hints = example()
    col = Colorizer.from_pretrained("stablepaint", steps=4)
    flats = [np.asarray(col.colorize_layers(lines, hints, seed=s, settings=LOCKED)["flat"]) for s in (0, 1)]
    per_seed = [region_colours(f, lines, hints)[0] for f in flats]
    for colours in per_seed:
        assert all(one_colour(c) for c in colours.values())  # each clean
    changed = [r for r in per_seed[0] if np.abs(per_seed[0][r][0].astype(int) - per_seed[1][r][0]).max() > 8]
    assert len(changed) >= 3  # the seeds colour some unhinted regions differently


def test_cli_writes_stablepaint_variations_through_the_lock(tmp_path, cli):
    lines, hints = example(size=128)
    lines.save(tmp_path / "l.png")
    Image.fromarray((hints * 255).astype(np.uint8), "RGBA").save(tmp_path / "h.png")
    code, _, err = cli(["colorize", str(tmp_path / "l.png"), "--hints", str(tmp_path / "h.png"), "--model",
                        "stablepaint", "--unhinted", "model", "--variations", "2", "--steps", "2", "-o",
                        str(tmp_path / "out.png")])
    assert code == 0, err
    sheet = Image.open(tmp_path / "out_variations.png")
    assert (tmp_path / "out_v1.png").is_file() and (tmp_path / "out_v2.png").is_file() and sheet.width >= 256
