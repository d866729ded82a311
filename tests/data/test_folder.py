"""nas.data.folder: image folders of PNG files written here, loaded through load_dataset."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data.helpers import denormalize, one_line_error

from nas.data.load import load_dataset
from nas.data.spec import DataError


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
