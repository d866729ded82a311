"""``predictor:K`` as an accuracy proxy for a search (:class:`PredictorProxy`): a
:class:`~nas.validation.predictor.FewShotPredictor` fitted on the ground truth of the first K archs of the
space's validation list (from the training cache), scoring a candidate by its predicted top-1 from its
zero-cost features, computed on the very batch the fitting archs' features were computed on.

    >>> v = Validator(load_space("tiny_32px"), Setup(data="fashion-mnist"), cache="runs/proxy-validation/train_cache.jsonl")
    >>> proxy = PredictorProxy.fit(v, PredictorSpec(k=10))        # doctest: +SKIP
    >>> proxy.score(model)                                       # doctest: +SKIP  (higher is better)

Fitting needs those K archs trained at ``spec.epochs`` with every seed of ``spec.seeds`` (one-line
:class:`PredictorError` naming the command that trains them otherwise); their zero-cost features are
scored and cached on first use. Scoring a candidate costs the sum of the zero-cost proxies' costs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nas.validation.analysis import ground_truth
from nas.validation.predictor import MODELS, FewShotPredictor
from nas.validation.proxy_scores import BASELINES
from nas.validation.validator import Validator

__all__ = ["PredictorError", "PredictorProxy", "PredictorSpec", "predictor_features"]


class PredictorError(ValueError):
    """The predictor cannot be fitted or cannot score a candidate (one line)."""


def predictor_features(v: Validator) -> list[str]:
    """The predictor's features: every zero-cost proxy ``v`` scores, then #params and #MACs."""
    return [p for p in v.proxies if p not in BASELINES] + list(BASELINES)


@dataclass(frozen=True)
class PredictorSpec:
    """``predictor:K``: fitted on the first ``k`` archs' truth (mean top-1 over ``seeds`` after ``epochs``)
    with regressor ``model`` (:data:`nas.validation.predictor.MODELS`)."""

    k: int
    model: str = "ridge"
    epochs: int = 12
    seeds: tuple[int, ...] = (0, 1)

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 3:
            raise ValueError(f"predictor: K must be an integer ≥ 3, got {self.k!r}")
        if self.model not in MODELS:
            raise ValueError(f"predictor: model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.epochs < 1 or not self.seeds:
            raise ValueError("predictor: epochs must be ≥ 1 and seeds non-empty")

    @property
    def label(self) -> str:
        """``predictor:K``, with the settings that differ from the defaults (``predictor:10,model=gp``)."""
        extra = [f"{k}={v}" for k, v in (("model", self.model), ("epochs", self.epochs)) if v != getattr(PredictorSpec, k)]
        if self.seeds != (0, 1):
            extra.append("seeds=" + "+".join(map(str, self.seeds)))
        return ",".join([f"predictor:{self.k}", *extra])


class PredictorProxy:
    """A fitted ``predictor:K`` (use :meth:`fit`): :meth:`score` maps an untrained model to its predicted
    top-1 (a fraction; higher is better)."""

    name = "predictor"

    def __init__(self, predictor: FewShotPredictor, batch: tuple[Any, Any], *, seed: int, spec: PredictorSpec,
                 fitted_on: list[str]) -> None:
        self.predictor, self.batch, self.seed, self.spec, self.fitted_on = predictor, batch, seed, spec, fitted_on

    @classmethod
    def fit(cls, v: Validator, spec: PredictorSpec) -> "PredictorProxy":
        """Fit on the first ``spec.k`` archs of ``v``'s list (their truth from ``v``'s training cache; their
        features scored now if not cached). PredictorError if some are not trained or too few have every
        feature."""
        archs = v.archs(spec.k)
        truth = [ground_truth(v, a, spec.epochs, spec.seeds) for a in archs]
        missing = sum(1 for t in truth if not isinstance(t, float))
        if missing:
            space = getattr(v.space, "name", "SPACE")
            seeds = f"--seed {spec.seeds[0]} --gt-seeds {len(spec.seeds)}"
            raise PredictorError(
                f"{spec.label} needs the truth of the first {spec.k} archs of {space} ({spec.epochs} epochs, seeds "
                f"{', '.join(map(str, spec.seeds))}) but {missing} are not trained: run nas validate-proxy --only truth "
                f"--spaces {space}:{spec.k},short=0,plateau=0,budget=0 --epochs {spec.epochs} {seeds} (same --data)")
        v.score_proxies(archs)
        features = predictor_features(v)
        rows, acc, names = [], [], []
        for arch, t in zip(archs, truth):
            records = {f: v.proxy_record(arch, f) for f in features}
            if all(r is not None and r.get("ok") for r in records.values()):
                rows.append({f: r["value"] for f, r in records.items()})
                acc.append(t)
                names.append(arch.name)
        if len(rows) < 3:
            raise PredictorError(f"{spec.label}: only {len(rows)} of the first {spec.k} archs have every zero-cost "
                                 "feature; at least 3 are needed")
        predictor = FewShotPredictor(features, spec.model, seed=v.seed).fit(rows, acc)
        return cls(predictor, v.proxy_batch_tensors(), seed=v.seed, spec=spec, fitted_on=names)

    def features_of(self, model: Any) -> dict[str, float]:
        """The zero-cost features of ``model`` on the fitting batch; PredictorError if a proxy fails on it."""
        from nas import proxies as registry

        images, targets = self.batch
        out = {}
        for name in self.predictor.features:
            r = registry.compute(name, model, images, targets, seed=self.seed)
            if not r.ok:
                raise PredictorError(f"{self.spec.label}: feature {r.reason or name + ' failed'}")
            out[name] = float(r.value)
        return out

    def score(self, model: Any) -> float:
        """Predicted top-1 (fraction) of ``model`` untrained: higher is better."""
        return float(self.predictor.predict([self.features_of(model)])[0])

    def describe(self) -> dict[str, Any]:
        """What a study records: the label, the fitting archs and the predictor's own description."""
        return {"proxy": self.spec.label, "fitted_on": self.fitted_on, **self.predictor.describe()}
