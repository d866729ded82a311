"""Search spaces as data: a YAML file (or a bundled name) → :class:`SearchSpace` → :class:`~nas.arch.Arch`.

    >>> from nas.space import load_space
    >>> space = load_space("mnasnet")             # bundled; or a path to your own YAML
    >>> arch = space.sample(0)
    >>> arch in space
    True

:mod:`~nas.space.space` is the space itself (parameters, sampling, counting, lookup-table ops),
:mod:`~nas.space.load` reads and validates files.
"""
from __future__ import annotations

from nas.space.load import load_space
from nas.space.space import KEYS, SearchSpace, SpaceError

__all__ = ["KEYS", "SearchSpace", "SpaceError", "load_space"]
