"""nas — hardware-aware neural architecture search over MBConv search spaces.

Data flows one way, and the packages are named after the stages:
``space`` → ``arch`` → ``model`` → scores (``latency``, ``proxies``, ``train`` on ``data``) → ``search``
(study, front, export) → ``report``; ``validation`` checks the proxies against real training, ``cli`` is the
``nas`` command.

The public API::

    import nas
    arch = nas.load_arch("arch.yaml")            # or YAML text, a dict, a zoo name
    model = nas.build_model(arch, num_classes=10, in_channels=1)
    nas.zoo.names()                              # the reference networks
    space = nas.load_space("mnasnet")            # a bundled space, or a YAML path
    nas.measure_latency(model, 224, threads=1)   # -> LatencyResult (ms)

``nas.arch`` and ``nas.zoo`` load with ``import nas``; the rest (torch, Optuna) loads on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from nas import zoo
from nas.arch import Arch, ArchError, BlockArgs, HeadArgs, SEArgs, StemArgs, arch_key, dump_arch, load_arch
from nas.version import __version__

_LAZY = {
    "build_model": "nas.model.builder",
    "load_space": "nas.space.load",
    "SearchSpace": "nas.space.space",
    "SpaceError": "nas.space.space",
    "measure_latency": "nas.latency.measure",
    "SearchConfig": "nas.search.config",
    "run_search": "nas.search.driver",
    "export_pareto": "nas.search.export",
    "scale_to_latency": "nas.search.scale",
}
__all__ = ["Arch", "ArchError", "BlockArgs", "HeadArgs", "SEArgs", "StemArgs", "__version__", "arch_key",
           "dump_arch", "load_arch", "zoo", *_LAZY]


def __getattr__(name: str) -> Any:  # torch and Optuna load on first use, so `import nas` stays cheap
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
