"""The one identity of an architecture: :func:`arch_key`.

Two architectures that build the same network have the same key, whatever their names: the key is the
SHA-1 of the canonical YAML text (:meth:`nas.arch.Arch.to_yaml`) with the name blanked, cut to 16 hex digits.
It identifies a trial's network in a study (duplicates are scored once), a cached training, a cached
proxy value and a sampled architecture's name — change it and every cache in ``runs/`` stops matching.
"""
from __future__ import annotations

import dataclasses
import hashlib

from nas.arch.spec import Arch

__all__ = ["arch_key"]


def arch_key(arch: Arch) -> str:
    """16 hex digits: SHA-1 of ``arch``'s canonical YAML without its name."""
    return hashlib.sha1(dataclasses.replace(arch, name="-").to_yaml().encode()).hexdigest()[:16]
