"""Image-classification datasets for short training runs, loaded from local files only.

Everything here returns in-memory torch tensors: images ``float32`` N×C×H×W, normalised
per channel with the mean/std of the train split (so their unit is "train-split standard
deviations"), and labels ``int64`` in ``[0, num_classes)``. Nothing is ever downloaded.

The one entry point most callers need is :func:`load_dataset`, driven by a spec string::

    fashion-mnist[:DIR]   IDX files, DIR defaults to /usr/share/datasets/fashion-mnist
                          (Debian package ``dataset-fashion-mnist``)
    mnist:DIR             IDX files (train-images-idx3-ubyte[.gz], ..., t10k-labels-idx1-ubyte[.gz])
    idx:DIR               same layout, any number of classes (max label + 1)
    cifar10:DIR           python pickles data_batch_1..5 + test_batch
    cifar100:DIR          python pickles train + test (fine labels)
    folder:DIR            one sub-folder per class (class index = sorted names), optionally
                          under DIR/train and DIR/test (or DIR/val)
    synthetic[:k=v,...]   seeded class-separable noise; keys: classes, channels

Subsets are stratified and seeded; the *test* subset (and the held-out part of a flat image
folder) does not depend on ``seed``, so runs with different seeds are scored on the same images.
Any missing or malformed input raises :class:`DataError` with a one-line message.
"""
from __future__ import annotations

import gzip
import math
import pickle
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

__all__ = [
    "DataError",
    "DataSpec",
    "DatasetSplits",
    "FASHION_MNIST_DIR",
    "SPEC_FORMS",
    "load_dataset",
    "make_synthetic",
    "parse_spec",
    "read_idx",
    "resize_images",
    "stratified_indices",
]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
SPEC_FORMS = (
    "fashion-mnist[:DIR], mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, "
    "synthetic[:classes=K,channels=C]"
)
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_DEFAULT_SYNTHETIC = {"classes": 4, "channels": 3, "resolution": 16, "train": 512, "test": 256}
_FOLDER_TEST_FRACTION = 0.2
_FIXED_STREAM = 0x5EED  # rng stream for seed-independent choices (test subset, folder split)
_RESIZE_CHUNK = 2048  # images resized per interpolate call, bounds peak memory


class DataError(ValueError):
    """A dataset is missing, malformed, or asked for in an unsupported way (one-line message)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``--data`` spec: ``kind`` plus a directory or synthetic options."""

    kind: str
    path: Path | None = None
    options: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSplits:
    """Normalised train/test tensors plus what a model builder needs to know.

    ``train``/``test`` are ``TensorDataset(images, labels)``; ``mean``/``std`` are the
    per-channel statistics (of pixel values scaled to [0, 1]) that were subtracted/divided.
    """

    name: str
    train: TensorDataset
    test: TensorDataset
    num_classes: int
    in_channels: int
    resolution: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] = ()
    source: str = ""

    @property
    def train_size(self) -> int:
        return len(self.train)

    @property
    def test_size(self) -> int:
        return len(self.test)


@dataclass
class _Split:
    """Labels of one split plus ``fetch(idx, R, C)``: selected images as float [0, 1] N×C×R×R."""

    labels: np.ndarray
    fetch: Callable[[np.ndarray, int, int], torch.Tensor]


@dataclass
class _Raw:
    train: _Split
    test: _Split
    num_classes: int
    class_names: tuple[str, ...]
    describe: Callable[[np.ndarray, np.ndarray], tuple[int, int]]  # (train_idx, test_idx) -> (R, C)


# --------------------------------------------------------------------------- spec


def parse_spec(spec: str) -> DataSpec:
    """Parse a ``--data`` string (see module docstring); raise DataError naming the forms."""
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind in ("fashion-mnist", "fashion_mnist", "fashionmnist"):
        return DataSpec("fashion-mnist", Path(rest).expanduser() if rest else FASHION_MNIST_DIR)
    if kind in ("mnist", "idx", "cifar10", "cifar100", "folder"):
        if not rest:
            raise DataError(f"data spec {spec!r}: {kind} needs a directory, as {kind}:DIR")
        return DataSpec(kind, Path(rest).expanduser())
    if kind == "synthetic":
        return DataSpec("synthetic", None, _parse_options(spec, rest) if sep else {})
    raise DataError(f"unknown data spec {spec!r}; expected one of: {SPEC_FORMS}")


