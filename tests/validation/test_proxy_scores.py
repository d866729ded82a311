"""nas.validation.proxy_scores: failed values are excluded and counted; the Gaussian batch is cached apart."""
from __future__ import annotations

from pathlib import Path

import pytest
from validation.helpers import make_validator

import nas.proxies as proxies
from nas import validation as V
from nas.proxies.base import Proxy, ProxyError


class Flaky(Proxy):
    """Fails on every model whose parameter count is odd; else returns the parameter count."""

    name = "flaky"
    uses_output = False

    def _score(self, model, batch, targets) -> float:
        n = sum(p.numel() for p in model.parameters())
        if n % 2:
            raise ProxyError("odd")
        return float(n)


def test_failed_proxy_values_are_excluded_and_counted(space_path: Path, setup: V.Setup, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(proxies._REGISTRY, "flaky", Flaky())
    v = make_validator(space_path, setup, tmp_path / "c.jsonl", proxies=("flaky", "grad_norm"))
    archs = v.archs(6)
    v.score_proxies(archs)
    v.run_jobs(v.main_jobs(1, 6), "main")
    odd = sum(1 for a in archs if sum(p.numel() for p in v.build(a, 0).parameters()) % 2)
    a = V.analyse(v, n=6, epochs=1, noise_archs=2, budget_archs=2, n_boot=50, cv_splits=10)
    row = next(r for r in a["rows"] if r["name"] == "flaky")
    assert row["failed"] == odd and row["corr"]["n"] == 6 - odd
    assert a["main"]["trained"] == 6
    records = [v.proxy_record(x, "flaky") for x in archs]
    assert sum(1 for r in records if not r["ok"]) == odd and all(r["ok"] or r["value"] is None for r in records)


def test_gaussian_proxy_input_is_the_search_batch_and_cached_apart(space_path: Path, setup: V.Setup,
                                                                  tmp_path: Path) -> None:
    import torch

    cache = tmp_path / "c.jsonl"
    real = make_validator(space_path, setup, cache)
    noise = make_validator(space_path, setup, cache, proxy_input="gaussian")
    images, labels = real.proxy_batch_tensors()
    g_images, g_labels = noise.proxy_batch_tensors()
    assert g_images.shape == images.shape and g_labels.shape == labels.shape
    assert not torch.equal(g_images, images)
    g = torch.Generator().manual_seed(0)  # what nas.search.evaluate.Evaluator draws for a search without --data
    assert torch.equal(g_images, torch.randn(*images.shape, generator=g))
    assert torch.equal(g_labels, torch.randint(0, real.data().num_classes, (len(labels),), generator=g))
    assert noise.batch_id() != real.batch_id() and "input" not in real.batch_id()
    arch = real.archs(1)[0]
    real.score_proxies([arch])
    assert noise.proxy_record(arch, "grad_norm") is None  # another batch, another cache entry
    with pytest.raises(ValueError, match="proxy input"):
        make_validator(space_path, setup, cache, proxy_input="imagenet")
