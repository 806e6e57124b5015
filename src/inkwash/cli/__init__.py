"""`inkwash` command line: thin wrappers over the library; one module per group of commands.

User-facing failures are `InkwashError`s: printed on one line, exit code 2, no traceback.
"""

from __future__ import annotations

import importlib
import sys

from rich.console import Console
from rich.text import Text

from inkwash.cli._app import app
from inkwash.errors import InkwashError

# Each module registers its commands on `app` when imported; a missing one (a feature not built yet)
# simply contributes no command.
_COMMAND_MODULES = ("data", "preview", "colorize", "train", "demo", "evaluate", "export", "serve", "study")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"inkwash.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"inkwash.cli.{_name}":
            raise

_err = Console(stderr=True, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `inkwash` console script."""
    from inkwash.threads import configure

    configure()  # passive OpenMP waiting before anything loads torch (commands with --threads refine it)
    try:
        app(args=argv, prog_name="inkwash", standalone_mode=True)
    except InkwashError as exc:
        _err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        sys.exit(2)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
