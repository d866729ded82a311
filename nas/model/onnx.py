"""ONNX export of a built network, checked in ONNX Runtime against PyTorch's own output.

    >>> from nas.model.onnx import export_onnx, to_onnx
    >>> info = export_onnx("mnasnet_a1", "mnasnet_a1.onnx")          # doctest: +SKIP
    >>> info.exporter, info.opset, info.max_abs_diff <= 1e-4          # doctest: +SKIP
    ('dynamo', 20, True)
    >>> to_onnx(arch).data          # the file's bytes, nothing written     # doctest: +SKIP

What is exported: batch 1, the architecture's resolution and input channels, one input ``input`` and one
output ``logits``; weights drawn from a fixed seed (:func:`seeded_network`) with batch-norm statistics from one
seeded random batch, so that every layer passes on values of order one — with the default statistics a
freshly initialised MobileNet's output is ~1e-10 and no check of it could fail.

How: ``torch.onnx.export`` with the dynamo exporter (``torch.export``, needs ``onnxscript``) where it works, the
TorchScript-based exporter otherwise; :attr:`OnnxExport.exporter` says which one wrote the file and
:attr:`OnnxExport.fallback_reason` why the dynamo one did not. Each candidate file is run in ONNX Runtime (CPU,
all graph optimisations, the graph that gets timed) on a seeded random input and compared with the PyTorch
eval output; a file is kept only when the largest absolute difference is at most ``tolerance`` (1e-4).

Errors are one-line :class:`OnnxExportError` s. Files are written atomically (:func:`nas.files.atomic_write`).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from nas.arch.io import load_arch
from nas.arch.spec import Arch
from nas.errors import first_line
from nas.files import atomic_write
from nas.model.builder import build_model

__all__ = ["EXPORTERS", "INPUT_NAME", "OPSET", "OUTPUT_NAME", "TOLERANCE", "OnnxExport", "OnnxExportError",
           "OnnxModel", "export_beside", "export_onnx", "onnx_opset", "run_onnxruntime", "seeded_input",
           "seeded_network", "to_onnx"]

#: ``auto``: the dynamo exporter, the TorchScript one where dynamo fails or its file does not match.
EXPORTERS = ("auto", "dynamo", "torchscript")
#: Largest absolute difference allowed between ONNX Runtime's and PyTorch's output.
TOLERANCE = 1e-4
#: Opset of the TorchScript exporter (the dynamo exporter writes its own default, recorded per file).
OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"


class OnnxExportError(ValueError):
    """A network that could not be exported, or whose file does not match PyTorch: one line."""

    def __init__(self, message: object):
        super().__init__(" ".join(str(message).split()))


@dataclasses.dataclass(frozen=True)
class OnnxExport:
    """How one ONNX file was made and checked (what is recorded beside it)."""

    path: str | None  # where it was written; None when only held in memory (:func:`to_onnx`)
    exporter: str  # "dynamo" or "torchscript"
    fallback_reason: str  # why the dynamo exporter was not used ("" when it was, or was not asked for)
    opset: int  # the default-domain opset of the file
    max_abs_diff: float  # ONNX Runtime vs PyTorch eval output, on a seeded random input
    output_scale: float  # max |PyTorch output| on that input: the scale the difference is judged at
    tolerance: float
    input_shape: tuple[int, ...]
    seed: int | None  # weight seed; None for a module exported with the weights it had
    torch_version: str
    onnx_version: str
    onnxruntime_version: str
    export_seconds: float  # export and check, both exporters when it fell back

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d


@dataclasses.dataclass(frozen=True)
class OnnxModel:
    """An exported network in memory: the ``.onnx`` file's bytes and how they were made."""

    data: bytes
    info: OnnxExport


