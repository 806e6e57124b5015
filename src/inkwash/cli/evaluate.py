"""`inkwash evaluate`: the thesis' comparison table (FID, LPIPS, ...) for any models on any test folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

_console = Console(stderr=True, soft_wrap=True)


@app.command("evaluate")
def evaluate(
    data: Path = typer.Option(..., "--data", help="Prepared dataset (its test split) or a folder of test images."),
    model: Optional[list[str]] = typer.Option(None, "--model", help="Model name or weights path; repeat to compare."),
    out: Path = typer.Option(..., "-o", "--out", help="Report folder; rerun the same command to resume."),
    size: int = typer.Option(512, "--size", help="Centre-crop side in px (thesis: 512); a multiple of 4."),
    conditions: str = typer.Option("none,hints,full", "--conditions",
                                   help="Comma-separated subset of: none, hints, full."),
    seed: int = typer.Option(0, "--seed", help="Fixes every image's lineart and stroke hints."),
    split: str = typer.Option("auto", "--split",
                              help="Split of a prepared dataset: test, train or all (auto: test; folders: all)."),
    limit: int = typer.Option(0, "--limit", help="Only this many images, evenly spread over the split (0 = all)."),
    fid_weights: Optional[Path] = typer.Option(None, "--fid-weights",
                                               help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth for "
                                                    "paper-comparable FID (default: offline seeded convnet)."),
    lpips_net: str = typer.Option("alex", "--lpips-net", help="LPIPS backbone: alex (lpips' default) or vgg."),
    lpips_weights: Optional[Path] = typer.Option(None, "--lpips-weights",
                                                 help="torchvision's alexnet-owt-7be5be79.pth or vgg16-397923af.pth "
                                                      "(default: offline seeded backbone)."),
    device: str = typer.Option("auto", "--device", help="Device of the metric networks: auto, cpu, cuda, cuda:N."),
    batch_size: int = typer.Option(8, "--batch-size", help="Images per batch through the metric networks."),
    grid: int = typer.Option(4, "--grid", help="Images per sample grid (0: no grids)."),
    lineart: str = typer.Option("xdog", "--lineart",
                                help="Test linearts: xdog (over the target) or outline (the drawings' real outlines; "
                                     "needs an outline dataset from `inkwash data openclipart-outlines`)."),
    hints: str = typer.Option("strokes", "--hints",
                              help="Hints of the 'hints' condition: strokes (random PaintsTorch strokes) or hand "
                                   "(a few scribbles inside each region; needs an outline dataset)."),
    oracles: bool = typer.Option(True, "--oracles/--no-oracles",
                                 help="Add the flat oracles' rows (each region painted with its true median colour)."),
) -> None:
    """inkwash evaluate --data data/illus --model lazybrush --model runs/pt/ -o report/

    Colours every test lineart (centre crops) with each model under three conditions (no hints, synthetic
    stroke hints, full hints = the simplified illustration) and writes report/metrics.csv, report/metrics.md
    (a table like the thesis': FID, LPIPS, hint ΔE00, bleeding, colour ΔE00, paper flood, PSNR, SSIM, with the
    flat oracles' rows) and report/grid_*.png. Work is cached in the report folder: an interrupted run resumes,
    and adding a --model reuses the others.

    On real outlines: inkwash evaluate --data data/ocal-outlines --lineart outline --hints hand --model lazybrush -o r/
    (an outline dataset from `inkwash data openclipart-outlines`; the full hints are then its true flats).

    Without --fid-weights / --lpips-weights, offline networks are used and named in the report; their
    numbers rank models against each other but are not comparable with published ones.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from inkwash.evaluate.run import EvalConfig, Evaluation

    conds = tuple(c.strip() for c in conditions.split(",") if c.strip())
    if lpips_net not in ("alex", "vgg"):
        raise InkwashError(f"--lpips-net {lpips_net}: use alex or vgg")
    cfg = EvalConfig(size=size, seed=seed, conditions=conds, split=split, limit=limit, batch_size=batch_size,
                     grid_rows=grid, device=device, fid_weights=str(fid_weights) if fid_weights else None,
                     lpips_net=lpips_net, lpips_weights=str(lpips_weights) if lpips_weights else None,
                     lineart=lineart, hints=hints, oracles=oracles)
    ev = Evaluation(data, model or [], out, cfg)
    _console.print(f"evaluating {', '.join(ev.models.values())} on {len(ev.indices)} images of {data} "
                   f"({lineart} linearts, {hints} hints; {', '.join(conds)}) into {out}; metric networks on "
                   f"{ev.device}", highlight=False)
    for note in ev.notes:
        _console.print(f"note: {note}", highlight=False)
    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def on_step(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage[:32], total=total)
            progress.update(tasks[stage], completed=done)

        rows = ev.run(on_step)
    from inkwash.evaluate.report import table_markdown

    typer.echo(table_markdown(rows, list(conds), hints))
    _console.print(f"wrote {out / 'metrics.csv'}, {out / 'metrics.md'}"
                   + (f" and {len(conds)} grids" if grid > 0 else ""), highlight=False)
