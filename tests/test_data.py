"""nas.data: every loader on tiny files written here in the real on-disk formats."""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import nas.data as data_mod
from nas.data import (
    DataError,
    load_dataset,
    make_synthetic,
    parse_spec,
    read_idx,
    resize_images,
    stratified_indices,
)


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: 0x0000, dtype code, ndim, big-endian uint32 dims, big-endian payload."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return header + array.astype(dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, code: int = 0x08) -> Path:
    raw = idx_bytes(array, code)
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)
    return path


def make_idx_dir(root: Path, *, gz: bool = True, n_train: int = 12, n_test: int = 6, classes: int = 3, side: int = 8):
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = (np.arange(n) % classes).astype(np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte{ext}", images)
        write_idx(root / f"{split}-labels-idx1-ubyte{ext}", labels)
        out[split] = (images, labels)
    return out


def denormalize(x: torch.Tensor, splits) -> torch.Tensor:
    mean = torch.tensor(splits.mean).view(1, -1, 1, 1)
    std = torch.tensor(splits.std).view(1, -1, 1, 1)
    return x * std + mean


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message and message
    return message


# --------------------------------------------------------------------------- IDX


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
    monkeypatch.setattr(data_mod, "FASHION_MNIST_DIR", tmp_path / "fm")
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion-mnist")
    assert one_line_error(excinfo) == (
        f"fashion-mnist: expected train-images-idx3-ubyte.gz in {tmp_path / 'fm'} "
        "(install it with: apt-get install dataset-fashion-mnist)"
    )


# --------------------------------------------------------------------------- CIFAR


def cifar_images(n: int, offset: int) -> np.ndarray:
    """n images whose R, G, B planes are constant 10·i+offset, +1, +2 (row-major planes)."""
    planes = [np.full((n, 1024), 0, dtype=np.uint8) for _ in range(3)]
    for i in range(n):
        for c in range(3):
            planes[c][i] = (10 * i + offset + c) % 256
    return np.concatenate(planes, axis=1)


def write_pickle(path: Path, obj: object) -> None:
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=2)  # the real files are Python-2 pickles


def test_cifar10_loader(tmp_path):
    for i in range(1, 6):
        write_pickle(tmp_path / f"data_batch_{i}", {b"batch_label": b"x", b"data": cifar_images(2, 20 * i), b"labels": [i % 10, (i + 5) % 10]})
    write_pickle(tmp_path / "test_batch", {b"data": cifar_images(3, 7), b"labels": [0, 1, 2]})
    write_pickle(tmp_path / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]})
    splits = load_dataset(f"cifar10:{tmp_path}")
    x, y = splits.train.tensors
    assert x.shape == (10, 3, 32, 32) and splits.test.tensors[0].shape == (3, 3, 32, 32)
    assert y.tolist() == [1, 6, 2, 7, 3, 8, 4, 9, 5, 0]
    assert (splits.num_classes, splits.in_channels, splits.resolution) == (10, 3, 32)
    assert splits.class_names[3] == "c3"
    pixels = denormalize(x, splits) * 255  # image 1 of batch 1: planes 30, 31, 32
    torch.testing.assert_close(pixels[1, :, 5, 7], torch.tensor([30.0, 31.0, 32.0]), atol=1e-3, rtol=0)


def test_cifar100_loader_in_extracted_subdir(tmp_path):
    sub = tmp_path / "cifar-100-python"
    sub.mkdir()
    write_pickle(sub / "train", {b"data": cifar_images(4, 0), b"fine_labels": [99, 0, 5, 5], b"coarse_labels": [1, 2, 3, 4]})
    write_pickle(sub / "test", {b"data": cifar_images(2, 1), b"fine_labels": [7, 8]})
    splits = load_dataset(f"cifar100:{tmp_path}", resolution=16)
    assert splits.train.tensors[0].shape == (4, 3, 16, 16)
    assert splits.train.tensors[1].tolist() == [99, 0, 5, 5] and splits.num_classes == 100


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(DataError, match="expected data_batch_1 in") as excinfo:
        load_dataset(f"cifar10:{tmp_path}")
    one_line_error(excinfo)
    write_pickle(tmp_path / "train", {b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]})
    write_pickle(tmp_path / "test", {b"data": cifar_images(1, 0), b"fine_labels": [0]})
    with pytest.raises(DataError, match="uint8 N×3072") as excinfo:
        load_dataset(f"cifar100:{tmp_path}")
    one_line_error(excinfo)
    (tmp_path / "train").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="not a CIFAR python pickle"):
        load_dataset(f"cifar100:{tmp_path}")


class _Evil:
    def __reduce__(self):
        import os

        return (os.getcwd, ())


def test_cifar_pickle_cannot_run_code(tmp_path):
    write_pickle(tmp_path / "train", {b"data": _Evil(), b"fine_labels": [0]})
    write_pickle(tmp_path / "test", {b"data": cifar_images(1, 0), b"fine_labels": [0]})
    with pytest.raises(DataError, match="refusing to load posix.getcwd|refusing to load os.getcwd"):
        load_dataset(f"cifar100:{tmp_path}")


# --------------------------------------------------------------------------- image folder


