"""nas.train.accel and the speed settings of TrainConfig: on the CPU they change nothing a training computes,
and none of them enters the recipe (the cache key); mixed precision does, and is refused off CUDA."""
from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch
from torch.utils.data import TensorDataset
from train.helpers import assert_same_weights, quick, tiny_cnn

from nas.train import TrainConfig, train
from nas.train.accel import autocast, check_precision, place_data


def test_speed_settings_leave_the_recipe_and_the_trajectory_alone():
    base = TrainConfig()
    fast = TrainConfig(channels_last=True, cuda_graphs=True, data_on_device=False)
    assert fast.recipe() == base.recipe() and fast.trajectory() == base.trajectory()
    mixed = TrainConfig(precision="bf16")
    assert mixed.recipe() == {**base.recipe(), "precision": "bf16"}
    assert mixed.trajectory()["precision"] == "bf16" and "precision" not in base.trajectory()
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        TrainConfig(precision="fp8")


def test_mixed_precision_needs_cuda(data):
    with pytest.raises(ValueError, match="needs a CUDA device"):
        check_precision("bf16", torch.device("cpu"))
    check_precision("fp32", torch.device("cpu"))
    with pytest.raises(ValueError, match="needs a CUDA device"):
        train(tiny_cnn(), data, quick(precision="bf16"), progress=False)
    with autocast("fp32", torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")


def test_place_data_is_the_same_object_on_the_cpu(data):
    assert place_data(data, torch.device("cpu")) is data


def test_cuda_graphs_and_data_on_device_are_no_ops_on_the_cpu(data):
    plain, fast = tiny_cnn(dropout=0.3), tiny_cnn(dropout=0.3)
    ra = train(plain, data, quick(), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no capture is attempted (it would warn on failure)
        rb = train(fast, data, quick(cuda_graphs=True, data_on_device=True), progress=False)
    assert_same_weights(plain, fast)
    assert ra.test_top1 == rb.test_top1 and ra.train_loss == rb.train_loss


def test_channels_last_option_is_the_converted_model(data):
    """The option does exactly what converting the model by hand does (as nas.validation has always done)."""
    by_hand = tiny_cnn().to(memory_format=torch.channels_last)
    ra = train(by_hand, data, quick(), progress=False)
    model = tiny_cnn()
    rb = train(model, data, quick(channels_last=True), progress=False)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert_same_weights(by_hand, model)
    assert ra.test_top1 == rb.test_top1
    contiguous = train(tiny_cnn(), data, quick(), progress=False)  # another layout: same to float rounding
    assert contiguous.train_loss == pytest.approx(rb.train_loss, rel=1e-4)


def test_data_held_in_memory_or_streamed_gives_the_same_top1(data):
    from nas.train.speed import StreamedDataset

    streamed = dataclasses.replace(data, train=StreamedDataset(data.train), test=StreamedDataset(data.test))
    assert not isinstance(streamed.train, TensorDataset)
    a, b = tiny_cnn(dropout=0.3), tiny_cnn(dropout=0.3)
    ra = train(a, data, quick(epochs=3), progress=False)
    rb = train(b, streamed, quick(epochs=3), progress=False)
    assert_same_weights(a, b)
    assert ra.test_top1 == rb.test_top1 and ra.train_loss == rb.train_loss
    assert 0.25 < ra.test_top1  # it learned something, so equality is not about two chance-level runs


# --------------------------------------------------------------------------- on a CUDA device (skipped without one)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _uneven_data():
    from nas.data import make_synthetic

    return make_synthetic(num_classes=4, in_channels=3, resolution=12, train_size=200, test_size=64, seed=0)  # 6 full + 8


@cuda
def test_cuda_graphs_train_like_eager():
    data = _uneven_data()
    eager, graphed = tiny_cnn(), tiny_cnn()
    ra = train(eager, data, quick(device="cuda"), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture would warn and fall back to eager
        rb = train(graphed, data, quick(device="cuda", cuda_graphs=True), progress=False)
    for (name, p), q in zip(eager.state_dict().items(), graphed.state_dict().values()):
        assert torch.allclose(p.float(), q.float(), atol=1e-5), name
    assert rb.train_loss == pytest.approx(ra.train_loss, rel=1e-5) and abs(ra.test_top1 - rb.test_top1) <= 1 / 64


@cuda
def test_data_is_copied_to_the_gpu_once_and_bf16_trains():
    data = _uneven_data()
    dev = torch.device("cuda")
    placed = place_data(data, dev)
    assert placed.train.tensors[0].device.type == "cuda" and place_data(data, dev).train is placed.train
    result = train(tiny_cnn(), data, quick(device="cuda", precision="bf16", cuda_graphs=True, epochs=3), progress=False)
    assert result.train_loss[-1] < result.train_loss[0]


@cuda
def test_cuda_graph_run_resumes(tmp_path):
    data = _uneven_data()
    straight = tiny_cnn()
    expected = train(straight, data, quick(device="cuda", cuda_graphs=True), progress=False)

    def stop_after_first(epoch: int, loss: float) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    ck = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cnn(), data, quick(device="cuda", cuda_graphs=True), checkpoint=ck, progress=False,
              on_epoch_end=stop_after_first)
    resumed = tiny_cnn(seed=3)
    result = train(resumed, data, quick(device="cuda", cuda_graphs=True), checkpoint=ck, progress=False)
    assert result.train_loss == pytest.approx(expected.train_loss, rel=1e-4)
