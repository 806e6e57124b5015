"""The one exception users see: a clear message, printed on one line by the CLI (exit code 2)."""

from __future__ import annotations

import importlib
from types import ModuleType


class InkwashError(Exception):
    """Bad input or environment: what was wrong and what to do. Never a programming error."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it: require("fastapi", "app")."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InkwashError(f"{module.split('.')[0]} is not installed; pip install 'inkwash[{extra}]'") from None
