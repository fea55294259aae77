#!/usr/bin/env bash
# Fill RESULTS section 6 on the first lent GPU: the floor, full, incremental, auto and
# approximate (method="approximate" with its defaults, against auto's time) for MobileNetV2,
# ResNet50 and VGG16 at batch 256, 224x224, patch 16, stride 4 (2,809 positions: 11 batches,
# so that auto has batches left after timing its second), on each Keras backend that sees the
# GPU, within 10 minutes in all (each backend gets its share; one that runs out is cut off and
# says so). Rows go to the output file (default benchmarks/gpu-results.md) as a markdown table.
#
# Usage:
#   benchmarks/gpu.sh [OUT]              # on the GPU machine
#   benchmarks/gpu.sh --dry-run [OUT]    # tiny sizes on a CPU: checks the script runs (~minutes)
# Environment: PYTHON (default .venv/bin/python), BACKENDS (default "tensorflow jax torch"),
#   BUDGET_S (default 540: the whole run's seconds, split evenly between backends).
set -u
cd "$(dirname "$0")/.."
DRY=""
if [ "${1:-}" = "--dry-run" ]; then DRY="--dry-run"; shift; fi
OUT="${1:-benchmarks/gpu-results.md}"
PYTHON="${PYTHON:-.venv/bin/python}"
BACKENDS="${BACKENDS:-tensorflow jax torch}"
BUDGET_S="${BUDGET_S:-540}"
export TF_CPP_MIN_LOG_LEVEL=2  # python -m from the repository root finds the benchmarks package
n_backends=$(echo "$BACKENDS" | wc -w)
share=$((BUDGET_S / n_backends))
if [ -n "$DRY" ]; then models="mobilenetv2"; sizes=""; else
  models="mobilenetv2 resnet50 vgg16"; sizes="--stride 4 --batch 256 --rounds 1"; fi

{
  echo "## GPU run $(date -u +%Y-%m-%dT%H:%MZ)${DRY:+ (dry run: tiny sizes, CPU numbers)}"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null \
    || echo "nvidia-smi: no NVIDIA GPU visible"
  echo "load: $(uptime)"
  echo '```'
  echo
} >>"$OUT"
header="--header"
for backend in $BACKENDS; do
  echo "== $backend (at most ${share} s)" >&2
  # shellcheck disable=SC2086
  KERAS_BACKEND=$backend timeout "$share" "$PYTHON" -m benchmarks.bench_methods \
    --models $models $sizes $DRY $header --out "$OUT"
  rc=$?
  if [ $rc -eq 124 ]; then
    echo "| $backend | cut off after ${share} s: the rows above are what finished |" >>"$OUT"
  elif [ $rc -ne 0 ]; then
    echo "| $backend | failed (exit $rc): see the log |" >>"$OUT"
  fi
  header=""
done
echo >>"$OUT"
echo "wrote $OUT" >&2
