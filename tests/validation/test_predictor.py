"""nas.validation.predictor: the few-shot predictor's fit and predict on small synthetic tables, and its
cross-fitting (every row predicted by models that never saw it)."""
from __future__ import annotations

import numpy as np
import pytest

from nas.validation.predictor import MODELS, FewShotPredictor, cross_fit, feature_matrix
from nas.validation.stats import kendall_tau

FEATURES = ["naswot", "synflow", "params"]


def synthetic_table(n: int = 30, noise: float = 0.0005, seed: int = 0) -> tuple[list[dict[str, float]], np.ndarray]:
    """Rows whose accuracy rises with naswot and log(params) and ignores synflow."""
    rng = np.random.default_rng(seed)
    naswot = rng.normal(700, 20, n)
    synflow = rng.normal(40, 5, n)
    params = np.exp(rng.uniform(np.log(5e3), np.log(2.5e5), n))
    acc = 0.85 + 0.0005 * (naswot - 700) + 0.01 * np.log(params / 5e3) + noise * rng.normal(size=n)
    rows = [{"naswot": a, "synflow": b, "params": c} for a, b, c in zip(naswot, synflow, params)]
    return rows, acc


def test_feature_matrix_takes_logs_of_counts_and_checks_values():
    x = feature_matrix([{"naswot": 1.0, "synflow": 2.0, "params": np.e ** 3}], FEATURES)
    assert x.tolist() == [[1.0, 2.0, pytest.approx(3.0)]]
    assert feature_matrix(np.array([[1.0, 2.0, 8.0]]), FEATURES, transform=False).tolist() == [[1.0, 2.0, 8.0]]
    for rows, message in [([{"naswot": 1.0, "synflow": 2.0}], "feature 'params' missing"),
                          ([{"naswot": 1.0, "synflow": float("nan"), "params": 5.0}], "non-finite"),
                          ([{"naswot": 1.0, "synflow": 2.0, "params": 0.0}], "must be > 0"),
                          (np.ones((2, 2)), "has 2 columns, expected 3")]:
        with pytest.raises(ValueError, match=message):
            feature_matrix(rows, FEATURES)


@pytest.mark.parametrize("model", MODELS)
def test_fit_then_predict_ranks_new_rows(model):
    rows, acc = synthetic_table(40)
    new_rows, new_acc = synthetic_table(20, seed=1)
    p = FewShotPredictor(FEATURES, model).fit(rows, acc)
    pred = p.predict(new_rows)
    assert pred.shape == (20,) and np.all(np.isfinite(pred))
    assert kendall_tau(pred, new_acc) > 0.6  # the relation carries over to rows it never saw
    assert p.n_fit == 40 and p.describe()["features"] == FEATURES


def test_ridge_recovers_the_relation_and_ignores_the_noise_feature():
    rows, acc = synthetic_table(40, noise=0.0)
    p = FewShotPredictor(FEATURES, "ridge").fit(rows, acc)
    coef = p.describe()["coef"]
    assert coef["naswot"] > 0 and coef["params"] > 0 and abs(coef["synflow"]) < 0.1 * coef["params"]
    assert np.allclose(p.predict(rows), acc, atol=1e-3)


def test_predictor_errors():
    rows, acc = synthetic_table(10)
    with pytest.raises(RuntimeError, match="not fitted"):
        FewShotPredictor(FEATURES).predict(rows)
    with pytest.raises(ValueError, match="at least 3 rows"):
        FewShotPredictor(FEATURES).fit(rows[:2], acc[:2])
    with pytest.raises(ValueError, match="10 feature rows but 9 accuracies"):
        FewShotPredictor(FEATURES).fit(rows, acc[:9])
    with pytest.raises(ValueError, match="unknown predictor model 'svm'"):
        FewShotPredictor(FEATURES, "svm")
    with pytest.raises(ValueError, match="distinct"):
        FewShotPredictor(["naswot", "naswot"])


def test_a_constant_feature_does_not_break_the_fit():
    rows, acc = synthetic_table(12)
    for r in rows:
        r["synflow"] = 5.0
    pred = FewShotPredictor(FEATURES).fit(rows, acc).predict(rows)
    assert np.all(np.isfinite(pred))


def test_cross_fit_predicts_every_row_out_of_sample():
    rows, acc = synthetic_table(24)
    preds = cross_fit(rows, acc, FEATURES, 8, repeats=3, seed=0)
    assert preds.shape == (3, 24) and np.all(np.isfinite(preds))
    assert all(kendall_tau(p, acc) > 0.5 for p in preds)
    assert not np.array_equal(preds[0], preds[1])  # each repeat draws other fitting rows
    assert np.array_equal(preds, cross_fit(rows, acc, FEATURES, 8, repeats=3, seed=0))  # seeded
    # out of sample: a row whose accuracy is absurd does not predict itself
    bad = acc.copy()
    bad[0] = 10.0
    assert cross_fit(rows, bad, FEATURES, 8, repeats=2, seed=0)[:, 0].max() < 2.0
    for k in (2, 24):
        with pytest.raises(ValueError, match=f"predictor:{k} needs 3 ≤ K ≤ n − 1"):
            cross_fit(rows, acc, FEATURES, k)
