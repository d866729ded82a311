"""Architecture files: :func:`load_arch` (a YAML path, YAML text, a dict, a zoo name or an ``Arch``),
:func:`dump_arch`, and the zoo of reference networks stored as package data (:func:`zoo_names`,
:func:`zoo_path`, :func:`load_zoo`; the public face is :mod:`nas.zoo`).

    >>> from nas.arch.io import load_arch, dump_arch
    >>> a = load_arch("mnasnet_a1")                     # a zoo name
    >>> load_arch(dump_arch(a)) == a                    # YAML text round-trips exactly
    True
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from nas.arch.check import arch_from_dict
from nas.arch.spec import Arch, ArchError
from nas.files import atomic_write, parse_yaml, read_text

__all__ = ["dump_arch", "load_arch", "load_zoo", "zoo_names", "zoo_path"]

_ZOO = "zoo"  # folder of nas/arch/ holding the reference networks' YAML files


def zoo_names() -> list[str]:
    """Names of the reference networks, sorted."""
    folder = resources.files(__package__).joinpath(_ZOO)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def zoo_path(name: str) -> Path:
    """Filesystem path of a reference network's YAML file. Raises :class:`ArchError` for an unknown name."""
    if name not in zoo_names():
        raise ArchError(f"{name}: unknown zoo network; known: {', '.join(zoo_names())}")
    return Path(str(resources.files(__package__).joinpath(_ZOO, f"{name}.yaml")))


@lru_cache(maxsize=None)
def load_zoo(name: str) -> Arch:
    """The :class:`Arch` of a reference network (cached: an ``Arch`` is immutable)."""
    return load_arch(zoo_path(name))


def dump_arch(arch: Arch, path: str | Path | None = None) -> str:
    """Canonical YAML text of ``arch`` (:meth:`Arch.to_yaml`); written atomically to ``path`` if given.

    ``dump_arch(load_arch(dump_arch(a))) == dump_arch(a)`` byte for byte.
    """
    text = arch.to_yaml()
    if path is not None:
        atomic_write(path, text, fsync=False)
    return text


def _is_path(source: Any) -> bool:
    return isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and (
        source.endswith((".yaml", ".yml")) or Path(source).is_file()))


def load_arch(source: str | Path | Mapping[str, Any] | Arch) -> Arch:
    """Load an :class:`Arch` from a YAML file path, YAML text, a plain dict, a zoo name (``"mnasnet_a1"``),
    or an ``Arch`` (returned as is).

    Raises :class:`ArchError` with one line naming the source, the block index and the field.
    """
    if isinstance(source, Arch):
        return source
    if isinstance(source, Mapping):
        return arch_from_dict(source, "<dict>")
    if not isinstance(source, (str, Path)):
        raise ArchError(f"expected an Arch, a mapping, a YAML path or text, or a zoo name; got {type(source).__name__}")
    if _is_path(source):
        path = Path(source)
        if not path.is_file():
            if not str(source).endswith((".yaml", ".yml")) and str(source) in zoo_names():
                return load_zoo(str(source))
            raise ArchError(f"{path}: " + ("is a folder; give an architecture YAML file" if path.is_dir() else "no such file"))
        text, label = read_text(path, error=ArchError), str(path)
    elif isinstance(source, str) and "\n" not in source and ":" not in source:
        if source in zoo_names():
            return load_zoo(source)
        raise ArchError(f"{source}: not a file, a zoo name ({', '.join(zoo_names())}) or YAML text")
    else:
        text, label = str(source), "<string>"
    data = parse_yaml(text, label, ArchError)
    return arch_from_dict(data, label)
