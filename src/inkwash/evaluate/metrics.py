"""Per-image metrics: hint fidelity, bleeding, colour error and paper flood (ours), PSNR and SSIM (for completeness).

Conventions: output and target are (H,W,3) float in [0,1]; lineart is (H,W) in [0,1] with 1 = paper; hints are
(h,w,4) float in [0,1] (RGB + mask), upsampled to (H,W) by nearest neighbour exactly as `Colorizer` does.

"Paper" pixels: lineart >= line_level and farther than `margin` px from every line pixel, with
margin = max(1, round(margin_at_512 * min(H,W) / 512)). Excluding a margin keeps anti-aliased line edges (which
every model darkens on purpose) out of colour measurements and closes line gaps up to ~2 margin px.

Hint fidelity (lower is better, CIEDE2000 units): the mean, over every hinted paper pixel p, of
dE00(hint colour at p, output at p), i.e. each stroke's colour against the output under it, strokes weighted by
their area (NaN if no hinted paper pixel: no hints, or all on lines). Area weighting matters for dense hints:
upsampled 4x, a hint map's blocks stick out across lines into slivers a few pixels wide, which per-stroke
averaging would weigh like whole strokes.

Bleeding (lower is better, a fraction in [0,1]): regions are the 4-connected components of paper pixels, kept
when larger than min_region of the image. The spread of an image X in region R is the RMS CIE76 distance of its
Lab colours to their mean over R. R bleeds when spread(output, R) - spread(target, R) > threshold: the output
mixes colours inside a line-bounded area beyond what the target itself does (shading). The image's value is
the area of bleeding regions over the area of all kept regions (NaN if no region is kept).

Colour error and paper flood split the paper pixels (as above: away from the lines) by the target. "White paper":
target pixels within `paper_de` CIEDE2000 of white; "coloured pixels": all other paper pixels, i.e. pixels of
the target that are neither white paper nor lines (nor within the margin of a line).
Colour error (lower is better, CIEDE2000 units): the mean CIEDE2000 between output and target over the coloured
pixels (NaN if none). Paper flood (lower is better, a fraction in [0,1]): the share of the white-paper pixels that
the output colours, i.e. where the output is more than `flood_de` CIEDE2000 from white (NaN if no paper): a fill
that leaks through a gap into the background loses points here, which no colour-region metric sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.measure import label
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


@dataclass
class MetricConfig:
    line_level: float = 0.5  # lineart values below this are line pixels (as LazyBrush's line_level)
    margin_at_512: float = 2.0  # px kept clear of lines at 512 px, scaled with the image
    bleed_threshold: float = 10.0  # CIE76 units of extra spread; ~10 is a clearly visible colour difference
    min_region: float = 1e-3  # regions under this fraction of the image are too small to judge
    paper_de: float = 3.0  # target pixels this close (CIEDE2000) to white are paper; ~1 JND (2.3) plus render noise
    flood_de: float = 10.0  # an output pixel this far (CIEDE2000) from white is coloured: plainly visible on paper


WHITE_LAB = np.array([100.0, 0.0, 0.0])  # CIELAB of sRGB white (D65)


# ---------------------------------------------------------------------------------------------- helpers
def margin_px(shape: tuple[int, ...], cfg: MetricConfig) -> int:
    return max(1, round(cfg.margin_at_512 * min(shape[:2]) / 512))


def paper_mask(lineart: np.ndarray, cfg: MetricConfig | None = None) -> np.ndarray:
    """(H,W) bool: pixels farther than the margin from any line pixel. lineart: (H,W) in [0,1], 1 = paper."""
    cfg = cfg or MetricConfig()
    lines = np.asarray(lineart) < cfg.line_level
    if not lines.any():
        return np.ones(lines.shape, bool)
    return ndimage.distance_transform_edt(~lines) > margin_px(lines.shape, cfg)


def upsample_hints(hints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h,w,4) hints in [0,1] -> (H,W,4) at size (W,H) by nearest neighbour (as Colorizer), colours kept exact."""
    if hints.shape[:2] == (size[1], size[0]):
        return np.asarray(hints, np.float32)
    u8 = (np.clip(hints, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return np.asarray(Image.fromarray(u8, "RGBA").resize(size, Image.Resampling.NEAREST), np.float32) / 255.0


def _lab(rgb: np.ndarray) -> np.ndarray:
    return rgb2lab(np.clip(np.asarray(rgb, np.float64), 0.0, 1.0))


# ----------------------------------------------------------------------------------------------- metrics
def psnr(output: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over RGB in [0,1] (inf for identical images)."""
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(np.asarray(target, np.float64), np.asarray(output, np.float64),
                                             data_range=1.0))


def ssim(output: np.ndarray, target: np.ndarray) -> float:
    """Mean structural similarity (7x7 window, per channel, averaged) over RGB in [0,1]; 1 for identical images."""
    return float(structural_similarity(np.asarray(target, np.float64), np.asarray(output, np.float64),
                                       channel_axis=2, data_range=1.0))


def hint_fidelity(output: np.ndarray, hints: np.ndarray, lineart: np.ndarray | None = None,
                  cfg: MetricConfig | None = None) -> float:
    """Mean CIEDE2000 between the hint colour and the output over all hinted paper pixels (see module).

    output: (H,W,3) in [0,1]; hints: (h,w,4) in [0,1]; lineart: (H,W) in [0,1], 1 = paper (None: no lines).
    -> float >= 0, 0 when the output copies the hints; NaN when no hint lies on paper.
    """
    cfg = cfg or MetricConfig()
    h, w = output.shape[:2]
    up = upsample_hints(np.asarray(hints), (w, h))
    on = up[..., 3] > 0.5
    if lineart is not None:
        on &= paper_mask(lineart, cfg)  # line pixels are no stroke's business
    if not on.any():
        return float("nan")
    return float(deltaE_ciede2000(_lab(up[..., :3][on]), _lab(output[on])).mean())


def paper_regions(lineart: np.ndarray, cfg: MetricConfig | None = None) -> np.ndarray:
    """(H,W) int32 region ids (0 = lines, margins and regions under min_region) of a lineart in [0,1]."""
    cfg = cfg or MetricConfig()
    regions = label(paper_mask(lineart, cfg), background=0, connectivity=1).astype(np.int32)
    sizes = np.bincount(regions.ravel())
    small = sizes < cfg.min_region * regions.size
    small[0] = True
    regions[small[regions]] = 0
    return regions


def _spread(lab: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """RMS distance of Lab colours to their region mean: lab (P,3), ids (P,) in 1..n -> (n,)."""
    count = np.maximum(np.bincount(ids, minlength=n + 1)[1:], 1).astype(np.float64)  # ids that were dropped: 0
    var = np.zeros(n)
    for c in range(3):
        mean = np.bincount(ids, weights=lab[:, c], minlength=n + 1)[1:] / count
        var += np.bincount(ids, weights=(lab[:, c] - mean[ids - 1]) ** 2, minlength=n + 1)[1:] / count
    return np.sqrt(var)


def bleeding(output: np.ndarray, target: np.ndarray, lineart: np.ndarray, cfg: MetricConfig | None = None,
             regions: np.ndarray | None = None) -> float:
    """Area fraction of line-bounded regions whose output spread exceeds the target's by the threshold.

    output, target: (H,W,3) in [0,1]; lineart: (H,W) in [0,1], 1 = paper. -> float in [0,1] (NaN: no region).
    0 when the output equals the target or is flat inside every region; high for a fill that ignores lines.
    """
    cfg = cfg or MetricConfig()
    regions = paper_regions(lineart, cfg) if regions is None else regions
    on = regions > 0
    n = int(regions.max())
    if n == 0 or not on.any():
        return float("nan")
    ids = regions[on]
    excess = _spread(_lab(output[on]), ids, n) - _spread(_lab(target[on]), ids, n)
    area = np.bincount(ids, minlength=n + 1)[1:].astype(np.float64)
    present = area > 0
    return float(area[present & (excess > cfg.bleed_threshold)].sum() / area[present].sum())


def _paper_and_colour(target: np.ndarray, lineart: np.ndarray, cfg: MetricConfig) -> tuple[np.ndarray, np.ndarray]:
    """(white paper, coloured) masks of the target, both away from the lines: two disjoint (H,W) bool arrays."""
    away = paper_mask(lineart, cfg)
    to_white = deltaE_ciede2000(_lab(target), np.broadcast_to(WHITE_LAB, target.shape))
    white = to_white < cfg.paper_de
    return away & white, away & ~white


def colour_error(output: np.ndarray, target: np.ndarray, lineart: np.ndarray,
                 cfg: MetricConfig | None = None) -> float:
    """Mean CIEDE2000 between output and target over the target's coloured pixels (see module).

    output, target: (H,W,3) in [0,1]; lineart: (H,W) in [0,1], 1 = paper. -> float >= 0 (NaN: no coloured pixel).
    """
    cfg = cfg or MetricConfig()
    _, coloured = _paper_and_colour(target, lineart, cfg)
    if not coloured.any():
        return float("nan")
    return float(deltaE_ciede2000(_lab(output[coloured]), _lab(target[coloured])).mean())


def paper_flood(output: np.ndarray, target: np.ndarray, lineart: np.ndarray, cfg: MetricConfig | None = None) -> float:
    """Share of the target's white-paper pixels the output colours (more than flood_de from white; see module).

    output, target: (H,W,3) in [0,1]; lineart: (H,W) in [0,1], 1 = paper. -> float in [0,1] (NaN: no paper).
    """
    cfg = cfg or MetricConfig()
    paper, _ = _paper_and_colour(target, lineart, cfg)
    if not paper.any():
        return float("nan")
    out = output[paper]
    to_white = deltaE_ciede2000(_lab(out), np.broadcast_to(WHITE_LAB, out.shape))
    return float((to_white > cfg.flood_de).mean())


def pixel_metrics(output: np.ndarray, target: np.ndarray, lineart: np.ndarray, hints: np.ndarray | None,
                  cfg: MetricConfig | None = None) -> dict[str, float]:
    """All non-network metrics of one image: {"psnr", "ssim", "hint_de2000", "bleeding", "de2000", "paper_flood"}
    (NaN where undefined)."""
    cfg = cfg or MetricConfig()
    return {
        "psnr": psnr(output, target),
        "ssim": ssim(output, target),
        "hint_de2000": hint_fidelity(output, hints, lineart, cfg) if hints is not None else float("nan"),
        "bleeding": bleeding(output, target, lineart, cfg),
        "de2000": colour_error(output, target, lineart, cfg),
        "paper_flood": paper_flood(output, target, lineart, cfg),
    }
