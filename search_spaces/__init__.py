"""The search spaces that ship with nas, importable as the package ``nas.search_spaces``.

This folder stays at the top of the repository, where people look for it; ``pyproject.toml`` maps it into the
wheel as ``nas/search_spaces/`` (a package-dir mapping, no copies). ``nas search --space mnasnet`` and
:func:`nas.space.load_space` accept the bundled names :func:`names` lists, as well as any YAML path.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["names", "path"]


def names() -> list[str]:
    """The bundled space names (file stems), sorted: ``['efficientnet_b0', 'mnasnet', ...]``."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml"))


def path(name: str) -> Path | None:
    """The file of the bundled space ``name``, or ``None`` if there is no such bundled space."""
    if name not in names():
        return None
    return Path(str(resources.files(__name__).joinpath(f"{name}.yaml")))
