"""nas.train.evaluation: accuracy, exact BN statistics and the model check."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from train.helpers import tiny_cnn

from nas.train import check_model, evaluate, recalibrate_bn


def test_recalibrate_bn_gives_exact_batch_statistics():
    x = torch.randn(64, 2, 4, 4) * 3 + 5
    dataset = torch.utils.data.TensorDataset(x, torch.zeros(64, dtype=torch.int64))
    bn = nn.BatchNorm2d(2, momentum=0.01)
    model = nn.Sequential(bn, nn.Dropout(0.5)).eval()
    recalibrate_bn(model, dataset, torch.arange(64), batches=4, batch_size=16)
    torch.testing.assert_close(bn.running_mean, x.mean(dim=(0, 2, 3)), atol=1e-5, rtol=0)
    assert bn.momentum == 0.01 and not model.training


def test_evaluate_and_check_model(data):
    model = tiny_cnn().train()
    acc = evaluate(model, data.test, batch_size=10)
    assert 0.0 <= acc <= 1.0 and model.training  # mode restored
    check_model(model, data)
    with pytest.raises(ValueError, match=r"expected logits of shape \(N, 4\)"):
        check_model(tiny_cnn(num_classes=5), data)
    with pytest.raises(ValueError, match="model fails on 3×12×12 input"):
        check_model(tiny_cnn(in_channels=1), data)
