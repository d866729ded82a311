"""The headline benchmark at tiny sizes: every method gives a trained, measured row with its YAML written, the
trainings land in (and are reused from) the cache, and the headline sentence is honest about a loss."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import nas
from nas.cli import main
from nas.bench.quality import Entry, QualityConfig, SeedNoise, headline, quality_markdown, run_quality, seed_noise
from nas.search import ProxySpec
from support import write_space


def test_every_method_gives_a_trained_measured_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = write_space(tmp_path)
    config = QualityConfig(cache=tmp_path / "cache.jsonl", out=tmp_path / "out", targets_ms=(1000.0,),
                           space=str(space), data="synthetic:classes=4,channels=3", references=("mobilenet_v3_small",),
                           epochs=1, seeds=(0,), random_archs=2, search_trials=4, refine_top=2, refine_epochs=1,
                           proxy=ProxySpec("params"), train_size=128)
    rows = run_quality(config, log=lambda s: None)
    methods = [r.method for r in rows]
    assert methods == ["multi-fidelity", "zero-cost", "scaled mobilenet_v3_small", "random"]
    for r in rows:
        assert r.latency_ms > 0 and len(r.top1) == 1 and 0 <= r.mean <= 1 and r.yaml.is_file()
        assert nas.load_arch(r.yaml).name.startswith(r.method.replace(" ", "_"))
    lines = (tmp_path / "cache.jsonl").read_text().splitlines()
    # every network was recorded when chosen: a rerun trains and reports exactly the same ones, at the same cost
    choices = json.loads((tmp_path / "out" / "target-1000ms" / "choices.json").read_text())
    assert set(choices) == {"multi-fidelity", "zero-cost", "scaled mobilenet_v3_small", "random", "random-pool"}
    assert len(choices["random-pool"]["keys"]) == 2
    assert [(r.yaml.name, r.cost_s) for r in rows] == [(choices[r.method]["yaml"], choices[r.method]["cost_s"])
                                                        for r in rows]
    table = quality_markdown(rows)
    assert table.count("\n") == len(rows) + 1 and "scaled mobilenet_v3_small" in table

    # the command over the same cache and folder: nothing retrained, the same networks, top-1 and costs, and one
    # section with its settings appended
    doc = tmp_path / "bench.md"
    assert main(["benchmark", "quality", "--targets", "1000ms", "--space", str(space), "--data",
                 "synthetic:classes=4,channels=3", "--references", "mobilenet_v3_small", "--epochs", "1", "--seeds",
                 "0", "--random-archs", "2", "--search-trials", "4", "--refine-top", "2", "--refine-epochs", "1",
                 "--proxy", "params", "--train-size", "128", "--cache", str(tmp_path / "cache.jsonl"), "--out",
                 str(tmp_path / "out"), "--doc", str(doc)]) == 0
    assert (tmp_path / "cache.jsonl").read_text().splitlines() == lines
    text = doc.read_text()
    assert text.count("## Quality: searched vs scaled references vs random") == 1
    assert "4-trial TPE search with proxy `params`" in text and "top 2 at 1 epoch(s)" in text
    for r in rows:
        assert f"| {r.method} | {r.arch.name} |" in text and f"| {100 * r.top1[0]:.2f} | {r.cost_s / 60:.1f} |" in text

    # the recorded search ran with proxy params: reporting it under another proxy is refused in one line
    capsys.readouterr()
    assert main(["benchmark", "quality", "--targets", "1000ms", "--space", str(space), "--proxy", "naswot",
                 "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache.jsonl"), "--doc", str(doc)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the search there ran with --proxy params, not naswot" in err[0]
    assert doc.read_text() == text


def test_headline_says_loss_and_within_ci() -> None:
    arch = nas.zoo.load("mobilenet_v3_small")
    rows = [Entry(5.0, "multi-fidelity", arch, 4.9, [0.90, 0.91], 60), Entry(5.0, "zero-cost", arch, 4.8, [0.89, 0.90], 10),
            Entry(5.0, "scaled mobilenet_v2", arch, 4.9, [0.92, 0.93], 5), Entry(5.0, "random", arch, 4.7, [0.8, 0.8], 9)]
    assert rows[0].ci95 > 0 and math.isnan(Entry(5.0, "x", arch, 1, [0.9], 1).ci95) and math.isnan(rows[0].pooled_ci95)
    assert headline(rows) == [
        "5 ms: multi-fidelity 90.50 % — vs the best scaled reference (scaled mobilenet_v2 92.50 %): -2.00 pt, behind, "
        "within the CIs: not a clear loss; vs the best random network (random 80.00 %): +10.50 pt, a win outside the "
        "CIs (95 % CIs from each row's own seeds)."]  # 2 seeds: t-intervals of ±6.4 pt
    noise = SeedNoise(sd=0.003, df=19, nets=19)  # pooled: ±0.44 pt for a 2-seed mean
    for r in rows:
        r.noise = noise
    assert abs(rows[0].pooled_ci95 - 2.093 * 0.003 / math.sqrt(2)) < 1e-5
    (line,) = headline(rows)
    assert "-2.00 pt, a loss outside the CIs;" in line and line.endswith("(95 % CIs from the pooled seed spread).")
    rows[2].top1 = [0.904, 0.904]
    assert "+0.10 pt, ahead, within the CIs: not a clear win;" in headline(rows)[0]
    text = quality_markdown(rows)
    row = "| 5 | multi-fidelity | mobilenet_v3_small | 4.90 | 90.50 | ± 6.35 | ± 0.44 | 90.00, 91.00 | 1.0 | – |"
    assert row in text
    assert "pooled over the 19 networks" in text and "0.30 pt (19 degrees of freedom)" in text
    assert "(t = 12.7 with 2 seeds)" in text
    single = [Entry(5.0, "zero-cost", arch, 4.8, [0.9], 10), Entry(5.0, "random", arch, 4.7, [0.8], 9)]
    assert headline(single) == ["5 ms: zero-cost 90.00 % — vs the best random network (random 80.00 %): +10.00 pt, "
                                "no interval (one seed) (one seed: no intervals)."]


def test_seed_noise_pools_the_spread_of_networks_with_two_seeds() -> None:
    data, recipe = {"name": "d"}, {"lr": 0.1}

    def rec(key: str, top1: float, epochs: int = 12, **kw: object) -> dict[str, object]:
        return {"arch_key": key, "status": "ok", "epochs": epochs, "data": data, "recipe": recipe,
                "test_top1": top1} | kw

    records = [rec("a", 0.90), rec("a", 0.92), rec("b", 0.80), rec("b", 0.81), rec("b", 0.79), rec("c", 0.85),
               rec("c", 0.5, epochs=1), rec("a", 0.1, recipe={"lr": 1.0}), rec("b", 0.1, status="failed"),
               rec("c", float("nan")), rec("c", True)]  # neither a NaN nor a bool is a top-1
    noise = seed_noise(records, data, recipe, 12)
    assert noise is not None and (noise.df, noise.nets) == (3, 2)
    assert abs(noise.sd - math.sqrt((2 * 0.01 ** 2 + 2 * 0.01 ** 2) / 3)) < 1e-12
    assert seed_noise(records[:1] + records[5:6], data, recipe, 12) is None
    ints = seed_noise([rec("d", 1), rec("d", 0)], data, recipe, 12)  # an int top-1 counts
    assert ints is not None and (ints.df, ints.nets) == (1, 1)
