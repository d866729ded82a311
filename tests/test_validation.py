"""nas.validation and scripts/validate_proxy.py on a tiny space and synthetic data (seconds, CPU)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import nas.proxies as proxies
import nas.train
from nas import validation as V
from nas.bench import append_markdown
from nas.proxies.base import Proxy, ProxyError
from nas.search import arch_key
from nas.space import load_space

REPO = Path(__file__).resolve().parents[1]

TINY = """\
name: tiny
skeleton:
  name: tiny_base
  resolution: 32
  num_classes: 4
  stem: {filters: 8, kernel_size: 3, strides: 1}
  blocks:
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 1, expand_ratio: 1, input_filters: 8, output_filters: 8}
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 8, output_filters: 16}
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 3, input_filters: 16, output_filters: 24}
  head: {filters: 32}
fixed_stages: [0]
per_stage:
  kernel_size: [3, 5]
  expand_ratio: [1, 3]
  filters_scale: [0.5, 1.0, 2.0]
  num_repeat_delta: [0, 1]
"""
FAST_PROXIES = ("synflow", "grad_norm")  # plus params and macs, always scored


@pytest.fixture()
def space_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture()
def setup() -> V.Setup:
    return V.Setup(data="synthetic", train_size=64, test_size=32, batch_size=32, threads=1,
                   bn_recalibration_batches=2)


def make_validator(space_path: Path, setup: V.Setup, cache: Path, **kw) -> V.Validator:
    return V.Validator(load_space(space_path), setup, cache=cache, proxies=kw.pop("proxies", FAST_PROXIES),
                       proxy_batch=16, progress=False, **kw)


@pytest.fixture()
def count_train(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = nas.train.train

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(nas.train, "train", counting)
    return calls


# ------------------------------------------------------------------------------------------ statistics


def test_identical_and_reversed_rankings() -> None:
    x = np.arange(12.0)
    same = V.bootstrap_corr(x, x * 3 + 1, n_boot=200)
    assert same.tau == pytest.approx(1.0) and same.rho == pytest.approx(1.0)
    assert same.tau_lo == pytest.approx(1.0) and same.tau_hi == pytest.approx(1.0)
    rev = V.bootstrap_corr(x, -x, n_boot=200)
    assert rev.tau == pytest.approx(-1.0) and rev.rho == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ci_contains_point_and_lies_in_bounds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=25)
    y = 0.5 * x + rng.normal(size=25)
    c = V.bootstrap_corr(x, y, n_boot=500, seed=seed)
    assert c.n == 25
    for point, lo, hi in ((c.tau, c.tau_lo, c.tau_hi), (c.rho, c.rho_lo, c.rho_hi)):
        assert -1 <= lo <= point <= hi <= 1
    again = V.bootstrap_corr(x, y, n_boot=500, seed=seed)
    assert again == c  # seeded


def test_too_few_pairs_give_nan_and_paired_difference_of_identical_is_zero() -> None:
    c = V.bootstrap_corr([1.0, 2.0], [2.0, 1.0])
    assert c.n == 2 and math.isnan(c.tau) and math.isnan(c.tau_lo)
    x = np.arange(10.0)
    assert V.paired_tau_diff(x, x, x, n_boot=100) == (0.0, 0.0, 0.0)
    d, lo, hi = V.paired_tau_diff(x, -x, x, n_boot=100)
    assert d == pytest.approx(2.0) and lo <= d <= hi


def test_mean_rank_and_selection_cv() -> None:
    assert list(V.mean_rank([[1, 2, 3], [3, 2, 1]])) == [2.0, 2.0, 2.0]
    rng = np.random.default_rng(0)
    y = rng.normal(size=20)
    vals = {"good": y + 0.01 * rng.normal(size=20), "bad": rng.normal(size=20), "params": rng.normal(size=20)}
    cv = V.selection_cv(vals, y, ["good", "bad", "good+bad"], splits=30)
    assert cv["splits"] == 30 and cv["chosen"].get("good", 0) > 15 and cv["held_median"] > 0.8


# ------------------------------------------------------------------------------------------ sampling, cache


def test_sampling_is_prefix_stable_and_distinct(space_path: Path) -> None:
    space = load_space(space_path)
    five, eight = V.sample_archs(space, 5, seed=3), V.sample_archs(space, 8, seed=3)
    assert eight[:5] == five
    assert len({arch_key(a) for a in eight}) == 8


def test_jsonl_cache_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    key = lambda r: r["k"]  # noqa: E731
    cache = V.JsonlCache(path, key)
    cache.append({"k": "a", "v": 1})
    with open(path, "a") as fh:
        fh.write('{"k": "b", "v"')  # a write cut short
    cache = V.JsonlCache(path, key)
    assert cache.bad_lines == 1 and cache.get("a") == {"k": "a", "v": 1} and cache.get("b") is None
    cache.append({"k": "c", "v": 3})
    cache = V.JsonlCache(path, key)
    assert cache.bad_lines == 1 and cache.get("c")["v"] == 3 and len(cache) == 2


def test_cache_round_trip_and_reuse(space_path: Path, setup: V.Setup, tmp_path: Path, count_train: list[int]) -> None:
    cache = tmp_path / "runs" / "train_cache.jsonl"
    v = make_validator(space_path, setup, cache)
    records = v.run_jobs(v.main_jobs(1, 3), "main")
    assert count_train[0] == 3 and [r["status"] for r in records] == ["ok"] * 3
    lines = [json.loads(line) for line in cache.read_text().splitlines()]
    assert len(lines) == 3
    first = lines[0]
    for field in ("arch_key", "arch", "data", "recipe", "epochs", "seed", "test_top1", "seconds", "date", "torch",
                  "train_images", "test_images", "resolution_px"):
        assert field in first
    assert first["train_images"] == 64 and first["test_images"] == 32 and first["recipe"]["lr"] == 0.05
    assert not list((cache.parent / "ckpt").glob("*.pt"))  # finished trainings leave no checkpoint

    again = make_validator(space_path, setup, cache)  # a new session reads the file
    assert [again.accuracy(a, 1, 0) for a in again.archs(3)] == [r["test_top1"] for r in records]
    again.run_jobs(again.main_jobs(1, 3), "main")
    assert count_train[0] == 3  # nothing retrained

    again.run_jobs(again.main_jobs(1, 5), "main")  # a larger n reuses the first 3
    assert count_train[0] == 5

    other = make_validator(space_path, V.Setup(**{**setup.__dict__, "lr": 0.02}), cache)
    assert other.lookup(other.archs(1)[0], 1, 0) is None  # another recipe is another key


def test_workers_share_a_cache_through_claims(space_path: Path, setup: V.Setup, tmp_path: Path,
                                              count_train: list[int]) -> None:
    import platform
    import subprocess

    cache = tmp_path / "train_cache.jsonl"
    v = make_validator(space_path, setup, cache)
    jobs = v.main_jobs(1, 3)
    # job 0 is held by a live worker (this test's parent process), job 1 by a worker that died
    live = v.claim_path(jobs[0].arch, 1, 0)
    live.parent.mkdir(parents=True)
    live.write_text(f"{platform.node()} {os.getppid()}")
    dead = subprocess.Popen(["true"])
    dead.wait()
    v.claim_path(jobs[1].arch, 1, 0).write_text(f"{platform.node()} {dead.pid}")
    records = v.run_jobs(jobs, "main")
    assert count_train[0] == 2 and len(records) == 2
    assert v.lookup(jobs[0].arch, 1, 0) is None and v.lookup(jobs[1].arch, 1, 0) is not None
    assert live.exists() and not v.claim_path(jobs[1].arch, 1, 0).exists()  # ours released, theirs kept

    # the other worker finishes job 0 and writes to the shared file: this one sees it without training
    other = make_validator(space_path, setup, cache)
    live.unlink()
    other.run_jobs(jobs[:1], "main")
    assert count_train[0] == 3
    assert [r["arch_key"] for r in v.run_jobs(jobs, "main")] == [r["arch_key"] for r in other.run_jobs(jobs, "main")]
    assert count_train[0] == 3


def test_interrupted_training_resumes_from_its_checkpoint(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    straight = make_validator(space_path, setup, tmp_path / "a" / "c.jsonl")
    arch = straight.archs(1)[0]
    expected = straight.train_one(V.Job(arch, 2, 0))["test_top1"]

    v = make_validator(space_path, setup, tmp_path / "b" / "c.jsonl")

    def stop_after_first(epoch: int, loss: float) -> None:
        v.deadline = 0.0  # the session's time is up after epoch 1

    with pytest.raises(V.DeadlineReached):
        v.train_one(V.Job(arch, 2, 0), on_epoch_end=stop_after_first)
    assert v.checkpoint_path(arch, 2, 0).exists() and v.lookup(arch, 2, 0) is None
    with pytest.raises(V.DeadlineReached):  # no new training starts after the deadline
        v.train_one(V.Job(arch, 2, 0))
    v.deadline = None
    record = v.train_one(V.Job(arch, 2, 0))
    assert record["test_top1"] == expected and record["epochs"] == 2
    assert not v.checkpoint_path(arch, 2, 0).exists()


# ------------------------------------------------------------------------------------------ proxies, report


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


def test_report_has_a_row_per_proxy_and_baseline(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    v = make_validator(space_path, setup, tmp_path / "c.jsonl")
    v.run_jobs(v.budget_jobs(1, 2, 2), "budget")
    v.run_jobs(v.noise_jobs(1, 2, 1), "noise")
    v.score_proxies(v.archs(5))
    v.run_jobs(v.main_jobs(1, 5), "main")
    a = V.analyse(v, n=5, epochs=1, multiplier=2, noise_archs=2, budget_archs=2, ensembles=["synflow+params"],
                  n_boot=50, cv_splits=10)
    text = V.report_markdown(a, command="validate_proxy.py --test")
    for name in FAST_PROXIES:
        assert f"\n| {name} | 5 |" in text
    assert "\n| params (baseline) | 5 |" in text and "\n| macs (baseline) | 5 |" in text
    assert "| synflow+params (ensemble (declared)) |" in text
    assert "Noise ceiling" in text and "Budget stability: 1 vs 2 epochs" in text and "Default search proxy" in text
    assert "PARTIAL" not in text
    pngs = V.write_scatter(a, tmp_path / "img")
    assert {p.name for p in pngs} == {f"proxy_{n}.png" for n in FAST_PROXIES + V.BASELINES}
    docs = tmp_path / "docs" / "benchmarks.md"
    append_markdown(text, docs)
    append_markdown(text, docs)
    assert docs.read_text().startswith("# Benchmarks\n") and docs.read_text().count("## Proxy validation") == 2

    partial = V.analyse(v, n=8, epochs=1, multiplier=2, noise_archs=2, budget_archs=2, n_boot=50, cv_splits=10)
    assert "PARTIAL" in V.report_markdown(partial) and "main 5/8" in V.report_markdown(partial)


# ------------------------------------------------------------------------------------------ CLI


def _cli():
    import importlib.util

    spec = importlib.util.spec_from_file_location("validate_proxy", REPO / "scripts" / "validate_proxy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv,needle", [
    (["--n", "0"], "--n"),
    (["--epochs", "x"], "--epochs"),
    (["--only", "everything"], "--only"),
    (["--proxies", "nope"], "unknown proxy 'nope'"),
    (["--ensemble", "synflow"], "--ensemble"),
    (["--space", "no/such/space.yaml"], "no/such/space.yaml"),
    (["--data", "imagenet"], "imagenet"),
])
def test_cli_errors_are_one_line_exit_2(argv, needle, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cli = _cli()
    with pytest.raises(SystemExit) as info:
        cli.main(argv + ["--cache", str(tmp_path / "c.jsonl"), "--no-write"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and err.startswith("validate_proxy.py: error:")


def test_cli_report_only_trains_nothing(space_path: Path, tmp_path: Path, count_train: list[int],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cli = _cli()
    base = ["--space", str(space_path), "--data", "synthetic", "--train-size", "64", "--test-size", "32",
            "--batch-size", "32", "--epochs", "1", "--n", "3", "--noise-archs", "2", "--budget-archs", "2",
            "--budget-multiplier", "2", "--proxies", "synflow", "--proxy-batch", "16", "--bootstrap", "50",
            "--cache", str(tmp_path / "c.jsonl"), "--threads", "1", "--no-progress",
            "--docs", str(tmp_path / "docs" / "b.md"), "--img-dir", str(tmp_path / "img")]
    assert cli.main(base + ["--only", "report"]) == 0
    assert count_train[0] == 0 and "PARTIAL" in capsys.readouterr().out
    assert cli.main(base + ["--only", "main", "--no-write"]) == 0
    assert count_train[0] == 3
    assert cli.main(base + ["--only", "report"]) == 0
    assert count_train[0] == 3
    out = capsys.readouterr().out
    assert "| synflow | 3 |" in out and (tmp_path / "img" / "proxy_synflow.png").exists()
    assert (tmp_path / "docs" / "b.md").read_text().count("## Proxy validation") == 2


def test_default_changes_only_when_the_ground_truth_is_stable() -> None:
    from nas.validation.analysis import _recommend

    def row(name: str, kind: str, tau: float, lo: float) -> dict:
        return {"name": name, "kind": kind, "failed": 0, "corr": {"tau": tau, "n": 30},
                "diff_params": (tau, lo, lo + 0.5)}

    def analysis(budget_tau: float, budget_archs: int) -> dict:
        return {"rows": [row("naswot", "proxy", 0.6, 0.1), row("synflow", "proxy", 0.3, -0.1),
                         row("params", "baseline", 0.1, 0.0)],
                "budget": {"names": [f"a{i}" for i in range(budget_archs)], "corr": {"tau": budget_tau}},
                "epochs": 1, "multiplier": 3}

    assert _recommend(analysis(0.8, 10))["default"] == "naswot"
    unstable = _recommend(analysis(0.5, 10))
    assert unstable["default"] == "params" and unstable["would_be"] == "naswot" and "τ = 0.50" in unstable["why"]
    assert _recommend(analysis(0.9, 9))["default"] == "params"  # too few archs to trust the ground truth
    weak = analysis(0.9, 10)
    weak["rows"][0]["diff_params"] = (0.5, -0.01, 0.9)  # the CI of τ − τ(params) includes 0
    assert _recommend(weak)["default"] == "params"


def test_ground_truth_is_the_mean_over_seeds(space_path: Path, setup: V.Setup, tmp_path: Path) -> None:
    v = make_validator(space_path, setup, tmp_path / "c.jsonl")
    seeds = V.gt_seeds(0, 1, 2)
    assert seeds == [0, 1] and V.gt_seeds(0, 5, 3) == [0, 5, 6] and V.gt_seeds(2, 1, 1) == [2]
    jobs = v.main_jobs(1, 3, seeds)
    assert [(j.arch.name, j.seed) for j in jobs] == [(a.name, s) for s in seeds for a in v.archs(3)]
    v.run_jobs(jobs[:4], "main")  # all of seed 0, the first arch of seed 1
    v.run_jobs(v.budget_jobs(1, 2, 3), "budget")
    archs = v.archs(3)
    assert V.ground_truth(v, archs[0], 1, seeds) == pytest.approx(
        (v.accuracy(archs[0], 1, 0) + v.accuracy(archs[0], 1, 1)) / 2)
    assert V.ground_truth(v, archs[1], 1, seeds) is None  # seed 1 not trained yet: not counted
    a = V.analyse(v, n=3, epochs=1, multiplier=2, noise_archs=2, budget_archs=3, n_boot=20, cv_splits=5,
                  n_gt_seeds=2, search_ensembles=False)
    assert a["gt_seeds"] == [0, 1] and a["main"]["trained"] == 1 and a["budget"]["names"] == [archs[0].name]
    assert a["budget"]["short"] == [V.ground_truth(v, archs[0], 1, seeds)]
    assert "mean top-1 of 2 trainings (seeds 0, 1)" in V.report_markdown(a)


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
    g = torch.Generator().manual_seed(0)  # what nas.evaluate.Evaluator draws for a search without --data
    assert torch.equal(g_images, torch.randn(*images.shape, generator=g))
    assert torch.equal(g_labels, torch.randint(0, real.data().num_classes, (len(labels),), generator=g))
    assert noise.batch_id() != real.batch_id() and "input" not in real.batch_id()
    arch = real.archs(1)[0]
    real.score_proxies([arch])
    assert noise.proxy_record(arch, "grad_norm") is None  # another batch, another cache entry
    with pytest.raises(ValueError, match="proxy input"):
        make_validator(space_path, setup, cache, proxy_input="imagenet")
