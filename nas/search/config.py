"""Everything a search is told (:class:`SearchConfig`) and what it hands back (:class:`SearchResult`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from nas.search.specs import DEFAULT_LATENCY, LatencyMethod, ProxySpec
from nas.space.load import NAME_PATTERN

__all__ = ["OBJECTIVES", "SAMPLERS", "SearchConfig", "SearchResult"]

SAMPLERS = ("tpe", "nsga2", "gp", "random")
OBJECTIVES = ("pareto", "mnasnet")


@dataclass
class SearchConfig:
    """All options of a search. ``space`` is a bundled space name or a YAML path; ``out`` and relative paths
    are relative to the working directory; ``timeout`` is in seconds; ``command`` is recorded in run.json."""

    latency_target_ms: float
    space: str = "mnasnet"
    trials: int = 50
    timeout: float | None = None
    sampler: str = "tpe"
    seed: int = 0
    storage: str | None = None  # default: sqlite:///<out>/<study>/study.db
    study_name: str | None = None  # default: derived from the options
    latency: LatencyMethod = field(default_factory=lambda: LatencyMethod(DEFAULT_LATENCY))
    backend: str = "eager"  # the runtime latency is measured in: eager (PyTorch), onnxruntime, openvino
    proxy: ProxySpec = field(default_factory=ProxySpec)
    data: str | None = None
    train_cache: Path | None = None  # the ground truth a ``predictor:K`` proxy is fitted on (JSONL)
    device: str = "auto"
    threads: int | None = None
    objective: str = "pareto"
    out: str = "runs"
    top_k: int = 5  # infeasible fallback / single-objective export size
    workers: int = 1  # processes on this machine (>1 needs a server database such as PostgreSQL)
    progress: bool = True
    confirm: int = 3  # timings per front network after the search (nas.search.confirm); 0: none
    confirm_at_least: int = 0  # confirm the next Pareto layers too until this many networks (a refine stage's K)
    command: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ``ValueError`` (one line) for options that cannot work together, before anything is written."""
        if not (isinstance(self.latency_target_ms, (int, float)) and math.isfinite(self.latency_target_ms)
                and self.latency_target_ms > 0):
            raise ValueError(f"latency target must be a positive number of ms, got {self.latency_target_ms}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}: use one of {', '.join(OBJECTIVES)}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}: use one of {', '.join(SAMPLERS)}")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.study_name is not None and not NAME_PATTERN.fullmatch(self.study_name):
            raise ValueError(f"study name {self.study_name!r}: use letters, digits, '_', '.' and '-' (it names the "
                             "run folder)")
        for name in ("confirm", "confirm_at_least"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
        if self.workers > 1 and (self.storage is None or self.storage.startswith("sqlite")):
            raise ValueError("--workers > 1 needs a server database (--storage postgresql://…): "
                             "SQLite is not for parallel workers")

    def derived_study_name(self, space_name: str) -> str:
        """``<space>-<objective>-<target>ms-<proxy>-<latency>-<sampler>-seed<N>``: rerunning the same command
        resumes the same study."""
        proxy = self.proxy.label.replace(":", "-").replace("=", "").replace(",", "-")
        latency = self.latency.label + ("" if self.backend == "eager" else f"-{self.backend}")
        return f"{space_name}-{self.objective}-{self.latency_target_ms:g}ms-{proxy}-{latency}-{self.sampler}-seed{self.seed}"

    def run_dir(self, space_name: str) -> Path:
        """``<out>/<study name>``: the run folder (the study name given, or :meth:`derived_study_name`)."""
        return Path(self.out) / (self.study_name or self.derived_study_name(space_name))

    def run_storage(self, space_name: str) -> str:
        """The run folder's own SQLite URL, ``sqlite:///<absolute run folder>/study.db``: the default storage,
        whose folder the search creates."""
        return f"sqlite:///{self.run_dir(space_name).resolve() / 'study.db'}"


@dataclass
class SearchResult:
    """A finished (or interrupted) search: its study, run folder and storage URL, and what the confirmation of
    its front did (:class:`nas.search.confirm.ConfirmReport`; ``None`` when it did not run)."""

    study: optuna.Study
    run_dir: Path
    storage: str
    interrupted: bool
    confirmation: Any = None
