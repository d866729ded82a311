"""Confirming the front: a network whose one search timing came out lucky is re-timed round-robin with the rest of
the front and judged on the median; it leaves the front when its true latency misses the target, the export and
run.json say what was confirmed, and a rerun re-times nothing already confirmed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nas.arch.key import arch_key
from nas.report import write_report
from nas.search import Evaluator, ProxySpec, export_pareto, pareto_front, run_search
from nas.search.confirm import confirm_front, front_candidates
from nas.search.evaluate import Timing
from nas.search.front import completed_trials, confirmations, feasible_trials
from nas.search.run import write_run_summary
from support import fake_latency_ms

TARGET = 8.0


class Clock:
    """A fake ``Evaluator.measure``: each architecture's first timing is ``lucky`` × its true latency (MACs / 100k),
    later ones the truth; ``noisy_keys`` are always flagged noisy after the first, ``noisy_first`` only in the first.
    Records every call's key."""

    def __init__(self, lucky: float = 0.5, noisy_keys: frozenset[str] = frozenset(),
                 noisy_first: frozenset[str] = frozenset()):
        self.lucky, self.noisy_keys, self.noisy_first, self.calls = lucky, noisy_keys, noisy_first, []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "Clock":
        monkeypatch.setattr(Evaluator, "measure", lambda evaluator, model, arch, layers: self(evaluator, model, arch, layers))
        return self

    def __call__(self, evaluator: Evaluator, model, arch, layers) -> Timing:  # noqa: ANN001
        key = arch_key(arch)
        truth = fake_latency_ms(evaluator, model, arch, layers)
        first = key not in self.calls
        self.calls.append(key)
        if first:
            noisy = key in self.noisy_first
            return Timing(truth.median_ms * self.lucky, 0.01, noisy=noisy, others_cpu=1.4 if noisy else 0.0)
        return Timing(truth.median_ms, 0.01, noisy=key in self.noisy_keys, others_cpu=1.4 if key in self.noisy_keys else 0.0)


def truth_ms(trial) -> float:  # noqa: ANN001
    return trial.user_attrs["macs"] / 1e5


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock().install(monkeypatch)


def test_a_lucky_timing_is_confirmed_and_judged_on_the_median(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                               clock: Clock) -> None:
    result = run_search(search_config(space_file, tmp_path, trials=16, latency_target_ms=TARGET, confirm=3))
    study, report = result.study, result.confirmation
    confirmed = confirmations(study)
    assert report is not None and report.confirmed and len(confirmed) == len(report.confirmed)
    # every search timing was half the truth: each confirmed network reads its truth, 3 timings each
    assert report.search_over_confirmed == pytest.approx([0.5] * len(report.confirmed))
    for trial in completed_trials(study):
        if trial.user_attrs["arch_key"] in confirmed:
            assert trial.user_attrs["latency_ms"] == pytest.approx(truth_ms(trial))
            assert trial.user_attrs["latency_search_ms"] == pytest.approx(truth_ms(trial) / 2)
            assert trial.values[1] == pytest.approx(truth_ms(trial))
            assert len(trial.user_attrs["latency_confirmed"]["timings_ms"]) == 3
    # round-robin: the confirmation's calls (after each net's one search timing) go over the whole first pass's
    # networks once per round
    tail = clock.calls[len(set(clock.calls)):]
    k = tail.index(tail[0], 1)
    assert k >= 2 and len(set(tail[:k])) == k and tail[:3 * k] == tail[:k] * 3
    # the front, judged on confirmed latencies, is all confirmed and all within the target in truth
    front = pareto_front(study)
    assert front and all(t.user_attrs["arch_key"] in confirmed for t in front)
    assert all(truth_ms(t) <= TARGET for t in front)
    # a network the search thought feasible (lucky) but which misses the target in truth has left
    lucky_only = [t for t in study.get_trials() if "latency_ms" in t.user_attrs and t.user_attrs["latency_ms"] <= TARGET
                  and truth_ms(t) > TARGET and t.user_attrs["arch_key"] in confirmed]
    assert lucky_only and not any(t.number in {f.number for f in feasible_trials(study)} for t in lucky_only)
    keys = {t.number: t.user_attrs["arch_key"] for t in study.get_trials() if "arch_key" in t.user_attrs}
    assert {t.user_attrs["arch_key"] for t in lucky_only} <= {keys[n] for n in report.left}

    export_pareto(study, result.run_dir, echo=lambda s: None, onnx=False)
    rows = yaml.safe_load((result.run_dir / "pareto.yaml").read_text())["networks"]
    assert rows and all(r["latency_confirmed"] and len(r["latency_timings_ms"]) == 3 for r in rows)
    assert all(r["latency_ms"] == pytest.approx(2 * r["latency_search_ms"]) for r in rows)
    write_report(study, result.run_dir)
    board = (result.run_dir / "leaderboard.md").read_text()
    assert f"The latency of {len(rows)} of them is confirmed: the median ± IQR of 3 timings" in board
    row = rows[0]
    assert f"| {row['latency_search_ms']:.2f} |" in board and "search's one timing (ms)" in board
    summary = write_run_summary(result.run_dir, study)
    assert summary["confirmed"] == len(confirmed) and summary["search_over_confirmed"] == [0.5, 0.5]
    assert json.loads((result.run_dir / "run.json").read_text())["summary"]["confirmed"] == len(confirmed)

    calls = len(clock.calls)
    again = run_search(search_config(space_file, tmp_path, trials=16, latency_target_ms=TARGET, confirm=3))
    assert len(clock.calls) == calls and again.confirmation.confirmed == []  # nothing re-timed


