"""Activation memory of batch-1 inference: the peak bytes of the tensors alive at once.

Two ways to the same number:

* :func:`measure_activation_bytes` runs one inference forward pass under a tensor-lifetime tracker (a
  ``TorchDispatchMode`` that adds the storage of every tensor an op returns and drops it when the last tensor
  on it dies); parameters and buffers are not activations and are left out, the input is in. It works for
  any module, is exact for what it counts, and deterministic on CPU (allocator slack and a kernel's private
  workspace are not tensors, so they are not counted).
* :func:`activation_bytes` is the same peak counted from the resolved layers (:func:`nas.arch.layers.resolve`)
  without running anything: what each block keeps alive while it works (its input, the expanded tensor and
  the depthwise output, the SE's pooled vectors, both branches and the concatenation of a shuffle unit, the
  input kept for the residual add), plus what the network around it keeps alive — the model input (the
  caller's), the stem output (the argument of ``model.blocks`` until the last stage returns) and the current
  stage's input. tests/model/test_memory.py checks it against the measurement, byte for byte.

    >>> from nas.model.memory import activation_bytes
    >>> round(activation_bytes("mobilenet_v3_small") / 2**20, 2)  # MiB at 224 px
    3.25
"""
from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from nas.arch.io import load_arch
from nas.arch.layers import Layer, conv_out_size, resolve
from nas.arch.spec import Arch

__all__ = ["LiveTensors", "activation_bytes", "activation_elements", "layer_peak_elements",
           "measure_activation_bytes"]


class LiveTensors(TorchDispatchMode):
    """Sums the bytes of the live tensors op by op and keeps the peak (``peak``, ``current``).

    A storage counts from the op that returns it until the last tensor on it is garbage; storages in
    ``exclude`` (by data pointer: parameters, buffers) never count. :meth:`hold` counts a tensor made
    outside the mode (the input)."""

    def __init__(self, exclude: set[int] = frozenset()):
        super().__init__()
        self.exclude = set(exclude)
        self.live: dict[int, list[int]] = {}  # data pointer -> [bytes, tensors on it]
        self.current = self.peak = 0

    def hold(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key == 0 or key in self.exclude:
            return
        entry = self.live.setdefault(key, [storage.nbytes(), 0])
        if entry[1] == 0:
            self.current += entry[0]
            self.peak = max(self.peak, self.current)
        entry[1] += 1
        weakref.finalize(tensor, self._release, key)

    def _release(self, key: int) -> None:
        entry = self.live[key]
        entry[1] -= 1
        if entry[1] == 0:
            del self.live[key]
            self.current -= entry[0]

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.hold(t)
        return out


def measure_activation_bytes(model: nn.Module, resolution: int, in_channels: int | None = None) -> int:
    """The measured peak of the live activation tensors (input included, parameters and buffers not) during
    one batch-1 inference forward pass at ``resolution`` in eval mode (the mode is restored)."""
    if in_channels is None:
        arch = getattr(model, "arch", None)
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        in_channels = arch.in_channels if arch is not None else conv.in_channels if conv is not None else 3
    param = next(model.parameters(), None)
    x = torch.zeros(1, in_channels, resolution, resolution, device=param.device if param is not None else "cpu")
    tracker = LiveTensors({t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())})
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            tracker.hold(x)
            with tracker:
                model(x)
    finally:
        model.train(was_training)
    return tracker.peak


def _area(layer: Layer) -> tuple[int, int]:
    """Pixels at the layer's input and after its (strided) conv, before any pool."""
    return layer.input_size ** 2, conv_out_size(layer.input_size, layer.kernel_size, layer.stride) ** 2


