"""nas.validation.setup: the recipe and data parts of the cache key are pinned (existing caches are keyed
by them: a change here orphans every cached training)."""
from __future__ import annotations

import dataclasses

import pytest

from nas.train.config import TrainConfig
from nas.validation.cache import train_key
from nas.validation.setup import Setup

DEFAULT_RECIPE = {"batch_size": 128, "optimizer": "sgd", "lr": 0.05, "weight_decay": 0.0005, "schedule": "cosine",
                  "warmup_fraction": 0.05, "label_smoothing": 0.1, "bn_recalibration_batches": 16}
DEFAULT_DATA_ID = {"data": "fashion-mnist", "train_size": "all", "test_size": "all", "resolution": "native",
                   "subset_seed": 0}


def test_default_setup_keys_are_pinned() -> None:
    setup = Setup()
    assert setup.recipe() == DEFAULT_RECIPE and list(setup.recipe()) == list(DEFAULT_RECIPE)
    assert setup.data_id() == DEFAULT_DATA_ID and list(setup.data_id()) == list(DEFAULT_DATA_ID)
    assert train_key("59b09268f9096487", setup.data_id(), setup.recipe(), 1, 0) == (
        '{"arch_key":"59b09268f9096487","data":{"data":"fashion-mnist","resolution":"native","subset_seed":0,'
        '"test_size":"all","train_size":"all"},"epochs":1,"recipe":{"batch_size":128,"bn_recalibration_batches":16,'
        '"label_smoothing":0.1,"lr":0.05,"optimizer":"sgd","schedule":"cosine","warmup_fraction":0.05,'
        '"weight_decay":0.0005},"seed":0}')


def test_recipe_ignores_epochs_seed_threads_and_device() -> None:
    busy = Setup(training=TrainConfig(epochs=7, seed=3, num_threads=2, device="auto"))
    assert busy.recipe() == DEFAULT_RECIPE and busy.threads == 2
    config = busy.train_config(2, 5)
    assert (config.epochs, config.seed, config.num_threads, config.device) == (2, 5, 2, "cpu")  # Setup.device
    assert config.recipe() == DEFAULT_RECIPE
    gpu = dataclasses.replace(busy, device=" CUDA ", cuda_graphs=True)
    assert gpu.device == "cuda" and gpu.recipe() == DEFAULT_RECIPE  # where it trains is not part of the key
    assert (gpu.train_config(2, 5).device, gpu.train_config(2, 5).cuda_graphs) == ("cuda", True)
    mixed = Setup(training=TrainConfig(precision="bf16"))
    assert mixed.recipe() == {**DEFAULT_RECIPE, "precision": "bf16"}  # mixed precision is another recipe
    with pytest.raises(ValueError, match="unknown device"):
        Setup(device="gpu")
    adamw = Setup(training=TrainConfig(optimizer="adamw"))
    assert adamw.recipe()["lr"] == 2e-3 and adamw.recipe()["weight_decay"] == 0.05


@pytest.mark.parametrize("data,name", [("synthetic", "synthetic"), ("synthetic:classes=4", "synthetic,classes=4"),
                                       ("cifar10:/x/y", "cifar10")])
def test_data_id_names_the_dataset(data: str, name: str) -> None:
    assert Setup(data=data, train_size=64).data_id() == {**DEFAULT_DATA_ID, "data": name, "train_size": 64}


def test_to_dict_is_flat() -> None:
    d = Setup().to_dict()
    assert d == {"data": "fashion-mnist", "train_size": None, "test_size": None, "resolution": None,
                 **DEFAULT_RECIPE, "threads": None, "channels_last": True, "device": "cpu"}
    assert dataclasses.replace(Setup(), channels_last=False).to_dict()["channels_last"] is False
