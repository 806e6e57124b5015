"""`inkwash export`: a PaintsTorch-family model to ONNX (dynamic H/W), checked against PyTorch with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

_console = Console(stderr=True, soft_wrap=True)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'256x256,320x192' -> [(256, 256), (320, 192)] as (H, W)."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            h, w = (int(v) for v in part.lower().split("x"))
        except ValueError:
            raise InkwashError(f"--check {part!r}: give sizes as HxW, e.g. 256x256,320x192") from None
        if h <= 0 or w <= 0:
            raise InkwashError(f"--check {part!r}: sizes must be positive")
        sizes.append((h, w))
    if not sizes:
        raise InkwashError("--check: give at least one size, e.g. 256x256")
    return sizes


@app.command("export")
def export(
    out: Path = typer.Option(..., "-o", "--out", help="The .onnx file to write (a .json of settings goes beside it)."),
    model: str = typer.Option("paintstorch", "--model", help="Model name or run folder (PaintsTorch family)."),
    page: Optional[Path] = typer.Option(None, "--page",
                                        help="Also write a standalone in-browser page (onnxruntime-web) to "
                                             "this folder; serve it with: python -m http.server -d FOLDER"),
    check: str = typer.Option("256x256,320x192", "--check",
                              help="HxW sizes (multiples of 16) at which onnxruntime is compared with torch."),
    atol: float = typer.Option(1e-3, "--atol", help="Largest accepted |onnxruntime - torch| (outputs in [0,1])."),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (17 or newer)."),
    exporter: str = typer.Option("dynamo", "--exporter", help="torch exporter: dynamo (default) or legacy."),
    resolution: Optional[int] = typer.Option(None, "--resolution",
                                             help="Short side the page and OnnxColorizer work at "
                                                  "(default: the model's training size)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing files."),
) -> None:
    """inkwash export --model paintstorch -o paintstorch.onnx

    Export the generator (with its feature network) to one ONNX file whose height and width are dynamic
    (multiples of 16), run it with onnxruntime beside PyTorch and report the largest difference. Colour
    with it without torch: inkwash.export.OnnxColorizer("paintstorch.onnx").colorize(lineart, hints).
    With --page DIR, DIR becomes a static site that colours in the browser, as you draw.
    """
    from inkwash.export import export_onnx, write_page

    sizes = parse_sizes(check)
    options = {"resolution": resolution} if resolution is not None else {}
    report = export_onnx(model, out, check_sizes=sizes, opset=opset, exporter=exporter, atol=atol,
                         overwrite=overwrite, **options)
    for h, w, diff in report.checks:
        _console.print(f"onnxruntime vs torch at {h}x{w}: max abs diff {diff:.2e}", highlight=False)
    _console.print(f"wrote {report.path} and {report.sidecar} in {report.seconds:.1f} s "
                   f"(max abs diff {report.max_abs_diff:.2e})", highlight=False)
    if page is not None:
        index = write_page(page, report.path, overwrite=overwrite)
        _console.print(f"wrote the in-browser page {index}; serve it with: python -m http.server -d {page}",
                       highlight=False)
