#!/usr/bin/env python
"""Export a study's best networks as BlockArgs YAML (a shim over `nas export`).

    python scripts/export.py runs/my-study
    python scripts/export.py --storage sqlite:///runs/my-study/study.db --study my-study --out exported/
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's nas, not another installed one
from nas.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
