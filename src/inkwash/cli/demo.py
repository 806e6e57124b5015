"""`inkwash demo`: the default job - colour the shipped examples and show what the training pipeline sees."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inkwash.cli._app import app
from inkwash.errors import InkwashError

from inkwash.models.registry import DEFAULT as DEFAULT_MODEL  # noqa: E402  (the region fill, see registry.DEFAULT)

# shown beside the default: the raw PaintsTorch network, inkwash's default before the region fill (and the region
# fill beside any other model)
COMPARE = "paintstorch:lock=false"


class _Illustrations:
    """The examples' illustration.png files as a dataset source (len / getitem -> PIL RGB)."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    def __len__(self) -> int:
        return len(self.folders)

    def __getitem__(self, i: int):
        from inkwash.io import load_rgb

        return load_rgb(self.folders[i] / "illustration.png")


def _hints_over(lineart, hint_map):
    """Hint strokes painted over the lineart, for the contact sheet. hint_map: (H,W,4) in [0,1]."""
    import numpy as np
    from PIL import Image

    lines = np.asarray(lineart.convert("RGB"), np.float32) / 255.0
    a = hint_map[..., 3:4]
    return Image.fromarray(((lines * (1 - a) + hint_map[..., :3] * a) * 255 + 0.5).astype(np.uint8), "RGB")


def _contact_sheet(rows: list[list], labels: list[str], height: int = 256):
    """Rows of PIL images, each scaled to `height`, under a header of column labels."""
    from PIL import Image, ImageDraw, ImageFont

    rows = [[im.resize((max(1, round(im.width * height / im.height)), height)) for im in row] for row in rows]
    col_w = [max(row[c].width for row in rows) for c in range(len(labels))]
    gap, header = 6, 28
    sheet = Image.new("RGB", (sum(col_w) + gap * (len(col_w) + 1), header + len(rows) * (height + gap) + gap),
                      (120, 120, 120))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=18)
    x = gap
    for c, label in enumerate(labels):
        draw.text((x + col_w[c] // 2, header // 2), label, fill="white", font=font, anchor="mm")
        for r, row in enumerate(rows):
            sheet.paste(row[c], (x + (col_w[c] - row[c].width) // 2, header + r * (height + gap)))
        x += col_w[c] + gap
    return sheet


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results (created; its demo files are replaced).")] = Path("demo-out"),
    examples: Annotated[Path | None, typer.Option(help="Folder of examples: one sub-folder each with lineart.png, hints.json, illustration.png (default: the examples shipped with inkwash).", show_default=False)] = None,
    model: Annotated[str, typer.Option(help="Model name or weights path for the colorization.")] = DEFAULT_MODEL,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="Also colour with a second model for comparison: the raw PaintsTorch network (the default before the region fill), or the region fill when --model is another (EXAMPLE_NAME.png).")] = True,
) -> None:
    """inkwash demo --out demo-out

    Colours every example's lineart with its hand-drawn hints (EXAMPLE.png, EXAMPLE_flat.png, and the comparison
    model's EXAMPLE_paintstorch.png: the raw network, the default before), writes a contact sheet (demo.png: lineart / hints / result / comparison /
    original) and a grid of the training inputs the data pipeline makes from the examples' illustrations
    (pipeline.png).
    """
    from rich.progress import Progress

    from inkwash.data.dataset import ColorizationDataset
    from inkwash.data.preview import preview_grid
    from inkwash.hints import load_hints
    from inkwash.infer import Colorizer
    from inkwash.io import save_image
    from inkwash.lineart import load_lineart

    if examples is None:
        from importlib.resources import files

        examples = Path(str(files("inkwash") / "examples"))  # shipped in the package: works from any folder
    if not examples.is_dir():
        raise InkwashError(f"{examples}: no examples folder; pass --examples FOLDER")
    folders = sorted(d for d in examples.iterdir() if (d / "lineart.png").is_file())
    if not folders:
        raise InkwashError(f"{examples}: no sub-folder with a lineart.png")
    out.mkdir(parents=True, exist_ok=True)
    colorizer = Colorizer.from_key(model)
    other_name = COMPARE if model == DEFAULT_MODEL else DEFAULT_MODEL
    base_colorizer = Colorizer.from_key(other_name) if baseline and model != other_name else None
    other_label = "paintstorch --no-lock (before)" if other_name == COMPARE else other_name
    other_file = other_name.split(":")[0]
    rows = []
    with Progress() as progress:
        task = progress.add_task(f"colouring with {colorizer.name}", total=len(folders))
        for d in folders:
            hints = d / "hints.json" if (d / "hints.json").is_file() else d / "hints.png"
            layers = colorizer.colorize_layers(d / "lineart.png", hints if hints.is_file() else None)
            save_image(layers["composite"], out / f"{d.name}.png", overwrite=True)
            save_image(layers["flat"], out / f"{d.name}_flat.png", overwrite=True)
            lineart = load_lineart(d / "lineart.png")
            row = [lineart.convert("RGB"), _hints_over(lineart, load_hints(hints, lineart.size)) if hints.is_file()
                   else lineart.convert("RGB"), layers["composite"]]
            if base_colorizer is not None:
                other = base_colorizer.colorize(d / "lineart.png", hints if hints.is_file() else None)
                save_image(other, out / f"{d.name}_{other_file}.png", overwrite=True)
                row.append(other)
            if (d / "illustration.png").is_file():
                from inkwash.io import load_rgb

                row.append(load_rgb(d / "illustration.png"))
            rows.append(row)
            progress.advance(task)
    labels = ["lineart", "hints", f"result ({colorizer.name})"] + ([other_label] if base_colorizer else []) + ["original"]
    labels = labels[: min(len(r) for r in rows)]
    save_image(_contact_sheet([r[: len(labels)] for r in rows], labels), out / "demo.png", overwrite=True)

    with_illustration = [d for d in folders if (d / "illustration.png").is_file()]
    if with_illustration:
        ds = ColorizationDataset(_Illustrations(with_illustration), size=256, train=False, with_stencil=True)
        save_image(preview_grid(ds, range(len(ds))), out / "pipeline.png", overwrite=True)
    typer.echo(f"wrote {len(folders)} colourings, {out / 'demo.png'} and {out / 'pipeline.png'}")
