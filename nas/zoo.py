"""Reference networks as BlockArgs YAML (package data), loadable by name.

    >>> import nas
    >>> nas.zoo.names()[:3]
    ['efficientnet_b0', 'mnasnet_a1', 'mnasnet_b1']
    >>> nas.zoo.load("mnasnet_a1").blocks[2].se_ratio
    0.25

Each file reproduces a published implementation's structure exactly (parameter counts are asserted in
``tests/arch/test_zoo.py``): torchvision's mobilenet_v2, mobilenet_v3_large/small, mnasnet1_0 (= MnasNet-B1),
efficientnet_b0 and shufflenet_v2_x1_0; the TF/timm MnasNet-A1; the original MobileNetV1. The files live in
``nas/arch/zoo/``; this module is their public face.
"""
from __future__ import annotations

from nas.arch.io import load_zoo as load
from nas.arch.io import zoo_names as names
from nas.arch.io import zoo_path as path

__all__ = ["load", "names", "path"]
