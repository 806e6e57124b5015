"""The one training loop: phases of named losses, AMP, data parallelism, checkpoints, logging, NaN stops.

A model plugs in through a `Task` (see below): its trainable networks, one optimizer per phase, and a `step`
returning named losses for a phase. A GAN lists ("critic", "g1", "g2"): each iteration runs the phases in order,
each with its own backward and optimizer step, and only that phase's parameters require gradients.

Held-out scoring (`loop.val_every` > 0 and a held-out dataset): every val_every steps and at the end, the main
process scores `loop.val_items` fixed validation items (the train split's `val` part, never trained on) with
`Task.held_out` (lower is better), appends the numbers to RUN/val.json and, when the score is the best so far,
exports the model to RUN/best/ (a model folder like RUN/model/, its config.json holding the step and the score). `inkwash train publish` ships RUN/best/ when there is
one: with a CPU budget the last step is often not the best (GAN oscillation, overfitting on a small set).

Data parallelism (torchrun sets RANK/WORLD_SIZE): gloo on CPU, NCCL on CUDA. Gradients are averaged across ranks
with one flat all-reduce per phase rather than by wrapping networks in DistributedDataParallel, because DDP
does not support the double backward of a gradient penalty (torch.autograd.grad) nor networks that are trained
in one phase and frozen in the next; the result is the same synchronous data-parallel SGD.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, DistributedSampler

from inkwash.errors import InkwashError
from inkwash.models.serialize import BEST_DIR, EXPORT_DIR
from inkwash.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from inkwash.train.config import LoopConfig


class Task:
    """What a model gives the loop. Subclasses set `phases` and implement the methods below."""

    phases: tuple[str, ...] = ()

    def networks(self) -> dict[str, nn.Module]:
        """Trainable networks by name: checkpointed, synchronised across ranks."""
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per phase name."""
        raise NotImplementedError

    def step(self, phase: str, batch: dict[str, torch.Tensor], state: dict) -> dict[str, torch.Tensor]:
        """Named scalar losses of a phase; "loss" is back-propagated. `state` is shared by the phases of a step."""
        raise NotImplementedError

    def images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Panels for the TensorBoard grid: name -> (B,1|3,H,W) in [-1,1]."""
        return {}

    def export(self) -> dict[str, torch.Tensor]:
        """Weights needed for inference (written to RUN/model/model.safetensors)."""
        return {}

    def held_out(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out metrics on fixed test batches: named floats, "score" the one to minimise (RUN/best/ keeps its
        best). Called under no_grad, networks in eval mode, the torch RNG seeded the same every time.

        The default is the phases' own losses on the held-out batches, "score" the last phase's "loss"; a GAN's
        task overrides it (its adversarial losses say nothing about quality).
        """
        sums: dict[str, float] = {}
        for batch in batches:
            state: dict = {}
            for phase in self.phases:
                for k, v in self.step(phase, batch, state).items():
                    sums[f"{phase}/{k}"] = sums.get(f"{phase}/{k}", 0.0) + float(v)
        out = {k: v / max(len(batches), 1) for k, v in sums.items()}
        if self.phases:
            out["score"] = out[f"{self.phases[-1]}/loss"]
        return out

    def exported_model(self) -> tuple[str, Any, dict]:
        """(model name, network config, metadata) saved beside the exported weights in RUN/model/config.json.

        The default reads a TrainConfig-like `self.cfg`: name, model, data.size (the working resolution), preset.
        """
        cfg = self.cfg  # type: ignore[attr-defined]
        return cfg.name, cfg.model, {"resolution": cfg.data.size, "hints": cfg.data.hints, "preset": cfg.preset}


# ---------------------------------------------------------------- helpers


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.world > 1


def init_distributed(device_kind: str) -> Dist:
    """Join the process group torchrun describes in the environment; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or "RANK" not in os.environ:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def resolve_device(name: str, d: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InkwashError("--device cuda: no CUDA GPU is visible; use --device cpu")
        torch.cuda.set_device(d.local_rank)
        return torch.device("cuda", d.local_rank)
    if name != "cpu":
        raise InkwashError(f"--device {name}: use cpu, cuda or auto")
    return torch.device("cpu")


def step_seed(seed: int, rank: int, step: int) -> int:
    """Seed of one rank's step: reseeding every step makes resumed runs draw exactly the same numbers."""
    return (seed * 1_000_003 + rank * 7919 + step) % (2**63 - 1)


