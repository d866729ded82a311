"""nas.validation.predictor_proxy: predictor:K fitted on the cached truth of a space's first K archs, scoring
models from their zero-cost features on the very batch the fitting archs were scored on."""
from __future__ import annotations

import pytest

from nas.validation.predictor_proxy import PredictorError, PredictorProxy, PredictorSpec, predictor_features


def test_fit_from_the_cache_and_score_a_model(trained) -> None:
    _, validators, plan = trained
    v = validators[0]
    proxy = PredictorProxy.fit(v, PredictorSpec(5, epochs=2, seeds=(0, 1)))
    assert proxy.fitted_on == [a.name for a in v.archs(5)]
    assert predictor_features(v) == ["synflow", "grad_norm", "params", "macs"]
    arch = v.archs(7)[6]  # not among the fitting archs
    model = v.build(arch, v.seed)
    features = proxy.features_of(model)
    cached = {f: v.proxy_record(arch, f)["value"] for f in proxy.predictor.features}
    assert features == pytest.approx(cached)  # the same batch and seed as the validation's own scores
    assert proxy.score(model) == pytest.approx(float(proxy.predictor.predict([cached])[0]))
    assert proxy.describe()["proxy"] == "predictor:5,epochs=2" and proxy.describe()["n_fit"] == 5


def test_untrained_archs_are_a_one_line_error_naming_the_command(trained) -> None:
    _, validators, _ = trained
    with pytest.raises(PredictorError) as excinfo:
        PredictorProxy.fit(validators[0], PredictorSpec(10, epochs=2))
    text = str(excinfo.value)
    assert "\n" not in text and "2 are not trained" in text and "nas validate-proxy --only truth --spaces" in text


def test_spec_checks_and_labels() -> None:
    assert PredictorSpec(10).label == "predictor:10"
    assert PredictorSpec(10, model="gp", epochs=8, seeds=(0, 1, 2)).label == "predictor:10,model=gp,epochs=8,seeds=0+1+2"
    for bad, message in [(dict(k=2), "K must be"), (dict(k=5, model="svm"), "model must be"),
                         (dict(k=5, seeds=()), "seeds non-empty")]:
        with pytest.raises(ValueError, match=message):
            PredictorSpec(**bad)
