"""The one atomic file write of the package: a reader sees the old file or the new one, never half of either.

    >>> from nas.files import atomic_write
    >>> atomic_write("runs/x/pareto.yaml", "networks: []\\n")          # doctest: +SKIP
    >>> atomic_write("ckpt.pt", lambda fh: torch.save(state, fh))       # doctest: +SKIP

Every file the package writes for a person or another process (architectures, lookup tables, checkpoints,
``run.json``, ``pareto.yaml``, reports, ``docs/benchmarks.md``) goes through :func:`atomic_write`: a unique
temporary file in the same folder, flushed and fsynced, then ``os.replace``\\ d over the target (atomic on
POSIX and Windows). An interrupted write leaves the previous file and removes its temporary file.
"""
from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from typing import IO, Any, Callable, Union

from nas.errors import first_line

__all__ = ["atomic_write", "parse_yaml", "read_text"]

Content = Union[str, bytes, Callable[[IO[bytes]], Any]]


def atomic_write(path: str | Path, content: Content, *, fsync: bool = True) -> Path:
    """Write ``content`` to ``path`` atomically and return ``path``.

    ``content`` is text (written as UTF-8), bytes, or a callable that writes into the binary file object it
    is given (``torch.save``, ``json.dump`` through a wrapper, ...). Parent folders are created. The new file
    gets the usual permissions (``0o666`` minus the umask). ``fsync=False`` skips the flush to disk, for files
    that are cheap to rebuild after a power cut (the rename is atomic either way).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies, unlike mkstemp's 0o600
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, str):
                fh.write(content.encode("utf-8"))
            elif isinstance(content, (bytes, bytearray)):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def parse_yaml(text: str, label: str, error: type[Exception] = ValueError) -> Any:
    """``yaml.safe_load(text)`` that refuses a mapping with the same key twice (PyYAML keeps the last one
    silently), with any problem raised as ``error`` with one line:
    ``label: line L, column C: invalid YAML: problem``."""
    import yaml

    try:
        return yaml.load(text, Loader=_unique_keys_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise error(f"{label}: {where}invalid YAML: {problem}") from None


def read_text(path: str | Path, label: str | None = None, error: type[Exception] = ValueError) -> str:
    """The UTF-8 text of ``path``; a missing or unreadable file raises ``error`` with one line:
    ``label: no such file`` / ``label: cannot read: reason`` (``label`` defaults to the path)."""
    label = str(path) if label is None else label
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{label}: cannot read: {exc}") from None


@functools.lru_cache(maxsize=1)
def _unique_keys_loader() -> Any:
    """A ``yaml.SafeLoader`` subclass whose mappings refuse a repeated key."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}",
                                                            key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader
