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

Modules: :mod:`~nas.data.spec` (spec strings, DataError, constants), :mod:`~nas.data.load`
(:func:`load_dataset`), :mod:`~nas.data.splits` (DatasetSplits, stratified subsets,
normalisation), :mod:`~nas.data.raw` (what readers return, image resize), the readers
:mod:`~nas.data.idx`, :mod:`~nas.data.cifar`, :mod:`~nas.data.folder`, and
:mod:`~nas.data.synthetic`.
"""
from __future__ import annotations

from nas.data.idx import read_idx
from nas.data.load import load_dataset
from nas.data.raw import resize_images
from nas.data.spec import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    IMAGE_EXTENSIONS,
    SPEC_FORMS,
    DataError,
    DataSpec,
    parse_spec,
)
from nas.data.splits import DatasetSplits, stratified_indices
from nas.data.synthetic import make_synthetic

__all__ = [
    "DataError",
    "DataSpec",
    "DatasetSplits",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "IMAGE_EXTENSIONS",
    "SPEC_FORMS",
    "load_dataset",
    "make_synthetic",
    "parse_spec",
    "read_idx",
    "resize_images",
    "stratified_indices",
]
