"""`inkwash` command line: thin wrappers over the library; one module per group of commands.

User-facing failures are `InkwashError`s: printed on one line, exit code 2, no traceback.
"""

from __future__ import annotations

import importlib
import re
import sys

import typer
from rich.console import Console
from rich.text import Text

from inkwash.cli._app import app
from inkwash.errors import InkwashError

# Each module registers its commands on `app` when imported; a missing one (a feature not built yet)
# simply contributes no command.
_COMMAND_MODULES = ("data", "preview", "colorize", "train", "demo", "evaluate", "export", "serve", "study",
                    "reference")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"inkwash.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"inkwash.cli.{_name}":
            raise

_err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    _err.print(Text.assemble(("error: ", "bold red"), message))
    sys.exit(code)


def usage_message(exc: typer.TyperException) -> str:
    """A Click/Typer usage error as one line: 'no such option: --foo (see inkwash colorize --help)'."""
    text = " ".join(exc.format_message().split())  # Click may wrap; we print one line
    text = re.sub(r"\s*\(Possible options: ([^)]*)\)", r"; did you mean \1?", text).rstrip(".")
    text = text[:1].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)  # usage errors carry the command they belong to
    text += f" (see {ctx.command_path} --help)" if ctx is not None else " (see the command's --help)"
    return text


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `inkwash` console script.

    Usage errors (unknown option, missing argument, a value of the wrong type) are one line and exit 2,
    like every other user error; --help and a bare command still print the help.
    """
    from inkwash.threads import configure

    configure()  # passive OpenMP waiting before anything loads torch (commands with --threads refine it)
    try:
        code = app(args=argv, prog_name="inkwash", standalone_mode=False)
    except InkwashError as exc:
        _fail(str(exc))
    except typer.TyperException as exc:  # Typer's own copy of Click's exceptions
        if type(exc).__name__ == "NoArgsIsHelpError":  # `inkwash data`: Typer printed the help, as before
            sys.exit(exc.exit_code)
        _fail(usage_message(exc), exc.exit_code)
    except typer.Abort:
        _err.print("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
    code = code if isinstance(code, int) and not isinstance(code, bool) else 0  # ctx.exit(code), Ctrl+C: 130
    if code == 130:
        _err.print("interrupted")
    sys.exit(code)  # like Click's standalone mode: the process exit code, 0 on success