def test_no_confirmation_keeps_optunas_front(search_config, space_file: Path, tmp_path: Path, clock: Clock) -> None:  # noqa: ANN001
    result = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, confirm=0))
    assert result.confirmation is None and confirmations(result.study) == {}
    assert [t.number for t in pareto_front(result.study)] == sorted(t.number for t in result.study.best_trials)
    assert len(clock.calls) == len(set(clock.calls))  # one timing per architecture


def test_a_network_noisy_in_every_confirming_timing_is_not_feasible(search_config, space_file: Path,  # noqa: ANN001
                                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_search(search_config(space_file, tmp_path / "a", trials=12, latency_target_ms=TARGET, confirm=0))
    fastest = min(front_candidates(first.study), key=lambda t: t.user_attrs["latency_ms"])
    clock = Clock(lucky=1.0, noisy_keys=frozenset({fastest.user_attrs["arch_key"]}))
    clock.install(monkeypatch).calls = [t.user_attrs["arch_key"] for t in completed_trials(first.study)]  # timed once
    evaluator = Evaluator(proxy=ProxySpec("params"), device="cpu")
    report = confirm_front(first.study, evaluator, rounds=2, progress=False, echo=lambda s: None)
    record = confirmations(first.study)[fastest.user_attrs["arch_key"]]
    assert record["noisy"] and record["noisy_timings"] == 2 and record["others_cpu"] == 1.4
    assert fastest.number in report.confirmed and fastest.number in report.left
    assert fastest.number not in {t.number for t in pareto_front(first.study)}
    export_pareto(first.study, first.run_dir, echo=lambda s: None, onnx=False)
    listing = yaml.safe_load((first.run_dir / "pareto.yaml").read_text())
    assert fastest.number in {r["trial"] for r in listing["noisy_trials"]}


def test_a_network_timed_noisy_in_the_search_joins_the_front_on_a_quiet_confirmation(  # noqa: ANN001
        search_config, space_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Clock(lucky=1.0).install(monkeypatch)
    first = run_search(search_config(space_file, tmp_path / "a", trials=12, latency_target_ms=TARGET, confirm=0))
    fastest = min(front_candidates(first.study), key=lambda t: t.user_attrs["latency_ms"])
    key = fastest.user_attrs["arch_key"]
    assert plain.calls.count(key) == 1
    # the same search, but the load was on while that network was timed: flagged noisy, off the front
    Clock(lucky=1.0, noisy_first=frozenset({key})).install(monkeypatch)
    again = run_search(search_config(space_file, tmp_path / "b", trials=12, latency_target_ms=TARGET, confirm=3))
    trial = again.study.trials[fastest.number]
    assert trial.user_attrs["arch_key"] == key and trial.user_attrs["noisy"] and not trial.user_attrs["feasible"]
    # the confirmation re-timed it (quiet now) and judges it on that: it is on the front, and says so
    record = confirmations(again.study)[key]
    assert not record["noisy"] and record["latency_ms"] == pytest.approx(truth_ms(trial))
    assert fastest.number in again.confirmation.rescued and fastest.number not in again.confirmation.left
    assert "1 timed noisy in the search joined it on a quiet re-timing" in again.confirmation.line()
    assert fastest.number in {t.number for t in pareto_front(again.study)}
    judged = next(t for t in completed_trials(again.study) if t.number == fastest.number)
    assert judged.user_attrs["noisy"] is False and judged.user_attrs["feasible"] is True
    summary = write_run_summary(again.run_dir, again.study)
    assert summary["noisy_in_search"] == 1 and summary["noisy"] == 0 and summary["confirmed"] == len(
        [k for k in confirmations(again.study) if k != key])  # its disturbed search timing is left out of the ratio
    export_pareto(again.study, again.run_dir, echo=lambda s: None, onnx=False)
    listing = yaml.safe_load((again.run_dir / "pareto.yaml").read_text())
    assert fastest.number in {r["trial"] for r in listing["networks"]}
    assert fastest.number not in {r["trial"] for r in listing.get("noisy_trials", [])}


def test_a_busy_confirmation_stops_after_one_pass_and_a_quiet_rerun_rejudges(  # noqa: ANN001
        search_config, space_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(lucky=1.0).install(monkeypatch)  # a quiet search: every timing the truth
    first = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, confirm=0))
    study, evaluator = first.study, Evaluator(proxy=ProxySpec("params"), device="cpu")
    keys = [t.user_attrs["arch_key"] for t in completed_trials(study)]
    front = {t.user_attrs["arch_key"] for t in front_candidates(study)}
    Clock(lucky=1.0, noisy_keys=frozenset(keys)).install(monkeypatch).calls = list(keys)  # the load is on
    busy = confirm_front(study, evaluator, rounds=2, progress=False, echo=lambda s: None)
    assert busy.stopped == "load" and busy.passes == 1 and not busy.complete  # not layer after layer
    assert set(confirmations(study)) == front and all(r["noisy"] for r in confirmations(study).values())
    assert "rerun the same command on a quiet machine" in busy.line()
    assert not front & {t.user_attrs["arch_key"] for t in pareto_front(study)}
    Clock(lucky=1.0).install(monkeypatch).calls = list(keys)  # quiet again: the rerun re-judges them
    quiet = confirm_front(study, evaluator, rounds=2, progress=False, echo=lambda s: None)
    assert quiet.complete and not quiet.stopped and set(quiet.confirmed) == set(busy.confirmed)
    assert not any(r["noisy"] for r in confirmations(study).values())
    assert {t.user_attrs["arch_key"] for t in pareto_front(study)} == front


def test_a_confirmation_needs_most_of_its_timings_quiet(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(lucky=1.0).install(monkeypatch)
    first = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, confirm=0))
    seen: dict[str, int] = {}

    def one_quiet_of_three(evaluator, model, arch, layers) -> Timing:  # noqa: ANN001
        key = arch_key(arch)
        seen[key] = seen.get(key, 0) + 1
        return Timing(fake_latency_ms(evaluator, model, arch, layers).median_ms, 0.01, noisy=seen[key] > 1,
                      others_cpu=0.0)

    monkeypatch.setattr(Evaluator, "measure", one_quiet_of_three)
    confirm_front(first.study, Evaluator(proxy=ProxySpec("params"), device="cpu"), rounds=3, progress=False,
                  echo=lambda s: None)
    records = confirmations(first.study).values()
    assert records and all(r["timings_noisy"] == [False, True, True] and r["noisy"] for r in records)
    assert not {t.user_attrs["arch_key"] for t in pareto_front(first.study)} & set(confirmations(first.study))


