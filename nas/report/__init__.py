"""What a person looks at after a search: ``pareto.png`` (:mod:`~nas.report.plot`), ``leaderboard.md``
(:mod:`~nas.report.leaderboard`), optuna-dashboard (:mod:`~nas.report.dashboard`) and the text of
``nas inspect`` (:mod:`~nas.report.inspect`).

    from nas.report import write_report
    write_report(study, "runs/my-study")        # → [runs/my-study/pareto.png, runs/my-study/leaderboard.md]
"""
from __future__ import annotations

from nas.report.dashboard import serve_dashboard
from nas.report.inspect import describe, describe_space
from nas.report.leaderboard import write_leaderboard, write_report
from nas.report.plot import write_pareto_png
from nas.report.summary import format_latency, format_value, proxy_name, summarize

__all__ = ["describe", "describe_space", "format_latency", "format_value", "proxy_name", "serve_dashboard",
           "summarize", "write_leaderboard", "write_pareto_png", "write_report"]
