"""The trial predicates of nas.search.objective: which trials count, which failed, which were cut off."""
from __future__ import annotations

import optuna
from optuna.trial import TrialState

from nas.search.objective import counted, cut_off, rejected


def _trial(state: TrialState, **attrs: object) -> optuna.trial.FrozenTrial:
    values = [1.0] if state == TrialState.COMPLETE else None
    return optuna.trial.create_trial(state=state, values=values, params={}, distributions={}, user_attrs=attrs)


def test_each_trial_is_exactly_one_of_counted_rejected_cut_off_or_neither() -> None:
    cases = {  # trial → (counted, rejected, cut_off)
        "scored": (_trial(TrialState.COMPLETE), (True, False, False)),
        "duplicate": (_trial(TrialState.COMPLETE, duplicate_of=3), (False, False, False)),
        "failed candidate": (_trial(TrialState.FAIL, fail_reason="oom"), (True, True, False)),
        "interrupted": (_trial(TrialState.FAIL, interrupted=True), (False, False, True)),
        "killed worker": (_trial(TrialState.FAIL), (False, False, True)),
        "pruned": (_trial(TrialState.PRUNED), (False, False, False)),
    }
    got = {name: (counted(t), rejected(t), cut_off(t)) for name, (t, _) in cases.items()}
    assert got == {name: want for name, (_, want) in cases.items()}
