"""``leaderboard.md`` — one row per network exported by :func:`nas.search.export.export_pareto`, read back
from ``pareto.yaml`` so the table and the YAML files always agree — and :func:`write_report`, which writes it
with ``pareto.png``.

    from nas.report import write_report
    write_report(study, "runs/my-study")        # → [runs/my-study/pareto.png, runs/my-study/leaderboard.md]

Feasibility is judged like the export does (:mod:`nas.search.front`). Files are written atomically.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna

from nas.files import atomic_write
from nas.markdown import cell, table
from nas.numbers import is_finite
from nas.report.plot import write_pareto_png
from nas.report.summary import Summary, counts_line, format_latency, format_value, mega, read_listing, summarize
from nas.search.reference import reference_record
from nas.search.run import read_json

__all__ = ["write_leaderboard", "write_report"]


def write_report(study: optuna.Study, run_dir: str | Path, target_ms: float | None = None) -> list[Path]:
    """Write ``pareto.png`` and ``leaderboard.md`` into ``run_dir``; returns their paths.

    ``target_ms`` defaults to the study's own latency target. The leaderboard lists the networks of
    ``run_dir/pareto.yaml`` (written by :func:`nas.search.export.export_pareto`), so run the export first.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return [write_pareto_png(study, run_dir / "pareto.png", target_ms, listing=read_listing(run_dir)),
            write_leaderboard(study, run_dir, target_ms)]


def write_leaderboard(study: optuna.Study, run_dir: str | Path, target_ms: float | None = None) -> Path:
    """Write ``run_dir/leaderboard.md``: a header (study, target, device, latency method, proxy, dates) and
    one table row per network of ``run_dir/pareto.yaml``, in its order."""
    run_dir = Path(run_dir)
    s = summarize(study, target_ms)
    listing = read_listing(run_dir)
    rows = [r for r in (listing or {}).get("networks") or [] if isinstance(r, dict)]
    lines = _header(study, s, listing, rows, read_json(run_dir / "run.json") or {})
    if not s.points:
        lines.append("**No completed trials** — nothing to rank.")
        if s.fail_reasons:
            lines += ["", f"{s.failed} trial(s) failed:", ""]
            lines += [f"- {n}× {cell(reason)}" for reason, n in s.fail_reasons.most_common(5)]
    elif listing is None:
        lines.append("No readable `pareto.yaml` in this run directory: export first (`nas export RUN_DIR`), then "
                     "rerun `nas report RUN_DIR`.")
    else:
        lines += _body(s, listing, rows)
    return atomic_write(run_dir / "leaderboard.md", "\n".join(lines) + "\n", fsync=False)


