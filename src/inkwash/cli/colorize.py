"""`inkwash colorize`: one lineart or a folder of them, through `inkwash.infer.Colorizer`.

Batch naming convention (--batch DIR): for every lineart `NAME.EXT` in DIR (subfolders included), hints are
read from `NAME.hints.json`, `NAME.hints.png`, `NAME-hints.png` or `NAME_hints.png` (any image suffix) and a
selection mask from `NAME.mask.png` / `NAME-mask.png` / `NAME_mask.png` beside it (both optional); such files
are never coloured as linearts. Outputs go to OUTDIR/NAME.png (same subfolders), with --layers also
NAME_flat.png and NAME_lines.png; outputs that exist are skipped (a rerun finishes an interrupted batch).

With --reference KEY.png the batch is a sequence: frames in natural order of their names (frame2 before
frame10), each coloured from the key and from the previous coloured frame; regions no reference matched are
listed in OUTDIR/reference-report.csv (one row per region) and OUTDIR/reference-report.json (per frame).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

from inkwash.models.registry import DEFAULT as DEFAULT_MODEL  # noqa: E402  (one default for every front-end)
COMPANIONS = ("hints", "mask")
SEPARATORS = (".", "-", "_")  # NAME.hints.png, NAME-hints.png, NAME_hints.png
_console = Console(stderr=True, soft_wrap=True)


# ---------------------------------------------------------------------------------------------- helpers
def layer_paths(out: Path, layers: bool) -> dict[str, Path]:
    """Where each written layer goes: OUT (composite) and, with layers, OUT_flat.png, OUT_lines.png and (models
    that shade) OUT_shading.png."""
    paths = {"composite": out}
    if layers:
        for name in ("flat", "lines", "shading"):
            paths[name] = out.with_name(f"{out.stem}_{name}.png")
    return paths


def companion_name(path: Path) -> tuple[str, str] | None:
    """`cat-hints.png` -> ("cat", "hints"); None for a file not named like a companion."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    for kind in COMPANIONS:
        for sep in SEPARATORS:
            tail = sep + kind
            if stem.lower().endswith(tail) and len(stem) > len(tail):
                return stem[: -len(tail)], kind
    return None


def companion(lineart: Path, kind: str) -> Optional[Path]:
    """`cat.png` -> its hints (`cat.hints.json`, `cat.hints.png`, `cat-hints.png`, `cat_hints.png`, any image
    suffix) or mask (`cat.mask.png`, ...), if present."""
    from inkwash.io import IMAGE_SUFFIXES

    suffixes = ([".json"] if kind == "hints" else []) + sorted(IMAGE_SUFFIXES)
    for sep in SEPARATORS:
        for suffix in suffixes:
            for cand in (lineart.with_name(f"{lineart.stem}{sep}{kind}{suffix}"),
                         lineart.with_name(f"{lineart.stem}{sep}{kind}{suffix.upper()}")):
                if cand.is_file():
                    return cand
    return None


