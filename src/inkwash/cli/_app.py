"""The Typer apps every command module registers on. Heavy imports (torch) stay inside command bodies."""

import typer

app = typer.Typer(
    name="inkwash",
    help="AI-assisted lineart colorization.\n\nStart with: inkwash colorize examples/girl/lineart.png --hints examples/girl/hints.json -o girl.png",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(help="Build training sets from known sources.", no_args_is_help=True)
train_app = typer.Typer(help="Train a model: inkwash train paintstorch --data DATA --out runs/pt", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
