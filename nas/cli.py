"""Shared command-line conventions: errors are one line on stderr with exit code 2, nothing else."""
from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a single line (no usage block) and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")

    def fail(self, message: object) -> NoReturn:
        """Report a problem found after parsing (bad file, bad value) the same way."""
        self.error(str(message))