def _parse_options(spec: str, text: str) -> dict[str, int]:
    options: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in ("classes", "channels"):
            raise DataError(f"data spec {spec!r}: synthetic options are classes=K,channels=C")
        try:
            options[key] = int(value)
        except ValueError:
            raise DataError(f"data spec {spec!r}: {key} must be an integer, got {value!r}") from None
        if options[key] < 1 or (key == "classes" and options[key] < 2):
            raise DataError(f"data spec {spec!r}: {key}={options[key]} is too small")
    return options


# --------------------------------------------------------------------------- public entry


def load_dataset(
    spec: str,
    *,
    resolution: int | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
) -> DatasetSplits:
    """Load the dataset named by ``spec`` as normalised in-memory tensors.

    ``resolution`` is the side in pixels of the square output images (default: native,
    e.g. 28 for Fashion-MNIST, 32 for CIFAR); ``train_size``/``test_size`` pick a
    stratified subset of that many images (default: all; synthetic: 512/256). The train
    subset depends on ``seed``, the test subset does not.
    """
    parsed = parse_spec(spec)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"{parsed.kind}: seed must be a non-negative integer, got {seed!r}")
    for label, value in (("resolution", resolution), ("train_size", train_size), ("test_size", test_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DataError(f"{parsed.kind}: {label} must be a positive integer, got {value!r}")
    if parsed.kind == "synthetic":
        opts = {**_DEFAULT_SYNTHETIC, **parsed.options}
        return make_synthetic(
            num_classes=opts["classes"],
            in_channels=opts["channels"],
            resolution=resolution or opts["resolution"],
            train_size=train_size or opts["train"],
            test_size=test_size or opts["test"],
            seed=seed,
        )
    assert parsed.path is not None
    raw = _load_raw(parsed.kind, parsed.path)
    train_idx = _subset(parsed.kind, "train", raw.train.labels, train_size, np.random.default_rng([seed, 0]))
    test_idx = _subset(parsed.kind, "test", raw.test.labels, test_size, np.random.default_rng([_FIXED_STREAM, 1]))
    native, channels = raw.describe(train_idx, test_idx)
    res = resolution or native
    x_train = raw.train.fetch(train_idx, res, channels)
    x_test = raw.test.fetch(test_idx, res, channels)
    mean, std = _normalize_(x_train, x_test)
    return DatasetSplits(
        name=parsed.kind,
        train=TensorDataset(x_train, torch.from_numpy(raw.train.labels[train_idx].astype(np.int64))),
        test=TensorDataset(x_test, torch.from_numpy(raw.test.labels[test_idx].astype(np.int64))),
        num_classes=raw.num_classes,
        in_channels=int(x_train.shape[1]),
        resolution=res,
        mean=mean,
        std=std,
        class_names=raw.class_names,
        source=str(parsed.path),
    )


def _load_raw(kind: str, path: Path) -> _Raw:
    if kind == "fashion-mnist":
        hint = " (install it with: apt-get install dataset-fashion-mnist)" if path == FASHION_MNIST_DIR else ""
        return _load_idx(path, name=kind, num_classes=10, class_names=FASHION_MNIST_CLASSES, hint=hint)
    if kind == "mnist":
        return _load_idx(path, name=kind, num_classes=10, class_names=tuple(str(i) for i in range(10)))
    if kind == "idx":
        return _load_idx(path, name=kind, num_classes=None, class_names=())
    if kind in ("cifar10", "cifar100"):
        return _load_cifar(path, name=kind)
    if kind == "folder":
        return _load_folder(path)
    raise DataError(f"unknown dataset kind {kind!r}; expected one of: {SPEC_FORMS}")


def _subset(name: str, split: str, labels: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None:
        return np.arange(len(labels))
    if n > len(labels):
        raise DataError(f"{name}: {split}_size {n} exceeds the {len(labels)} {split} images available")
    return stratified_indices(labels, n, rng)


# --------------------------------------------------------------------------- helpers


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator | int = 0) -> np.ndarray:
    """Pick ``n`` indices (sorted) with per-class counts proportional to class frequency.

    Counts use the largest-remainder rule, so a balanced dataset gives exactly balanced
    counts whenever ``n`` is a multiple of the number of classes.
    """
    labels = np.asarray(labels)
    if not 0 < n <= len(labels):
        raise DataError(f"cannot pick {n} of {len(labels)} samples")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (n / len(labels))
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:
        order = np.argsort(-(quota - take), kind="stable")
        take[order[:short]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == cls), size=int(k), replace=False)
        for cls, k in zip(classes, take)
        if k
    ]
    return np.sort(np.concatenate(chosen))


