"""The ``--data`` spec string, the package's error type and its fixed names and paths.

A spec names a dataset kind plus a directory or synthetic options (see :mod:`nas.data`);
:func:`parse_spec` turns it into a :class:`DataSpec`. Every failure in :mod:`nas.data`
raises :class:`DataError` with a one-line message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nas.arch.fields import LIMITS as _LIMITS

__all__ = [
    "DataError",
    "DataSpec",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "IMAGE_EXTENSIONS",
    "SPEC_FORMS",
    "install_hint",
    "parse_spec",
]

#: Where the Debian package ``dataset-fashion-mnist`` installs the IDX files; ``fashion-mnist`` without DIR.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The accepted spec forms, as quoted in error messages.
SPEC_FORMS = (
    "fashion-mnist[:DIR], mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, "
    "synthetic[:classes=K,channels=C]"
)
#: File suffixes (lower case) that an image folder's class directories are searched for.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
#: Fashion-MNIST class names, by label.
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


class DataError(ValueError):
    """A dataset is missing, malformed, or asked for in an unsupported way (one-line message)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def install_hint(path: Path) -> str:
    """A message suffix saying how to install Fashion-MNIST if ``path`` is :data:`FASHION_MNIST_DIR`, else ``""``.

    Reads :data:`FASHION_MNIST_DIR` when called, as :func:`parse_spec` does, so both agree on the default.
    """
    return " (install it with: apt-get install dataset-fashion-mnist)" if path == FASHION_MNIST_DIR else ""


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``--data`` spec: ``kind`` plus a directory or synthetic options."""

    kind: str
    path: Path | None = None
    options: dict[str, int] = field(default_factory=dict)


def parse_spec(spec: str) -> DataSpec:
    """Parse a ``--data`` string (see :mod:`nas.data`); raise DataError naming the forms."""
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind in ("fashion-mnist", "fashion_mnist", "fashionmnist"):
        return DataSpec("fashion-mnist", Path(rest).expanduser() if rest else FASHION_MNIST_DIR)
    if kind in ("mnist", "idx", "cifar10", "cifar100", "folder"):
        if not rest:
            raise DataError(f"data spec {spec!r}: {kind} needs a directory, as {kind}:DIR")
        return DataSpec(kind, Path(rest).expanduser())
    if kind == "synthetic":
        return DataSpec("synthetic", None, _parse_options(spec, rest) if sep else {})
    raise DataError(f"unknown data spec {spec!r}; expected one of: {SPEC_FORMS}")


def _parse_options(spec: str, text: str) -> dict[str, int]:
    options: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in ("classes", "channels"):
            raise DataError(f"data spec {spec!r}: synthetic options are classes=K,channels=C")
        try:
            options[key] = int(value)
        except ValueError:
            raise DataError(f"data spec {spec!r}: {key} must be an integer, got {value!r}") from None
        if options[key] < 1 or (key == "classes" and options[key] < 2):
            raise DataError(f"data spec {spec!r}: {key}={options[key]} is too small")
        top = _LIMITS["num_classes" if key == "classes" else "in_channels"]  # what a network may have
        if options[key] > top:
            raise DataError(f"data spec {spec!r}: {key}={options[key]} is more than a network may have ({top})")
    return options
