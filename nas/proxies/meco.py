"""MeCo: the minimum eigenvalue of the channel correlation matrix of each feature map.

Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum Eigenvalue of
Correlation", NeurIPS 2023 (reference code: HamsterMimi/MeCo).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.modules.conv import _ConvNd

from nas.proxies.base import Proxy, ProxyError, check_finite, model_input, working_copy

__all__ = ["MeCo", "channel_correlation", "min_eig_correlation"]


def channel_correlation(fmap: Tensor) -> Tensor:
    """The C×C Pearson correlation, across spatial positions, of the channels of one feature map
    (C×H×W), in float64. Rows and columns of constant channels are 0, like ``torch.corrcoef``
    followed by the reference's NaN → 0."""
    f = fmap.detach().reshape(fmap.shape[0], -1).to(torch.float64)
    f = f - f.mean(dim=1, keepdim=True)
    norm = torch.linalg.vector_norm(f, dim=1)
    f = torch.where(norm[:, None] > 0, f / norm.clamp_min(torch.finfo(f.dtype).tiny)[:, None], 0.0)
    return (f @ f.T).clamp_(-1.0, 1.0)


def min_eig_correlation(fmap: Tensor) -> float:
    """The smallest eigenvalue of :func:`channel_correlation` (``eigvalsh``: the matrix is symmetric)."""
    return torch.linalg.eigvalsh(channel_correlation(fmap))[0].item()


class MeCo(Proxy):
    """``Σ_conv λ_min(corr(F_conv))``: for each convolution's output on the **first image** of the
    batch, the channel-by-channel Pearson correlation over spatial positions and its smallest
    eigenvalue, summed over convolutions. Labels are not used. **Sign:** higher is better (less
    redundant, better conditioned feature maps).

    Variant: full **MeCo**, not MeCo_opt. Every channel is used; MeCo_opt samples 8 random channels
    and rescales by C/8, which makes the score random. Changes from the reference:

    * hooks go on convolution modules only. The reference hooks every module, so it also scores the
      outputs of BN and activations, and counts a container's output again after its last child.
    * correlations and eigenvalues are in float64, and use ``eigvalsh``, not ``eig``.
    * the whole batch is forwarded (BatchNorm needs more than one value per channel at 1×1 maps in
      train mode), but only image 0 is scored: the "one data" of the paper.

    A map with a single spatial position has no correlation (the reference gets an all-NaN matrix, so
    0) and adds 0. Non-finite features fail the score; they are not zeroed.
    """

    name = "meco"
    uses_output = False

    def _score(self, model: nn.Module, batch: Tensor, targets: Tensor | None) -> float:
        net = working_copy(model, bn="train")
        total = 0.0
        convs = 0

        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            nonlocal total, convs
            convs += 1
            fmap = output[0].detach()  # first image: C × spatial...
            check_finite(fmap, f"feature map at {type(module).__name__}")
            if fmap.dim() < 2 or fmap[0].numel() < 2:
                return
            total += min_eig_correlation(fmap)

        handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, _ConvNd)]
        if not handles:
            raise ProxyError("no convolution layer to hook")
        try:
            with torch.no_grad():
                net(model_input(net, batch))
        finally:
            for h in handles:
                h.remove()
        return total
