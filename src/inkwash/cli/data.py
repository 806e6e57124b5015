"""`inkwash prepare` and `inkwash data openclipart`: build a prepared dataset (see inkwash.data.curate)."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from inkwash.cli._app import app, data_app
from inkwash.errors import InkwashError


def _config(short_side: int, min_side: int, test_fraction: float, max_pixels: int | None, grayscale: bool,
            lines: bool):
    """CLI options -> CurateConfig, refusing values that cannot work."""
    from inkwash.data.curate import CurateConfig

    if short_side < 16 or min_side < 1:
        raise InkwashError(f"--short-side {short_side} / --min-side {min_side}: use sizes of 16 px or more")
    if not 0.0 <= test_fraction < 1.0:
        raise InkwashError(f"--test-fraction {test_fraction}: give a fraction in [0, 1), e.g. 0.1")
    cfg = CurateConfig(short_side=short_side, min_side=min_side, test_fraction=test_fraction,
                       grayscale_filter=grayscale, line_filter=lines)
    if max_pixels is not None:
        if max_pixels < 1:
            raise InkwashError(f"--max-pixels {max_pixels}: give a positive pixel count, e.g. 100000000")
        cfg.max_pixels = max_pixels
    return cfg


def _command(ctx: typer.Context) -> str:
    """The command line that produced this run, rebuilt from the parsed options, for the dataset card."""
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.param_type_name == "argument":
            parts.append(str(value))
        elif value is None or value == param.default or value == []:
            continue
        elif getattr(param, "is_flag", False):
            parts.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            for v in value if isinstance(value, (list, tuple)) else [value]:
                parts += [param.opts[0], str(v)]
    return shlex.join(parts)


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise InkwashError(f"--jobs {jobs}: give 1 or more worker processes")


def _print_summary(summary) -> None:
    """One table: kept per split, rejected per reason, and what the run re-used."""
    from rich.console import Console
    from rich.table import Table

    from inkwash.data.curate import REASONS

    table = Table(title=f"{summary.dst}: {summary.kept} kept, {sum(summary.rejected.values())} rejected")
    table.add_column("outcome")
    table.add_column("images", justify="right")
    table.add_column("meaning")
    for split in ("train", "test"):
        table.add_row(f"kept ({split})", str(summary.splits.get(split, 0)), "")
    for reason, n in summary.rejected.most_common():
        table.add_row(f"rejected: {reason}", str(n), REASONS.get(reason, ""))
    console = Console()
    console.print(table)
    console.print(f"{summary.processed} files processed, {summary.cached} re-used from an earlier run; "
                  f"shards {summary.shard_bytes / 2**20:.1f} MiB; {summary.seconds:.0f} s. "
                  f"Rejected files: {summary.dst / 'report.csv'}; card: {summary.dst / 'DATASET.md'}")


@app.command("prepare")
def prepare_cmd(
    ctx: typer.Context,
    src: Path = typer.Argument(..., help="Folder of illustrations, searched recursively (read only)."),
    dst: Path = typer.Argument(..., help="New or empty folder for the prepared dataset (or an earlier run's)."),
    short_side: int = typer.Option(512, help="Resize so the smaller side is this (thesis: 512)."),
    min_side: int = typer.Option(256, help="Reject images whose smaller side is under this."),
    jobs: int = typer.Option(2, help="Worker processes."),
    grayscale: bool = typer.Option(True, "--grayscale-filter/--no-grayscale",
                                   help="Drop near-grayscale images (on by default: colorization needs colour)."),
    lines: bool = typer.Option(True, "--line-filter/--no-line-filter",
                               help="Drop images without dark outlines (no lineart to extract)."),
    test_fraction: float = typer.Option(0.1, help="Share of images held out as the test split (by path hash)."),
    max_pixels: int | None = typer.Option(None, help="Refuse images over this many pixels (from the header)."),
    licence: str = typer.Option("unknown", help="Licence of the source images, written in DATASET.md."),
    keep_work: bool = typer.Option(False, help="Keep DST/.work (per-image cache) to re-run with other filters fast."),
) -> None:
    """inkwash prepare ~/illustrations data/illus --jobs 2

    Curate a folder of illustrations into a prepared dataset: rejects unreadable, huge, small, grayscale,
    line-less and near-duplicate images (listed in DST/report.csv), resizes to --short-side, packs PNGs into
    tar shards with index.json and a DATASET.md card. Resumable: re-run the same command after a kill.
    """
    from inkwash.data.curate import prepare

    _check_jobs(jobs)
    cfg = _config(short_side, min_side, test_fraction, max_pixels, grayscale, lines)
    summary = prepare(src, dst, cfg, jobs=jobs, licence=licence, keep_work=keep_work,
                      command=_command(ctx))
    _print_summary(summary)


@data_app.command("openclipart")
def openclipart_cmd(
    ctx: typer.Context,
    dst: Path = typer.Argument(..., help="New or empty folder for the prepared dataset."),
    root: Path = typer.Option(Path("/usr/share/openclipart"), help="Installed Open Clip Art (svg/ and png/)."),
    deb: list[Path] | None = typer.Option(None, help="openclipart-svg/png .deb file(s) to unpack instead."),
    fmt: str | None = typer.Option(None, "--format", help="svg (rendered, default when CairoSVG works) or png."),
    short_side: int = typer.Option(512, help="Render/resize so the smaller side is this (thesis: 512)."),
    min_side: int = typer.Option(256, help="Reject images whose smaller side is under this (png only)."),
    jobs: int = typer.Option(2, help="Worker processes."),
    grayscale: bool = typer.Option(True, "--grayscale-filter/--no-grayscale", help="Drop near-grayscale drawings."),
    lines: bool = typer.Option(True, "--line-filter/--no-line-filter", help="Drop drawings without outlines."),
    test_fraction: float = typer.Option(0.1, help="Share held out as the test split (by path hash)."),
    keep_work: bool = typer.Option(False, help="Keep DST/.work (per-image cache) to re-run with other filters fast."),
) -> None:
    """inkwash data openclipart data/ocal --jobs 2

    Build a training set from the public-domain Open Clip Art Library in Debian (openclipart-svg/png). Without
    the package installed: `apt-get download openclipart-svg` then add --deb openclipart-svg_*.deb.
    Each item keeps its category (top folder) as a label.
    """
    from inkwash.data.openclipart import prepare_openclipart

    _check_jobs(jobs)
    cfg = _config(short_side, min_side, test_fraction, None, grayscale, lines)
    summary = prepare_openclipart(dst, root=root, debs=deb, fmt=fmt, cfg=cfg, jobs=jobs, keep_work=keep_work,
                                  command=_command(ctx))
    _print_summary(summary)


@data_app.command("openclipart-outlines")
def openclipart_outlines_cmd(
    ctx: typer.Context,
    dst: Path = typer.Argument(..., help="New or empty folder for the outline dataset (or an earlier run's)."),
    root: Path = typer.Option(Path("/usr/share/openclipart"), help="Installed Open Clip Art (its svg/ folder)."),
    deb: list[Path] | None = typer.Option(None, help="openclipart-svg .deb file(s) to unpack instead."),
    short_side: int = typer.Option(512, help="Render so the smaller side is this (thesis: 512)."),
    jobs: int = typer.Option(2, help="Worker processes."),
    grayscale: bool = typer.Option(True, "--grayscale-filter/--no-grayscale", help="Drop near-grayscale drawings."),
    lines: bool = typer.Option(True, "--line-filter/--no-line-filter",
                               help="Drop drawings without outlines or with outlines too faint to read."),
    test_fraction: float = typer.Option(0.1, help="Share held out as the test split (by path hash)."),
    keep_work: bool = typer.Option(False, help="Keep DST/.work (per-image cache) to re-run with other filters fast."),
) -> None:
    """inkwash data openclipart-outlines data/ocal-outlines --jobs 2

    Build the outline dataset with ground truth from Open Clip Art's SVGs: per drawing, the truth (as published,
    the item's image), its lines (only the ink) and flats (one colour per fill), pixel-aligned, and the paint
    order. Drawings without outlines, with faint outlines, mostly gradient, with raster images or near-duplicates
    are rejected (DST/report.csv). Same ids and train/test split as `inkwash data openclipart`. Resumable.
    """
    from inkwash.data.outlines import OutlineConfig, prepare_outlines

    _check_jobs(jobs)
    cfg = _config(short_side, short_side // 2, test_fraction, None, grayscale, False)  # as `data openclipart`
    summary = prepare_outlines(dst, root=root, debs=deb, cfg=cfg, ocfg=OutlineConfig(line_filter=lines), jobs=jobs,
                               keep_work=keep_work, command=_command(ctx))
    _print_summary(summary)


@data_app.command("pack")
def pack_cmd(
    src: Path = typer.Argument(..., help="A prepared dataset (index.json + shards)."),
    dst: Path = typer.Argument(..., help="New or empty folder for the smaller copy."),
    short_side: int = typer.Option(256, "--short-side", help="Short side of every image in the copy, px."),
    quality: int = typer.Option(90, "--quality", help="WebP quality of the truth images (layers stay lossless)."),
    shard_mib: float = typer.Option(16.0, "--shard-mib", help="Largest shard, MiB."),
    test_items: int = typer.Option(0, "--test-items", help="Only this many test items, spread evenly (0: all)."),
) -> None:
    """inkwash data pack data/ocal-outlines data/pack-256 --short-side 256

    A smaller copy of a prepared dataset in the same layout (every reader takes it), for a machine that gets its
    data as carried files: a GPU lent for one call (recipes/gpu_train.sh), a laptop. Truth images become lossy
    WebP, line layers lossless WebP, flat layers PNG (exact colours); each image is resized as the training
    dataset resizes it.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from inkwash.data.pack import PackConfig, pack

    if not 1 <= quality <= 100:
        raise InkwashError(f"--quality {quality}: give 1-100")
    if test_items < 0:
        raise InkwashError(f"--test-items {test_items}: give 0 (all) or more")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        tasks: dict[str, int] = {}

        def step(split: str, done: int, total: int) -> None:
            if split not in tasks:
                tasks[split] = bar.add_task(split, total=total)
            bar.update(tasks[split], completed=done)

        cfg = PackConfig(short_side=short_side, quality=quality, shard_mib=shard_mib, test_items=test_items)
        out = pack(src, dst, cfg, step)
    typer.echo(f"packed {out['items']} items into {dst} ({out['bytes'] / 2**20:.1f} MiB) in {out['seconds']:.0f} s")
