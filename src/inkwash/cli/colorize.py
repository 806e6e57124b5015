"""`inkwash colorize`: one lineart or a folder of them, through `inkwash.infer.Colorizer`.

Batch naming convention (--batch DIR): for every lineart `NAME.EXT` in DIR (subfolders included), hints
are read from `NAME.hints.json` or `NAME.hints.<image ext>` and a selection mask from `NAME.mask.<image ext>`
beside it (both optional); files named `*.hints.*` / `*.mask.*` are never treated as linearts. Outputs go
to OUTDIR/NAME.png (same subfolders), with --layers also NAME_flat.png and NAME_lines.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

DEFAULT_MODEL = "paintstorch"  # the shipped default weights (src/inkwash/weights/paintstorch)
_console = Console(stderr=True, soft_wrap=True)


# ---------------------------------------------------------------------------------------------- helpers
def layer_paths(out: Path, layers: bool) -> dict[str, Path]:
    """Where each written layer goes: OUT (composite) and, with layers, OUT_flat.png and OUT_lines.png."""
    paths = {"composite": out}
    if layers:
        paths["flat"] = out.with_name(f"{out.stem}_flat.png")
        paths["lines"] = out.with_name(f"{out.stem}_lines.png")
    return paths


def _is_companion(path: Path) -> bool:
    return any(part in (".hints", ".mask") for part in path.suffixes[-2:-1])


def companion(lineart: Path, kind: str) -> Optional[Path]:
    """`cat.png` -> `cat.hints.json` / `cat.hints.png` (any image suffix) / `cat.mask.png`, if present."""
    from inkwash.io import IMAGE_SUFFIXES

    suffixes = ([".json"] if kind == "hints" else []) + sorted(IMAGE_SUFFIXES)
    for suffix in suffixes:
        for cand in (lineart.with_name(f"{lineart.stem}.{kind}{suffix}"),
                     lineart.with_name(f"{lineart.stem}.{kind}{suffix.upper()}")):
            if cand.is_file():
                return cand
    return None


def colorize_one(colorizer, lineart: Path | str, hints, mask, out: Path, layers: bool, overwrite: bool,
                 seed: Optional[int], base: Optional[Path] = None) -> list[Path]:
    """Colour one lineart and write its layers atomically; refuses to overwrite before doing any work."""
    from inkwash.io import save_image

    paths = layer_paths(out, layers)
    if not overwrite:
        for p in paths.values():
            if p.exists():
                raise InkwashError(f"{p}: already exists; pass --overwrite to replace it")
    result = colorizer.colorize_layers(lineart, hints, mask=mask, base=base, seed=seed)
    return [save_image(result[k], p, overwrite=overwrite) for k, p in paths.items()]


def _run_batch(colorizer, folder: Path, out_dir: Path, layers: bool, overwrite: bool, seed: Optional[int]) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from inkwash.io import list_images

    if out_dir.exists() and not out_dir.is_dir():
        raise InkwashError(f"{out_dir}: exists and is not a folder; give a folder to -o with --batch")
    linearts = [p for p in list_images(folder) if not _is_companion(p)]
    if not linearts:
        raise InkwashError(f"{folder}: no linearts found (PNG, JPEG, WebP, BMP, TIFF)")
    failed: list[tuple[Path, str]] = []
    columns = (TextColumn("colorize"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[name]}"))
    with Progress(*columns, console=_console, transient=False) as progress:
        task = progress.add_task("colorize", total=len(linearts), name="")
        for path in linearts:
            rel = path.relative_to(folder)
            progress.update(task, name=str(rel))
            try:
                colorize_one(colorizer, path, companion(path, "hints"), companion(path, "mask"),
                             out_dir / rel.with_suffix(".png"), layers, overwrite, seed)
            except InkwashError as exc:
                failed.append((rel, str(exc)))
            progress.advance(task)
    done = len(linearts) - len(failed)
    for rel, msg in failed:
        _console.print(f"[yellow]skipped[/] {rel}: {msg}", markup=True, highlight=False)
    _console.print(f"{done} of {len(linearts)} linearts coloured into {out_dir}")
    if failed:
        raise InkwashError(f"{len(failed)} of {len(linearts)} linearts failed (listed above); the others were written")


# ----------------------------------------------------------------------------------------------- command
@app.command("colorize")
def colorize(
    lineart: Optional[Path] = typer.Argument(None, help="Lineart image (any mode; paper is whitened).",
                                             show_default=False),
    out: Path = typer.Option(..., "-o", "--out", help="Output image, or output folder with --batch."),
    hints: Optional[Path] = typer.Option(None, "--hints",
                                         help="Strokes: RGBA (alpha = strokes), RGB on white, or .json."),
    mask: Optional[Path] = typer.Option(None, "--mask",
                                        help="Selection: white = colour here; elsewhere --base (or the lineart) "
                                             "stays, pixel for pixel."),
    base: Optional[Path] = typer.Option(None, "--base",
                                        help="With --mask: a previous result or your own painting to keep "
                                             "outside the mask (the iterative workflow)."),
    model: Optional[str] = typer.Option(None, "--model",
                                        help=f"Model name or weights path (default: {DEFAULT_MODEL})."),
    method: Optional[str] = typer.Option(None, "--method", help="Alias of --model (e.g. --method lazybrush)."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="Colour every lineart in this folder (see below)."),
    layers: bool = typer.Option(False, "--layers", help="Also write OUT_flat.png and OUT_lines.png."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
    fill_unhinted: bool = typer.Option(False, "--fill-unhinted",
                                       help="lazybrush: fill unhinted regions with the nearest stroke's colour."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for models that sample."),
    resolution: Optional[int] = typer.Option(None, "--resolution",
                                             help="Learned models: short side in px the model paints at "
                                                  "(default: its training size); the output keeps the "
                                                  "input's size either way."),
    lines_over: bool = typer.Option(True, "--lines-over/--no-lines-over",
                                    help="Learned models: multiply the original full-resolution lines over "
                                         "the colour (crisp lines at any size)."),
    steps: Optional[int] = typer.Option(None, "--steps",
                                        help="Sampling models (stablepaint): denoising steps (default 20)."),
    strength: Optional[float] = typer.Option(None, "--strength",
                                             help="Sampling models: 0 = the hints' context as is, 1 = from pure "
                                                  "noise; higher gives more variety, lower more fidelity "
                                                  "(default 0.5)."),
    variations: Optional[int] = typer.Option(None, "--variations",
                                             help="Sampling models: write OUT_v1.png..OUT_vN.png with seeds "
                                                  "SEED..SEED+N-1."),
) -> None:
    """inkwash colorize examples/girl/lineart.png --hints examples/girl/hints.json -o girl.png

    Colour a lineart from colour hint strokes (RGBA, RGB on white, or JSON); --layers also writes the
    flat colour and the lines as separate PNGs. The default model is the shipped PaintsTorch weights;
    --model lazybrush is the classical flat-fill baseline, --model RUN a folder made by `inkwash train`.

    Batch: inkwash colorize --batch linearts/ -o coloured/ reads NAME.png with NAME.hints.json or
    NAME.hints.png (and NAME.mask.png) beside it and writes coloured/NAME.png; bad files are reported
    and skipped, and the exit code is 2 if any failed.

    Variations (a model that samples): inkwash colorize LINEART --hints H --model runs/sp --steps 20
    --strength 0.5 --variations 4 -o out.png writes out_v1.png..out_v4.png.
    """
    from inkwash.infer import Colorizer

    if model and method and model != method:
        raise InkwashError(f"--model {model} and --method {method} disagree; give one of them")
    name = model or method or DEFAULT_MODEL
    if (lineart is None) == (batch is None):
        raise InkwashError("give either one LINEART or --batch DIR (not both, not neither)")
    options: dict = {"fill_unhinted": True} if fill_unhinted else {}
    if fill_unhinted and name != "lazybrush":
        raise InkwashError("--fill-unhinted applies to --model lazybrush only")
    if name == "lazybrush" and (resolution is not None or not lines_over):
        raise InkwashError("--resolution and --no-lines-over apply to learned models, not lazybrush")
    if resolution is not None:
        options["resolution"] = resolution
    if not lines_over:
        options["lines_over"] = False
    if base is not None and mask is None:
        raise InkwashError("--base is kept outside --mask; give a --mask too")
    if variations is not None and variations < 1:
        raise InkwashError(f"--variations {variations}: give 1 or more")
    colorizer = Colorizer.from_pretrained(name, **options)
    sampling = {k: v for k, v in {"steps": steps, "strength": strength}.items() if v is not None}
    if sampling or variations is not None:
        if not getattr(colorizer.backend, "samples", False):
            raise InkwashError(f"--steps, --strength and --variations apply to models that sample (stablepaint), "
                               f"not {colorizer.name}")
        colorizer.backend.with_sampling(**sampling)
    if batch is not None:
        if hints is not None or mask is not None or base is not None:
            raise InkwashError("--batch finds hints and masks by name (NAME.hints.png, NAME.mask.png); "
                               "drop --hints/--mask")
        if variations is not None:
            raise InkwashError("--variations works on one lineart; drop --batch")
        _run_batch(colorizer, batch, out, layers, overwrite, seed)
        return
    if variations is not None:
        first = 0 if seed is None else seed
        outs = [out.with_name(f"{out.stem}_v{i + 1}{out.suffix or '.png'}") for i in range(variations)]
        if not overwrite:  # refuse before sampling anything
            for p in (p for o in outs for p in layer_paths(o, layers).values()):
                if p.exists():
                    raise InkwashError(f"{p}: already exists; pass --overwrite to replace it")
        written = [p for i, o in enumerate(outs)
                   for p in colorize_one(colorizer, lineart, hints, mask, o, layers, overwrite, first + i, base)]
        _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
        return
    written = colorize_one(colorizer, lineart, hints, mask, out, layers, overwrite, seed, base)
    _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
