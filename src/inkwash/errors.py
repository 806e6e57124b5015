"""The one exception users see: a clear message, printed on one line by the CLI (exit code 2)."""


class InkwashError(Exception):
    """Bad input or environment: what was wrong and what to do. Never a programming error."""
