#!/usr/bin/env bash
# The GPU check of issue 13, at most 8 minutes on one GPU: the CUDA tests, the latency benchmark, eager vs CUDA
# graph (vs ONNX Runtime's CUDA provider where installed) on random archs, and a short search — all on CUDA. The
# numbers go, as one markdown section, to OUT_DIR/gpu_check.md and are appended to docs/benchmarks.md.
#
#   scripts/gpu_check.sh                       # on a GPU machine (run scripts/gpu_wheels.sh first where Optuna
#                                              # and fvcore are missing: the wheels in .whl/ are installed here)
#   scripts/gpu_check.sh --device cpu --tiny   # the same steps at tiny sizes, to prove the script works
#
# Options: --device cuda|cpu (default cuda), --tiny, --out DIR (default $OUT, else gpu_check_out), --doc FILE
# (default docs/benchmarks.md; --doc none appends nowhere). Each step has a time limit; a step that fails or
# runs out of time is reported as such in the section and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda TINY=0 OUT_DIR=${OUT:-gpu_check_out} DOC=docs/benchmarks.md PY=${PYTHON:-python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --out) OUT_DIR=$2; shift 2 ;;
    --doc) DOC=$2; shift 2 ;;
    *) echo "gpu_check.sh: error: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cpu|cuda|cuda:[0-9]*) ;;
  *) echo "gpu_check.sh: error: --device cpu or cuda, not $DEVICE" >&2; exit 2 ;;
esac

if ! "$PY" -c "import optuna, fvcore" 2>/dev/null; then   # a GPU machine without the project's dependencies
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "gpu_check.sh: error: optuna/fvcore missing and no .whl/ (run scripts/gpu_wheels.sh first)" >&2; exit 2
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/nas-site \
    .whl/*.whl || exit 2
  export PYTHONPATH=/tmp/nas-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
NAS=("$PY" -m nas)
mkdir -p "$OUT_DIR"
WORK=$(mktemp -d)
SECTION=$WORK/gpu_check.md LOG=$OUT_DIR/gpu_check.log
: > "$LOG"

if [ "$TINY" = 1 ]; then
  LAT_ARGS=(--parts d) ; RT_ARGS=(--n 2 --spaces tiny_32px --passes 1 --repeats 1 --min-run-time 0.01 --warmup 1
                                  --exporter torchscript)
  SEARCH_ARGS=(--space tiny_32px --trials 4 --latency-target 5ms) ; LIMITS=(120 120 120 120)
else
  LAT_ARGS=(--parts a,d) ; RT_ARGS=(--n 20 --spaces mnasnet mobile_32px --passes 2 --repeats 3 --min-run-time 0.1)
  SEARCH_ARGS=(--space mobile_32px --trials 40 --latency-target 1ms) ; LIMITS=(60 140 140 110)
fi
METHODS=eager
[ "$DEVICE" = cpu ] && METHODS=eager,onnxruntime
if [ "$DEVICE" != cpu ]; then
  METHODS=eager,cuda-graph
  "$PY" -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" \
    2>/dev/null && METHODS=$METHODS,onnxruntime
fi

step() {  # step SECONDS TITLE COMMAND...: run with a time limit, log its output, report how it ended
  local limit=$1 title=$2; shift 2
  local start=$SECONDS
  echo "== $title: $*" | tee -a "$LOG"
  timeout "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  local took=$((SECONDS - start))
  if [ $rc -eq 0 ]; then STATUS="done in ${took} s"
  elif [ $rc -eq 124 ]; then STATUS="**stopped at its ${limit}-s limit**"
  else STATUS="**failed (exit $rc) after ${took} s**, see gpu_check.log"; fi
  echo "   $STATUS" | tee -a "$LOG"
}

GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
TORCH=$("$PY" -c "import torch as t; print(t.__version__, 'CUDA', t.version.cuda, 'available:', t.cuda.is_available())")
{
  echo "## GPU check (scripts/gpu_check.sh) — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`scripts/gpu_check.sh --device $DEVICE$([ "$TINY" = 1 ] && echo ' --tiny')\`; GPU: ${GPU:-none};"
  echo "torch $TORCH; host $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg). Methods of the runtimes"
  echo "benchmark: $METHODS. Each part below is the section its own command appends."
} > "$SECTION"

step "${LIMITS[0]}" "CUDA tests" "$PY" -m pytest -q -p no:cacheprovider tests/latency/test_cuda.py
printf '\n## CUDA tests (tests/latency/test_cuda.py): %s — %s\n' "$STATUS" \
  "$(grep -E '[0-9]+ (passed|failed|skipped)' "$LOG" | tail -1)" >> "$SECTION"

step "${LIMITS[1]}" "latency benchmark" "${NAS[@]}" benchmark latency --device "${DEVICE%%:*}" "${LAT_ARGS[@]}" \
  --doc "$SECTION" --no-progress
[[ $STATUS == done* ]] || printf '\n## Latency benchmark: %s\n' "$STATUS" >> "$SECTION"

step "${LIMITS[2]}" "runtimes benchmark" "${NAS[@]}" benchmark runtimes --device "$DEVICE" --methods "$METHODS" \
  "${RT_ARGS[@]}" --json "$OUT_DIR/runtimes.json" --doc "$SECTION" --no-progress
[[ $STATUS == done* ]] || printf '\n## Runtimes benchmark: %s\n' "$STATUS" >> "$SECTION"

START=$SECONDS
step "${LIMITS[3]}" "short search" "${NAS[@]}" search "${SEARCH_ARGS[@]}" --device "$DEVICE" --threads 1 \
  --sampler random --out "$WORK/runs" --no-progress
RUN_DIR=$(ls -d "$WORK"/runs/*/ 2>/dev/null | head -1)
{
  printf '\n## Short search on %s: %s\n\n' "$DEVICE" "$STATUS"
  echo "\`nas search ${SEARCH_ARGS[*]} --device $DEVICE --threads 1 --sampler random\`: $((SECONDS - START)) s"
  echo "wall for the trials asked for, the latency of every candidate measured on $DEVICE."
  # the run's leaderboard, its headings demoted and its links (relative to the run folder) made plain text
  [ -n "$RUN_DIR" ] && [ -f "$RUN_DIR/leaderboard.md" ] && {
    echo; sed -E 's/^#/###/; s/\[([^]]*)\]\([^)]*\)/\1/g' "$RUN_DIR/leaderboard.md"; }
} >> "$SECTION"

sed -i '2,$ s/^\(##*\) /#\1 /' "$SECTION"   # the parts become subsections of this one
cp "$SECTION" "$OUT_DIR/gpu_check.md"
if [ "$DOC" != none ]; then
  "$PY" -c "import sys; from nas.bench.common import append_markdown as a; a(open(sys.argv[1]).read(), sys.argv[2])" \
    "$SECTION" "$DOC" && echo "appended to $DOC"
fi
echo "section: $OUT_DIR/gpu_check.md; log: $LOG"
rm -rf "$WORK"
