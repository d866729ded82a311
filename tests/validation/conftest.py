from __future__ import annotations

from pathlib import Path

import pytest
from validation.helpers import count_trainings, small_setup, write_tiny_space
from validation.truth_helpers import train_two_spaces

from nas.validation.setup import Setup


@pytest.fixture()
def space_path(tmp_path: Path) -> Path:
    return write_tiny_space(tmp_path)


@pytest.fixture()
def setup() -> Setup:
    return small_setup()


@pytest.fixture()
def count_train(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_trainings(monkeypatch)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """Two tiny spaces' ground truth, trained once per session: (folder, validators, plan)."""
    folder = tmp_path_factory.mktemp("truth")
    validators, plan = train_two_spaces(folder)
    return folder, validators, plan


@pytest.fixture(scope="session")
def analysis(trained):
    """:func:`nas.validation.truth_analysis.analyse_truth` of :func:`trained` (100 bootstrap resamples)."""
    from nas.validation.truth_analysis import analyse_truth

    _, validators, plan = trained
    return analyse_truth(validators, plan, n_boot=100, ks=(3,), repeats=2)
