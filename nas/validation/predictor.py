"""A few-shot accuracy predictor: a regressor from scikit-learn fitted on the zero-cost features (every
zero-cost proxy, #params, #MACs) of K trained networks, ranking untrained ones by predicted top-1
(:class:`FewShotPredictor`), and its honest evaluation on a space's trained networks (:func:`cross_fit`:
every network predicted by models that never saw it, each fitted on K others).

    >>> p = FewShotPredictor(["naswot", "synflow", "params"]).fit(table, top1)   # doctest: +SKIP
    >>> p.predict([{"naswot": 700.0, "synflow": 40.0, "params": 5e4}])           # doctest: +SKIP

A table is a sequence of rows, each a mapping from feature name to value (or an array whose columns are
the features, in order). #params and #MACs enter as logarithms; every feature is standardised with the
fitting rows' mean and standard deviation, so a fitted predictor applies to new rows unchanged.

Models (:data:`MODELS`): ``ridge`` (``RidgeCV``: the penalty chosen by efficient leave-one-out
cross-validation on the K rows), ``gp`` (a Gaussian process: constant × RBF with one length scale per
feature, plus white noise; hyper-parameters by marginal likelihood) and ``boost`` (gradient-boosted trees of
depth 2). Importing this module does not import scikit-learn.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["LOG_FEATURES", "MODELS", "FewShotPredictor", "cross_fit", "feature_matrix"]

MODELS = ("ridge", "gp", "boost")
#: Features that enter as log(value): counts spanning orders of magnitude.
LOG_FEATURES = frozenset({"params", "macs"})


def feature_matrix(rows: Sequence[Mapping[str, float]] | np.ndarray, features: Sequence[str], *,
                   transform: bool = True) -> np.ndarray:
    """``rows`` as an n×len(features) float array (with ``transform``, the log of :data:`LOG_FEATURES`).
    ValueError (one line) for a missing or non-finite value, or a non-positive count."""
    if isinstance(rows, np.ndarray):
        x = np.array(rows, dtype=float, ndmin=2)
        if x.shape[1] != len(features):
            raise ValueError(f"feature table has {x.shape[1]} columns, expected {len(features)} ({', '.join(features)})")
    else:
        try:
            x = np.array([[float(r[f]) for f in features] for r in rows], dtype=float).reshape(len(rows), len(features))
        except KeyError as exc:
            raise ValueError(f"feature {exc.args[0]!r} missing from a row") from None
        except (TypeError, ValueError):
            raise ValueError("feature values must be numbers") from None
    if not np.all(np.isfinite(x)):
        raise ValueError("feature table has missing or non-finite values")
    for j, f in enumerate(features):
        if f in LOG_FEATURES:
            if np.any(x[:, j] <= 0):
                raise ValueError(f"feature {f!r} must be > 0 (it enters as a logarithm)")
            if transform:
                x[:, j] = np.log(x[:, j])
    return x


def _make_model(kind: str, n_features: int, seed: int) -> Any:
    if kind == "ridge":
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    if kind == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.ones(n_features), (1e-2, 1e3)) + WhiteKernel(0.1, (1e-5, 1e1))
        return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed)
    if kind == "boost":
        from sklearn.ensemble import GradientBoostingRegressor

        return GradientBoostingRegressor(n_estimators=100, max_depth=2, learning_rate=0.05, subsample=0.8,
                                         random_state=seed)
    raise ValueError(f"unknown predictor model {kind!r}: use one of {', '.join(MODELS)}")


class FewShotPredictor:
    """A regressor of top-1 on the zero-cost ``features`` of trained networks (``model`` one of
    :data:`MODELS`; ``seed`` fixes the randomised ones). :meth:`fit` needs at least 3 rows; higher
    :meth:`predict` means higher expected accuracy (only the order matters for a search)."""

    def __init__(self, features: Sequence[str], model: str = "ridge", seed: int = 0) -> None:
        if not features:
            raise ValueError("a predictor needs at least one feature")
        if len(set(features)) != len(features):
            raise ValueError("predictor features must be distinct")
        if model not in MODELS:
            raise ValueError(f"unknown predictor model {model!r}: use one of {', '.join(MODELS)}")
        self.features, self.model, self.seed = tuple(features), model, seed
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.n_fit = 0
        self._est: Any = None

    def fit(self, rows: Sequence[Mapping[str, float]] | np.ndarray, y: Sequence[float]) -> "FewShotPredictor":
        """Fit on ``rows`` (see :func:`feature_matrix`) and their trained top-1 ``y``; returns self."""
        import warnings

        x = feature_matrix(rows, self.features)
        y = np.asarray(y, dtype=float)
        if len(y) != len(x):
            raise ValueError(f"{len(x)} feature rows but {len(y)} accuracies")
        if len(y) < 3 or not np.all(np.isfinite(y)):
            raise ValueError(f"a predictor needs at least 3 rows with finite accuracies, got {len(y)}")
        self.mean = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale = np.where(scale > 1e-12, scale, 1.0)  # a constant feature carries nothing; keep it finite
        self._est = _make_model(self.model, len(self.features), self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GP optimiser convergence notes on a handful of rows
            self._est.fit((x - self.mean) / self.scale, y)
        self.n_fit = len(y)
        return self

    def predict(self, rows: Sequence[Mapping[str, float]] | np.ndarray) -> np.ndarray:
        """Predicted top-1 of ``rows``; RuntimeError if not fitted."""
        if self._est is None:
            raise RuntimeError("predictor is not fitted")
        x = feature_matrix(rows, self.features)
        return np.asarray(self._est.predict((x - self.mean) / self.scale), dtype=float)

    def describe(self) -> dict[str, Any]:
        """Model, features and fitting rows (and, for ridge, the penalty and standardised coefficients)."""
        out: dict[str, Any] = {"model": self.model, "features": list(self.features), "n_fit": self.n_fit}
        if self.model == "ridge" and self._est is not None:
            out["alpha"] = float(self._est.alpha_)
            out["coef"] = dict(zip(self.features, (float(c) for c in self._est.coef_)))
        return out


def _folds(n: int, k: int) -> int:
    """Folds so that every fold leaves at least ``k`` rows to fit on: at least 6, at most n (leave one out)."""
    return min(n, max(6, math.ceil(n / (n - k))))


def cross_fit(rows: Sequence[Mapping[str, float]] | np.ndarray, y: Sequence[float], features: Sequence[str], k: int,
              *, model: str = "ridge", repeats: int = 10, seed: int = 0) -> np.ndarray:
    """Out-of-sample predictions: ``repeats`` × n array, row r one cross-fitting — the n rows split at
    random into folds, each fold predicted by a predictor fitted on ``k`` rows drawn at random from outside
    it. ValueError unless 3 ≤ k ≤ n − 1."""
    x = feature_matrix(rows, features, transform=False)
    y = np.asarray(y, dtype=float)
    n = len(y)
    if len(x) != n:
        raise ValueError(f"{len(x)} feature rows but {n} accuracies")
    if not 3 <= k <= n - 1:
        raise ValueError(f"predictor:{k} needs 3 ≤ K ≤ n − 1 trained networks (n = {n})")
    rng = np.random.default_rng(seed)
    out = np.empty((repeats, n))
    for r in range(repeats):
        for fold in np.array_split(rng.permutation(n), _folds(n, k)):
            rest = np.setdiff1d(np.arange(n), fold)
            fit_on = rng.choice(rest, size=k, replace=False)
            p = FewShotPredictor(features, model, seed=seed + r).fit(x[fit_on], y[fit_on])
            out[r, fold] = p.predict(x[fold])
    return out
