"""`inkwash preview`: look at the training inputs (illustration, lineart, hints, stencil inputs) before training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from inkwash.cli._app import app
from inkwash.errors import InkwashError


@app.command("preview")
def preview(
    dataset: Annotated[
        Optional[Path], typer.Argument(help="A prepared dataset folder or any folder of images.", show_default=False)
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG grid to write.")] = Path("preview.png"),
    n: Annotated[int, typer.Option("-n", help="Number of samples (rows).", min=1)] = 8,
    size: Annotated[int, typer.Option(help="Crop size in px (the thesis trains at 512); a multiple of 4.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of crops, linearts, hints and masks.")] = 0,
    hints: Annotated[str, typer.Option(help="Hints: strokes (PaintsTorch), pixels (Ci et al.), none.")] = "strokes",
    test: Annotated[bool, typer.Option("--test", help="Preview the test split (centre crops, fixed samples).")] = False,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use procedural illustrations, no DATASET.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """inkwash preview --synthetic -o grid.png -n 8

    A grid of illustration / lineart / hints / simplified / mask / composite for N samples: what the models see.
    DATASET is a folder made by `inkwash prepare` or any folder of images; `--synthetic` needs none.
    """
    if output.exists() and not overwrite:
        raise InkwashError(f"{output}: already exists; pass --overwrite to replace it")
    if dataset is None and not synthetic:
        raise InkwashError("give a DATASET folder, or --synthetic for procedural illustrations")
    if dataset is not None and synthetic:
        raise InkwashError("give either a DATASET folder or --synthetic, not both")

    from rich.progress import Progress

    from inkwash.data.dataset import HINT_MODES, ColorizationDataset
    from inkwash.data.preview import preview_grid
    from inkwash.data.synthetic import SyntheticIllustrations
    from inkwash.io import save_image

    if hints not in HINT_MODES:
        raise InkwashError(f"--hints {hints!r}: use one of {', '.join(HINT_MODES)}")
    source = SyntheticIllustrations(n=n, size=size, seed=seed) if synthetic else dataset
    ds = ColorizationDataset(source, size=size, train=not test, hints=hints, seed=seed, with_stencil=True)
    count = min(n, len(ds))
    with Progress(transient=True) as progress:
        task = progress.add_task("sampling", total=count)
        grid = preview_grid(ds, range(count), on_item=lambda: progress.advance(task))
    save_image(grid, output, overwrite=overwrite)
    typer.echo(f"wrote {output} ({count} samples, {grid.width}x{grid.height})")
