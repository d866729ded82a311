"""One candidate's scores: the baseline proxies reuse the counts of the very model that was measured."""
from __future__ import annotations

from pathlib import Path

import pytest

import nas
from nas.cost import count_macs, count_params
from nas.evaluate import CandidateError, Evaluator
from nas.proxies import compute
from nas.space import load_space

SPACE = Path(__file__).resolve().parents[1] / "search_spaces" / "mobile_32px.yaml"


@pytest.mark.parametrize("proxy", ["params", "macs"])
def test_baseline_proxy_equals_the_proxy_module_on_the_same_model(proxy: str) -> None:
    arch = load_space(SPACE).sample(3)
    scores = Evaluator(latency="measure", proxy=proxy, device="cpu", threads=1, latency_repeats=1,
                       latency_min_run_time=0.01).evaluate(arch)
    model = nas.build_model(arch)
    assert scores.params == count_params(model)
    assert scores.macs == count_macs(model, arch.resolution)
    import torch

    batch = torch.zeros(2, arch.in_channels, arch.resolution, arch.resolution)
    assert scores.proxy_value == compute(proxy, model, batch, None).value
    assert scores.latency_ms > 0 and scores.latency_method == "measure"


def test_an_arch_that_cannot_be_built_is_a_candidate_error() -> None:
    arch = load_space(SPACE).sample(0)
    broken = arch.replace(blocks=[arch.blocks[0].__class__(**{**arch.blocks[0].__dict__, "block": "nope"})])
    with pytest.raises(CandidateError) as info:
        Evaluator(latency="measure", proxy="params", device="cpu").evaluate(broken)
    assert "\n" not in str(info.value) and str(info.value)