def resize_images(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize N×C×H×W float images to N×C×R×R (bilinear; antialiased when shrinking)."""
    n, _, h, w = images.shape
    if (h, w) == (resolution, resolution):
        return images
    shrink = resolution < max(h, w)
    out = torch.empty((n, images.shape[1], resolution, resolution), dtype=images.dtype)
    for start in range(0, n, _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK]
        out[start : start + len(chunk)] = F.interpolate(
            chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=shrink
        )
    return out


def _uint8_fetch(images: np.ndarray) -> Callable[[np.ndarray, int, int], torch.Tensor]:
    """Fetcher over an in-memory uint8 N×C×H×W array (its channel count is fixed)."""

    def fetch(idx: np.ndarray, resolution: int, _channels: int) -> torch.Tensor:
        chosen = torch.from_numpy(np.ascontiguousarray(images[idx])).float().div_(255.0)
        return resize_images(chosen, resolution)

    return fetch


def _normalize_(train: torch.Tensor, test: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Standardise both splits in place with the train split's per-channel mean/std."""
    var, mean = torch.var_mean(train, dim=(0, 2, 3), correction=0)
    std = var.sqrt().clamp_min(1e-6)
    for x in (train, test):
        x.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1))
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- IDX

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or _one_line(exc)}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({_one_line(exc)})") from None
    return data


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of its declared dtype and shape.

    The header is ``0x00 0x00 <dtype code> <ndim>`` then ``ndim`` big-endian uint32 sizes;
    the payload must be exactly ``prod(sizes) * itemsize`` bytes.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x0000 then a dtype code "
            f"such as 08 for unsigned bytes, then the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX size mismatch: header declares shape {tuple(dims)} = {expected} data bytes "
            f"but the file holds {len(raw) - header}"
        )
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _idx_file(directory: Path, split: str, kind: str, name: str, hint: str) -> Path:
    """Find one IDX file in ``directory`` (or a torchvision-style ``[MNIST|FashionMNIST/]raw``)."""
    rank = "idx3" if kind == "images" else "idx1"
    candidates = [
        f"{split}-{kind}-{rank}-ubyte.gz",
        f"{split}-{kind}-{rank}-ubyte",
        f"{split}-{kind}.{rank}-ubyte",
        f"{split}-{kind}.{rank}-ubyte.gz",
    ]
    for folder in (directory, directory / "raw", directory / "FashionMNIST" / "raw", directory / "MNIST" / "raw"):
        for candidate in candidates:
            if (folder / candidate).is_file():
                return folder / candidate
    raise DataError(f"{name}: expected {candidates[0]} in {directory}{hint}")


