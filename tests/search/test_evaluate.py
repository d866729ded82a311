"""One candidate's scores: the baseline proxies reuse the counts of the very model that was measured."""
from __future__ import annotations


import pytest

import nas
from nas.model.cost import count_macs, count_params
from nas.proxies import compute
from nas.search import CandidateError, Evaluator, LatencyMethod, ProxySpec
from nas.space import load_space

SPACE = "mobile_32px"


@pytest.mark.parametrize("proxy", ["params", "macs"])
def test_baseline_proxy_equals_the_proxy_module_on_the_same_model(proxy: str) -> None:
    arch = load_space(SPACE).sample(3)
    scores = Evaluator(latency=LatencyMethod(), proxy=ProxySpec(proxy), device="cpu", threads=1, latency_repeats=1,
                       latency_min_run_time=0.01).evaluate(arch)
    model = nas.build_model(arch)
    assert scores.params == count_params(model)
    assert scores.macs == count_macs(model, arch.resolution)
    import torch

    batch = torch.zeros(2, arch.in_channels, arch.resolution, arch.resolution)
    assert scores.proxy_value == compute(proxy, model, batch, None).value
    assert scores.latency_ms > 0 and scores.latency_method == "measure"


def test_an_arch_that_cannot_be_built_is_a_candidate_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import nas.search.evaluate as evaluate

    def broken(*args, **kw):  # noqa: ANN002, ANN003
        raise RuntimeError("simulated: cannot build\nsecond line")

    monkeypatch.setattr(evaluate, "ArchNet", broken)
    arch = load_space(SPACE).sample(0)
    with pytest.raises(CandidateError) as info:
        Evaluator(proxy=ProxySpec("params"), device="cpu").evaluate(arch)
    assert str(info.value) == "RuntimeError: simulated: cannot build"


@pytest.mark.parametrize("proxy", ["params", "naswot", "synflow"])
def test_one_candidate_is_resolved_once_and_built_once(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Latency, costs and the proxy all use the one model and the one list of resolved layers."""
    import nas.arch.layers as layers_module
    import nas.search.evaluate as evaluate
    from nas.model.builder import ArchNet

    builds, resolves = [], []
    real_init, real_resolve = ArchNet.__init__, evaluate.resolve

    def counting_init(self, arch, layers=None):  # noqa: ANN001
        builds.append(arch.name)
        real_init(self, arch, layers)

    def counting_resolve(*args, **kw):  # noqa: ANN002, ANN003
        resolves.append(1)
        return real_resolve(*args, **kw)

    monkeypatch.setattr(ArchNet, "__init__", counting_init)
    monkeypatch.setattr(evaluate, "resolve", counting_resolve)
    import nas.latency.table
    import nas.model.builder
    import nas.model.cost

    for module in (layers_module, nas.model.builder, nas.model.cost, nas.latency.table):
        monkeypatch.setattr(module, "resolve", counting_resolve)
    arch = load_space(SPACE).sample(5)
    scores = Evaluator(proxy=ProxySpec(proxy), device="cpu", threads=1, latency_repeats=1,
                       latency_min_run_time=0.01).evaluate(arch)
    assert builds == [arch.name] and len(resolves) == 1
    assert scores.params == count_params(nas.build_model(arch))


def test_the_same_arch_and_seed_score_the_same_in_a_fresh_process() -> None:
    """Model construction is seeded, not only the proxy call: the value does not depend on what ran before."""
    import subprocess
    import sys

    code = ("import torch; from nas.space import load_space; from nas.search import Evaluator, ProxySpec\n"
            "torch.manual_seed({burn})\n"
            "a = load_space('mobile_32px').sample(7)\n"
            "ev = Evaluator(proxy=ProxySpec('naswot'), device='cpu', threads=1, latency_repeats=1,"
            " latency_min_run_time=0.01, proxy_batch=16)\n"
            "torch.randn({burn})\n"
            "print(repr(ev.evaluate(a).proxy_value))")
    values = {subprocess.run([sys.executable, "-c", code.format(burn=burn)], capture_output=True, text=True,
                             check=True, timeout=300).stdout.strip() for burn in (1, 12345)}
    assert len(values) == 1, values
