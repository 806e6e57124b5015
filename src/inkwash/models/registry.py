"""Models by name: `get("paintstorch")` gives its config class, preset values, network builder and trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from inkwash.errors import InkwashError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    config_cls: type
    build: Callable[[Any], dict]  # config -> {network name: nn.Module}
    preset: dict = field(default_factory=dict)  # settings that distinguish this entry from its config's defaults
    hints: str = "strokes"  # the hint scheme the model trains with
    description: str = ""
    # the module of inkwash.train that trains it (defines CONFIG and TASK); a name, as models never import trainers
    trainer: str = "paintstorch"


_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"model {entry.name!r} registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def get(name: str) -> ModelEntry:
    """The entry of a model name, or an InkwashError listing the known names."""
    if name not in _REGISTRY:
        raise InkwashError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def names() -> list[str]:
    return sorted(_REGISTRY)


def _register_builtin() -> None:
    from inkwash.models.paintstorch import PaintsTorchConfig, build_networks

    register(ModelEntry("paintstorch", PaintsTorchConfig, build_networks, {"use_g2": True}, "strokes",
                        "PaintsTorch (thesis IV.2): double generator conditional WGAN-GP, stroke hints"))
    # Ci et al. 2018, the thesis' baseline: one generator, hints as random pixels
    register(ModelEntry("alacgan", PaintsTorchConfig, build_networks, {"use_g2": False}, "pixels",
                        "AlacGAN (Ci et al. 2018): single generator, random-pixel hints"))
    from inkwash.models import stenciltorch

    # hints are strokes drawn on the colour-simplified illustration (the dataset's stencil mode)
    register(ModelEntry("stenciltorch", stenciltorch.StencilTorchConfig, stenciltorch.build_networks, {}, "strokes",
                        "StencilTorch (thesis IV.3): in-painting under a mask with a training-only guide decoder",
                        trainer="stenciltorch"))
    from inkwash.models import stablepaint

    register(ModelEntry("stablepaint", stablepaint.StablePaintConfig, stablepaint.build_networks, {}, "strokes",
                        "StablePaint (thesis IV.4): latent diffusion on lineart + hints, in-painting, variations; "
                        "trained in three stages", trainer="stablepaint"))


_register_builtin()