def save_png(path: Path, color, size=(12, 10), mode="RGB") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_folder_with_train_test(tmp_path):
    colors = {"b_cat": (255, 0, 0), "a_dog": (0, 0, 255)}
    for split, n in (("train", 3), ("val", 2)):
        for name, color in colors.items():
            for i in range(n):
                save_png(tmp_path / split / name / f"{i}.png", color)
    (tmp_path / "train" / "a_dog" / "notes.txt").write_text("ignored")
    splits = load_dataset(f"folder:{tmp_path}", resolution=8)
    x, y = splits.train.tensors
    assert x.shape == (6, 3, 8, 8) and splits.test.tensors[0].shape == (4, 3, 8, 8)
    assert splits.class_names == ("a_dog", "b_cat") and y.tolist() == [0, 0, 0, 1, 1, 1]
    pixels = denormalize(x, splits)
    torch.testing.assert_close(pixels[0, :, 3, 3], torch.tensor([0.0, 0.0, 1.0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(pixels[5, :, 3, 3], torch.tensor([1.0, 0.0, 0.0]), atol=1e-5, rtol=0)


def test_flat_folder_grayscale_is_split_and_native_size(tmp_path):
    for name, value in (("x", 10), ("y", 200)):
        for i in range(5):
            save_png(tmp_path / name / f"{i}.PNG", value, size=(9, 7), mode="L")
    splits = load_dataset(f"folder:{tmp_path}")
    assert splits.in_channels == 1 and splits.resolution == 7
    assert splits.train_size == 8 and splits.test_size == 2
    assert sorted(splits.test.tensors[1].tolist()) == [0, 1]
    again = load_dataset(f"folder:{tmp_path}", seed=5)
    assert torch.equal(again.test.tensors[0], splits.test.tensors[0])  # held-out split is seed-independent


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="one sub-folder per class") as excinfo:
        load_dataset(f"folder:{tmp_path / 'missing'}")
    one_line_error(excinfo)
    save_png(tmp_path / "a" / "0.png", 0)
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match="has no images"):
        load_dataset(f"folder:{tmp_path}")
    for i in range(3):
        save_png(tmp_path / "b" / f"{i}.png", 9)
        save_png(tmp_path / "a" / f"{i}.png", 0)
    (tmp_path / "a" / "1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="cannot read image") as excinfo:
        load_dataset(f"folder:{tmp_path}", resolution=4)
    one_line_error(excinfo)


# --------------------------------------------------------------------------- subsets, resize, synthetic, spec


def test_stratified_indices_balanced_and_proportional():
    labels = np.repeat(np.arange(10), 60)
    idx = stratified_indices(labels, 100, 3)
    assert np.bincount(labels[idx]).tolist() == [10] * 10
    assert np.array_equal(idx, stratified_indices(labels, 100, 3)) and np.all(np.diff(idx) > 0)
    skewed = np.array([0] * 80 + [1] * 15 + [2] * 5)
    assert np.bincount(skewed[stratified_indices(skewed, 20, 0)]).tolist() == [16, 3, 1]


def test_train_subset_depends_on_seed_test_subset_does_not(tmp_path):
    make_idx_dir(tmp_path, n_train=30, n_test=30)
    a = load_dataset(f"idx:{tmp_path}", train_size=9, test_size=6, seed=0)
    b = load_dataset(f"idx:{tmp_path}", train_size=9, test_size=6, seed=1)
    assert np.bincount(a.train.tensors[1].numpy()).tolist() == [3, 3, 3]
    assert not torch.equal(a.train.tensors[0], b.train.tensors[0])
    assert torch.equal(a.test.tensors[1], b.test.tensors[1])
    with pytest.raises(DataError, match="train_size 31 exceeds the 30 train images"):
        load_dataset(f"idx:{tmp_path}", train_size=31)


def test_resize_antialiases_when_shrinking():
    noise = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    small = resize_images(noise, 8)
    assert small.shape == (1, 1, 8, 8)
    assert float(small.std()) < 0.2  # plain bilinear would keep ~0.5 of the unit std (2×2 taps)
    assert resize_images(noise, 64) is noise
    assert resize_images(noise, 96).shape == (1, 1, 96, 96)


def test_synthetic_seeded_balanced():
    a = make_synthetic(num_classes=4, in_channels=2, resolution=8, train_size=40, test_size=20, seed=3)
    b = load_dataset("synthetic:classes=4,channels=2", resolution=8, train_size=40, test_size=20, seed=3)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0]) and torch.equal(a.test.tensors[1], b.test.tensors[1])
    assert a.train.tensors[0].shape == (40, 2, 8, 8)
    assert np.bincount(a.train.tensors[1].numpy()).tolist() == [10] * 4
    c = make_synthetic(num_classes=4, in_channels=2, resolution=8, train_size=40, test_size=20, seed=4)
    assert not torch.equal(a.train.tensors[0], c.train.tensors[0])


def test_parse_spec():
    assert parse_spec("fashion-mnist") == data_mod.DataSpec("fashion-mnist", data_mod.FASHION_MNIST_DIR)
    assert parse_spec("cifar10:/x/y").path == Path("/x/y")
    assert parse_spec("synthetic:classes=3").options == {"classes": 3}
    for bad, pattern in (
        ("imagenet:/data", "expected one of: fashion-mnist"),
        ("mnist", "needs a directory"),
        ("synthetic:colors=3", "synthetic options"),
    ):
        with pytest.raises(DataError, match=pattern) as excinfo:
            parse_spec(bad)
        one_line_error(excinfo)


# --------------------------------------------------------------------------- the real dataset


@pytest.mark.skipif(
    not (data_mod.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_stratified_subset():
    splits = load_dataset("fashion-mnist", train_size=1000, test_size=500, seed=0)
    x, y = splits.train.tensors
    assert x.shape == (1000, 1, 28, 28) and splits.test.tensors[0].shape == (500, 1, 28, 28)
    assert splits.num_classes == 10 and splits.class_names[9] == "Ankle boot"
    assert np.bincount(y.numpy(), minlength=10).tolist() == [100] * 10
    assert np.bincount(splits.test.tensors[1].numpy(), minlength=10).tolist() == [50] * 10
    assert 0.2 < splits.mean[0] < 0.4 and 0.25 < splits.std[0] < 0.45  # Fashion-MNIST: ~0.286 / ~0.353
