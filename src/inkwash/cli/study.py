"""`inkwash study serve|report`: a blind 1-5 rating study of colorizations and its MOS table (thesis IV.1.4.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError

_console = Console(stderr=True, soft_wrap=True)
study_app = typer.Typer(help="MOS study: inkwash study serve --images report/outputs --db study.sqlite",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")


@study_app.command("serve")
def serve(
    images: Path = typer.Option(..., "--images", help="Folder with one subfolder of images per method."),
    db: Path = typer.Option(Path("study.sqlite"), "--db", help="SQLite file for votes (created if missing)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: the whole network)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    title: str = typer.Option("Lineart colorization study", "--title", help="Heading of the page."),
) -> None:
    """inkwash study serve --images report/outputs --db study.sqlite --host 0.0.0.0

    Serves a page that shows every image under IMAGES/METHOD/... in a random order, without the method's
    name, and asks for a 1 (bad) to 5 (excellent) rating; each participant (a cookie) rates each image once.
    `inkwash evaluate` outputs work as they are: report/outputs/MODEL/CONDITION/NNNNN.png.
    """
    try:
        import uvicorn

        from inkwash.study.server import create_app
    except ModuleNotFoundError as exc:
        raise InkwashError(f"the study server needs {exc.name}: pip install fastapi uvicorn") from None
    from inkwash.study.store import StudyStore

    web = create_app(images, db, title)
    counts = StudyStore(db).counts()
    _console.print(f"study of {counts['images']} images ({counts['votes']} votes so far) in {db}; "
                   f"open http://{host}:{port}/ (Ctrl+C to stop)", highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")


@study_app.command("report")
def report(
    db: Path = typer.Option(Path("study.sqlite"), "--db", help="The study's SQLite file."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Also write OUT/mos.csv and OUT/mos.md."),
    reference: Optional[str] = typer.Option(None, "--reference",
                                            help="Method the p-values compare with (default: best MOS)."),
) -> None:
    """inkwash study report --db study.sqlite -o study-report/

    MOS (mean rating), STD and the p-value of Welch's t-test against the reference method, per method.
    """
    from inkwash.study.report import mos_table, table_markdown, write_report
    from inkwash.study.store import StudyStore

    store = StudyStore(db, create=False)
    rows = mos_table(store.ratings(), reference)
    counts = store.counts()
    typer.echo(table_markdown(rows))
    _console.print(f"{counts['participants']} participants, {counts['votes']} votes", highlight=False)
    if out is not None:
        written = write_report(rows, out, counts)
        _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
