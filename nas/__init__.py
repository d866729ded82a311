"""nas — hardware-aware neural architecture search over MBConv search spaces.

Data flows one way: space → arch → model → scores → study → export.
The most used entry points are re-exported here::

    import nas
    model = nas.build_model("arch.yaml")        # or an Arch, a dict, or a zoo name via nas.zoo.load
    arch = nas.load_arch("arch.yaml")
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Arch", "BlockArgs", "build_model", "load_arch", "dump_arch", "__version__"]


def __getattr__(name: str) -> Any:  # lazy, so `import nas` stays cheap and torch-free
    if name in ("Arch", "BlockArgs", "StemArgs", "HeadArgs", "load_arch", "dump_arch", "ArchError"):
        from nas import arch

        return getattr(arch, name)
    if name == "build_model":
        from nas.builder import build_model

        return build_model
    raise AttributeError(f"module 'nas' has no attribute {name!r}")
