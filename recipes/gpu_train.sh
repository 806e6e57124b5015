#!/bin/bash
# One GPU call that trains what inkwash ships from the CPU recipes (RegionColor, and StablePaint's three stages) on one
# GPU in about 8 minutes, and writes the publishable weights to $OUT. Same recipes, same model sizes (each shipped
# model < 12 MB), a GPU's batch (32) and as many steps as each stage's time allows (loop.time_limit); every stage
# keeps its best held-out step (RUN/best/), which the next stage starts from and `train publish` ships.
#
# 1. Here, on the CPU machine, once (both folders are under runs/, which git ignores; together ~24 MiB, so the call
#    carries them with the tracked tree, ~37 MiB, inside the device's 64 MiB):
#      inkwash data pack data/ocal-outlines runs/gpu-pack --short-side 256 --quality 80 --test-items 32
#      python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d runs/whl PyMaxflow==1.3.2
# 2. The device call (the `run` tool of a session lent a GPU):
#      run(command="bash recipes/gpu_train.sh", carry=["runs/gpu-pack", "runs/whl"], timeout_s=600)
#    Minutes per stage: RC_MIN (2.5), AE_MIN (1.5), CTX_MIN (1), NOISE_MIN (2.5); set them before `bash` to change.
# 3. Back here, the files lie under the reply's files_at: regioncolor/ and stablepaint/ (model.safetensors float16,
#    config.json, MODEL_CARD.md) and log.txt. Ship them:
#      cp FILES_AT/regioncolor/* src/inkwash/weights/regioncolor/ && cp FILES_AT/stablepaint/* src/inkwash/weights/stablepaint/
#    then run the tests (tests/test_shipped_weights.py) and the evaluation (NOTES / README, "Evaluation").
#
# A smoke test of the whole flow on this CPU, minutes: SMOKE=1 OUT=/tmp/gpu-out bash recipes/gpu_train.sh
set -o pipefail
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
OUT=${OUT:?set OUT to the folder the weights go to}
mkdir -p "$OUT"
LOG="$OUT/log.txt"
exec > >(tee -a "$LOG") 2>&1

PY=${PY:-python3}
if [ -d runs/whl ] && ! $PY -c "import maxflow" 2>/dev/null; then  # the GPU image has no PyMaxflow (regions need it)
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site runs/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}

DATA=${DATA:-runs/gpu-pack}
RUNS=${RUNS:-/tmp/gpu-runs}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-14}   # 16 cores: the regions and hints of every sample are computed in the loader's workers
BATCH=${BATCH:-32}
RC_MIN=${RC_MIN:-2.5} AE_MIN=${AE_MIN:-1.5} CTX_MIN=${CTX_MIN:-1} NOISE_MIN=${NOISE_MIN:-2.5}
GPU=(--device "$DEVICE" --batch-size "$BATCH" --workers "$WORKERS" --steps 100000)
if [ -n "$SMOKE" ]; then  # the same commands on synthetic drawings, tiny, on the CPU
    DATA=synthetic DEVICE=cpu
    GPU=(--device cpu --batch-size 2 --workers 0 --steps 4 --preset tiny --size 64 --set loop.val_items=2
         --set data.crop=0)
    RC_MIN=0 AE_MIN=0 CTX_MIN=0 NOISE_MIN=0
fi
rm -rf "$RUNS"
mkdir -p "$RUNS"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
date +"%T regioncolor"
$PY -m inkwash train regioncolor --config recipes/regioncolor.toml --data "$DATA" --out "$RUNS/rc" "${GPU[@]}" \
    --set loop.time_limit="$RC_MIN" --set loop.val_every=100 --set loop.ckpt_every=100 || exit 1
SP=(--config recipes/stablepaint-cpu.toml --data "$DATA" "${GPU[@]}" --set loop.val_every=200 --set loop.ckpt_every=200)
date +"%T stablepaint autoencoder"
$PY -m inkwash train stablepaint "${SP[@]}" --stage autoencoder --out "$RUNS/sp-ae" --set loop.time_limit="$AE_MIN" || exit 1
date +"%T stablepaint context"
$PY -m inkwash train stablepaint "${SP[@]}" --stage context --previous "$RUNS/sp-ae" --out "$RUNS/sp-ctx" \
    --set loop.time_limit="$CTX_MIN" || exit 1
date +"%T stablepaint noise"
$PY -m inkwash train stablepaint "${SP[@]}" --stage noise --previous "$RUNS/sp-ctx" --out "$RUNS/sp" \
    --set loop.time_limit="$NOISE_MIN" || exit 1
date +"%T publish"
CARD=(--recipe "bash recipes/gpu_train.sh (one GPU call)")
[ -z "$SMOKE" ] && CARD+=(--data "$DATA")
$PY -m inkwash train publish "$RUNS/rc" "$OUT/regioncolor" "${CARD[@]}" --overwrite || exit 1
$PY -m inkwash train publish "$RUNS/sp" "$OUT/stablepaint" "${CARD[@]}" --overwrite || exit 1
for run in rc sp-ae sp-ctx sp; do echo "$run: $(cat "$RUNS/$run/best/config.json" | $PY -c \
    'import json,sys; d=json.load(sys.stdin); print("best step", d["step"], d["val"])')"; done
ls -la "$OUT"/*
date +"%T done"
