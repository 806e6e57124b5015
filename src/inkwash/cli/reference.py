"""`inkwash evaluate-reference`: segment and pixel accuracy of colouring deformed drawings from themselves."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

_console = Console(stderr=True, soft_wrap=True)


@app.command("evaluate-reference")
def evaluate_reference(
    data: Path = typer.Option(..., "--data", help="Outline dataset (inkwash data openclipart-outlines)."),
    out: Path = typer.Option(..., "-o", "--out", help="Report folder: reference.csv, reference.md, reference.json."),
    levels: str = typer.Option("small,medium,large", "--levels", help="Deformation strengths, comma-separated: small, medium, large (xlarge: a stress test)."),
    lineart: str = typer.Option("given", "--lineart",
                                help="Reference lineart: given (the dataset's lines) or extracted (read from the "
                                     "coloured drawing, as without --reference-lineart)."),
    colours: str = typer.Option("flats", "--colours",
                                help="The coloured reference: flats (the flat colours under the lines, a model "
                                     "sheet) or truth (the drawing as published, gradients and all)."),
    seed: int = typer.Option(0, "--seed", help="Fixes every drawing's deformation."),
    limit: int = typer.Option(0, "--limit", help="Only this many drawings, evenly spread (0 = all)."),
    split: str = typer.Option("test", "--split", help="Dataset split: test or train."),
    size: int = typer.Option(0, "--size", help="Resize drawings to this short side first (0 = as stored)."),
    delta_e: float = typer.Option(10.0, "--delta-e", help="CIEDE2000 under which a colour counts as right."),
    sequence: int = typer.Option(0, "--sequence",
                                 help="Also colour a sequence of N frames towards the large deformation, each "
                                      "from the key and the previous frame, against the key alone."),
    oracle: bool = typer.Option(True, "--oracle/--no-oracle",
                                help="Also score perfect matching (the truth warped by the true map)."),
) -> None:
    """inkwash evaluate-reference --data /work/data/ocal-outlines -o report/reference --limit 40

    Warps each test drawing (affine, perspective, smooth elastic bends, turned parts; seeded, small / medium /
    large), colours the warped lineart from the drawing as published, and scores it against the warped truth
    flats: segment accuracy (share of flat-colour segments whose median colour is right, as BasicPBC and
    DACoN report it) and pixel accuracy, with the time per frame.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from inkwash.evaluate.reference import ReferenceBenchConfig, table_markdown
    from inkwash.evaluate.reference import evaluate_reference as run

    lv = tuple(v.strip() for v in levels.split(",") if v.strip())
    if limit < 0 or size < 0 or sequence < 0:
        raise InkwashError("--limit, --size and --sequence take 0 or more")
    cfg = ReferenceBenchConfig(levels=lv, lineart=lineart, colours=colours, seed=seed, limit=limit, split=split, size=size,
                               delta_e=delta_e, sequence=sequence, oracle=oracle)
    columns = (TextColumn("drawings"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, transient=False) as progress:
        task = progress.add_task("drawings", total=None)
        _, summary = run(data, out, cfg, lambda done, total: progress.update(task, completed=done, total=total))
    typer.echo(table_markdown(summary))
    _console.print(f"wrote {out / 'reference.csv'}, {out / 'reference.md'}", highlight=False)