def test_one_objective_recomputes_the_reward(search_config, space_file: Path, tmp_path: Path, clock: Clock) -> None:  # noqa: ANN001
    from nas.search import mnasnet_reward

    result = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, objective="mnasnet",
                                      confirm=3, top_k=3))
    confirmed = confirmations(result.study)
    assert 1 <= len(confirmed) <= 12
    for t in completed_trials(result.study):
        if t.user_attrs["arch_key"] in confirmed:
            assert t.value == pytest.approx(mnasnet_reward(t.user_attrs["proxy_value"], truth_ms(t), TARGET))
    assert len(front_candidates(result.study, top_k=3)) <= 3


def test_confirm_refuses_a_negative_count(search_config, space_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="confirm must be an integer ≥ 0"):
        run_search(search_config(space_file, tmp_path, confirm=-1))


def test_an_interrupted_confirmation_keeps_its_timings_and_resumes(search_config, space_file: Path,  # noqa: ANN001
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(lucky=1.0).install(monkeypatch)  # the search's timings are the truth: the front stays put
    study = run_search(search_config(space_file, tmp_path, trials=16, latency_target_ms=TARGET, confirm=0)).study
    front = front_candidates(study)
    assert len(front) >= 2
    evaluator = Evaluator(proxy=ProxySpec("params"), device="cpu")
    real = clock.__call__
    stop_at = len(clock.calls) + len(front) + 1  # Ctrl-C in the second round, after its first timing

    armed = [True]

    def interrupting(evaluator, model, arch, layers):  # noqa: ANN001, ANN202
        if armed[0] and len(clock.calls) == stop_at:
            armed[0] = False
            raise KeyboardInterrupt
        return real(evaluator, model, arch, layers)

    monkeypatch.setattr(Evaluator, "measure", interrupting)
    with pytest.raises(KeyboardInterrupt):
        confirm_front(study, evaluator, rounds=3, progress=False, echo=lambda s: None)
    records = {k: v for k, v in study.user_attrs.items() if k.startswith("confirmed:")}
    assert len(records) == len(front) and not any(v["complete"] for v in records.values())
    assert sorted(v["rounds"] for v in records.values()) == [1] * (len(front) - 1) + [2]
    assert confirmations(study) == {}  # nothing cut short is in force
    before = len(clock.calls)
    report = confirm_front(study, evaluator, rounds=3, progress=False, echo=lambda s: None)
    # only the missing rounds: the timings equal the search's here, so the front does not change
    assert len(clock.calls) - before == 3 * len(front) - (len(front) + 1)
    assert all(confirmations(study)[t.user_attrs["arch_key"]]["rounds"] == 3 for t in front)
    assert report.confirmed and not report.stopped


def test_a_passed_deadline_confirms_nothing_and_says_so(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                        clock: Clock) -> None:
    import time

    first = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, confirm=0))
    calls = len(clock.calls)
    report = confirm_front(first.study, Evaluator(proxy=ProxySpec("params"), device="cpu"), rounds=3,
                           deadline=time.monotonic() - 1, progress=False, echo=lambda s: None)
    assert len(clock.calls) == calls and report.stopped == "timeout" and not report.complete
    assert report.line().startswith("confirmed: nothing (the timeout came first)")


