"""Reference networks as BlockArgs YAML (package data), loadable by name.

    >>> import nas.zoo
    >>> nas.zoo.names()[:3]
    ['efficientnet_b0', 'mnasnet_a1', 'mnasnet_b1']
    >>> nas.zoo.load("mnasnet_a1").blocks[2].se_ratio
    0.25

Each file reproduces a published implementation's structure exactly (parameter counts are asserted in
``tests/test_zoo.py``): torchvision's mobilenet_v2, mobilenet_v3_large/small, mnasnet1_0 (= MnasNet-B1),
efficientnet_b0 and shufflenet_v2_x1_0; the TF/timm MnasNet-A1; the original MobileNetV1.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from nas.arch import Arch, ArchError, load_arch

__all__ = ["load", "names", "path"]


def names() -> list[str]:
    """Names of the reference networks, sorted."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml"))


def path(name: str) -> Path:
    """Filesystem path of a zoo YAML file."""
    if name not in names():
        raise ArchError(f"{name}: unknown zoo network; known: {', '.join(names())}")
    return Path(str(resources.files(__name__).joinpath(f"{name}.yaml")))


@lru_cache(maxsize=None)
def load(name: str) -> Arch:
    """The :class:`~nas.arch.Arch` of a reference network."""
    return load_arch(path(name))
