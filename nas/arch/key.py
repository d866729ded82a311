"""The one identity of an architecture: :func:`arch_key`.

Two architectures that build the same network have the same key, whatever their names: the key is the
SHA-1 of the canonical YAML text (:meth:`nas.arch.Arch.to_yaml`) with the name blanked, cut to 16 hex digits;
at width multiplier 1 the head's ``width_rule`` is blanked too (every rule gives the widths as written), so
marking a zoo net's rule changed no key.
It identifies a trial's network in a study (duplicates are scored once), a cached training, a cached
proxy value and a sampled architecture's name — change it and every cache in ``runs/`` stops matching.
"""
from __future__ import annotations

import dataclasses
import hashlib

from nas.arch.spec import Arch

__all__ = ["arch_key"]


def arch_key(arch: Arch) -> str:
    """16 hex digits: SHA-1 of ``arch``'s canonical YAML without its name (nor, at width multiplier 1, its
    head's width rule)."""
    canonical = dataclasses.replace(arch, name="-")
    if arch.width_multiplier == 1:
        canonical = dataclasses.replace(canonical, head=dataclasses.replace(arch.head, width_rule="scale"))
    return hashlib.sha1(canonical.to_yaml().encode()).hexdigest()[:16]
