"""The search: score candidates (:mod:`~nas.search.evaluate`), drive an Optuna study
(:mod:`~nas.search.driver`, :mod:`~nas.search.study`, :mod:`~nas.search.objective`), judge feasibility and the
Pareto front (:mod:`~nas.search.front`) and export the best networks (:mod:`~nas.search.export`).

    from nas.search import SearchConfig, run_search, export_pareto
    result = run_search(SearchConfig(latency_target_ms=20, trials=50))
    files, feasible = export_pareto(result.study, result.run_dir)
"""
from __future__ import annotations

from nas.search.config import OBJECTIVES, SAMPLERS, SearchConfig, SearchResult
from nas.search.driver import run_search
from nas.search.evaluate import CandidateError, Evaluator, Scores
from nas.search.export import export_pareto, select_trials, trial_arch
from nas.search.front import is_feasible, pareto_front
from nas.search.objective import MNASNET_W, mnasnet_reward
from nas.search.specs import DEFAULT_PROXY, DEFAULT_PROXY_BATCH, LatencyMethod, ProxySpec, TrainProxy

__all__ = ["DEFAULT_PROXY", "DEFAULT_PROXY_BATCH", "MNASNET_W", "OBJECTIVES", "SAMPLERS", "CandidateError",
           "Evaluator", "LatencyMethod", "ProxySpec", "Scores", "SearchConfig", "SearchResult", "TrainProxy",
           "export_pareto", "is_feasible", "mnasnet_reward", "pareto_front", "run_search", "select_trials",
           "trial_arch"]
