#!/usr/bin/env bash
# Download the wheels that scripts/gpu_check.sh installs on a GPU machine that has a CUDA build of torch (and
# numpy, scipy, PyYAML, tqdm, matplotlib, Pillow, onnx, onnxscript, onnxruntime, pytest) but none of this
# project's other dependencies, and no network: Optuna and fvcore with what they need.
#
#   scripts/gpu_wheels.sh [DIR]        # default DIR: .whl (added to .git/info/exclude, so git ignores it)
#
# Pure-Python packages that PyPI ships as source only (fvcore, iopath) are built into wheels here. The set is
# pinned: one version of each, as `pip install --no-deps` there needs. GPU_PYTHON (default 3.12) is the
# target machine's Python version. About 6 MiB in all.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.whl}
PYVER=${GPU_PYTHON:-3.12}
PY=${PYTHON:-python3}

BINARY=(optuna==5.0.0 alembic==1.20.1 SQLAlchemy==2.1.9 Mako==1.4.3 colorlog==6.12.0 yacs==0.1.8 termcolor==3.3.0)
SOURCE_ONLY=(fvcore==0.1.5.post20221221 iopath==0.1.10)

mkdir -p "$DEST"
if [ -d .git ] && ! grep -qxF "/$DEST/" .git/info/exclude 2>/dev/null; then
  echo "/$DEST/" >> .git/info/exclude
fi
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 --platform any -d "$DEST" "${BINARY[@]}"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" "${SOURCE_ONLY[@]}"
ls -1 "$DEST"
du -sh "$DEST"
