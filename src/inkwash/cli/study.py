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
    starts_per_hour: float = typer.Option(30.0, "--starts-per-hour",
                                          help="New participants one address may start per hour (3 at once); "
                                               "raise it for a class behind one address."),
) -> None:
    """inkwash study serve --images report/outputs --db study.sqlite --host 0.0.0.0

    Serves a page that shows every image under IMAGES/METHOD/... in a random order, without the method's
    name, and asks for a 1 (bad) to 5 (excellent) rating; each participant (a signed cookie the server
    issued) rates each image once. `inkwash evaluate` outputs work as they are:
    report/outputs/MODEL/CONDITION/NNNNN.png.
    """
    try:
        import uvicorn

        from inkwash.study.server import StudyConfig, create_app
    except ModuleNotFoundError as exc:
        raise InkwashError(f"the study server needs {exc.name}: pip install fastapi uvicorn") from None
    from inkwash.study.store import StudyStore
    from inkwash.webguard import allowed_hosts_for, is_loopback

    if not 1 <= port <= 65535:
        raise InkwashError(f"--port {port}: give a port between 1 and 65535")
    if not starts_per_hour > 0:
        raise InkwashError(f"--starts-per-hour {starts_per_hour}: give a positive number")
    if not is_loopback(host):
        _console.print(f"[yellow]warning[/]: binding {host} makes the study reachable from other machines",
                       markup=True)
    config = StudyConfig(starts_per_hour=starts_per_hour, allowed_hosts=allowed_hosts_for(host))
    web = create_app(images, db, title, config)
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
    exclude_flagged: bool = typer.Option(False, "--exclude-flagged",
                                         help="Leave out participants flagged as ballot stuffing (votes faster "
                                              "than a person can look, parallel sessions from one address)."),
) -> None:
    """inkwash study report --db study.sqlite -o study-report/ --exclude-flagged

    MOS (mean rating), STD and the p-value of Welch's t-test against the reference method, per method.
    Participants whose votes look like ballot stuffing are listed (OUT/flagged.csv); --exclude-flagged
    leaves them out of the table.
    """
    from inkwash.study.report import flag_participants, mos_table, table_markdown, write_report
    from inkwash.study.store import StudyStore

    store = StudyStore(db, create=False)
    flagged = flag_participants(store.votes(), store.participants())
    exclude = frozenset(flagged) if exclude_flagged else frozenset()
    rows = mos_table(store.ratings(exclude), reference)
    counts = store.counts(exclude)
    typer.echo(table_markdown(rows))
    _console.print(f"{counts['participants']} participants, {counts['votes']} votes", highlight=False)
    if flagged:
        kinds = sorted({r.split(":")[0] for reasons in flagged.values() for r in reasons})
        _console.print(f"{len(flagged)} participants flagged as possible ballot stuffing ({', '.join(kinds)}); "
                       + ("left out" if exclude_flagged else "included: --exclude-flagged leaves them out"),
                       highlight=False)
    if out is not None:
        written = write_report(rows, out, counts, flagged, excluded=exclude_flagged)
        _console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
