#!/usr/bin/env bash
# Train the converged ground truth of issue 14 on one GPU in about ten minutes: both small-image spaces
# (tiny_32px:48, mobile_32px:24 by default), each arch with --gt-seeds K seeds (default 2) at the plateau budget
# E = 12 epochs, plus 1- and 2-epoch trainings, the plateau test (5 nets at 1.5·E) and budget stability (10 nets
# at 2·E, all K seeds).
# Every training lands in a training cache in the format nas.validation reads (one JSON line per training,
# keyed by arch, data, recipe, epochs and seed); the results are written under $OUT.
#
#   scripts/gpu_groundtruth.sh                          # on a GPU machine (writes $OUT, default runs/gpu-groundtruth)
#   scripts/gpu_groundtruth.sh --device cpu --tiny      # the same pipeline at tiny sizes on the CPU (a few minutes)
#
# How: P worker processes (--workers) each train T networks at once (--lanes: threads, each on its own CUDA
# stream, so the small kernels of different networks overlap; every full batch replayed as a CUDA graph).
# The workers share the job list through claim files beside the cache (nas.validation.claims), tier by tier:
# the truth itself first, then short trainings, then plateau and budget nets, longest first, so a run that
# meets the deadline (--minutes) has the most important trainings done. Rerunning continues where it stopped.
#
# Output ($OUT): train_cache.jsonl (a copy of --cache, unless --fresh, plus every new training), status.txt
# (per space and part: trainings planned/done), log.txt (all workers), env.txt (GPU, torch, timings) and,
# with --speed, speed.md (the trainer's epoch time eager / CUDA graphs / bf16). Then, where the main cache is:
#   nas validate-proxy --only truth-report --spaces tiny_32px:48 mobile_32px:24 --epochs 12 \
#       --merge-cache $OUT/train_cache.jsonl  (with the same --gt-seeds)
#
# Options: --device cuda|cuda:N|cpu, --workers P (default 8; 2 on the CPU), --lanes T (default 2; 1 on the CPU),
# --minutes M (default 9: no training starts after it, running ones stop at their next epoch end),
# --epochs E (12), --gt-seeds K (2: the truth is the mean of K training seeds; mobile_32px's nets end within
# 0.8 pt of each other, so two seeds rank them alike only at τ 0.63 — 4-seed means would agree at ≈ 0.77),
# --spaces "SPACE:N[,short=S][,plateau=P][,budget=B] ..." (see nas validate-proxy --help),
# --data SPEC (default fashion-mnist, or fashion-mnist:.data/fashion-mnist when the Debian copy is missing),
# --cache FILE (runs/proxy-validation/train_cache.jsonl), --fresh, --no-graphs, --speed, --tiny, --out DIR.
# Needs python3 with torch, numpy, scipy, pyyaml and tqdm (no optuna or fvcore), run from the repository root.
set -euo pipefail

ARGV="$*"
DEVICE=cuda WORKERS="" LANES="" MINUTES=9 EPOCHS=12 GT_SEEDS=2 SPACES="tiny_32px:48 mobile_32px:24" DATA="" FRESH=0
GRAPHS=1 SPEED=0 TINY=0 CACHE=runs/proxy-validation/train_cache.jsonl OUT_DIR="${OUT:-runs/gpu-groundtruth}"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --lanes) LANES=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --gt-seeds) GT_SEEDS=$2; shift 2 ;;
    --spaces) SPACES=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --out) OUT_DIR=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    --no-graphs) GRAPHS=0; shift ;;
    --speed) SPEED=1; shift ;;
    --tiny) TINY=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "gpu_groundtruth.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
case "$DEVICE" in cpu) CUDA=0 ;; cuda|cuda:*) CUDA=1 ;; *) echo "gpu_groundtruth.sh: --device cpu or cuda[:N]" >&2; exit 2 ;; esac
WORKERS=${WORKERS:-$([ $CUDA = 1 ] && echo 8 || echo 2)}
LANES=${LANES:-$([ $CUDA = 1 ] && echo 2 || echo 1)}
if [ -z "$DATA" ]; then
  if [ -d /usr/share/datasets/fashion-mnist ]; then DATA=fashion-mnist
  elif [ -d .data/fashion-mnist ]; then DATA=fashion-mnist:.data/fashion-mnist
  else echo "gpu_groundtruth.sh: no Fashion-MNIST here; copy /usr/share/datasets/fashion-mnist to .data/ (and carry it)" >&2; exit 2
  fi