# ----------------------------------------------------------------------------- the network and its input
def seeded_input(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """A standard-normal float32 tensor of ``shape`` from a private generator (the global RNG is untouched)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def seeded_network(arch: "Arch | str | Path | dict", seed: int = 0, *, stats_batch: int = 2) -> nn.Module:
    """The network of ``arch`` in eval mode, weights initialised under ``torch.manual_seed(seed)`` and
    batch-norm running statistics set from one batch of ``stats_batch`` seeded random inputs at the arch's
    resolution (cumulative average, as after a calibration pass). The global RNG state is restored."""
    a = load_arch(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(a)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    model.eval()
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches seen
            m.train()
        with torch.no_grad():
            model(seeded_input((stats_batch, a.in_channels, a.resolution, a.resolution), seed + 1))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return model


def _network(model: Any, seed: int, resolution: int | None,
             input_shape: tuple[int, ...] | None) -> tuple[nn.Module, tuple[int, ...], int | None]:
    """(eval-mode module to export, input shape, weight seed or None): an ``nn.Module`` is deep-copied to the
    CPU as it is (the shape from ``input_shape``, else its ``arch``); anything
    :func:`~nas.arch.io.load_arch` takes is built seeded. ``resolution`` replaces the arch's."""
    if isinstance(model, nn.Module):
        arch = getattr(model, "arch", None)
        if input_shape is not None:
            shape = tuple(int(v) for v in input_shape)
        elif isinstance(arch, Arch):
            r = arch.resolution if resolution is None else resolution
            shape = (1, arch.in_channels, r, r)
        else:
            raise OnnxExportError(f"cannot export {type(model).__name__}: a module without an .arch has no known "
                                  "input shape; pass input_shape")
        return copy.deepcopy(model).cpu().eval(), shape, None
    if input_shape is not None:
        raise OnnxExportError("input_shape is for a built module; an architecture's shape is its own (batch 1, its "
                              "channels, its resolution or the resolution given)")
    try:
        arch = load_arch(model)
        if resolution is not None and resolution != arch.resolution:
            arch = arch.replace(resolution=resolution)
    except ValueError as exc:
        raise OnnxExportError(exc) from None
    return seeded_network(arch, seed), (1, arch.in_channels, arch.resolution, arch.resolution), seed


# ----------------------------------------------------------------------------- the two exporters
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No deprecation warnings or exporter log lines while exporting (the choice made is recorded instead)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _export_dynamo(model: nn.Module, x: torch.Tensor) -> bytes:
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter's translator)
    except ImportError:
        raise OnnxExportError("the dynamo exporter needs the onnxscript package, which is not installed") from None
    with _quiet():
        program = torch.onnx.export(model, (x,), dynamo=True, verbose=False, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], external_data=False)
    return program.model_proto.SerializeToString()


def _export_torchscript(model: nn.Module, x: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    with _quiet():
        torch.onnx.export(model, (x,), buffer, dynamo=False, opset_version=OPSET, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], do_constant_folding=True)
    return buffer.getvalue()


_EXPORT = {"dynamo": _export_dynamo, "torchscript": _export_torchscript}


