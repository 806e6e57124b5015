"""`inkwash serve`: the colouring web app on this machine (FastAPI + uvicorn, see inkwash.app.server)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

from inkwash.cli._app import app
from inkwash.errors import InkwashError
from inkwash.models.registry import DEFAULT as DEFAULT_MODEL
from inkwash.webguard import is_loopback

_console = Console(stderr=True, soft_wrap=True)


@app.command("serve")
def serve(
    model: str = typer.Option(DEFAULT_MODEL, "--model", help="Model selected when the page opens: a name or "
                                                             "a run folder / .onnx file."),
    models: Optional[str] = typer.Option(None, "--models",
                                         help="Comma-separated models to offer (default: --model plus every "
                                              "registered model that loads)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback exposes the "
                                                         "server to your network."),
    port: int = typer.Option(7860, "--port", help="TCP port."),
    max_upload_mb: float = typer.Option(25.0, "--max-upload-mb", help="Largest request body in MiB."),
    max_megapixels: float = typer.Option(16.8, "--max-megapixels", help="Largest image, checked before decoding."),
    device: str = typer.Option("cpu", "--device", help="torch device for learned models (cpu, cuda)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Model calls at once (default: one per CPU "
                                                                  "core, 2 with a GPU)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Compute threads per model call (default: cores "
                                                                  "/ workers, so 1); threads wait passively."),
    queue_mb: Optional[float] = typer.Option(None, "--queue-mb", help="Memory the admitted requests may need, "
                                                                      "estimated per pixel (default: RAM/4, at most "
                                                                      "4096); beyond it: 503 with Retry-After."),
    body_timeout: float = typer.Option(60.0, "--body-timeout", help="Seconds a request body may take to arrive "
                                                                    "(then 408 and the connection is closed)."),
) -> None:
    """inkwash serve --model lazybrush --port 7860

    Open http://127.0.0.1:7860 and colour as you draw: load a lineart, paint colour strokes (and a mask),
    and the result follows a moment after each stroke. Requests go to a pool of model workers in arrival order,
    behind a queue bounded by the memory they need; stalled uploads and connections are closed.
    """
    from inkwash.errors import require
    from inkwash.threads import configure

    configure(threads)
    for module in ("fastapi", "uvicorn", "multipart"):
        require(module, "app")
    from inkwash.app.server import LOOPBACK_HOSTS, ServerConfig
    from inkwash.app.server import serve as run_server

    keys = tuple(k.strip() for k in models.split(",") if k.strip()) if models else None
    if keys is not None and model not in keys:
        keys = (model,) + keys
    if not 1 <= port <= 65535:
        raise InkwashError(f"--port {port}: give a port between 1 and 65535")
    if max_upload_mb <= 0 or max_megapixels <= 0 or body_timeout <= 0 or (queue_mb is not None and queue_mb <= 0):
        raise InkwashError("--max-upload-mb, --max-megapixels, --queue-mb and --body-timeout must be positive")
    if workers is not None and workers < 1:
        raise InkwashError(f"--workers {workers}: give 1 or more")
    local = is_loopback(host)
    if not local:
        _console.print(f"[yellow]warning[/]: binding {host} makes the app reachable from other machines; "
                       "anyone who can reach it can use your CPU/GPU", markup=True)
    config = ServerConfig(default_model=model, models=keys, max_upload_bytes=int(max_upload_mb * 2**20),
                          max_pixels=int(max_megapixels * 1e6), device=device,
                          allowed_hosts=LOOPBACK_HOSTS if local else ("*",), workers=workers,
                          max_queue_bytes=int(queue_mb * 2**20) if queue_mb else None, body_timeout_s=body_timeout)
    shown = f"[{host}]" if ":" in host else host
    _console.print(f"inkwash serving on http://{shown}:{port} (Ctrl+C to stop); loading models...", highlight=False)
    run_server(config, host=host, port=port)