def _header(study: optuna.Study, s: Summary, listing: dict[str, Any] | None, rows: list[dict[str, Any]],
            run_json: dict[str, Any]) -> list[str]:
    """The title and the settings list: study, target, device, latency method, proxy, objective, dates."""
    settings = study.user_attrs.get("settings") or {}
    target = s.target if s.target is not None else (listing or {}).get("latency_target_ms")
    device = settings.get("device") or _first(rows, "device") or "–"
    device_bits = [str(settings[k]) for k in ("device_type",) if settings.get(k)]
    if settings.get("threads"):
        device_bits.append(f"{settings['threads']} threads")
    if settings.get("torch_version"):
        device_bits.append(f"torch {settings['torch_version']}")
    method = settings.get("latency_method") or _first(rows, "latency_method") or "–"
    method_bits = [f"{settings['latency_backend']} runtime"] if settings.get("latency_backend") else []
    if settings.get("batch_size"):
        method_bits.append(f"batch {settings['batch_size']}")
    if settings.get("latency_repeats"):
        method_bits.append(f"median of {settings['latency_repeats']} repeats, IQR")
    objective = ("Pareto: maximize the proxy, minimize latency, latency ≤ target" if s.multi
                 else "MnasNet reward ACC·(LAT/T)^-0.07, maximize")
    lines = [f"# Leaderboard — {s.name}", "",
             f"- **study:** `{s.name}`",
             f"- **latency target:** {target:g} ms" if is_finite(target) else "- **latency target:** –",
             f"- **device:** {device}" + (f" ({', '.join(device_bits)})" if device_bits else ""),
             f"- **latency method:** {method}" + (f" ({', '.join(method_bits)})" if method_bits else ""),
             f"- **proxy:** {s.proxy}",
             f"- **objective:** {objective}",
             f"- **trials:** {counts_line(s)}"]
    if (ref := reference_record(study)) is not None:
        lines.append(_reference_line(ref))
    if run_json.get("date"):
        lines.append(f"- **run started:** {run_json['date']}")
    return lines + [f"- **date:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]


def _reference_line(ref: dict[str, Any]) -> str:
    """Paired timing's scale: the reference, its first latency, how fast it ran beside the candidates, and
    whether the latencies here were re-levelled to that (:mod:`nas.search.reference`)."""
    line = (f"- **paired reference:** {ref['name']} at {ref['resolution']} px, {format_latency(ref['quiet_ms'])} ms "
            f"(timed when the study was created{', under load' if ref['noisy'] else ''})")
    if is_finite(ref.get("beside_ms")) and is_finite(ref.get("level_factor")):
        line += (f"; beside the candidates it ran at a median {format_latency(ref['beside_ms'])} ms "
                 f"({ref['beside_trials']} trials): level ×{ref['level_factor']:.2f}")
        if ref.get("level_applied"):
            line += (f"; the latencies here are re-levelled to it (×{1 / ref['level_factor']:.2f} the study's "
                     "stored values)" + (" — **the first timing was off**" if ref["level_off"] else ""))
    return line


def _body(s: Summary, listing: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Notes on a listing from another study or target, the sentence saying what is listed, and the table."""
    lines: list[str] = []
    if listing.get("study") not in (None, s.name):
        lines += [f"> Note: `pareto.yaml` was written for study `{listing.get('study')}`, not this one.", ""]
    if is_finite(listing.get("latency_target_ms")) and is_finite(s.target) and listing["latency_target_ms"] != s.target:
        lines += [f"> Note: the networks below were exported against a {listing['latency_target_ms']:g} ms target, "
                  f"not {s.target:g} ms: rerun `nas export RUN_DIR --target {s.target:g}ms` to re-export.", ""]
    exported = listing.get("latency_target_ms")
    exported = float(exported) if is_finite(exported) else s.target
    within = f"within {exported:g} ms" if is_finite(exported) else "meeting the target"
    if not rows:
        return lines + ["`pareto.yaml` lists no networks."]
    if listing.get("feasible", True):
        what = (f"the Pareto front of the trials {within}, by latency" if s.multi
                else f"the top {len(rows)} trials {within} by MnasNet reward")
        lines.append(f"{len(rows)} network(s): {what}. Each file builds with `nas.build_model(path)`.")
    else:
        lines.append(f"**No trial met the {exported:g} ms target**: the {len(rows)} closest are listed, "
                     "marked feasible: no.")
    confirmed = [r for r in rows if r.get("latency_confirmed")]
    if confirmed:
        counts = sorted({len(r.get("latency_timings_ms") or []) for r in confirmed})
        rounds = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        lines.append(f"The latency of {len(confirmed)} of them is confirmed: the median ± IQR of {rounds} timings "
                     "taken round-robin over the front after the search (a front favours timings that came out "
                     "low); the search's one timing is in its own column. optuna-dashboard shows the search's "
                     "timings: Optuna cannot change a finished trial.")
    return lines + ["", *_table(rows, s)]


def _table(rows: list[dict[str, Any]], s: Summary) -> list[str]:
    trained = any(r.get("accuracy") is not None for r in rows)
    noisy = any(r.get("noisy") for r in rows)
    confirmed = any(r.get("latency_confirmed") for r in rows)
    header = ["file", "trial", "network", "feasible", "latency (ms, median ± IQR)", f"proxy: {s.proxy}"]
    if not s.multi:
        header.append("MnasNet reward")
    if trained:
        header += ["fidelity", "top-1 (trained)"]
    header += ["search's one timing (ms)"] if confirmed else []
    header += ["params (M)", "MACs (M)", "timm strings"]
    body = []
    for r in rows:
        name = str(r.get("name") or "") + (f" (reference: {r['reference']})" if r.get("reference") else "")
        cells = [f"[{r.get('file')}]({r.get('file')})", str(r.get("trial", "–")), name or "–",
                 "yes" if r.get("feasible") else "no", format_latency(r.get("latency_ms"), r.get("latency_iqr_ms")),
                 format_value(r.get("proxy_value"))]
        if not s.multi:
            cells.append(format_value(r.get("mnasnet_reward")))
        if noisy:
            cells[3] += " (noisy)" if r.get("noisy") else ""
        if trained:
            accuracy = r.get("accuracy")
            cells += [r.get("fidelity") or "–", f"{100 * accuracy:.2f}%" if is_finite(accuracy) else "–"]
        if confirmed:
            single = r.get("latency_search_ms") if r.get("latency_confirmed") else None
            cells.append(f"{single:.2f}" if is_finite(single) else "–")
        strings = f"`{r['timm_strings']}`" if r.get("timm_strings") else "–"
        cells += [mega(r.get("params")), mega(r.get("macs")), strings]
        body.append(cells)
    return table(header, body).splitlines()


def _first(rows: list[dict[str, Any]], key: str) -> Any:
    return next((r[key] for r in rows if r.get(key)), None)
