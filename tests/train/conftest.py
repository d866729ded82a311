from __future__ import annotations

import pytest
from train.helpers import small_data

from nas.data import DatasetSplits


@pytest.fixture(scope="module")
def data() -> DatasetSplits:
    return small_data()
