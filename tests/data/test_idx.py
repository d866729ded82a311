"""nas.data.idx: IDX files written here in the real on-disk format, read directly and through load_dataset."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from data.helpers import denormalize, make_idx_dir, one_line_error, write_idx

import nas.data.spec
from nas.data.idx import read_idx
from nas.data.load import load_dataset
from nas.data.spec import DataError


@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_read_idx_all_dtype_codes(tmp_path, code):
    array = (np.arange(24).reshape(2, 3, 4) % 100).astype(np.float64)
    out = read_idx(write_idx(tmp_path / "a-idx3-ubyte", array, code))
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.astype(np.float64), array)


def test_read_idx_gz_header_bytes(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    path = write_idx(tmp_path / "l-idx1-ubyte.gz", labels)
    assert gzip.decompress(path.read_bytes())[:8] == b"\x00\x00\x08\x01\x00\x00\x00\x05"
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_loader_shapes_labels_values(tmp_path, gz):
    raw = make_idx_dir(tmp_path / "d", gz=gz)
    splits = load_dataset(f"idx:{tmp_path / 'd'}")
    x, y = splits.train.tensors
    assert x.shape == (12, 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    np.testing.assert_array_equal(y.numpy(), raw["train"][1])
    np.testing.assert_array_equal(splits.test.tensors[1].numpy(), raw["t10k"][1])
    assert (splits.num_classes, splits.in_channels, splits.resolution) == (3, 1, 8)
    torch.testing.assert_close(denormalize(x, splits)[:, 0], torch.from_numpy(raw["train"][0]).float() / 255)
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std(unbiased=False)) - 1) < 1e-4
    torch.testing.assert_close(
        denormalize(splits.test.tensors[0], splits)[:, 0], torch.from_numpy(raw["t10k"][0]).float() / 255
    )


def test_mnist_spec_and_dotted_names(tmp_path):
    raw = make_idx_dir(tmp_path, gz=False, classes=10, n_train=20, n_test=10)
    for split in ("train", "t10k"):
        for kind, rank in (("images", "idx3"), ("labels", "idx1")):
            (tmp_path / f"{split}-{kind}-{rank}-ubyte").rename(tmp_path / f"{split}-{kind}.{rank}-ubyte")
    splits = load_dataset(f"mnist:{tmp_path}", resolution=16)
    assert splits.train.tensors[0].shape == (20, 1, 16, 16)
    assert splits.num_classes == 10 and splits.name == "mnist"
    np.testing.assert_array_equal(splits.train.tensors[1].numpy(), raw["train"][1])


def test_torchvision_raw_layout(tmp_path):
    make_idx_dir(tmp_path / "FashionMNIST" / "raw", classes=10, n_train=10, n_test=10)
    splits = load_dataset(f"fashion-mnist:{tmp_path}")
    assert splits.train.tensors[0].shape == (10, 1, 8, 8) and splits.class_names[0] == "T-shirt/top"


def test_bad_magic(tmp_path):
    make_idx_dir(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x01\x08\x03" + b"\x00" * 20))
    with pytest.raises(DataError, match="bad IDX magic number 0x00010803") as excinfo:
        load_dataset(f"idx:{tmp_path}")
    one_line_error(excinfo)


def test_truncated_idx_payload(tmp_path):
    make_idx_dir(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="size mismatch") as excinfo:
        load_dataset(f"idx:{tmp_path}")
    assert "(12, 8, 8)" in one_line_error(excinfo)


def test_truncated_gzip(tmp_path):
    make_idx_dir(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataError, match="gzip") as excinfo:
        load_dataset(f"idx:{tmp_path}")
    one_line_error(excinfo)


def test_label_count_mismatch(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(DataError, match="11 labels but .* 12 images") as excinfo:
        load_dataset(f"idx:{tmp_path}")
    one_line_error(excinfo)


def test_missing_dir_names_expected_file(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_dataset(f"mnist:{tmp_path / 'nope'}")
    assert one_line_error(excinfo) == f"mnist: expected train-images-idx3-ubyte.gz in {tmp_path / 'nope'}"


def test_missing_fashion_mnist_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(nas.data.spec, "FASHION_MNIST_DIR", tmp_path / "fm")
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion-mnist")
    assert one_line_error(excinfo) == (
        f"fashion-mnist: expected train-images-idx3-ubyte.gz in {tmp_path / 'fm'} "
        "(install it with: apt-get install dataset-fashion-mnist)"
    )
