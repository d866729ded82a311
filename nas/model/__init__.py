"""Architecture → model → static costs: the MobileNet-family blocks (:mod:`~nas.model.blocks`), the one
builder (:mod:`~nas.model.builder`), parameters / MACs (:mod:`~nas.model.cost`) and activation memory
(:mod:`~nas.model.memory`).

    >>> from nas.model import build_model, count_params
    >>> count_params(build_model("mobilenet_v2"))
    3504872
"""
from __future__ import annotations

from nas.model.builder import ArchNet, build_block, build_layer, build_model, example_input
from nas.model.cost import CostSummary, arch_macs, count_macs, count_params, layer_macs, macs_by_module, summary
from nas.model.memory import activation_bytes, measure_activation_bytes

__all__ = ["ArchNet", "CostSummary", "activation_bytes", "arch_macs", "build_block", "build_layer", "build_model",
           "count_macs", "count_params", "example_input", "layer_macs", "macs_by_module", "measure_activation_bytes",
           "summary"]
