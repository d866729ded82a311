#!/usr/bin/env python3
"""Train one architecture for a few epochs on a local dataset and record its test accuracy.

    python scripts/train.py ARCH.yaml --data fashion-mnist --epochs 5 [--out DIR]

ARCH is a YAML file or a zoo name. Writes DIR/checkpoint.pt after every epoch and
DIR/result.json at the end (DIR defaults to runs/train/<arch-name>/). Ctrl-C saves the
checkpoint; rerunning the same command resumes. Usage errors exit 2, Ctrl-C exits 130 (SIGTERM 143).
The same as ``nas train``; all logic lives in nas.cli.train, nas.data and nas.train.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one

from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
