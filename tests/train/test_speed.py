"""nas.train.speed: the trainer's step time, measured on the real loop (no wall-clock thresholds)."""
from __future__ import annotations

import pytest
from train.helpers import quick, tiny_cnn

from nas.data import make_synthetic
from nas.train.speed import StreamedDataset, time_training


def test_time_training_reports_the_real_loops_cost():
    data = make_synthetic(num_classes=4, in_channels=3, resolution=12, train_size=640, test_size=64, seed=0)
    t = time_training(tiny_cnn, data, quick(batch_size=32), steps=(2, 5))
    assert t["s_per_step"] >= 0 and t["seconds"][1] > 0
    assert t["s_per_epoch"] == pytest.approx(t["s_per_step"] * 20)  # 640 images / batch 32
    assert (t["batch_size"], t["train_images"], t["streamed"], t["channels_last"]) == (32, 640, False, False)
    s = time_training(tiny_cnn, data, quick(batch_size=32, channels_last=True), steps=(1, 2), streamed=True)
    assert s["streamed"] and s["channels_last"]
    with pytest.raises(ValueError, match="steps must be"):
        time_training(tiny_cnn, data, quick(batch_size=32), steps=(5, 5))
    with pytest.raises(ValueError, match="steps must be"):
        time_training(tiny_cnn, data, quick(batch_size=32), steps=(1, 21))  # 21 batches > 640 images


def test_streamed_dataset_reads_sample_by_sample():
    data = make_synthetic(num_classes=4, in_channels=3, resolution=12, train_size=64, test_size=32, seed=0)
    s = StreamedDataset(data.train)
    x, y = s[3]
    assert len(s) == 64 and x.shape == (3, 12, 12) and int(y) == int(data.train.tensors[1][3])