def test_a_refine_stage_trains_only_confirmed_networks(search_config, space_file: Path, tmp_path: Path,  # noqa: ANN001
                                                       clock: Clock) -> None:
    from nas.search.refine import pick_candidates

    result = run_search(search_config(space_file, tmp_path, trials=16, latency_target_ms=TARGET, confirm=2,
                                      confirm_at_least=20))
    picked = pick_candidates(result.study, TARGET, 20)
    front = {t.user_attrs["arch_key"] for t in pareto_front(result.study)}
    assert len(picked) > len(front)  # the refine stage reaches past the front
    assert all(t.user_attrs["arch_key"] in confirmations(result.study) for t in picked)


def test_a_confirmation_cut_short_under_more_rounds_completes_under_fewer(search_config, space_file: Path,  # noqa: ANN001
                                                                          tmp_path: Path, clock: Clock) -> None:
    study = run_search(search_config(space_file, tmp_path, trials=12, latency_target_ms=TARGET, confirm=0)).study
    net = front_candidates(study)[0]
    key = net.user_attrs["arch_key"]
    study.set_user_attr(f"confirmed:{key}", {"latency_ms": 1.0, "timings_ms": [1.0, 1.2, 1.1], "complete": False,
                                             "timings_noisy": [False] * 3, "timings_others_cpu": [0.0] * 3})
    calls = len(clock.calls)
    report = confirm_front(study, Evaluator(proxy=ProxySpec("params"), device="cpu"), rounds=3, progress=False,
                           echo=lambda s: None)
    assert confirmations(study)[key]["latency_ms"] == 1.1 and confirmations(study)[key]["rounds"] == 3
    assert clock.calls[calls:].count(key) == 0 and net.number in report.confirmed