def _load_idx(
    directory: Path, *, name: str, num_classes: int | None, class_names: tuple[str, ...], hint: str = ""
) -> _Raw:
    splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in ("train", "t10k"):
        img_path = _idx_file(directory, split, "images", name, hint)
        lbl_path = _idx_file(directory, split, "labels", name, hint)
        images, labels = read_idx(img_path), read_idx(lbl_path)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise DataError(f"{img_path}: expected unsigned-byte images N×H×W[×C], got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(f"{lbl_path}: expected a 1-D integer label vector, got {labels.dtype} {labels.shape}")
        if len(labels) != len(images):
            raise DataError(f"{name}: {lbl_path.name} has {len(labels)} labels but {img_path.name} has {len(images)} images")
        if len(labels) == 0:
            raise DataError(f"{img_path}: holds no images")
        images = images[:, None] if images.ndim == 3 else np.moveaxis(images, -1, 1)
        splits[split] = (images, labels.astype(np.int64))
    top = int(max(splits["train"][1].max(), splits["t10k"][1].max()))
    low = int(min(splits["train"][1].min(), splits["t10k"][1].min()))
    n_classes = num_classes if num_classes is not None else top + 1
    if low < 0 or top >= n_classes:
        raise DataError(f"{name}: labels in {directory} span {low}..{top}, expected 0..{n_classes - 1}")
    if splits["train"][0].shape[1:] != splits["t10k"][0].shape[1:]:
        raise DataError(f"{name}: train and t10k images differ in shape in {directory}")
    _, channels, height, width = splits["train"][0].shape
    return _Raw(
        train=_Split(splits["train"][1], _uint8_fetch(splits["train"][0])),
        test=_Split(splits["t10k"][1], _uint8_fetch(splits["t10k"][0])),
        num_classes=n_classes,
        class_names=class_names or tuple(str(i) for i in range(n_classes)),
        describe=lambda _a, _b: (max(height, width), channels),
    )


# --------------------------------------------------------------------------- CIFAR


class _CifarUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays, so a hostile pickle cannot run code."""

    _ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):  # pickles written by numpy < 2
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            obj = _CifarUnpickler(fh, encoding="bytes").load()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or _one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise DataError(f"{path}: not a CIFAR python pickle ({_one_line(exc)})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _read_pickle(path)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: expected keys b'data' and b'{label_key}', found {sorted(batch)}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: expected b'data' as uint8 N×3072, got {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise DataError(f"{path}: {len(data)} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32), labels


def _load_cifar(directory: Path, *, name: str) -> _Raw:
    if name == "cifar10":
        train_files = [f"data_batch_{i}" for i in range(1, 6)]
        test_file, label_key, meta_file, names_key, subdir, n_classes = (
            "test_batch", "labels", "batches.meta", "label_names", "cifar-10-batches-py", 10,
        )
        expected = "data_batch_1..5 and test_batch"
    else:
        train_files = ["train"]
        test_file, label_key, meta_file, names_key, subdir, n_classes = (
            "test", "fine_labels", "meta", "fine_label_names", "cifar-100-python", 100,
        )
        expected = "train and test"
    if not (directory / train_files[0]).is_file() and (directory / subdir / train_files[0]).is_file():
        directory = directory / subdir
    for file in [*train_files, test_file]:
        if not (directory / file).is_file():
            raise DataError(f"{name}: expected {file} in {directory} (the python pickles {expected}, extracted)")
    parts = [_cifar_batch(directory / f, label_key) for f in train_files]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _cifar_batch(directory / test_file, label_key)
    for labels, where in ((y_train, "train"), (y_test, "test")):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise DataError(f"{name}: {where} labels in {directory} span {labels.min()}..{labels.max()}, expected 0..{n_classes - 1}")
    class_names = tuple(str(i) for i in range(n_classes))
    if (directory / meta_file).is_file():
        meta = _read_pickle(directory / meta_file).get(names_key)
        if isinstance(meta, list) and len(meta) == n_classes:
            class_names = tuple(m.decode() if isinstance(m, bytes) else str(m) for m in meta)
    return _Raw(
        train=_Split(y_train, _uint8_fetch(x_train)),
        test=_Split(y_test, _uint8_fetch(x_test)),
        num_classes=n_classes,
        class_names=class_names,
        describe=lambda _a, _b: (32, 3),
    )


# --------------------------------------------------------------------------- image folder

_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


def _class_files(root: Path) -> dict[str, list[Path]]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found: dict[str, list[Path]] = {}
    for cls in classes:
        files = sorted(
            p for p in cls.rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise DataError(f"folder: class directory {cls} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        found[cls.name] = files
    return found


def _load_folder(root: Path) -> _Raw:
    if not root.is_dir():
        raise DataError(f"folder: expected a directory with one sub-folder per class at {root}")
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        train_map, test_map = _class_files(root / "train"), _class_files(test_dir)
        names = sorted(train_map)
        unknown = sorted(set(test_map) - set(train_map))
        if unknown:
            raise DataError(f"folder: {test_dir} has classes missing from {root / 'train'}: {', '.join(unknown[:5])}")
        index = {n: i for i, n in enumerate(names)}
        train_items = [(p, index[n]) for n in names for p in train_map[n]]
        test_items = [(p, index[n]) for n in sorted(test_map) for p in test_map[n]]
    else:
        class_map = _class_files(root)
        names = sorted(class_map)
        items = [(p, i) for i, n in enumerate(names) for p in class_map[n]]
        train_items, test_items = _split_items(items, np.random.default_rng([_FIXED_STREAM, 2]))
    if len(names) < 2:
        raise DataError(f"folder: expected at least 2 class sub-folders in {root}, found {len(names)}")
    if not train_items or not test_items:
        raise DataError(f"folder: too few images in {root} to hold out a test split")
    train_paths = [p for p, _ in train_items]
    test_paths = [p for p, _ in test_items]

    def describe(train_idx: np.ndarray, test_idx: np.ndarray) -> tuple[int, int]:
        modes, sides = set(), []
        for path in [train_paths[i] for i in train_idx] + [test_paths[i] for i in test_idx]:
            with _open_image(path) as img:  # header only; pixels are decoded by fetch
                modes.add(img.mode)
                sides.append(min(img.size))
        return min(sides), (1 if modes <= _GRAY_MODES else 3)

    def make_fetch(paths: list[Path]) -> Callable[[np.ndarray, int, int], torch.Tensor]:
        def fetch(idx: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
            out = torch.empty((len(idx), channels, resolution, resolution), dtype=torch.float32)
            for row, i in enumerate(idx):
                out[row] = _decode(paths[int(i)], channels, resolution)
            return out

        return fetch

    return _Raw(
        train=_Split(np.array([y for _, y in train_items], dtype=np.int64), make_fetch(train_paths)),
        test=_Split(np.array([y for _, y in test_items], dtype=np.int64), make_fetch(test_paths)),
        num_classes=len(names),
        class_names=tuple(names),
        describe=describe,
    )


def _split_items(
    items: list[tuple[Path, int]], rng: np.random.Generator
) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    """Hold out ~20 % of each class (at least one image where a class has two or more)."""
    labels = np.array([y for _, y in items])
    test = np.zeros(len(items), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        k = max(1, round(_FOLDER_TEST_FRACTION * len(members))) if len(members) >= 2 else 0
        test[rng.choice(members, size=k, replace=False)] = True
    return [it for it, t in zip(items, test) if not t], [it for it, t in zip(items, test) if t]


def _open_image(path: Path) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(path)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"folder: cannot read image {path} ({_one_line(exc)})") from None


def _decode(path: Path, channels: int, resolution: int) -> torch.Tensor:
    """Decode one image to C×R×R float [0, 1]: shorter side resized to R, then centre-cropped."""
    with _open_image(path) as img:
        try:
            img = img.convert("L" if channels == 1 else "RGB")
        except OSError as exc:
            raise DataError(f"folder: cannot decode image {path} ({_one_line(exc)})") from None
        array = np.asarray(img, dtype=np.uint8)
    tensor = torch.from_numpy(array.copy()).float().div_(255.0)
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    h, w = tensor.shape[1:]
    scale = resolution / min(h, w)
    new_h, new_w = max(resolution, round(h * scale)), max(resolution, round(w * scale))
    if (new_h, new_w) != (h, w):
        tensor = F.interpolate(
            tensor[None], size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=scale < 1
        )[0]
    top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
    return tensor[:, top : top + resolution, left : left + resolution]


# --------------------------------------------------------------------------- synthetic


def make_synthetic(
    *,
    num_classes: int = 4,
    in_channels: int = 3,
    resolution: int = 16,
    train_size: int = 512,
    test_size: int = 256,
    noise: float = 0.5,
    seed: int = 0,
) -> DatasetSplits:
    """Seeded, class-separable images with balanced (round-robin) labels.

    Class ``k`` is a sinusoidal grating of orientation ``k·π/num_classes`` (period 4 px,
    random phase per image, amplitude 1), added to a smooth random per-class prototype
    (uniform [0, 1], 4×4 upsampled), plus Gaussian pixel noise of std ``noise``: a linear
    model can use the prototypes, a pooled CNN the translation-invariant gratings.
    """
    if num_classes < 2 or in_channels < 1 or resolution < 1 or train_size < 1 or test_size < 1:
        raise DataError("synthetic: need classes >= 2 and positive channels, resolution and sizes")
    gen = torch.Generator().manual_seed(int(seed))
    coarse = torch.rand((num_classes, in_channels, 4, 4), generator=gen)
    prototypes = F.interpolate(coarse, size=(resolution, resolution), mode="bilinear", align_corners=False)
    angles = torch.arange(num_classes, dtype=torch.float32) * (math.pi / num_classes)
    axis = torch.arange(resolution, dtype=torch.float32)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.arange(n) % num_classes)[torch.randperm(n, generator=gen)]
        phase = torch.rand((n, 1, 1), generator=gen) * (2 * math.pi)
        theta = angles[labels].view(n, 1, 1)
        grating = 1.0 * torch.sin((2 * math.pi / 4.0) * (xx * torch.cos(theta) + yy * torch.sin(theta)) + phase)
        images = prototypes[labels] + grating[:, None]
        images += noise * torch.randn((n, in_channels, resolution, resolution), generator=gen)
        return images, labels.to(torch.int64)

    x_train, y_train = draw(train_size)
    x_test, y_test = draw(test_size)
    mean, std = _normalize_(x_train, x_test)
    return DatasetSplits(
        name="synthetic",
        train=TensorDataset(x_train, y_train),
        test=TensorDataset(x_test, y_test),
        num_classes=num_classes,
        in_channels=in_channels,
        resolution=resolution,
        mean=mean,
        std=std,
        class_names=tuple(f"class{i}" for i in range(num_classes)),
        source=f"synthetic(seed={seed})",
    )
