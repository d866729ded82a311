"""Architecture as data: the BlockArgs / Arch dataclasses (:mod:`~nas.arch.spec`), the rules of their fields
(:mod:`~nas.arch.fields`), parsing plain data (:mod:`~nas.arch.check`), YAML files and the zoo
(:mod:`~nas.arch.io`), block strings (:mod:`~nas.arch.strings`), the resolved layers a model is built from
(:mod:`~nas.arch.layers`) and the architecture key (:mod:`~nas.arch.key`).

    >>> from nas.arch import load_arch, dump_arch, arch_key
    >>> arch = load_arch("mnasnet_b1")
    >>> len(arch.blocks), arch.head.filters
    (7, 1280)
"""
from __future__ import annotations

from nas.arch.check import arch_from_dict, block_from_dict
from nas.arch.io import dump_arch, load_arch, load_zoo, zoo_names, zoo_path
from nas.arch.key import arch_key
from nas.arch.layers import Layer, resolve
from nas.arch.spec import (ACTIVATIONS, BLOCK_KINDS, HEAD_WIDTH_RULES, KERNELS, Arch, ArchError, BlockArgs, HeadArgs,
                           SEArgs, StemArgs, expanded_width, make_divisible, validate)
from nas.arch.strings import FORMATS, decode_block, encode_block, from_strings, to_strings

__all__ = [
    "ACTIVATIONS", "BLOCK_KINDS", "FORMATS", "HEAD_WIDTH_RULES", "KERNELS", "Arch", "ArchError", "BlockArgs",
    "HeadArgs", "Layer", "SEArgs", "StemArgs", "arch_from_dict", "arch_key", "block_from_dict", "decode_block",
    "dump_arch", "encode_block", "expanded_width", "from_strings", "load_arch", "load_zoo", "make_divisible",
    "resolve", "to_strings", "validate", "zoo_names", "zoo_path",
]
