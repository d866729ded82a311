"""The zero-cost proxy values of :mod:`nas.validation`: which proxies, scored on which batch
(:meth:`ProxyScores.batch_id`), cached in a JSON-lines file (:class:`ProxyScores`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from nas.arch.key import arch_key
from nas.arch.spec import Arch
from nas.validation.cache import JsonlCache, proxy_key, proxy_record_key, timestamp

__all__ = ["BASELINES", "PROXY_INPUTS", "ProxyScores"]

#: Always scored: the baselines every proxy must beat.
BASELINES = ("params", "macs")

#: Where the zero-cost proxies' batch comes from: real training images, or Gaussian noise (the search's
#: batch when it has no dataset).
PROXY_INPUTS = ("data", "gaussian")


class ProxyScores:
    """The proxy values of the archs under one data setup, on one seeded batch, cached at ``path``.

    ``names``: the proxies (default: every registered one; :data:`BASELINES` are always added; KeyError
    for an unknown name). ``batch_size`` images of the training split (``input_kind="data"``) or of N(0, 1)
    noise (``"gaussian"``), chosen with ``seed``; ``data_id`` is :meth:`nas.validation.setup.Setup.data_id`.
    """

    def __init__(self, path: str | Path, names: Sequence[str] | None, *, batch_size: int, input_kind: str,
                 seed: int, data_id: Mapping[str, Any]) -> None:
        from nas import proxies as registry

        chosen = tuple(names) if names is not None else registry.names()
        for name in chosen:
            registry.get(name)  # KeyError names the choices
        self.names = chosen + tuple(b for b in BASELINES if b not in chosen)
        if input_kind not in PROXY_INPUTS:
            raise ValueError(f"proxy input {input_kind!r}: use one of {', '.join(PROXY_INPUTS)}")
        self.batch_size, self.input_kind, self.seed = batch_size, input_kind, seed
        self.data_id = dict(data_id)
        self.cache = JsonlCache(path, proxy_record_key)

    def batch_id(self) -> dict[str, Any]:
        """The identity of the batch: data, images, seeds, and the input kind unless it is real data."""
        ident = {**self.data_id, "images": self.batch_size, "batch_seed": self.seed, "proxy_seed": self.seed}
        return ident if self.input_kind == "data" else {**ident, "input": self.input_kind}

    def batch_tensors(self, data: Any) -> tuple[Any, Any]:
        """``batch_size`` training images (and labels) of ``data`` (:class:`nas.data.DatasetSplits`) chosen
        with a generator seeded by ``seed`` — or, with ``input_kind="gaussian"``, images of the same shape
        drawn from N(0, 1) and random labels, exactly as :class:`nas.search.evaluate.Evaluator` scores a
        search candidate when no ``--data`` is given."""
        import torch

        images, labels = data.train.tensors
        g = torch.Generator().manual_seed(self.seed)
        if self.input_kind == "gaussian":
            noise = torch.randn(self.batch_size, *images.shape[1:], generator=g)
            return noise, torch.randint(0, data.num_classes, (self.batch_size,), generator=g)
        idx = torch.randperm(len(labels), generator=g)[: self.batch_size]
        return images[idx].clone(), labels[idx].clone()

    def record(self, arch: Arch, name: str) -> dict[str, Any] | None:
        """The cached value record of proxy ``name`` on ``arch`` (``value``, ``ok``, ``reason``,
        ``seconds``, ...), or None."""
        return self.cache.get(proxy_key(arch_key(arch), name, self.batch_id()))

    def score(self, archs: Sequence[Arch], data: Callable[[], Any], build: Callable[[Arch, int], Any], *,
              threads: int | None = None, progress: bool = True) -> None:
        """Compute (and cache) every proxy of every arch that is not cached yet. ``data()`` gives the
        dataset (only called if something is missing), ``build(arch, seed)`` the untrained model."""
        import torch
        from tqdm.auto import tqdm

        from nas import proxies as registry
        from nas.train.threads import torch_threads

        todo = [a for a in archs if any(self.record(a, p) is None for p in self.names)]
        if not todo:
            return
        batch, targets = self.batch_tensors(data())
        with torch_threads(threads):
            for arch in tqdm(todo, unit="arch", desc="proxies", disable=not progress, dynamic_ncols=True):
                model = build(arch, self.seed)
                for name in self.names:
                    if self.record(arch, name) is not None:
                        continue
                    r = registry.compute(name, model, batch, targets, seed=self.seed)
                    self.cache.append({
                        "arch_key": arch_key(arch), "arch_name": arch.name, "proxy": name, "batch": self.batch_id(),
                        "value": r.value, "ok": r.ok, "reason": r.reason, "seconds": r.seconds,
                        "date": timestamp(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    })
