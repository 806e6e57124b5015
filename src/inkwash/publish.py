"""Turn a training run into shippable weights: fp16 safetensors, the run's config, and a model card.

    inkwash train publish runs/default src/inkwash/weights/paintstorch --data data/ocal

RUN/best/ (the best held-out export, `loop.val_every`) or else RUN/model/ (the last; `last=True` takes it anyway),
fp32, becomes DST/ in float16 (half the size; the loader casts back to float32), in the one model layout
(inkwash.models.serialize: a model-only config.json + model.safetensors), and DST/MODEL_CARD.md is written from the
run's training config, the step shipped and why (its held-out score against the last step's, RUN/val.json), the
training set's index (counts, source, licence) and an optional metrics file.
"""

from __future__ import annotations

import json
from pathlib import Path

from inkwash.errors import InkwashError
from inkwash.io import atomic_path


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InkwashError(f"{path}: missing; {what}") from None
    except (OSError, ValueError) as exc:
        raise InkwashError(f"{path}: unreadable ({exc})") from None


def dataset_summary(data: Path) -> dict:
    """Counts, source and licence of a prepared dataset (its index.json), for the model card."""
    index = _read_json(data / "index.json", "give the folder made by `inkwash prepare` or `inkwash data openclipart`")
    items = index.get("items", [])
    splits: dict[str, int] = {}
    for item in items:
        splits[item.get("split", "train")] = splits.get(item.get("split", "train"), 0) + 1
    return {"path": str(data), "source": index.get("source", "?"), "licence": index.get("licence", "?"),
            "command": index.get("command", ""), "splits": splits, "short_side": index.get("short_side")}


def checkpoint_choice(run: Path, shipped: dict, last_step: int) -> str:
    """One line saying which step is shipped and why: its held-out score against the last step's (RUN/val.json)."""
    val = shipped.get("val")
    step = int(shipped.get("step", last_step))
    if not isinstance(val, dict) or "score" not in val:
        return f"the last step ({step}; no held-out scoring in this run)"
    try:
        history = json.loads((run / "val.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        history = []
    scores = ", ".join(f"{k} {v:.4g}" for k, v in val.items() if k != "score")
    line = (f"step {step} of {last_step}, the best held-out score ({val['score']:.4g}"
            + (f"; {scores}" if scores else "") + f") over {len(history) or '?'} scorings")
    last = next((r for r in reversed(history) if isinstance(r, dict) and "score" in r), None)
    if last is not None and int(last.get("step", -1)) != step:
        line += f"; the last scored step ({last['step']}) had {float(last['score']):.4g}"
    return line


def model_card(config: dict, step: int, data: dict | None, metrics: str, size_mb: float, recipe: str,
               chosen: str = "") -> str:
    """MODEL_CARD.md text."""
    name = config.get("name", "paintstorch")
    d, loop, optim, loss = config.get("data", {}), config.get("loop", {}), config.get("optim", {}), config.get("loss", {})
    lines = [f"# Model card: inkwash `{name}` default weights", ""]
    lines += ["- **Model**: " + {"paintstorch": "PaintsTorch G1 colorizer (thesis IV.2), with its F1 feature network",
                                 "alacgan": "AlacGAN G1 colorizer (Ci et al. 2018)",
                                 "stenciltorch": "StencilTorch in-painting colorizer (thesis IV.3)",
                                 "stablepaint": "StablePaint latent diffusion colorizer (thesis IV.4)",
                                 "regioncolor": "RegionColor: a small region-aware colour proposer for unhinted "
                                                "regions (inkwash)"}.get(name, name),
              f"- **Size preset**: {config.get('preset', '?')}; file {size_mb:.1f} MB (float16 safetensors)",
              f"- **Training**: {step} steps x batch {d.get('batch_size')} = {step * int(d.get('batch_size', 1))} "
              f"samples at {d.get('size')} px" + (f" ({d['crop']}x{d['crop']} crops)" if d.get("crop") else "")
              + f", hints: {d.get('hints')}; Adam lr {optim.get('lr')}, "
              f"betas ({optim.get('beta1')}, {optim.get('beta2')}); seed {loop.get('seed')}",
              "- **Losses**: " + ", ".join(f"{k} = {v}" for k, v in loss.items()),
              f"- **Checkpoint shipped**: {chosen}" if chosen else None,
              f"- **Recipe**: `{recipe}`" if recipe else "- **Recipe**: see config.json"]
    if data:
        split = ", ".join(f"{k} {v}" for k, v in sorted(data["splits"].items()))
        lines += [f"- **Data**: {data['source']}", f"- **Data licence**: {data['licence']}",
                  f"- **Split sizes**: {split} (only the train split was used; test is held out"
                  + ("; checkpoints were chosen on the train split's validation part, which the run never trained "
                     "on)" if loop.get("val_every", 0) and chosen else ")"),
                  f"- **Data command**: `{data['command']}`" if data["command"] else ""]
    lines += ["- **Weights licence**: MIT, like the code (trained by the inkwash authors on public-domain data)",
              ("- **Frozen networks**: F1 = " + str(config.get("model", {}).get("f1")) + ", F2 = "
               + str(config.get("model", {}).get("f2")) + " (offline seeded networks unless stated otherwise; "
               "see README, 'Pretrained networks')") if name in ("paintstorch", "stenciltorch") else None, ""]
    if metrics:
        lines += ["## Measured", "", metrics.strip(), ""]
    lines += ["## Config", "", "```json", json.dumps(config, indent=1), "```", ""]
    return "\n".join(line for line in lines if line is not None)


def publish(run: str | Path, dst: str | Path, data: str | Path | None = None, metrics: str | Path | None = None,
            recipe: str = "", overwrite: bool = False, last: bool = False) -> Path:
    """Write DST/{model.safetensors (fp16), config.json, MODEL_CARD.md} from a training run: its best held-out
    export (RUN/best/) when it has one and not `last`, else its last (RUN/model/)."""
    from inkwash.models.serialize import BEST_DIR, CONFIG, WEIGHTS, read_model, save_model

    run, dst = Path(run), Path(dst)
    config = _read_json(run / "config.json", "not a training run")
    latest = run / "checkpoints" / "latest.json"
    last_step = int(_read_json(latest, "the run has no checkpoint yet").get("step", 0))
    best = run / BEST_DIR
    saved = read_model(best if (best / CONFIG).is_file() and (best / WEIGHTS).is_file() and not last else run)
    step = int(saved.meta.get("step", last_step))
    if not overwrite:
        for p in (dst / WEIGHTS, dst / CONFIG, dst / "MODEL_CARD.md"):
            if p.exists():
                raise InkwashError(f"{p}: already exists; pass --overwrite to replace it")
    save_model(dst, saved.name, saved.model, saved.tensors(), {**saved.meta, "step": step}, half=True)
    size_mb = (dst / WEIGHTS).stat().st_size / 1e6
    summary = dataset_summary(Path(data)) if data else None
    text = Path(metrics).read_text(encoding="utf-8") if metrics else ""
    chosen = checkpoint_choice(run, saved.meta, last_step)
    with atomic_path(dst / "MODEL_CARD.md", overwrite=True) as tmp:
        tmp.write_text(model_card(config, step, summary, text, size_mb, recipe, chosen), encoding="utf-8")
    return dst
