"""Reference networks as BlockArgs YAML (package data), loadable by name.

    >>> import nas
    >>> nas.zoo.names()[:3]
    ['efficientnet_b0', 'mnasnet_a1', 'mnasnet_b1']
    >>> nas.zoo.load("mnasnet_a1").blocks[2].se_ratio
    0.25

Each file reproduces a published implementation's structure exactly (parameter counts are asserted in
``tests/arch/test_zoo.py``): torchvision's mobilenet_v2, mobilenet_v3_large/small, mnasnet1_0 (= MnasNet-B1),
efficientnet_b0 and shufflenet_v2_x1_0; the TF/timm MnasNet-A1; the original MobileNetV1 (as timm's arch def).
The files live in ``nas/arch/zoo/``; this module is their public face. Each file's opening comment names its
source and the two conventions that are not structure:

* BatchNorm (PyTorch's momentum, 1 − TensorFlow's decay). TensorFlow's eps 1e-3 / momentum 0.01:
  efficientnet_b0 (as the TF reference and timm's ``tf_efficientnet_b0``; torchvision's efficientnet_b0 uses
  PyTorch's defaults 1e-5 / 0.1), mnasnet_a1, mobilenet_v3_large and mobilenet_v3_small (torchvision's own
  choice for MobileNetV3). torchvision's MNASNet: eps 1e-5, momentum 0.0003 (mnasnet_b1). PyTorch's defaults
  1e-5 / 0.1: mobilenet_v1, mobilenet_v2, shufflenet_v2_x1_0.
* How the width multiplier reaches the head (``head.width_rule``): scaled for efficientnet_b0,
  mobilenet_v3_large and mobilenet_v3_small (and shufflenet_v2_x1_0, by default), fixed at 1280 for
  mnasnet_a1 and mnasnet_b1, grown but never shrunk for mobilenet_v2 — so
  ``load("mobilenet_v2").replace(width_multiplier=0.5)`` has torchvision's 1,968,680 parameters.
  mobilenet_v1 has no head conv.
"""
from __future__ import annotations

from nas.arch.io import load_zoo as load
from nas.arch.io import zoo_names as names
from nas.arch.io import zoo_path as path

__all__ = ["load", "names", "path"]
