"""nas.validation.truth, truth_checks, lanes and the ground-truth cache format, on two tiny spaces trained
for real on synthetic data."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from validation.helpers import count_trainings, make_validator, small_setup, write_tiny_space

from nas.validation.cache import JsonlCache, merge_caches, train_key, train_record_key
from nas.validation.lanes import run_lanes
from nas.validation.truth import SpacePlan, TruthPlan, truth_jobs, truth_status
from nas.validation.truth_checks import NOISE_TAU, _sb_tau, budget_check, plateau, seed_agreement, truth_values


def test_plan_parts_and_job_order(space_path: Path, setup) -> None:
    v = make_validator(space_path, setup, space_path.parent / "c.jsonl")
    sp = SpacePlan(str(space_path), 4, short_n=3, plateau_n=2, budget_n=2)
    plan = TruthPlan((sp,), epochs=4, seeds=(0, 1), short_epochs=(1, 2))
    assert (plan.plateau_epochs, plan.budget_epochs) == (6, 8)
    jobs = truth_jobs(v, sp, plan)
    triples = [(j.arch.name, j.epochs, j.seed) for j in jobs]
    assert len(triples) == len(set(triples)) == 4 * 2 + 3 * 2 + 2 + 2 * 2  # budget: every seed, as the truth
    tiers = [0 if (e, s) in ((4, 0), (4, 1)) else 1 if e in (1, 2) else 2 for _, e, s in triples]
    assert tiers == sorted(tiers)  # the truth first, then short trainings, then plateau and budget
    assert [e for _, e, _ in triples[-6:]] == [8, 8, 8, 8, 6, 6]  # longest first within a tier
    assert {j.arch.name for j in jobs} == {a.name for a in v.archs(4)}
    budget = truth_jobs(v, sp, plan, ["budget"])
    assert [(j.epochs, j.seed) for j in budget] == [(8, 0), (8, 1), (8, 0), (8, 1)]  # each net's seeds together
    assert budget[0].arch.name == budget[1].arch.name != budget[2].arch.name
    with pytest.raises(ValueError, match="n must be an integer"):
        SpacePlan("x", -1)
    with pytest.raises(ValueError, match="budget factor"):
        TruthPlan((sp,), budget_factor=1)


def test_ground_truth_cache_format(trained) -> None:
    """Every training is one JSON line, keyed by (arch key, data, recipe, epochs, seed), that says what was
    trained, on what, how, where and with what result."""
    folder, validators, plan = trained
    lines = [json.loads(line) for line in (folder / "train_cache.jsonl").read_text().splitlines()]
    assert len(lines) == len({train_record_key(r) for r in lines}) == 2 * (16 + 8) + 2 + 2 * 8
    required = {"arch_key", "arch_name", "arch", "data", "recipe", "epochs", "seed", "status", "test_top1",
                "train_loss", "seconds", "n_params", "train_images", "test_images", "resolution_px", "memory_format",
                "cuda_graphs", "date", "torch", "threads", "cpu", "device"}
    for r in lines:
        assert required <= r.keys() and r["status"] == "ok" and 0 <= r["test_top1"] <= 1
        assert r["device"] == "cpu" and r["cuda_graphs"] is False and len(r["train_loss"]) == r["epochs"]
        assert "precision" not in r["recipe"]  # fp32 keys are the keys of every earlier training
    v = validators[0]
    arch = v.archs(1)[0]
    record = v.lookup(arch, plan.epochs, 1)
    assert train_record_key(record) == train_key(record["arch_key"], v.data_id, v.recipe, plan.epochs, 1) \
        == v.key(arch, plan.epochs, 1)


def test_status_and_merge(trained, tmp_path: Path) -> None:
    folder, validators, plan = trained
    status = truth_status(validators[0], plan.spaces[0], plan)
    assert status == {"main": {"planned": 16, "ok": 16, "failed": 0}, "short": {"planned": 8, "ok": 8, "failed": 0},
                      "plateau": {"planned": 2, "ok": 2, "failed": 0}, "budget": {"planned": 8, "ok": 8, "failed": 0}}
    src = folder / "train_cache.jsonl"
    target = tmp_path / "main.jsonl"
    first = JsonlCache(src, train_record_key).records
    part = list(first.values())[:5]
    for r in part:
        JsonlCache(target, train_record_key).append(r)
    before = target.read_text()
    assert merge_caches(src, target, train_record_key) == len(first) - 5
    assert target.read_text().startswith(before)  # appended, never rewritten
    assert merge_caches(src, target, train_record_key) == 0
    assert JsonlCache(target, train_record_key).records.keys() == first.keys()


def test_truth_checks(trained) -> None:
    folder, validators, plan = trained
    v = validators[0]
    t = truth_values(v, v.archs(10), 2, (0, 1))
    assert len(t["acc"]) == 8 and t["missing"] == 2 and t["spread"]["min"] <= t["spread"]["max"]
    assert t["acc"][0] == pytest.approx((v.accuracy(v.archs(1)[0], 2, 0) + v.accuracy(v.archs(1)[0], 2, 1)) / 2)
    p = plateau(v, v.archs(2))
    assert [(x["epochs"], x["epochs_long"]) for x in p] == [(1, 2), (2, 3)]  # 1→2 as well: both are trained
    a = v.archs(2)
    assert p[1]["moves_pt"][1] == pytest.approx(100 * (v.accuracy(a[1], 3, 0) - v.accuracy(a[1], 2, 0)))
    assert p[1]["converged"] == (p[1]["mean_pt"] < 0.2)
    b = budget_check(v, v.archs(4), 2, 2, (0, 1), n_boot=50)
    assert len(b["names"]) == 4 and b["epochs_long"] == 4 and b["stable"] == (b["corr"]["tau"] >= 0.8)
    assert b["long_seeds"] == [0, 1] and b["complete"] and b["failed"] == 0  # a mean over the truth's seeds
    a0 = v.archs(1)[0]
    assert b["long"][0] == pytest.approx((v.accuracy(a0, 4, 0) + v.accuracy(a0, 4, 1)) / 2)
    r = float(np.corrcoef([v.accuracy(a, 2, 0) for a in v.archs(4)], [v.accuracy(a, 2, 1) for a in v.archs(4)])[0, 1])
    assert b["seed_pearson"] == pytest.approx(r)
    assert b["noise_cap_tau"] == pytest.approx(_sb_tau(r, 2)) or not r > 0  # 2-seed means on both sides
    one = budget_check(v, v.archs(4), 2, 2, (0, 1, 7), n_boot=50)  # seed 7 never trained: neither side has it
    assert one["names"] == [] and one["long_seeds"] == [0] and not one["complete"] and not one["stable"]


def test_budget_check_waits_for_the_second_seed_and_drops_a_failed_net(trained, tmp_path: Path) -> None:
    """While seed 1 at 2·E is missing for one net, the verdict waits and the 3 nets both seeds finished are
    compared as asked (2-seed means); with fewer than 3 such nets, seed 0 alone on all; a failed training at
    2·E leaves only its net out."""
    folder, validators, plan = trained
    v = validators[0]
    archs, cache = v.archs(4), folder / "train_cache.jsonl"
    lines = [json.loads(x) for x in cache.read_text().splitlines()]
    target, second = v.key(archs[1], 4, 1), v.key(archs[2], 4, 1)
    for mode in ("missing", "two missing", "failed"):
        gone = {target, second} if mode == "two missing" else {target}
        kept = [r for r in lines if train_record_key(r) not in gone]
        if mode == "failed":
            kept.append({**next(r for r in lines if train_record_key(r) == target), "status": "failed"})
        (tmp_path / mode).mkdir()
        (tmp_path / mode / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        w = make_validator(Path(plan.spaces[0].space), small_setup(), tmp_path / mode / "c.jsonl")
        b = budget_check(w, w.archs(4), 2, 2, (0, 1), n_boot=20)
        if mode == "missing":
            assert b["long_seeds"] == [0, 1] and not b["complete"] and not b["stable"]
            assert b["names"] == [archs[i].name for i in (0, 2, 3)]
            assert b["long"][1] == pytest.approx((w.accuracy(archs[2], 4, 0) + w.accuracy(archs[2], 4, 1)) / 2)
        elif mode == "two missing":
            assert b["long_seeds"] == [0] and not b["complete"] and not b["stable"] and len(b["names"]) == 4
            assert b["long"][1] == pytest.approx(w.accuracy(archs[1], 4, 0))
        else:
            assert b["long_seeds"] == [0, 1] and b["complete"] and b["failed"] == 1
            assert archs[1].name not in b["names"] and len(b["names"]) == 3
    n = seed_agreement(v, v.archs(8), 2, (0, 1), n_boot=50)
    assert len(n["names"]) == 8 and n["can_judge"] == (n["corr"]["tau"] >= NOISE_TAU)
    assert n["tau_of_means"][1] <= n["tau_of_means"][2] <= n["tau_of_means"][4] or not n["pearson"] > 0


def test_spearman_brown_tau() -> None:
    assert _sb_tau(1.0, 1) == pytest.approx(1.0)
    assert _sb_tau(0.5, 1) == pytest.approx(1 / 3)  # (2/π)·asin(0.5)
    assert _sb_tau(0.5, 3) == pytest.approx(2 / math.pi * math.asin(0.75))
    assert math.isnan(_sb_tau(-0.2, 2))


def test_lanes_train_each_job_once_like_one_after_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lanes (threads) share one job list: every job is trained once, and, the tiny space having no
    dropout, the results are those of training one after another."""
    space = write_tiny_space(tmp_path)
    calls = count_trainings(monkeypatch)
    seq = make_validator(space, small_setup(), tmp_path / "a" / "c.jsonl")
    jobs = seq.main_jobs(1, 6, [0, 1])
    expected = {seq.key(j.arch, j.epochs, j.seed): r["test_top1"] for j, r in zip(jobs, seq.run_jobs(jobs, "seq"))}
    par = make_validator(space, small_setup(), tmp_path / "b" / "c.jsonl")
    calls[0] = 0
    records = run_lanes(par, jobs, 2, "lanes", log=False)
    assert calls[0] == 12 and len(records) == 12
    assert {train_record_key(r): r["test_top1"] for r in records} == expected
    assert run_lanes(par, jobs, 2, "again", log=False) and calls[0] == 12  # all cached now
    assert not list((tmp_path / "b" / "ckpt").glob("*.claim"))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_lanes_on_a_gpu_with_cuda_graphs(tmp_path: Path) -> None:
    import dataclasses

    space = write_tiny_space(tmp_path)
    setup = dataclasses.replace(small_setup(), device="cuda", cuda_graphs=True, channels_last=False)
    v = make_validator(space, setup, tmp_path / "c.jsonl")
    jobs = v.main_jobs(2, 4, [0, 1])
    records = run_lanes(v, jobs, 3, "gpu", log=False)
    assert len(records) == 8 and all(r["status"] == "ok" and r["device"].startswith("cuda") for r in records)
    assert all(r["cuda_graphs"] for r in records)
