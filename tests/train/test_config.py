"""nas.train.config: the recipe's checks, its dict (a cache key) and the result file."""
from __future__ import annotations

import json
import sys

import pytest
from train.helpers import quick, tiny_cnn

from nas.train import TrainConfig, TrainResult, train


def test_config_validation():
    assert TrainConfig(optimizer="adamw").lr == 2e-3
    for bad in (dict(optimizer="rmsprop"), dict(schedule="step"), dict(epochs=0), dict(device="gpu0"), dict(lr=-1.0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_recipe_is_the_cache_key_part_and_leaves_out_run_settings():
    expected = {"batch_size": 128, "optimizer": "sgd", "lr": 0.05, "weight_decay": 5e-4, "schedule": "cosine",
                "warmup_fraction": 0.05, "label_smoothing": 0.1, "bn_recalibration_batches": 16}
    assert TrainConfig().recipe() == expected
    assert list(TrainConfig().recipe()) == list(expected)
    other = TrainConfig(epochs=3, seed=7, num_threads=2, device="auto")
    assert other.recipe() == expected and other.device == "auto"
    assert TrainConfig(optimizer="adamw").recipe()["weight_decay"] == 0.05
    assert TrainConfig(device=" CUDA:1 ").device == "cuda:1"


def test_config_module_does_not_import_torch():
    import subprocess

    code = "import sys, nas.train.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_result_json_round_trip(data, tmp_path):
    result = train(tiny_cnn(), data, quick(epochs=1), progress=False)
    loaded = json.loads(result.to_json())
    assert loaded["config"]["lr"] == 0.05 and loaded["config"]["optimizer"] == "sgd"
    assert set(loaded) >= {"test_top1", "train_loss", "epochs_done", "seconds", "config", "n_params"}
    result.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == loaded
    assert isinstance(result, TrainResult) and 0.0 <= result.test_top1 <= 1.0