def split_batch(files: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """A folder's images -> (linearts, [(file, why it is not coloured)]): companions of a present lineart are
    used by it; files named like a companion whose lineart is missing are reported, never coloured."""
    stems = {(p.parent, p.stem) for p in files}
    linearts, odd = [], []
    for p in files:
        named = companion_name(p)
        if named is None:
            linearts.append(p)
        elif (p.parent, named[0]) not in stems:
            odd.append((p, f"named like the {named[1]} of {named[0]}, but no {named[0]} lineart is beside it"))
    return linearts, odd


def check_outputs(paths: list[Path], overwrite: bool) -> None:
    """Refuse, before any work, outputs that exist (without --overwrite) or cannot be written (one line why)."""
    from inkwash.io import check_writable

    for p in paths:
        check_writable(p, overwrite)


def ora_path(out: Path) -> Path:
    return out.with_suffix(".ora")


def write_layers(result: dict, out: Path, layers: bool, overwrite: bool, ora: bool = False) -> list[Path]:
    from inkwash.io import save_image

    written = [save_image(result[k], p, overwrite=overwrite) for k, p in layer_paths(out, layers).items()
               if k in result]
    if ora:
        from inkwash.ora import write_ora

        write_ora(result, ora_path(out), overwrite=overwrite)
        written.append(ora_path(out))
    return written


def natural_key(path: Path) -> list:
    """Sort key of a frame's path: digits compare as numbers (frame2 < frame10)."""
    import re

    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def _warn(msg: str) -> None:
    _console.print(f"[yellow]warning[/] {msg}", markup=True, highlight=False)


def _progress():
    """The batch progress bar: done / total, time left, the file at hand."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("colorize"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[name]}"), console=_console, transient=False)


def _each(progress, paths: list[Path], folder: Path, out_dir: Path):
    """(path, its name under the folder, its output) for each path, the progress bar naming it and advancing after
    it, whether its turn ends normally or with `continue`."""
    task = progress.add_task("colorize", total=len(paths), name="")
    for path in paths:
        rel = path.relative_to(folder)
        progress.update(task, name=str(rel))
        yield path, rel, out_dir / rel.with_suffix(".png")
        progress.advance(task)


def _run_batch(colorizer, linearts: list[Path], odd: list[tuple[Path, str]], folder: Path, out_dir: Path,
               layers: bool, overwrite: bool, seed: Optional[int], sampling: dict, ora: bool = False) -> None:
    from inkwash.infer import prepare

    failed: list[tuple[Path, str]] = []
    skipped: list[Path] = []
    needs_hints = colorizer.spec.capabilities.needs_hints
    learned = colorizer.learned
    with _progress() as progress:
        for path, rel, out in _each(progress, linearts, folder, out_dir):
            if not overwrite and all(p.exists() for k, p in layer_paths(out, layers).items() if k != "shading"):
                skipped.append(rel)
                continue
            hints = companion(path, "hints")
            try:
                check_outputs([p for k, p in layer_paths(out, layers).items() if k != "shading" or learned]
                              + ([ora_path(out)] if ora else []), overwrite)
            except InkwashError as exc:
                failed.append((rel, str(exc)))
                continue
            if hints is None and needs_hints:
                progress.console.print(f"[yellow]warning[/] {rel}: no hints beside it ({path.stem}.hints.json, "
                                       f"{path.stem}-hints.png, ...); {colorizer.name} leaves it uncoloured",
                                       markup=True, highlight=False)
            try:
                inputs = prepare(path, hints, companion(path, "mask"))
                wanted = None if (layers or ora) else ("composite",)
                write_layers(colorizer.colorize_inputs(inputs, seed, wanted=wanted, **sampling), out, layers,
                             overwrite, ora)
            except InkwashError as exc:
                failed.append((rel, str(exc)))
            except Exception as exc:  # noqa: BLE001 - one broken file must not lose the rest of the batch
                failed.append((rel, f"internal error ({type(exc).__name__}: {exc}); please report it"))
    for p, why in odd:
        _console.print(f"[yellow]not coloured[/] {p.relative_to(folder)}: {why}", markup=True, highlight=False)
    for rel, msg in failed:
        _console.print(f"[yellow]skipped[/] {rel}: {msg}", markup=True, highlight=False)
    done = len(linearts) - len(failed) - len(skipped)
    _console.print(f"{done} of {len(linearts)} linearts coloured into {out_dir}"
                   + (f"; {len(skipped)} skipped because their output exists (--overwrite redoes them)"
                      if skipped else ""))
    if failed:
        raise InkwashError(f"{len(failed)} of {len(linearts)} linearts failed (listed above); the others were written")


def _match_summary(match, regions, unhinted: str) -> str:
    enclosed = int((~regions.border[1:]).sum())
    missed = len(match.unmatched(regions))
    return (f"{enclosed - missed} of {enclosed} enclosed regions matched the reference"
            + (f"; {missed} left to --unhinted {unhinted}" if missed else ""))


def _run_sequence(colorizer, key, linearts: list[Path], odd: list[tuple[Path, str]], folder: Path, out_dir: Path,
                  layers: bool, overwrite: bool, seed: Optional[int], unhinted: str, ora: bool = False) -> None:
    """--batch with --reference: frames in order, each from the key and the previous coloured frame."""
    import csv
    import io
    import json

    import numpy as np
    from inkwash.infer import prepare, regions_of, to_images
    from inkwash.io import atomic_path, load_rgb
    from inkwash.reference import previous_frame, unmatched_rows

    frames = sorted(linearts, key=lambda p: natural_key(p.relative_to(folder)))
    failed: list[tuple[Path, str]] = []
    report: list[dict] = []
    rows: list[dict] = []
    prev = None
    with _progress() as progress:
        for path, rel, out in _each(progress, frames, folder, out_dir):
            try:
                inputs = prepare(path, companion(path, "hints"), companion(path, "mask"),
                                 reference=[key] + ([prev] if prev is not None else []))
                regions = regions_of(inputs, colorizer.settings)
                paths = layer_paths(out, layers)
                if not overwrite and all(p.exists() for k, p in paths.items() if k != "shading"):
                    # done by an earlier run: its colours still lead the next frame (trust unknown, so lower)
                    done = paths.get("flat", out)
                    prev = previous_frame(inputs.lines, regions, np.asarray(load_rgb(done), np.float32) / 255.0)
                    report.append({"frame": str(rel), "skipped": True})
                    continue
                check_outputs([p for k, p in paths.items() if k != "shading" or colorizer.learned]
                              + ([ora_path(out)] if ora else []), overwrite)
                result = colorizer.layers(inputs, seed)
                write_layers(to_images(result, inputs), out, layers, overwrite, ora)
                match = result["reference"]
                prev = previous_frame(inputs.lines, regions, result["flat"], match, match.source)
                missed = unmatched_rows(str(rel), regions, match, match.source)
                rows += missed
                enclosed = int((~regions.border[1:]).sum())
                report.append({"frame": str(rel), "regions": int(regions.n), "enclosed": enclosed,
                               "unmatched": len(missed), "alignment": [round(a, 3) for a in match.alignment],
                               "unmatched_regions": missed})
            except InkwashError as exc:
                failed.append((rel, str(exc)))
                prev = None  # the chain restarts from the key alone
            except Exception as exc:  # noqa: BLE001 - one broken frame must not lose the rest of the sequence
                failed.append((rel, f"internal error ({type(exc).__name__}: {exc}); please report it"))
                prev = None
    buf = io.StringIO()
    fields = ["frame", "region", "x", "y", "area", "score", "confidence"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    for name, text in (("reference-report.csv", buf.getvalue()),
                       ("reference-report.json", json.dumps({"frames": report}, indent=1))):
        with atomic_path(out_dir / name, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
    for p, why in odd:
        _console.print(f"[yellow]not coloured[/] {p.relative_to(folder)}: {why}", markup=True, highlight=False)
    for rel, msg in failed:
        _console.print(f"[yellow]skipped[/] {rel}: {msg}", markup=True, highlight=False)
    coloured = [r for r in report if not r.get("skipped")]
    with_missed = sum(1 for r in coloured if r["unmatched"])
    _console.print(f"{len(coloured)} of {len(frames)} frames coloured from the reference into {out_dir}; "
                   f"{len(rows)} regions in {with_missed} frames had no confident match (left to --unhinted "
                   f"{unhinted}; see {out_dir / 'reference-report.csv'})", highlight=False)
    if failed:
        raise InkwashError(f"{len(failed)} of {len(frames)} frames failed (listed above); the others were written")


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
                                        help="With --mask: a previous result or your own painting (at the "
                                             "lineart's size) to keep outside the mask (the iterative workflow)."),
    model: Optional[str] = typer.Option(None, "--model",
                                        help=f"Model name, model folder, training run or .onnx file "
                                             f"(default: {DEFAULT_MODEL})."),
    method: Optional[str] = typer.Option(None, "--method", help="Alias of --model (e.g. --method lazybrush)."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="Colour every lineart in this folder (see below)."),
    layers: bool = typer.Option(False, "--layers", help="Also write OUT_flat.png, OUT_lines.png and (when there is "
                                                        "shading) OUT_shading.png."),
    ora: bool = typer.Option(False, "--ora", help="Also write OUT.ora, an OpenRaster file with the layers (lines and "
                                                  "shading in multiply mode over the flats) for Krita, GIMP, "
                                                  "MyPaint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
    gap: Optional[float] = typer.Option(None, "--gap", help="Close gaps in the lines up to PX wide when finding "
                                                            "regions (default: from the image size and line "
                                                            "width; 0 = no gap closing)."),
    unhinted: Optional[str] = typer.Option(None, "--unhinted",
                                           help="What enclosed regions no hint reaches get: paper (white), "
                                                "neighbour (the colour of the hinted neighbour sharing the most "
                                                "outline) or model (a learned model's colour). Regions touching the "
                                                "image border stay paper unless hinted. Default: neighbour for "
                                                "lazybrush, model for learned models."),
    lock: bool = typer.Option(True, "--lock/--no-lock",
                              help="Learned models: one colour per region (hints win), the model's light and "
                                   "shade kept inside each region; --no-lock gives the raw network output."),
    shading: Optional[float] = typer.Option(None, "--shading",
                                            help="Shading strength 0-1 (0 = flat colours). Default: 0 (measured: every "
                                                 "shading tried moved colours away from the truth), or 1 for "
                                                 "--shade model and 0.3 for --shade soft|cel when asked for."),
    shade: Optional[str] = typer.Option(None, "--shade",
                                        help="Turn shading on: soft or cel (drawn from the regions' shapes and "
                                             "--light), or model (a learned model's own light and shade)."),
    light: float = typer.Option(135.0, "--light", help="Where the light comes from, degrees: 0 right, 90 top, "
                                                       "135 top-left."),
    solver: Optional[str] = typer.Option(None, "--solver",
                                         help="lazybrush: regions (the region engine, default) or classic "
                                              "(the whole-image LazyBrush graph cut of earlier versions)."),
    fill_unhinted: bool = typer.Option(False, "--fill-unhinted",
                                       help="lazybrush: colour unhinted regions too (= --unhinted neighbour; "
                                            "with --solver classic, the nearest stroke's colour)."),
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
                                                  "SEED..SEED+N-1, and OUT_variations.png side by side."),
    reference: Optional[Path] = typer.Option(None, "--reference",
                                             help="A coloured drawing (a model sheet, the key frame): regions of "
                                                  "the lineart take the colours of its matching regions; hints "
                                                  "win, unmatched regions follow --unhinted. Default model: "
                                                  "lazybrush (flat colours)."),
    reference_lineart: Optional[Path] = typer.Option(None, "--reference-lineart",
                                                     help="The lineart the reference was coloured on (default: "
                                                          "its dark thin strokes and black areas)."),
    threads: Optional[int] = typer.Option(None, "--threads",
                                          help="Compute threads (torch, OpenCV, onnxruntime); default: one per "
                                               "core. Threads wait passively unless OMP_WAIT_POLICY is set."),
) -> None:
    """inkwash colorize examples/girl/lineart.png --hints examples/girl/hints.json -o girl.png

    Colour a lineart from colour hint strokes (RGBA, RGB on white, or JSON); --layers also writes the
    flat colour and the lines as separate PNGs. The default model, lazybrush, fills the drawing's regions
    (gaps in the lines closed) from the strokes; --model paintstorch / stenciltorch / regioncolor are the
    shipped learned models (their colours locked to the regions), --model RUN a folder made by `inkwash train`.

    Batch: inkwash colorize --batch linearts/ -o coloured/ reads NAME.png with NAME.hints.json or
    NAME-hints.png (and NAME.mask.png) beside it and writes coloured/NAME.png; bad files are reported
    and skipped, existing outputs are kept (rerun to finish a batch), and the exit code is 2 if any failed.

    Variations (a model that samples): inkwash colorize LINEART --hints H --model runs/sp --steps 20
    --strength 0.5 --variations 4 -o out.png writes out_v1.png..out_v4.png and out_variations.png (side by side).

    From a coloured reference: inkwash colorize page2.png --reference page1_coloured.png -o page2_col.png;
    with --batch frames/ --reference key.png each frame (natural name order) follows the key and the
    previous frame, and OUT/reference-report.csv lists regions that matched nothing.
    """
    from inkwash.infer import Colorizer, Settings, prepare, regions_of, resolve_model, to_images
    from inkwash.threads import configure

    configure(threads)
    # 1. every check that needs no model: flags, the model's name and capabilities, the input files
    if model and method and model != method:
        raise InkwashError(f"--model {model} and --method {method} disagree; give one of them")
    if reference_lineart is not None and reference is None:
        raise InkwashError("--reference-lineart is the lineart of --reference; give --reference too")
    # a reference colours regions flat, as a paint bucket would: the fill unless a model is asked for
    name = model or method or DEFAULT_MODEL
    if (lineart is None) == (batch is None):
        raise InkwashError("give either one LINEART or --batch DIR (not both, not neither)")
    spec, weights = resolve_model(name)
    learned = spec.name != "lazybrush"
    options: dict = {}
    if (fill_unhinted or solver is not None) and learned:
        raise InkwashError("--fill-unhinted and --solver apply to --model lazybrush only")
    if solver is not None:
        options["solver"] = solver
    classic = solver == "classic"
    if fill_unhinted:
        if classic:
            options["fill_unhinted"] = True
        elif unhinted not in (None, "neighbour"):
            raise InkwashError(f"--fill-unhinted and --unhinted {unhinted} disagree; give one of them")
        else:
            unhinted = "neighbour"
    if classic and (gap is not None or unhinted is not None or shading is not None or shade is not None
                    or reference is not None):
        raise InkwashError("--gap, --unhinted, --shading, --shade and --reference apply to the region engine, "
                           "not --solver classic")
    if reference is not None and not lock:
        raise InkwashError("--reference colours the drawing's regions; it needs the region lock (drop --no-lock)")
    if not learned and (resolution is not None or not lines_over or not lock):
        raise InkwashError("--resolution, --no-lines-over and --no-lock apply to learned models, not lazybrush")
    settings = Settings(gap=gap, unhinted=unhinted, lock=lock, shade=shade, shading=shading, light=light).check(learned)
    if resolution is not None:
        if resolution < 16:
            raise InkwashError(f"--resolution {resolution}: give a short side of at least 16 px (or leave it out "
                               "for the model's training size)")
        options["resolution"] = resolution
    if not lines_over:
        options["lines_over"] = False
    if base is not None and mask is None:
        raise InkwashError("--base is kept outside --mask; give a --mask too")
    if variations is not None and variations < 1:
        raise InkwashError(f"--variations {variations}: give 1 or more")
    sampling = {k: v for k, v in {"steps": steps, "strength": strength}.items() if v is not None}
    if (sampling or variations is not None) and not spec.capabilities.samples:
        raise InkwashError(f"--steps, --strength and --variations apply to models that sample (stablepaint), "
                           f"not {spec.name}")
    if steps is not None and steps < 1:
        raise InkwashError(f"--steps {steps}: give at least 1")
    if strength is not None and not 0.0 <= strength <= 1.0:
        raise InkwashError(f"--strength {strength}: give a value in [0, 1] (0 = context, 1 = pure noise)")

    if batch is not None:
        from inkwash.io import list_images

        if hints is not None or mask is not None or base is not None:
            raise InkwashError("--batch finds hints and masks by name (NAME.hints.png, NAME.mask.png); "
                               "drop --hints/--mask")
        if variations is not None:
            raise InkwashError("--variations works on one lineart; drop --batch")
        if out.exists() and not out.is_dir():
            raise InkwashError(f"{out}: exists and is not a folder; give a folder to -o with --batch")
        from inkwash.io import check_folder_writable

        check_folder_writable(out)
        linearts, odd = split_batch(list_images(batch))
        if reference is not None:
            linearts = [p for p in linearts if p.resolve() not in
                        {reference.resolve(), (reference_lineart or reference).resolve()}]
        if not linearts:
            raise InkwashError(f"{batch}: no linearts found (PNG, JPEG, WebP, BMP, TIFF)")
        colorizer = Colorizer(spec.open(weights, **options), settings=settings)
        if reference is not None:
            from inkwash.reference import reference_from_images

            if sampling:
                raise InkwashError("--steps and --strength do not apply to a --reference sequence")
            key = reference_from_images(reference, reference_lineart, gap)
            _run_sequence(colorizer, key, linearts, odd, batch, out, layers, overwrite, seed,
                          unhinted or ("model" if learned else "neighbour"), ora)
            return
        _run_batch(colorizer, linearts, odd, batch, out, layers, overwrite, seed, sampling, ora)
        return

    key = None
    if reference is not None:
        from inkwash.reference import reference_from_images

        key = reference_from_images(reference, reference_lineart, gap)
    inputs = prepare(lineart, hints, mask, base, reference=key)
    if variations is not None:
        first = 0 if seed is None else seed
        outs = [(out.with_name(f"{out.stem}_v{i + 1}{out.suffix or '.png'}"), first + i) for i in range(variations)]
    else:
        outs = [(out, seed)]
    sheet = out.with_name(f"{out.stem}_variations.png") if variations is not None and variations > 1 else None
    check_outputs([p for o, _ in outs for k, p in layer_paths(o, layers).items() if k != "shading" or learned]
                  + ([sheet] if sheet else []) + ([ora_path(o) for o, _ in outs] if ora else []), overwrite)
    if hints is None and key is None and spec.capabilities.needs_hints:
        _warn(f"no --hints: {spec.name} fills regions from hint strokes, so the lineart stays uncoloured")
    colorizer = Colorizer(spec.open(weights, **options), settings=settings)
    wanted = None if (layers or ora) else ("composite",)
    written, composites = [], []
    for o, s in outs:
        result = colorizer.layers(inputs, s, wanted=wanted, **sampling)
        images = to_images(result, inputs, wanted)
        composites.append(images["composite"])
        written += write_layers(images, o, layers, overwrite, ora)
    if key is not None:
        _console.print(_match_summary(result["reference"], regions_of(inputs, colorizer.settings),
                                      unhinted or ("model" if learned else "neighbour")), highlight=False)
    if sheet is not None:  # the variations side by side, to choose from
        from inkwash.io import save_image

        written.append(save_image(side_by_side(composites), sheet, overwrite=overwrite))
    _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


def side_by_side(images: list, gap: int = 8):
    """Images of one size in a row on a grey strip, at most 4096 px wide (scaled down to fit)."""
    from PIL import Image

    w, h = images[0].size
    scale = min(1.0, (4096 - gap * (len(images) + 1)) / (w * len(images)))
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    sheet = Image.new("RGB", (gap + len(images) * (tw + gap), th + 2 * gap), (128, 128, 128))
    for i, im in enumerate(images):
        sheet.paste(im.resize((tw, th)) if scale < 1 else im, (gap + i * (tw + gap), gap))
    return sheet
