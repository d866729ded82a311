"""torch's intra-op thread count for the length of a block (:func:`torch_threads`)."""
from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)`` (``None`` or 0: leave the count as it is), then
    restore the previous count, also on an exception."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
