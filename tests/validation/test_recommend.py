"""nas.validation.recommend: the default proxy changes only by the stated rule."""
from __future__ import annotations

from nas.validation.recommend import recommend


def test_default_changes_only_when_the_ground_truth_is_stable() -> None:
    def row(name: str, kind: str, tau: float, lo: float) -> dict:
        return {"name": name, "kind": kind, "failed": 0, "corr": {"tau": tau, "n": 30},
                "diff_params": (tau, lo, lo + 0.5)}

    def analysis(budget_tau: float, budget_archs: int) -> dict:
        return {"rows": [row("naswot", "proxy", 0.6, 0.1), row("synflow", "proxy", 0.3, -0.1),
                         row("params", "baseline", 0.1, 0.0)],
                "budget": {"names": [f"a{i}" for i in range(budget_archs)], "corr": {"tau": budget_tau}},
                "epochs": 1, "multiplier": 3}

    assert recommend(analysis(0.8, 10))["default"] == "naswot"
    unstable = recommend(analysis(0.5, 10))
    assert unstable["default"] == "params" and unstable["would_be"] == "naswot" and "τ = 0.50" in unstable["why"]
    assert recommend(analysis(0.9, 9))["default"] == "params"  # too few archs to trust the ground truth
    weak = analysis(0.9, 10)
    weak["rows"][0]["diff_params"] = (0.5, -0.01, 0.9)  # the CI of τ − τ(params) includes 0
    assert recommend(weak)["default"] == "params"
