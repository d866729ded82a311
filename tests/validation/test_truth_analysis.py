"""nas.validation.signals, truth_analysis, truth_rule and truth_report: every signal against the truth per
space and across spaces, the default's rule and the report, on two tiny spaces trained for real."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nas.validation.signals import signal_row, top_k_hits
from nas.validation.stats import kendall_tau
from nas.validation.truth_report import truth_markdown
from nas.validation.truth_rule import choose_default, passes


def test_every_signal_is_scored_against_the_truth(analysis, trained) -> None:
    _, validators, plan = trained
    assert [s["space"] for s in analysis["spaces"]] == [sp.space for sp in plan.spaces]
    s = analysis["spaces"][0]
    rows = {r["name"]: r for r in s["rows"]}
    assert set(rows) == {"synflow", "grad_norm", "params", "macs", "train@1", "predictor:3"}
    assert rows["params"]["kind"] == "baseline" and rows["train@1"]["kind"] == "training"
    acc = s["truth"]["acc"]
    v = validators[0]
    archs = v.archs(8)
    synflow = [v.proxy_record(a, "synflow")["value"] for a in archs]
    assert rows["synflow"]["corr"]["tau"] == pytest.approx(kendall_tau(synflow, acc))
    short = [v.accuracy(a, 1, 0) for a in archs]
    assert rows["train@1"]["values"] == short and rows["train@1"]["corr"]["n"] == 8
    assert rows["synflow"]["diff_params"][0] == pytest.approx(
        kendall_tau(synflow, acc) - kendall_tau([v.proxy_record(a, "params")["value"] for a in archs], acc))
    assert math.isnan(rows["params"]["diff_params"][0]) and rows["params"]["top_k"] is None  # 8 < 2·5 archs
    assert len(rows["predictor:3"]["repeat_taus"]) == 2 and rows["predictor:3"]["corr"]["n"] == 8
    assert set(s["predictor"]["by_model"]) == {"ridge:3", "gp:3", "boost:3"}
    assert s["predictor"]["features"] == ["synflow", "grad_norm", "params", "macs"]
    assert s["noise"]["names"] and s["budget"]["names"] and s["plateau"]
    assert analysis["spaces"][1]["plateau"] == []  # the second space trains no plateau nets


def test_cross_space_choice_and_transfer(analysis) -> None:
    cross = analysis["cross"]
    assert [(c["from"], c["to"]) for c in cross] == [(analysis["spaces"][0]["space"], analysis["spaces"][1]["space"]),
                                                    (analysis["spaces"][1]["space"], analysis["spaces"][0]["space"])]
    for c, a in zip(cross, analysis["spaces"]):
        cands = [r for r in a["rows"] if r["kind"] in ("proxy", "predictor") and math.isfinite(r["corr"]["tau"])]
        assert c["tau_from"] == max(r["corr"]["tau"] for r in cands)
        assert c["held"]["name"] == c["chosen"]
        assert c["transfer"]["kind"] == "transfer" and c["transfer"]["corr"]["n"] == 8
    assert analysis["default"]["default"] in {"params", "macs", "synflow", "grad_norm", "predictor:3"}


def test_report_says_everything(analysis) -> None:
    text = truth_markdown(analysis, command="nas validate-proxy --only truth-report")
    for needle in ("## Converged ground truth", "Plateau test", "Budget stability τ(E = 2, 2·E = 4)",
                   "Noise ceiling: seeds 0 and 1", "| predictor:3 |", "### Across spaces", "Default search proxy",
                   "Rule: a zero-cost proxy", "`nas validate-proxy --only truth-report`"):
        assert needle in text, needle
    assert "PARTIAL" not in text  # everything planned was trained


def _space(name: str, can_judge: bool, taus: dict[str, float], n: int = 10) -> dict:
    return {"space": name, "noise": {"can_judge": can_judge, "corr": {"tau": 0.7 if can_judge else 0.3}},
            "rows": [{"name": k, "corr": {"tau": t}} for k, t in taus.items()], "truth": {"acc": [0.9] * n}}


def _held(name: str, lo: float) -> dict:
    return {"name": name, "diff_params": (0.3, lo, 0.6), "diff_macs": (0.2, lo, 0.5)}


def test_default_rule() -> None:
    taus = {"params": 0.1, "macs": 0.3, "naswot": 0.5}
    one = {"spaces": [_space("a", True, taus)], "cross": []}
    assert choose_default(one)["default"] == "macs" and "fewer than two spaces" in choose_default(one)["why"]
    good = {"spaces": [_space("a", True, taus), _space("b", True, taus)],
            "cross": [{"chosen": "naswot", "held": _held("naswot", 0.05)}, {"chosen": "naswot", "held": _held("naswot", 0.1)}]}
    d = choose_default(good)
    assert d["default"] == "naswot" and d["baseline_means"] == {"params": 0.1, "macs": 0.3}
    weak = {**good, "spaces": [_space("a", True, taus), _space("b", False, taus)]}
    assert choose_default(weak)["default"] == "macs" and "cannot judge a proxy on b" in choose_default(weak)["why"]
    # a truth that cannot judge does not vote for a baseline either: b's seeds disagree, its τs are chance
    flipped = {**good, "spaces": [_space("a", True, taus), _space("b", False, {"params": 0.9, "macs": -0.3})]}
    d = choose_default(flipped)
    assert d["default"] == "macs" and d["baseline_means"] == {"params": 0.1, "macs": 0.3}
    assert "mean τ over a, whose truth can judge (params 0.10, macs 0.30)" in d["why"]
    neither = {**flipped, "spaces": [_space("a", False, taus), _space("b", False, {"params": 0.9, "macs": -0.3})]}
    d = choose_default(neither)
    assert d["default"] == "params" and d["baseline_means"] == pytest.approx({"params": 0.5, "macs": 0.0})
    assert "mean τ over the spaces (params 0.50, macs 0.00)" in d["why"]
    ci_touches_zero = {**good, "cross": [good["cross"][0], {"chosen": "naswot", "held": _held("naswot", -0.01)}]}
    assert choose_default(ci_touches_zero)["default"] == "macs"
    differ = {**good, "cross": [good["cross"][0], {"chosen": "snip", "held": _held("snip", 0.2)}]}
    assert choose_default(differ)["default"] == "macs" and "different signals" in choose_default(differ)["why"]
    assert passes(_held("x", 0.01)) and not passes(_held("x", 0.0)) and not passes(None)
    early = {**good, "spaces": [_space("a", True, taus), _space("b", True, taus, n=2)]}
    assert choose_default(early)["default"] is None and "no evidence yet" in choose_default(early)["why"]


def test_signal_row_and_top_k() -> None:
    y = list(np.linspace(0.8, 0.9, 12))
    assert top_k_hits(y, y) == 5 and top_k_hits(y[::-1], y) == 0  # reversed: its top 5 are the worst 5
    swapped = y[:6] + [y[11]] + y[7:11] + [y[6]]  # the best arch ranked 7th
    assert top_k_hits(swapped, y) == 4 and top_k_hits(y[:9], y[:9]) is None  # fewer than 2·5 archs
    col = [None, *y[1:]]
    params = list(range(12))
    row = signal_row("s", "proxy", col, y, {"params": params, "macs": [None] * 12}, n_boot=50, seed=0)
    assert row["missing"] == 1 and row["corr"]["n"] == 11 and row["corr"]["tau"] == pytest.approx(1.0)
    assert row["diff_params"][0] == pytest.approx(0.0) and math.isnan(row["diff_macs"][0])
