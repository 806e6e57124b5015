"""inkwash: AI-assisted, user-guided lineart colorization."""

from inkwash.errors import InkwashError

__version__ = "0.1.0"
__all__ = ["InkwashError", "__version__"]
