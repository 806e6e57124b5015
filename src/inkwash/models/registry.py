"""Models by name: the one registry that inference, training, the CLI, the app and export read.

    registry.get("paintstorch").open()            # the shipped weights, ready to colour
    registry.get("stenciltorch").build(config)    # its trainable networks
    registry.register(ModelSpec("mine", "...", opener="my_pkg.model:MyModel"))   # a new model: one spec

Registering imports nothing: a spec names its parts by dotted path.
"""

from __future__ import annotations

from inkwash.errors import InkwashError
from inkwash.models.spec import Capabilities, ModelSpec, TrainOption

_REGISTRY: dict[str, ModelSpec] = {}

# what `inkwash colorize`, `demo`, `serve` and the web app use when no model is named: the model that measured
# closest to the truth on the real-outline test split (README, "Results on real outlines"); a learned model
# earns this place by beating it there
DEFAULT = "lazybrush"
LEARNED_OPTIONS = ("resolution", "lines_over", "device")
SAMPLING = ("steps", "strength")


def register(spec: ModelSpec, replace: bool = False) -> ModelSpec:
    """Add a model; registering a name twice is a programming error unless `replace`."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"model {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def get(name: str) -> ModelSpec:
    """The spec of a model name, or an InkwashError listing the known names."""
    if name not in _REGISTRY:
        raise InkwashError(f"unknown model {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def names(trainable: bool | None = None) -> list[str]:
    """Registered names, optionally only those that train (True) or not (False)."""
    return sorted(n for n, s in _REGISTRY.items() if trainable is None or s.capabilities.trainable == trainable)


def known(name: str) -> bool:
    return name in _REGISTRY


_PT = "inkwash.models.paintstorch"
_ST = "inkwash.models.stenciltorch"
_SP = "inkwash.models.stablepaint"
_RC = "inkwash.models.regioncolor"

register(ModelSpec(
    "lazybrush", "LazyBrush (Sykora et al. 2009): classical graph-cut flat fill from strokes, no weights",
    opener="inkwash.classical.lazybrush:LazyBrushModel",
    options=("solver", "k_factor", "lambda_ratio", "near_line_ratio", "cross_tolerance", "max_gap", "line_level",
             "colour_tolerance", "max_labels", "coarse_max_side", "band", "fill_unhinted"),
    capabilities=Capabilities(trainable=False, needs_hints=True, weights="none")))
register(ModelSpec(
    "paintstorch", "PaintsTorch (thesis IV.2): double generator conditional WGAN-GP, stroke hints",
    opener=f"{_PT}:PaintsTorchModel", options=LEARNED_OPTIONS, config=f"{_PT}:PaintsTorchConfig",
    networks=f"{_PT}:build_networks", trainer="inkwash.train.paintstorch", preset={"use_g2": True},
    capabilities=Capabilities(exportable=True),
    train_help="G1 colorizer, G2 lineart redrawer, F1-conditioned WGAN-GP critic; each iteration one critic "
               "step, then G1, then G2 (thesis IV.2.2.4). CPU-sized recipe: --config recipes/default.toml"))
# Ci et al. 2018, the thesis' baseline: one generator, hints as random pixels
register(ModelSpec(
    "alacgan", "AlacGAN (Ci et al. 2018): single generator, random-pixel hints",
    opener=f"{_PT}:PaintsTorchModel", options=LEARNED_OPTIONS, config=f"{_PT}:PaintsTorchConfig",
    networks=f"{_PT}:build_networks", trainer="inkwash.train.paintstorch", preset={"use_g2": False},
    hints="pixels", capabilities=Capabilities(exportable=True, weights="file"),
    train_help="The thesis' baseline: no G2, random-pixel hints; otherwise as paintstorch."))
register(ModelSpec(
    "stenciltorch", "StencilTorch (thesis IV.3): in-painting under a mask with a training-only guide decoder",
    opener=f"{_ST}:StencilTorchModel", options=LEARNED_OPTIONS, config=f"{_ST}:StencilTorchConfig",
    networks=f"{_ST}:build_networks", trainer="inkwash.train.stenciltorch",
    capabilities=Capabilities(inpaints=True),
    train_help="Colour inside a mask from the composite, the mask, hints and F1. A guide decoder trains alongside "
               "(loss.w_guide, default 0.1) and is never exported. CPU-sized recipe: --config "
               "recipes/stenciltorch.toml"))
register(ModelSpec(
    "stablepaint", "StablePaint (thesis IV.4): latent diffusion on lineart + hints, in-painting, variations; "
                   "trained in three stages",
    opener=f"{_SP}:StablePaintModel", options=LEARNED_OPTIONS + SAMPLING + ("sampler", "guidance"),
    sampling=SAMPLING, config=f"{_SP}:StablePaintConfig", networks=f"{_SP}:build_networks",
    trainer="inkwash.train.stablepaint", capabilities=Capabilities(samples=True, inpaints=True),
    train_options=(TrainOption("--stage", "stage", "autoencoder, context or noise (in that order; default "
                                                   "autoencoder, or the config's `stage`)."),
                   TrainOption("--previous", "previous", "Model folder of the previous stage (context, noise).")),
    train_help="One stage per run folder: --stage autoencoder, then --stage context --previous RUN_AE, then "
               "--stage noise --previous RUN_CTX; each freezes what it inherits and exports all networks so far: "
               "colour with --model RUN. Use the same --preset/--config for the three stages. CPU-sized recipe: "
               "--config recipes/stablepaint.toml"))
register(ModelSpec(
    "regioncolor", "RegionColor (ours): a small region-aware network proposing colours for unhinted regions, "
                   "from the regions, the hints and the flats so far",
    opener=f"{_RC}:RegionColorModel", options=LEARNED_OPTIONS, config=f"{_RC}:RegionColorConfig",
    networks=f"{_RC}:build_networks", trainer="inkwash.train.regioncolor", hints="mixed",
    train_help="Trains on outline drawings (an outline dataset, or --data synthetic): the drawing's regions and "
               "flats as the pipeline computes them in, a colour per unhinted region (and a shading) out, against "
               "the drawing's flat colours. CPU recipe: --config recipes/regioncolor.toml"))
register(ModelSpec(
    "onnx", "A PaintsTorch-family generator exported by `inkwash export`, run by onnxruntime without torch",
    opener="inkwash.models.onnx:OnnxModel", options=("resolution", "lines_over", "device", "providers", "threads"),
    capabilities=Capabilities(trainable=False, weights="file")))

__all__ = ["register", "unregister", "get", "names", "known", "ModelSpec", "Capabilities", "TrainOption"]