# ----------------------------------------------------------------------------- checking in ONNX Runtime
def run_onnxruntime(data: bytes | str | Path, x: np.ndarray) -> np.ndarray:
    """The output of the ONNX model ``data`` (bytes or a path) on ``x`` in ONNX Runtime's CPU provider, with
    every graph optimisation (as timed) and one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    source = str(data) if isinstance(data, Path) else data
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def onnx_opset(data: bytes) -> int:
    """The default-domain (``ai.onnx``) opset version of an ONNX model given as bytes."""
    import onnx

    proto = onnx.load_model_from_string(data)
    return max((op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")), default=0)


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"torch_version": torch.__version__, "onnx_version": onnx.__version__,
            "onnxruntime_version": onnxruntime.__version__}


def _attempt(name: str, model: nn.Module, x: torch.Tensor, expected: np.ndarray,
             tolerance: float) -> tuple[bytes | None, float, str]:
    """(file bytes or None, max abs difference, reason it failed or "") for one exporter."""
    try:
        data = _EXPORT[name](model, x)
        diff = float(np.max(np.abs(run_onnxruntime(data, x.numpy()) - expected)))
    except OnnxExportError as exc:
        return None, float("nan"), str(exc)
    except Exception as exc:  # noqa: BLE001 — any exporter or runtime failure is recorded, then the fallback runs
        return None, float("nan"), first_line(exc, typed=True, limit=240)
    if not diff <= tolerance:  # nan too
        return None, diff, f"output differs from PyTorch by {diff:.3g} (> {tolerance:g})"
    return data, diff, ""


# ----------------------------------------------------------------------------- the entry points
def to_onnx(model: "nn.Module | Arch | str | Path | dict", *, seed: int = 0, exporter: str = "auto",
            tolerance: float = TOLERANCE, resolution: int | None = None,
            input_shape: tuple[int, ...] | None = None) -> OnnxModel:
    """Export ``model`` to ONNX in memory and check it in ONNX Runtime.

    ``model``: an :class:`~nas.arch.Arch`, a YAML path, YAML text, a dict or a zoo name — built by
    :func:`seeded_network` with ``seed`` — or a built ``nn.Module`` (exported as it is, in eval mode, on a CPU
    copy) with its ``input_shape``, which defaults to batch 1 of its ``arch`` where it has one (a lookup-table
    op, for instance, has none). ``resolution`` replaces the arch's input size (default: the arch's own).
    ``exporter``: one of :data:`EXPORTERS`. The check input is
    ``seeded_input(shape, seed)``. Raises :class:`OnnxExportError` (one line) when no exporter gives a file
    within ``tolerance``, naming each exporter's reason.
    """
    if exporter not in EXPORTERS:
        raise OnnxExportError(f"unknown ONNX exporter {exporter!r}: use {', '.join(map(repr, EXPORTERS))}")
    try:
        versions = _versions()
    except ImportError as exc:
        raise OnnxExportError(f"ONNX export needs the onnx and onnxruntime packages: {exc}") from None
    start = time.perf_counter()
    net, shape, weight_seed = _network(model, seed, resolution, input_shape)
    x = seeded_input(shape, seed)
    with torch.inference_mode():
        expected = net(x).numpy()
    order = ("dynamo", "torchscript") if exporter == "auto" else (exporter,)
    reasons: list[str] = []
    for name in order:
        data, diff, reason = _attempt(name, net, x, expected, tolerance)
        if data is not None:
            info = OnnxExport(path=None, exporter=name, fallback_reason="; ".join(reasons), opset=onnx_opset(data),
                              max_abs_diff=diff, output_scale=float(np.max(np.abs(expected))), tolerance=tolerance,
                              input_shape=shape, seed=weight_seed, **versions,
                              export_seconds=time.perf_counter() - start)
            return OnnxModel(data=data, info=info)
        reasons.append(f"{name}: {reason}")
    label = net.arch.name if isinstance(getattr(net, "arch", None), Arch) else type(net).__name__
    raise OnnxExportError(f"{label}: ONNX export failed: {'; '.join(reasons)}")


def export_onnx(model: "nn.Module | Arch | str | Path | dict", path: str | Path, **kwargs: Any) -> OnnxExport:
    """:func:`to_onnx`, then write the file to ``path`` atomically (only once it has passed the check);
    returns its :class:`OnnxExport` with ``path`` set."""
    exported = to_onnx(model, **kwargs)
    atomic_write(path, exported.data)
    return dataclasses.replace(exported.info, path=str(path))


def export_beside(arch_yaml: str | Path, **kwargs: Any) -> OnnxExport:
    """Export the architecture in ``arch_yaml`` to the ``.onnx`` file with the same stem beside it
    (``pareto/001.yaml`` → ``pareto/001.onnx``)."""
    arch_yaml = Path(arch_yaml)
    return export_onnx(arch_yaml, arch_yaml.with_suffix(".onnx"), **kwargs)
