"""`inkwash train paintstorch|alacgan|stenciltorch|stablepaint`: train a registered model, one shared loop."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inkwash.cli._app import train_app


def _run(name: str, data: str, out: Path, config: Optional[Path], sets: list[str], steps: Optional[int],
         batch_size: Optional[int], size: Optional[int], preset: Optional[str], resume: bool, device: str,
         workers: Optional[int], extra: Optional[dict] = None) -> None:
    """Any registered model: its registry entry names the trainer that make_config and train dispatch to.

    `extra`: model-specific flags as dotted settings (None values are left to the config)."""
    from inkwash.train.config import parse_set
    from inkwash.train.paintstorch import make_config, train

    overrides = parse_set(sets)
    flags = {"loop.steps": steps, "data.batch_size": batch_size, "data.size": size, "loop.device": device,
             "data.workers": workers, **(extra or {})}
    overrides.update({k: v for k, v in flags.items() if v is not None})
    cfg = make_config(name, preset, config, overrides)
    train(cfg, data, out, resume=resume)


_DATA = typer.Option(..., "--data", help="Folder of illustrations, a prepared dataset, or 'synthetic'.")
_OUT = typer.Option(..., "--out", help="Run folder: config.json, checkpoints/, tb/, model.safetensors.")
_CONFIG = typer.Option(None, "--config",
                       help="TOML file of settings (tables model, loss, optim, data, loop; top-level preset).")
_SET = typer.Option([], "--set", help="Override one setting, e.g. --set loss.lambda_adv=1e-4 (repeatable).")
_STEPS = typer.Option(None, "--steps", help="Stop after N iterations (default: 100 epochs, thesis IV.2.2.4).")
_BATCH = typer.Option(None, "--batch-size", help="Images per process per step (default 4).")
_SIZE = typer.Option(None, "--size", help="Training crop size in px, a multiple of 16 (default 512).")
_PRESET = typer.Option(None, "--preset", show_default=False,
                       help="Network size: tiny (tests), small (CPU), base (AlacGAN widths; the default unless "
                            "--config sets `preset`).")
_RESUME = typer.Option(False, "--resume", help="Continue RUN from its latest checkpoint.")
_DEVICE = typer.Option("auto", "--device", help="auto, cpu or cuda.")
_WORKERS = typer.Option(None, "--workers", help="Data loader processes (default 2).")


@train_app.command("paintstorch")
def paintstorch(data: str = _DATA, out: Path = _OUT, config: Optional[Path] = _CONFIG, sets: list[str] = _SET,
                steps: Optional[int] = _STEPS, batch_size: Optional[int] = _BATCH, size: Optional[int] = _SIZE,
                preset: Optional[str] = _PRESET, resume: bool = _RESUME, device: str = _DEVICE,
                workers: Optional[int] = _WORKERS) -> None:
    """inkwash train paintstorch --data synthetic --out runs/pt-smoke --preset tiny --size 64 --steps 50

    Train PaintsTorch (thesis IV.2): G1 colorizer, G2 lineart redrawer, F1-conditioned WGAN-GP critic.
    Multi-GPU: torchrun --nproc_per_node 8 -m inkwash train paintstorch --data DIR --out RUN
    """
    _run("paintstorch", data, out, config, sets, steps, batch_size, size, preset, resume, device, workers)


@train_app.command("alacgan")
def alacgan(data: str = _DATA, out: Path = _OUT, config: Optional[Path] = _CONFIG, sets: list[str] = _SET,
            steps: Optional[int] = _STEPS, batch_size: Optional[int] = _BATCH, size: Optional[int] = _SIZE,
            preset: Optional[str] = _PRESET, resume: bool = _RESUME, device: str = _DEVICE,
            workers: Optional[int] = _WORKERS) -> None:
    """inkwash train alacgan --data synthetic --out runs/alac-smoke --preset tiny --size 64 --steps 50

    Train the AlacGAN baseline (Ci et al. 2018): no G2, random-pixel hints; otherwise as paintstorch.
    """
    _run("alacgan", data, out, config, sets, steps, batch_size, size, preset, resume, device, workers)


@train_app.command("stenciltorch")
def stenciltorch(data: str = _DATA, out: Path = _OUT, config: Optional[Path] = _CONFIG, sets: list[str] = _SET,
                 steps: Optional[int] = _STEPS, batch_size: Optional[int] = _BATCH, size: Optional[int] = _SIZE,
                 preset: Optional[str] = _PRESET, resume: bool = _RESUME, device: str = _DEVICE,
                 workers: Optional[int] = _WORKERS) -> None:
    """inkwash train stenciltorch --data synthetic --out runs/st-smoke --preset tiny --size 64 --steps 50

    Train StencilTorch (thesis IV.3): colour inside a mask from the composite, the mask, hints and F1.

    A guide decoder trains alongside (loss.w_guide, default 0.1) and is never exported; the critic is PaintsTorch's.

    CPU-sized recipe: --config recipes/stenciltorch.toml

    Multi-GPU: torchrun --nproc_per_node 8 -m inkwash train stenciltorch --data DIR --out RUN
    """
    _run("stenciltorch", data, out, config, sets, steps, batch_size, size, preset, resume, device, workers)


@train_app.command("stablepaint")
def stablepaint(data: str = _DATA, out: Path = _OUT, config: Optional[Path] = _CONFIG, sets: list[str] = _SET,
                stage: Optional[str] = typer.Option(None, "--stage",
                                                    help="autoencoder, context or noise (in that order; default "
                                                         "autoencoder, or the config's `stage`)."),
                previous: Optional[str] = typer.Option(None, "--previous",
                                                       help="Run folder of the previous stage (context, noise)."),
                steps: Optional[int] = _STEPS, batch_size: Optional[int] = _BATCH, size: Optional[int] = _SIZE,
                preset: Optional[str] = _PRESET, resume: bool = _RESUME, device: str = _DEVICE,
                workers: Optional[int] = _WORKERS) -> None:
    """inkwash train stablepaint --stage autoencoder --data synthetic --out runs/sp-ae --preset tiny --size 64

    Train StablePaint (thesis IV.4), latent diffusion on lineart + hints, one stage per run folder:

      inkwash train stablepaint --stage autoencoder --data DIR --out runs/sp-ae

      inkwash train stablepaint --stage context --previous runs/sp-ae --data DIR --out runs/sp-ctx

      inkwash train stablepaint --stage noise --previous runs/sp-ctx --data DIR --out runs/sp

    Each stage freezes the networks it inherits and exports all of them: colour with --model runs/sp.
    Use the same --preset/--config for the three stages. CPU-sized recipe: --config recipes/stablepaint.toml
    """
    _run("stablepaint", data, out, config, sets, steps, batch_size, size, preset, resume, device, workers,
         {"stage": stage, "previous": previous})


@train_app.command("publish")
def publish(run: Path = typer.Argument(..., help="A run folder made by inkwash train."),
            dst: Path = typer.Argument(..., help="Folder for model.safetensors (fp16), config.json, MODEL_CARD.md."),
            data: Optional[Path] = typer.Option(None, "--data", help="The prepared training set (for the card)."),
            metrics: Optional[Path] = typer.Option(None, "--metrics", help="Markdown with measured numbers."),
            recipe: str = typer.Option("", "--recipe", help="The command that trained the run, for the card."),
            overwrite: bool = typer.Option(False, "--overwrite", help="Replace DST's files.")) -> None:
    """inkwash train publish runs/default src/inkwash/weights/paintstorch --data data/ocal

    Make a run shippable: float16 weights (half the size), its config, and a model card with the data's
    split sizes and licence. `inkwash colorize --model DST` then uses it.
    """
    from inkwash.publish import publish as _publish

    out = _publish(run, dst, data, metrics, recipe, overwrite)
    typer.echo(f"published {run} -> {out}")
