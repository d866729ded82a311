"""Validate zero-cost accuracy proxies against trained accuracy (DESIGN.md §6, "Honest numbers").

The program has three parts, all on the same deterministic list of architectures
(``space.sample(seed + i)``, duplicates by :func:`nas.arch.key.arch_key` skipped, so a larger ``n``
extends the list and reuses everything already trained):

* **budget** (stability of the ground truth): the first ``budget_archs`` archs' ground truth at ``E``
  epochs against one training at ``multiplier × E``; Kendall τ between the two rankings. An arch's ground
  truth is its mean top-1 over ``n_gt_seeds`` training seeds (:func:`gt_seeds`; one by default).
* **noise** (noise ceiling): the first ``noise_archs`` archs trained at ``E`` with two training seeds;
  τ between the two rankings. No proxy can be expected to beat it.
* **main**: ``n`` archs trained at ``E``; every proxy (and #params, #MACs) scored on one fixed, seeded
  batch of training images; Kendall τ-b and Spearman ρ with bootstrap 95 % CIs, the paired τ difference
  to #params, failures counted, cost per arch; rank ensembles (mean rank of 2–3 proxies) are evaluated
  the same way and, because the best one is chosen on the archs it is reported on, also by repeated
  half splits (choose on one half, score on the other).

Every finished training is one JSON line in the training cache the caller names (``nas validate-proxy``:
``runs/proxy-validation/train_cache.jsonl``; appended, flushed and fsynced at once), looked up by (arch
key, data, sizes, resolution, recipe, epochs, seed); the training in progress checkpoints to ``ckpt/``
beside it after every epoch (and on Ctrl-C), so an interrupted run resumes where it stopped. Proxy values
are cached the same way in ``proxy_cache.jsonl`` next to it.

    >>> v = Validator(load_space("mobile_32px"), Setup(data="fashion-mnist"), cache="cache/train_cache.jsonl")
    >>> v.run_jobs(v.main_jobs(1, 30, gt_seeds(0, 1, 2)), "main")  # doctest: +SKIP
    >>> a = analyse(v, n=30, epochs=1, n_gt_seeds=2)               # doctest: +SKIP
    >>> print(report_markdown(a))                                  # doctest: +SKIP

The converged ground truth over several spaces (issue 14) is a second program on the same caches:
:class:`TruthPlan` / :class:`SpacePlan` say what is trained (:func:`truth_jobs`, trained by
:func:`run_lanes`, several networks at once on a GPU), :func:`analyse_truth` validates every signal — each
zero-cost proxy, #params, #MACs, short trainings and the few-shot predictor (:class:`FewShotPredictor`;
``predictor:K`` for a search is :class:`PredictorProxy`) — per space and across spaces, and
:func:`truth_markdown` writes the report.

    >>> plan = TruthPlan((SpacePlan("tiny_32px", 48), SpacePlan("mobile_32px", 12)), epochs=12)
    >>> a = analyse_truth([tiny_validator, mobile_validator], plan)   # doctest: +SKIP
    >>> print(truth_markdown(a))                                       # doctest: +SKIP

Modules: setup (Setup), cache (JSONL caches and keys), sampling, claims, proxy_scores, progress,
validator (Validator), lanes, pilot, stats, proxy_table, recommend, analysis, report; truth, truth_checks,
signals, predictor, predictor_proxy, truth_analysis, truth_rule, truth_report, truth_plot (one picture per space). Importing it does not
import torch.
"""
from __future__ import annotations

from nas.validation.analysis import analyse, ground_truth, gt_seeds
from nas.validation.cache import PROXY_CACHE_NAME, JsonlCache, train_key
from nas.validation.pilot import PILOT_NAME, load_pilot, run_pilot, save_pilot
from nas.validation.proxy_scores import BASELINES, PROXY_INPUTS, ProxyScores
from nas.validation.recommend import recommend
from nas.validation.report import report_markdown, write_scatter
from nas.validation.sampling import sample_archs
from nas.validation.setup import Setup
from nas.validation.stats import Corr, bootstrap_corr, kendall_tau, mean_rank, paired_tau_diff, selection_cv
from nas.validation.lanes import run_lanes
from nas.validation.predictor import FewShotPredictor, cross_fit
from nas.validation.predictor_proxy import PredictorError, PredictorProxy, PredictorSpec
from nas.validation.truth import SpacePlan, TruthPlan, truth_jobs, truth_status
from nas.validation.truth_analysis import analyse_truth
from nas.validation.truth_plot import write_truth_figures
from nas.validation.truth_report import truth_markdown
from nas.validation.validator import DeadlineReached, Job, Validator

__all__ = [
    "BASELINES", "PILOT_NAME", "PROXY_CACHE_NAME", "PROXY_INPUTS", "Corr", "DeadlineReached", "FewShotPredictor", "Job",
    "JsonlCache", "PredictorError", "PredictorProxy", "PredictorSpec", "ProxyScores", "Setup", "SpacePlan", "TruthPlan",
    "Validator", "analyse", "analyse_truth", "bootstrap_corr", "cross_fit", "ground_truth", "gt_seeds", "kendall_tau",
    "load_pilot", "mean_rank", "paired_tau_diff", "recommend", "report_markdown", "run_lanes", "run_pilot",
    "sample_archs", "save_pilot", "selection_cv", "train_key", "truth_jobs", "truth_markdown", "truth_status",
    "write_scatter", "write_truth_figures",
]