def layer_peak_elements(layer: Layer) -> int:
    """The most elements one block (or the head) keeps alive at once, its input included and nothing the
    network holds around it; the head's input is the last block's output.

    Long because it is the one place that mirrors each block's forward (nas/model/blocks.py) tensor by
    tensor: a ConvBnAct holds its input, the conv output and the norm output (activations are in place), and
    a call's argument lives until the call returns.
    """
    a_in, a_out = _area(layer)
    i, o, mid = layer.in_chs * a_in, layer.out_chs * a_out, layer.mid_chs
    kind, skip = layer.kind, [i + 2 * o] if layer.skip else []
    if kind == "head":
        conv = mid * a_in
        pooled = mid or layer.in_chs
        steps = [i + 2 * conv, i + conv + pooled] if mid else [i + pooled]
        width = layer.hidden or pooled
        steps += [i + pooled + layer.hidden] if layer.hidden else []
        return max(steps + [i + width + layer.out_chs])
    if kind == "conv":
        return max([i + 2 * o] + skip)
    if kind in ("mbconv", "ds"):
        expand = kind == "mbconv" and mid != layer.in_chs
        e, d = (mid * a_in if expand else 0), (mid if kind == "mbconv" else layer.in_chs) * a_out
        steps = [i + 2 * e] if expand else []
        steps += [i + e + 2 * d, i + d + 2 * o]
        if layer.se_chs:  # SE(d): the pooled vector, squeeze, excite and gate outputs, then x * gate
            c = d // a_out
            steps += [i + d + 2 * c + layer.se_chs, i + 2 * d + 2 * c]
        return max(steps + skip)
    half = layer.out_chs // 2
    h_out = half * a_out
    if layer.in_chs == layer.out_chs and layer.stride == 1:  # split unit: half passes, half is transformed
        return max(i + 3 * h_out, i + h_out + o, i + 2 * o)
    d1, h_in = layer.in_chs * a_out, half * a_in  # branch 1 (dw, pw), then branch 2 with branch 1's output held
    return max(i + 2 * d1, i + d1 + 2 * h_out, i + h_out + 2 * h_in, i + h_out + h_in + 2 * h_out,
               i + 4 * h_out, i + 2 * o)


def _stem_peak(stem: Layer) -> tuple[int, int]:
    """(peak elements with the input, the stem output's elements)."""
    a_in, a_conv = _area(stem)
    x, conv = stem.in_chs * a_in, stem.out_chs * a_conv
    if stem.pool == "none":
        return x + 2 * conv, conv
    pooled = stem.out_chs * stem.output_size ** 2
    return max(x + 2 * conv, x + conv + pooled), pooled


def activation_elements(layers: Sequence[Layer]) -> int:
    """The peak elements alive at once in an :class:`~nas.model.builder.ArchNet` built from ``layers``
    (stem, blocks, head as :func:`~nas.arch.layers.resolve` gives them)."""
    stem, body, head = layers[0], layers[1:-1], layers[-1]
    x = stem.in_chs * stem.input_size ** 2
    peak, s = _stem_peak(stem)
    stage_input = s
    for layer in body:
        if layer.index == 0:
            stage_input = layer.in_chs * layer.input_size ** 2
        held = x + (s if (layer.stage, layer.index) != (0, 0) else 0)
        if layer.index > 0 and layer.stage > 0:
            held += stage_input
        peak = max(peak, held + layer_peak_elements(layer))
    return max(peak, x + layer_peak_elements(head))


def activation_bytes(model_or_arch: nn.Module | Arch | str | Path | Mapping[str, Any], resolution: int | None = None,
                     in_channels: int | None = None, bytes_per_element: int = 4) -> int:
    """Peak activation memory of batch-1 inference, in bytes (float32 by default).

    For an architecture or a model built from one (it has ``.arch``) it is counted from the resolved layers
    (see the module docstring); for any other module it is :func:`measure_activation_bytes`. ``resolution``
    defaults to the arch's (224 for a plain module); ``in_channels`` to the arch's.
    """
    if isinstance(model_or_arch, nn.Module) and getattr(model_or_arch, "arch", None) is None:
        return measure_activation_bytes(model_or_arch, resolution or 224, in_channels)
    arch = model_or_arch.arch if isinstance(model_or_arch, nn.Module) else load_arch(model_or_arch)
    if in_channels is not None and in_channels != arch.in_channels:
        arch = arch.replace(in_channels=in_channels)
    return activation_elements(resolve(arch, resolution)) * bytes_per_element
