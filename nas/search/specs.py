"""Typed settings of how a candidate is scored: the latency method and the accuracy proxy.

    >>> from nas.search.specs import LatencyMethod, ProxySpec, TrainProxy
    >>> LatencyMethod.lut("lut.json").label
    'lut'
    >>> ProxySpec("train", TrainProxy(epochs=2, lr=0.1)).label
    'train:epochs=2,lr=0.1'

The command line writes them as strings (``--latency lut:FILE``, ``--proxy train:epochs=2``); only the CLI
layer (:mod:`nas.cli.specs`) parses those strings. ``label`` is the canonical string form, stored in a study's
settings and used in derived study names.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nas.proxies import names as proxy_names
from nas.validation.predictor_proxy import PredictorSpec

__all__ = ["DEFAULT_PROXY", "DEFAULT_PROXY_BATCH", "LatencyMethod", "ProxySpec", "TrainProxy"]

#: The accuracy proxy a search uses unless told otherwise (README, "Which proxy, and why"; docs/benchmarks.md).
DEFAULT_PROXY = "macs"
#: Images in a zero-cost proxy's batch: the number the proxies were validated with.
DEFAULT_PROXY_BATCH = 64
OPTIMIZERS = ("sgd", "adamw")
#: How a search times its candidates unless told otherwise: paired with the space's reference network, whose
#: ratio held to a repeat CV of 0.5–6 % where timing alone spread by 6–21 % (docs/benchmarks.md, "Latency",
#: 2026-12-07, part a) — README, "Paired timing".
DEFAULT_LATENCY = "paired"


@dataclass(frozen=True)
class LatencyMethod:
    """How a candidate's latency is obtained: ``measure`` it whole on this device (solo), measure it ``paired``
    with the study's reference network (:mod:`nas.search.reference`, :mod:`nas.latency.paired`), or predict it
    from the lookup ``table`` built for this device (``kind="lut"``)."""

    kind: Literal["measure", "paired", "lut"] = "measure"
    table: Path | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("measure", "paired", "lut"):
            raise ValueError(f"unknown latency method {self.kind!r}: use 'measure', 'paired' or 'lut'")
        if (self.kind == "lut") != (self.table is not None):
            raise ValueError("a lookup-table latency method needs a table file, and only it has one")
        if self.table is not None:
            object.__setattr__(self, "table", Path(self.table))

    @classmethod
    def lut(cls, table: str | Path) -> "LatencyMethod":
        return cls("lut", Path(table))

    @property
    def label(self) -> str:
        """``measure``, ``paired`` or ``lut`` (the table's path is recorded apart)."""
        return self.kind


@dataclass(frozen=True)
class TrainProxy:
    """Short real training as the accuracy proxy: ``epochs`` and optional overrides of
    :class:`nas.train.TrainConfig` (``None``: its default); ``train_size``/``test_size`` take stratified
    subsets of the data."""

    epochs: int = 1
    lr: float | None = None
    batch_size: int | None = None
    train_size: int | None = None
    test_size: int | None = None
    optimizer: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "train_size", "test_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"train proxy: {name} must be an integer ≥ 1, got {value!r}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"train proxy: lr must be > 0, got {self.lr!r}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"train proxy: optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")

    def options(self) -> dict[str, object]:
        """The fields that are set, epochs first (``{'epochs': 2, 'lr': 0.1}``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class ProxySpec:
    """The accuracy proxy: a registered zero-cost proxy or baseline (:func:`nas.proxies.names`), ``train``
    with its :class:`TrainProxy` settings (default: one epoch), or ``predictor`` — a few-shot predictor fitted
    on the ground truth of K trained networks of the space (:class:`nas.validation.PredictorSpec`)."""

    name: str = DEFAULT_PROXY
    train: TrainProxy | None = None
    predictor: PredictorSpec | None = None

    def __post_init__(self) -> None:
        if self.name == "train":
            if self.train is None:
                object.__setattr__(self, "train", TrainProxy())
        elif self.name == "predictor":
            if self.predictor is None:
                raise ValueError("proxy 'predictor' needs its settings (K, model, …)")
        elif self.name not in proxy_names():
            raise ValueError(f"unknown proxy {self.name!r}: use one of {', '.join(proxy_names())}, train or "
                             "predictor:K")
        if (self.train is not None and self.name != "train") or (self.predictor is not None
                                                                  and self.name != "predictor"):
            raise ValueError(f"proxy {self.name!r} takes no training or predictor settings")

    @property
    def label(self) -> str:
        """``naswot``, ``train:epochs=2,lr=0.1`` (the options that are set, in field order) or
        ``predictor:10,model=gp``."""
        if self.predictor is not None:
            return self.predictor.label
        if self.train is None:
            return self.name
        return "train:" + ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in self.train.options().items())
