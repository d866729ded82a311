"""Architecture → model → static costs: the MobileNet-family blocks (:mod:`~nas.model.blocks`), the one
builder (:mod:`~nas.model.builder`) and parameters / MACs / activation memory (:mod:`~nas.model.cost`).

    >>> from nas.model import build_model, count_params
    >>> count_params(build_model("mobilenet_v2"))
    3504872
"""
from __future__ import annotations

from nas.model.builder import ArchNet, build_block, build_layer, build_model, example_input
from nas.model.cost import (CostSummary, activation_bytes, arch_macs, count_macs, count_params, layer_macs,
                            macs_by_module, summary)

__all__ = ["ArchNet", "CostSummary", "activation_bytes", "arch_macs", "build_block", "build_layer", "build_model",
           "count_macs", "count_params", "example_input", "layer_macs", "macs_by_module", "summary"]
