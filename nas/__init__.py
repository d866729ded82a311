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
import importlib.util
import sys
from pathlib import Path
from typing import Any



def _checkout_search_spaces() -> None:
    """Make ``nas.search_spaces`` this checkout's top-level ``search_spaces/`` when ``nas`` is imported from a
    source checkout (a wheel installs it as ``nas/search_spaces/``): otherwise it would be the folder of
    whichever checkout is *installed* — or nothing, where none is."""
    here = Path(__file__).resolve().parent
    folder = here.parent / "search_spaces"
    installed = (here / "search_spaces").is_dir()  # a wheel's layout
    if "nas.search_spaces" in sys.modules or installed or not (folder / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location("nas.search_spaces", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["nas.search_spaces"] = module
    spec.loader.exec_module(module)
    globals()["search_spaces"] = module  # what the import system sets on the parent package


_checkout_search_spaces()

from nas import zoo  # noqa: E402 (after the checkout's search spaces are set)
from nas.arch import (Arch, ArchError, BlockArgs, HeadArgs, SEArgs, StemArgs, arch_key, dump_arch,  # noqa: E402
                      load_arch)
from nas.version import __version__  # noqa: E402

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
