"""Data order and batching of :mod:`nas.train`: the order of an epoch depends on ``(seed, epoch)`` only
(:func:`epoch_permutation`), which is what makes an interrupted run resume bit for bit."""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

__all__ = ["RNG_LOCK", "epoch_permutation", "iter_batches", "seed_everything", "seeded"]

#: Held while torch's global RNG is seeded and then drawn from for one purpose (a model's initialisation, a
#: run's starting RNG state), so that threads training networks at once cannot reseed it in between.
RNG_LOCK = threading.RLock()


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) so model initialisation is reproducible."""
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch (:func:`seed_everything`) and hold :data:`RNG_LOCK` for the block: what the block draws
    (e.g. a model's initial weights) depends on ``seed`` alone, whatever other threads do."""
    with RNG_LOCK:
        seed_everything(seed)
        yield


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of ``epoch`` (0-based): a function of ``(seed, epoch)`` only."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
    return torch.randperm(n, generator=generator)


def iter_batches(dataset: Dataset, order: torch.Tensor, batch_size: int, start: int = 0,
                 ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images, labels) batches of ``dataset`` in ``order`` (sample indices), from batch number
    ``start``; a ``TensorDataset`` is indexed as a whole, any other dataset sample by sample."""
    tensors = dataset.tensors if isinstance(dataset, TensorDataset) else None
    for lo in range(start * batch_size, len(order), batch_size):
        idx = order[lo : lo + batch_size]
        if tensors is not None:
            yield tensors[0][idx], tensors[1][idx]
        else:
            samples = [dataset[int(i)] for i in idx]
            yield torch.stack([s[0] for s in samples]), torch.as_tensor([int(s[1]) for s in samples])
