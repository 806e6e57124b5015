"""`inkwash train NAME`: one command per trainable model, generated from the model specs; and `train publish`.

Every command has the same options (data, run folder, settings file, --set, steps, batch, size, preset, resume,
device, workers) plus the options a spec declares (`ModelSpec.train_options`, e.g. StablePaint's --stage).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from inkwash.cli._app import train_app
from inkwash.models import registry
from inkwash.models.spec import ModelSpec


def _run(name: str, data: str, out: Path, config: Optional[Path], sets: list[str], steps: Optional[int],
         batch_size: Optional[int], size: Optional[int], preset: Optional[str], resume: bool, device: str,
         workers: Optional[int], extra: Optional[dict] = None) -> None:
    """Any registered model: flags become dotted settings over the preset, the TOML file and --set."""
    from inkwash.train.config import parse_set
    from inkwash.train.run import make_config, train

    overrides = parse_set(sets)
    flags = {"loop.steps": steps, "data.batch_size": batch_size, "data.size": size, "loop.device": device,
             "data.workers": workers, **(extra or {})}
    overrides.update({k: v for k, v in flags.items() if v is not None})
    cfg = make_config(name, preset, config, overrides)
    train(cfg, data, out, resume=resume)


# (parameter name, annotation, typer option) shared by every model's command, in --help order
_COMMON: list[tuple[str, Any, Any]] = [
    ("data", str, typer.Option(..., "--data", help="Folder of illustrations, a prepared dataset, or 'synthetic'.")),
    ("out", Path, typer.Option(..., "--out", help="Run folder: config.json, checkpoints/, tb/, model/ (the "
                                                  "exported model).")),
    ("config", Optional[Path], typer.Option(None, "--config", help="TOML file of settings (tables model, loss, "
                                                                   "optim, data, loop; top-level preset).")),
    ("sets", list[str], typer.Option([], "--set", help="Override one setting, e.g. --set loss.lambda_adv=1e-4 "
                                                       "(repeatable).")),
    ("steps", Optional[int], typer.Option(None, "--steps", help="Stop after N iterations (default: 100 epochs, "
                                                                "thesis IV.2.2.4).")),
    ("batch_size", Optional[int], typer.Option(None, "--batch-size", help="Images per process per step "
                                                                          "(default 4).")),
    ("size", Optional[int], typer.Option(None, "--size", help="Training image size in px, a multiple of 16 "
                                                              "(default 512).")),
    ("preset", Optional[str], typer.Option(None, "--preset", show_default=False,
                                           help="Network size: tiny (tests), small (CPU), base (the default "
                                                "unless --config sets `preset`).")),
    ("resume", bool, typer.Option(False, "--resume", help="Continue RUN from its latest checkpoint.")),
    ("device", str, typer.Option("auto", "--device", help="auto, cpu or cuda.")),
    ("workers", Optional[int], typer.Option(None, "--workers", help="Data loader processes (default 2).")),
]


def _param(name: str) -> str:
    return name.replace(".", "_")


def _command_for(spec: ModelSpec) -> Callable[..., None]:
    """A Typer command training `spec`: the common options plus the spec's own, with a runnable --help."""
    own = [(_param(o.setting), Optional[str], typer.Option(None, o.flag, help=o.help)) for o in spec.train_options]

    def command(**kwargs: Any) -> None:
        extra = {o.setting: kwargs.pop(_param(o.setting)) for o in spec.train_options}
        _run(spec.name, extra=extra, **kwargs)

    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=ann)
              for n, ann, opt in _COMMON + own]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {n: ann for n, ann, _ in _COMMON + own}
    stage = " --stage autoencoder" if any(o.flag == "--stage" for o in spec.train_options) else ""
    command.__doc__ = (
        f"inkwash train {spec.name}{stage} --data synthetic --out runs/{spec.name}-smoke --preset tiny --size 64 "
        f"--steps 50\n\n{spec.description}.\n\n{spec.train_help}\n\n"
        f"Multi-GPU: torchrun --nproc_per_node 8 -m inkwash train {spec.name} --data DIR --out RUN")
    command.__name__ = f"train_{spec.name}"
    return command


for _name in registry.names(trainable=True):
    train_app.command(_name)(_command_for(registry.get(_name)))


@train_app.command("publish")
def publish(run: Path = typer.Argument(..., help="A run folder made by inkwash train."),
            dst: Path = typer.Argument(..., help="Folder for model.safetensors (fp16), config.json, MODEL_CARD.md."),
            data: Optional[Path] = typer.Option(None, "--data", help="The prepared training set (for the card)."),
            metrics: Optional[Path] = typer.Option(None, "--metrics", help="Markdown with measured numbers."),
            recipe: str = typer.Option("", "--recipe", help="The command that trained the run, for the card."),
            overwrite: bool = typer.Option(False, "--overwrite", help="Replace DST's files."),
            last: bool = typer.Option(False, "--last", help="Ship the last step (RUN/model/) even when the run kept "
                                                            "a best held-out one (RUN/best/).")) -> None:
    """inkwash train publish runs/default src/inkwash/weights/paintstorch --data data/ocal

    Make a run shippable: float16 weights (half the size), its model-only config, and a model card with the
    data's split sizes and licence. The run's best held-out model (RUN/best/, kept when it trained with
    --set loop.val_every=N) is shipped when there is one, else its last. `inkwash colorize --model DST` then uses it.
    """
    from inkwash.publish import publish as _publish

    out = _publish(run, dst, data, metrics, recipe, overwrite, last)
    typer.echo(f"published {run} -> {out}")
