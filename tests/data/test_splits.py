"""nas.data.splits: stratified subsets."""
from __future__ import annotations

import numpy as np

from nas.data.splits import stratified_indices


def test_stratified_indices_balanced_and_proportional():
    labels = np.repeat(np.arange(10), 60)
    idx = stratified_indices(labels, 100, 3)
    assert np.bincount(labels[idx]).tolist() == [10] * 10
    assert np.array_equal(idx, stratified_indices(labels, 100, 3)) and np.all(np.diff(idx) > 0)
    skewed = np.array([0] * 80 + [1] * 15 + [2] * 5)
    assert np.bincount(skewed[stratified_indices(skewed, 20, 0)]).tolist() == [16, 3, 1]