fi
SIZES=()
if [ $TINY = 1 ]; then  # the whole pipeline at toy sizes: a smoke run, keyed apart from the real trainings
  SPACES="tiny_32px:4,short=2,plateau=1,budget=2 mobile_32px:2,short=2,plateau=0,budget=0"
  EPOCHS=2 SIZES=(--train-size 512 --test-size 256) FRESH=1
fi

mkdir -p "$OUT_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-groundtruth.XXXXXX")  # cache, claims and checkpoints; results go to $OUT
trap 'rm -rf "$WORK"' EXIT
if [ $FRESH = 0 ] && [ -f "$CACHE" ]; then cp "$CACHE" "$WORK/train_cache.jsonl"; fi
read -r -a SPACE_ARGS <<< "$SPACES"
COMMON=(--spaces "${SPACE_ARGS[@]}" --epochs "$EPOCHS" --gt-seeds "$GT_SEEDS" --data "$DATA" "${SIZES[@]}"
        --cache "$WORK/train_cache.jsonl" --threads 1 --no-progress)
DEV_ARGS=(--device "$DEVICE" --lanes "$LANES")
# On the GPU, fp32 trains in NCHW (cuDNN's most mature fp32 path, depthwise convolutions included); the layout
# is not part of the cache key, only of each record (memory_format).
if [ $CUDA = 1 ]; then DEV_ARGS+=(--no-channels-last); fi
if [ $CUDA = 1 ] && [ $GRAPHS = 1 ]; then DEV_ARGS+=(--cuda-graphs); fi

{
  echo "date: $(date -u +%FT%TZ)"; echo "command: $0 $ARGV"; echo "device: $DEVICE, workers: $WORKERS, lanes: $LANES"
  echo "spaces: $SPACES; epochs: $EPOCHS; seeds: $GT_SEEDS; data: $DATA ${SIZES[*]}; minutes: $MINUTES"
  "$PY" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
    "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
  if [ $CUDA = 1 ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; fi
  echo "cached trainings before: $(cat "$WORK/train_cache.jsonl" 2>/dev/null | wc -l)"
} > "$OUT_DIR/env.txt"

if [ $SPEED = 1 ]; then  # the trainer's epoch time under its speed settings, for the record
  "$PY" -m nas validate-proxy --only speed --space tiny_32px --n 30 --data "$DATA" --device "$DEVICE" \
    --speed-steps 20,60 --threads 1 --cache "$WORK/train_cache.jsonl" --docs "$OUT_DIR/speed.md" \
    > /dev/null 2>> "$OUT_DIR/log.txt" || echo "speed benchmark failed (see log.txt)" >> "$OUT_DIR/env.txt"
fi

START=$(date +%s)
pids=()
for i in $(seq 1 "$WORKERS"); do
  # SIGTERM a little after the deadline: a worker saves its checkpoints and exits (rerun to continue)
  timeout -s TERM $(( MINUTES * 60 + 60 )) "$PY" -m nas validate-proxy --only truth "${COMMON[@]}" "${DEV_ARGS[@]}" \
    --stop-after "$MINUTES" > "$WORK/worker-$i.log" 2>&1 &
  pids+=($!)
  sleep 1  # stagger the start: each worker takes the next unclaimed job
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
END=$(date +%s)

cat "$WORK"/worker-*.log >> "$OUT_DIR/log.txt"
"$PY" -m nas validate-proxy --only truth-status "${COMMON[@]}" > "$OUT_DIR/status.txt" 2>> "$OUT_DIR/log.txt"
cp "$WORK/train_cache.jsonl" "$OUT_DIR/train_cache.jsonl"
{
  echo "training wall time: $((END - START)) s; workers that exited non-zero: $failed"
  echo "cached trainings after: $(wc -l < "$OUT_DIR/train_cache.jsonl")"
} >> "$OUT_DIR/env.txt"
cat "$OUT_DIR/env.txt" "$OUT_DIR/status.txt"
