"""inkwash: AI-assisted, user-guided lineart colorization.

    from inkwash import Colorizer
    image = Colorizer.from_pretrained("lazybrush").colorize("lineart.png", hints="hints.json")
"""

from inkwash.errors import InkwashError

__version__ = "0.1.0"
__all__ = ["Colorizer", "InkwashError", "__version__"]


def __getattr__(name: str):
    # imported on first use so that `import inkwash` (and the CLI's start) stays light
    if name == "Colorizer":
        from inkwash.infer import Colorizer

        return Colorizer
    raise AttributeError(f"module 'inkwash' has no attribute {name!r}")