class ResumableSampler(DistributedSampler):
    """DistributedSampler that can start part-way into an epoch, so a resumed run sees the same batches."""

    def __init__(self, dataset, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.start:])

    def __len__(self) -> int:
        return super().__len__() - self.start


def _allreduce_grads(params: list[nn.Parameter], world: int) -> None:
    """Average gradients over ranks with one flat all-reduce."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch._utils._flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= world
    for g, synced in zip(grads, torch._utils._unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def _broadcast(nets: dict[str, nn.Module]) -> None:
    for net in nets.values():
        for t in net.state_dict().values():
            dist.broadcast(t, 0)


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if channels_last and v.dim() == 4:
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def image_grid(panels: dict[str, torch.Tensor], rows: int = 4) -> torch.Tensor:
    """Panels side by side, one sample per row: name -> (B,1|3,h,w) in [-1,1]; returns (3,H,W) in [0,1]."""
    h = max(p.shape[-2] for p in panels.values())
    w = max(p.shape[-1] for p in panels.values())
    cols = []
    for p in panels.values():
        p = p[:rows].detach().float().cpu()
        p = p.expand(-1, 3, -1, -1) if p.shape[1] == 1 else p[:, :3]
        cols.append(F.interpolate(p, size=(h, w), mode="nearest"))
    grid = torch.cat(cols, dim=3)  # (B,3,h,w*panels)
    return (torch.cat(list(grid), dim=1) * 0.5 + 0.5).clamp(0, 1)


def _progress(enabled: bool):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:.2f} it/s" if task.speed else "-- it/s")

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                    disable=not enabled)


def _fmt(losses: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in losses.items())


def held_out_batches(dataset, n_items: int, batch_size: int, device: torch.device) -> list[dict]:
    """`n_items` items spread evenly over `dataset` (the first and last included), collated in batches on `device`."""
    from torch.utils.data import default_collate

    n = len(dataset)
    picks = sorted({int(round(x)) for x in torch.linspace(0, n - 1, min(n_items, n)).tolist()}) if n else []
    items = [dataset[i] for i in picks]
    return [_to_device(default_collate(items[i:i + batch_size]), device, False)
            for i in range(0, len(items), batch_size)]


def best_score(run_dir: Path) -> float:
    """The held-out score of RUN/best/ (inf when there is none yet): what a resumed run has to beat."""
    from inkwash.models.serialize import CONFIG

    try:
        return float(json.loads((Path(run_dir) / BEST_DIR / CONFIG).read_text())["val"]["score"])
    except (OSError, KeyError, TypeError, ValueError):
        return float("inf")


def validate(task: Task, batches: list[dict], nets: dict[str, nn.Module], seed: int) -> dict[str, float]:
    """`task.held_out(batches)` in eval mode under no_grad with a fixed seed; modes and RNG restored after."""
    modes = {name: net.training for name, net in nets.items()}
    rng = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for net in nets.values():
            net.eval()
        with torch.no_grad():
            return {k: float(v) for k, v in task.held_out(batches).items()}
    finally:
        torch.random.set_rng_state(rng)
        for name, net in nets.items():
            net.train(modes[name])


def _record_validation(run_dir: Path, step: int, metrics: dict[str, float]) -> None:
    """Append one held-out scoring to RUN/val.json (rewritten atomically; a resumed run replaces later steps)."""
    from inkwash.io import atomic_path

    path = run_dir / "val.json"
    try:
        history = [r for r in json.loads(path.read_text()) if int(r["step"]) < step]
    except (OSError, KeyError, TypeError, ValueError):
        history = []
    history.append({"step": step, **metrics})
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(history, indent=1))


# ---------------------------------------------------------------- the loop


def fit(make_task: Callable[[torch.device], Task], dataset, cfg: LoopConfig, batch_size: int, workers: int,
        run_dir: str | Path, config: dict, resume: bool = False, progress: bool = True,
        log: Callable[[str], Any] = print, val_dataset=None) -> dict[str, Any]:
    """Train `make_task(device)` on `dataset` (items: dicts of tensors) into `run_dir`; returns a summary.

    Checkpoints every `cfg.ckpt_every` steps and at the end; `resume` continues from RUN's latest checkpoint at
    the same step and data position (from step 0 when it has none yet). Raises InkwashError on a non-finite loss,
    leaving the last checkpoint intact. With `val_dataset` and `cfg.val_every` > 0, scores held-out items and
    keeps the best model in RUN/best/ (module doc).
    """
    run_dir = Path(run_dir)
    kind = "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"
    d = init_distributed(kind)
    device = resolve_device(cfg.device, d)
    on_cuda = device.type == "cuda"
    channels_last = cfg.channels_last and on_cuda
    amp = cfg.amp and on_cuda  # CPU autocast is slower than fp32 for convolutions on most CPUs

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    task = make_task(device)
    nets, opts = task.networks(), task.optimizers()
    if set(opts) != set(task.phases):
        raise ValueError(f"optimizers {sorted(opts)} do not match phases {task.phases}")
    if channels_last:
        for net in nets.values():
            net.to(memory_format=torch.channels_last)

    start_step = 0
    ckpt_dir = latest_checkpoint(run_dir) if resume else None
    if ckpt_dir is not None:  # resuming a run killed before its first checkpoint starts it from step 0
        start_step = load_checkpoint(ckpt_dir, nets, opts).step
    if d.on:
        _broadcast(nets)

    sampler = ResumableSampler(dataset, d.world, d.rank, cfg.seed)
    per_epoch = len(sampler) // batch_size
    if per_epoch == 0:
        raise InkwashError(f"{len(dataset)} images cannot fill one batch of {batch_size} per process "
                           f"on {d.world} process(es); "
                           "add images or lower --batch-size")
    total = cfg.steps if cfg.steps > 0 else cfg.epochs * per_epoch
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True,
                        pin_memory=on_cuda, persistent_workers=False,
                        # a private generator: creating an iterator must not consume the global RNG
                        generator=torch.Generator().manual_seed(cfg.seed))

    writer = None
    if d.main:
        from inkwash.errors import require

        require("tensorboard", "train")  # torch's SummaryWriter writes through it
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tb"))
    params = {ph: [p for g in opts[ph].param_groups for p in g["params"]] for ph in task.phases}
    val_batches: list[dict] = []
    if cfg.val_every > 0 and val_dataset is not None and d.main:
        val_batches = held_out_batches(val_dataset, cfg.val_items, batch_size, device)
    best = best_score(run_dir) if resume else float("inf")
    last_val: dict[str, float] = {}
    step, last_losses, t0 = start_step, {}, time.perf_counter()
    with _progress(progress and d.main) as bar:
        bar_task = bar.add_task("train", total=total, completed=step, info="")
        while step < total:
            sampler.set_epoch(step // per_epoch)
            if hasattr(dataset, "set_epoch"):  # fresh crops and hints each epoch, a pure function of it
                dataset.set_epoch(step // per_epoch)
            sampler.start = (step % per_epoch) * batch_size
            for batch in loader:
                batch = _to_device(batch, device, channels_last)
                torch.manual_seed(step_seed(cfg.seed, d.rank, step))
                state: dict = {}
                logs: dict[str, torch.Tensor] = {}
                for phase in task.phases:
                    for ph, ps in params.items():  # only this phase's networks collect gradients
                        for p in ps:
                            p.requires_grad_(ph == phase)
                    opts[phase].zero_grad(set_to_none=True)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                        losses = task.step(phase, batch, state)
                    values = torch.stack([v.detach().float() for v in losses.values()])
                    bad = (~torch.isfinite(values)).any().float()
                    if d.on:
                        dist.all_reduce(bad)
                    if bad.item() > 0:
                        where = latest_checkpoint(run_dir)
                        named = _fmt({k: float(v) for k, v in zip(losses, values)})
                        keep = f"the last good checkpoint is {where}" if where else "no checkpoint was written yet"
                        raise InkwashError(f"training stopped: non-finite loss at step {step}, phase {phase} "
                                           f"({named}); {keep}; lower the learning rate or check the data, "
                                           "then continue with --resume")
                    losses["loss"].backward()
                    if d.on:
                        _allreduce_grads(params[phase], d.world)
                    opts[phase].step()
                    for k, v in zip(losses, values):
                        logs[f"{phase}/{k}"] = v
                step += 1
                if cfg.time_limit > 0 and step < total:
                    over = torch.tensor([float(time.perf_counter() - t0 > 60.0 * cfg.time_limit)], device=device)
                    if d.on:
                        dist.broadcast(over, 0)  # every rank stops at the same step
                    if over.item() > 0:
                        if d.main:
                            log(f"time limit of {cfg.time_limit:g} min reached at step {step}: ending the run here")
                        total = step  # this step then ends the run as the last one would: checkpoint, scoring
                if step % cfg.log_every == 0 or step == total or step == start_step + 1:
                    last_losses = {k: float(v) for k, v in logs.items()}
                    if writer:
                        for k, v in last_losses.items():
                            writer.add_scalar(k, v, step)
                    bar.update(bar_task, info=_fmt({k: v for k, v in last_losses.items() if k.endswith("/loss")}))
                    if progress and d.main and not sys.stderr.isatty():  # a log file gets plain lines instead
                        rate = (step - start_step) * batch_size * d.world / max(time.perf_counter() - t0, 1e-9)
                        log(f"step {step}/{total} {_fmt(last_losses)} ({rate:.2f} images/s)")
                if writer and cfg.image_every and (step % cfg.image_every == 0 or step == total):
                    with torch.no_grad():
                        writer.add_image("samples", image_grid(task.images(batch)), step)
                if val_batches and (step % cfg.val_every == 0 or step == total):
                    last_val = validate(task, val_batches, nets, cfg.seed)
                    _record_validation(run_dir, step, last_val)
                    if writer:
                        for k, v in last_val.items():
                            writer.add_scalar(f"val/{k}", v, step)
                    better = last_val.get("score", float("inf")) < best
                    if better:
                        best = last_val["score"]
                        export(task, run_dir, step, folder=BEST_DIR, meta={"val": last_val})
                    log(f"step {step}: held-out {_fmt(last_val)}" + (" (best so far)" if better else
                                                                      f" (best {best:.4g})"))
                if step % cfg.ckpt_every == 0 or step == total:
                    if d.main:
                        save_checkpoint(run_dir, step, nets, opts,
                                        {"epoch": step // per_epoch, "config": config}, keep=cfg.keep_checkpoints)
                        export(task, run_dir, step)
                    if d.on:
                        dist.barrier()
                bar.update(bar_task, completed=step)
                if step >= total:
                    break
    if writer:
        writer.close()
    elapsed = time.perf_counter() - t0
    done = step - start_step
    if d.main and done:
        log(f"trained steps {start_step}..{step} in {elapsed:.1f}s "
            f"({done * batch_size * d.world / max(elapsed, 1e-9):.2f} images/s); weights in {run_dir}")
    return {"step": step, "losses": last_losses, "seconds": elapsed, "rank": d.rank, "world": d.world,
            "images_per_s": done * batch_size * d.world / max(elapsed, 1e-9), "val": last_val, "best": best}


def export(task: Task, run_dir: Path, step: int, folder: str = EXPORT_DIR, meta: dict | None = None) -> Path:
    """Write the task's inference model to RUN/FOLDER/ (config.json + model.safetensors, atomically): the latest
    (RUN/model/) or the best held-out one (RUN/best/, with its scores in `meta`)."""
    from inkwash.models.serialize import save_model

    name, model, extra = task.exported_model()
    return save_model(Path(run_dir) / folder, name, model, task.export(), {**extra, "step": step, **(meta or {})})


__all__ = ["Task", "fit", "export", "validate", "held_out_batches", "best_score", "image_grid", "init_distributed",
           "step_seed", "ResumableSampler"]
