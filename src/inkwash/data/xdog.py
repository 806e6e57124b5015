"""Synthetic lineart by the extended difference of Gaussians (xDoG), thesis IV.1.2 and IV.2.2.1.

Winnemoller et al. 2012 ("XDoG: an eXtended difference-of-Gaussians compendium"), on the grayscale image u in [0,1]:

    D(u)  = G_sigma * u - gamma * G_{k sigma} * u
    T(D)  = 1                              if D >= epsilon
          = 1 + tanh(phi * (D - epsilon))  otherwise

PaintsTorch and Ci et al. 2018 (AlacGAN) use gamma 0.95, phi 1e9, k 4.5, epsilon -0.1, sigma in {0.3, 0.4, 0.5}.
With gamma < 1 a flat region of intensity u gives D = 0.05 u >= epsilon (white paper); only the dark side of an
edge whose contrast beats ~0.1 falls below epsilon, and phi = 1e9 turns the tanh ramp into a hard step (black line).
The thesis varies the thresholding so linearts vary; besides this "hard" step we offer a "soft" ramp (finite phi:
anti-aliased, grey-edged lines, like scanned or digitally inked lineart) and "otsu" (Otsu's threshold on the soft
response: bolder lines on low-contrast images, where the fixed epsilon misses edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage.filters import threshold_otsu

MODES = ("hard", "soft", "otsu")


@dataclass
class XDoGConfig:
    gamma: float = 0.95  # thesis IV.2.2.1
    phi: float = 1e9  # thesis IV.2.2.1: a hard step
    k: float = 4.5  # thesis IV.2.2.1
    epsilon: float = -0.1  # thesis IV.2.2.1
    sigmas: tuple[float, ...] = (0.3, 0.4, 0.5)  # thesis IV.2.2.1: sigma drawn from this set
    soft_phi: tuple[float, float] = (20.0, 100.0)  # ours: the ramp's steepness for "soft"/"otsu", drawn uniformly
    modes: tuple[str, ...] = MODES  # thesis IV.1.2: "different thresholding techniques"
    mode_probs: tuple[float, ...] = (0.6, 0.2, 0.2)  # ours: the thesis' step stays the most common lineart


def _gray(img: Image.Image | np.ndarray) -> np.ndarray:
    """Any PIL image or array to grayscale float64 (H,W) in [0,1]; uint8 arrays are read as 0..255."""
    if isinstance(img, Image.Image):
        return np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    arr = np.asarray(img)
    scale = 255.0 if arr.dtype == np.uint8 else 1.0
    arr = arr.astype(np.float64) / scale
    if arr.ndim == 3:
        arr = arr[..., :3] @ np.array([0.299, 0.587, 0.114])[: arr.shape[-1]]  # ITU-R 601, as PIL's "L"
    return np.clip(arr, 0.0, 1.0)


def dog(u: np.ndarray, sigma: float, k: float = 4.5, gamma: float = 0.95) -> np.ndarray:
    """Difference of Gaussians D = G_sigma*u - gamma*G_{k sigma}*u. u: (H,W) in [0,1]; D: (H,W), about [-1,1]."""
    return gaussian_filter(u, sigma, mode="nearest") - gamma * gaussian_filter(u, k * sigma, mode="nearest")


def xdog(
    img: Image.Image | np.ndarray,
    sigma: float | None = None,
    rng: np.random.Generator | None = None,
    mode: str = "hard",
    cfg: XDoGConfig | None = None,
    phi: float | None = None,
) -> Image.Image:
    """Lineart of an image: (H,W) "L" PIL, white paper 255, black lines 0.

    img: PIL (any mode) or array (H,W[,C]) in [0,1] (float) or 0..255 (uint8). sigma: None draws one of
    cfg.sigmas with `rng`. mode: "hard" (thesis), "soft" or "otsu"; phi overrides the soft ramp's steepness.
    """
    cfg = cfg or XDoGConfig()
    if mode not in MODES:
        raise ValueError(f"unknown xDoG mode {mode!r}; expected one of {MODES}")
    rng = rng if rng is not None else np.random.default_rng(0)
    if sigma is None:
        sigma = float(rng.choice(cfg.sigmas))
    d = dog(_gray(img), sigma, cfg.k, cfg.gamma)
    if mode == "hard":
        p = cfg.phi if phi is None else phi
    else:
        p = float(rng.uniform(*cfg.soft_phi)) if phi is None else phi
    # 1 + tanh(phi (D - eps)) below epsilon; clamping the argument keeps phi = 1e9 free of overflow warnings
    t = np.where(d >= cfg.epsilon, 1.0, 1.0 + np.tanh(np.clip(p * (d - cfg.epsilon), -50, 0)))
    if mode == "otsu":
        # Otsu needs two classes; a blank page (no edges at all) stays blank
        thr = threshold_otsu(t) if t.max() - t.min() > 1e-6 else 0.0
        t = (t > thr).astype(np.float64)
    return Image.fromarray(np.clip(t * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")


def random_xdog(img: Image.Image | np.ndarray, rng: np.random.Generator, cfg: XDoGConfig | None = None) -> Image.Image:
    """xDoG with sigma and thresholding mode drawn from cfg: (H,W) "L" PIL, white paper 255, black lines 0."""
    cfg = cfg or XDoGConfig()
    sigma = float(rng.choice(cfg.sigmas))
    probs = np.asarray(cfg.mode_probs, dtype=np.float64)
    mode = str(rng.choice(cfg.modes, p=probs / probs.sum()))
    return xdog(img, sigma=sigma, rng=rng, mode=mode, cfg=cfg)
