"""ONNX export (nas.model.onnx): every zoo net and 50 sampled archs per bundled space export, run in ONNX Runtime
and match PyTorch within 1e-4; the dynamo exporter is used where it works and the fallback is recorded; bad
input is one line and writes nothing."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

import nas.zoo
from nas import search_spaces
from nas.arch.io import dump_arch
from nas.bench.latency import sample_distinct
from nas.model import onnx as nas_onnx
from nas.arch.layers import resolve
from nas.model.builder import build_layer, build_model
from nas.model.onnx import (TOLERANCE, OnnxExportError, export_beside, export_onnx, run_onnxruntime, seeded_input,
                            seeded_network, to_onnx)
from nas.space.load import load_space

#: Sampled archs per space: the first DYNAMO_PER_SPACE go through the default exporter (dynamo, ~3 s each), the
#: rest through the TorchScript one (~0.5 s): the same check in ONNX Runtime, a fifth of the CI time. (The zoo
#: test also checks each file independently, on a fresh network and another input.)
SAMPLED, DYNAMO_PER_SPACE = 50, 2


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: exporting is serial work, and a second spinning thread only slows it on a shared
    2-core machine (measured: 8× the CPU time under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pytorch(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return net(x).numpy()


def _check_independently(model: nas_onnx.OnnxModel, arch: object, seed: int = 0) -> float:
    """|ONNX Runtime − PyTorch| on a fresh network of the same seed and another random input than the export's."""
    net = seeded_network(arch, seed)
    x = seeded_input(model.info.input_shape, seed=1234)
    expected = _pytorch(net, x)
    assert np.abs(expected).max() > 1e-2  # outputs of order one: the comparison can fail
    return float(np.abs(run_onnxruntime(model.data, x.numpy()) - expected).max())


@pytest.mark.parametrize("name", nas.zoo.names())
def test_every_zoo_net_exports_with_dynamo_and_matches_pytorch(name: str) -> None:
    model = to_onnx(name)
    arch = nas.zoo.load(name)
    info = model.info
    assert info.exporter == "dynamo", info.fallback_reason
    assert info.fallback_reason == ""
    assert info.input_shape == (1, arch.in_channels, arch.resolution, arch.resolution)
    assert info.max_abs_diff <= TOLERANCE and info.output_scale > 1e-2
    assert info.opset >= 18 and info.seed == 0
    proto = onnx.load_model_from_string(model.data)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["input"] and [o.name for o in proto.graph.output] == ["logits"]
    assert _check_independently(model, name) <= TOLERANCE


@pytest.mark.parametrize("space_name", search_spaces.names())
def test_fifty_sampled_archs_per_space_export_and_match_pytorch(space_name: str) -> None:
    archs = sample_distinct(load_space(space_name), SAMPLED, seed=7)
    assert len(archs) == SAMPLED
    for i, arch in enumerate(archs):
        exporter = "auto" if i < DYNAMO_PER_SPACE else "torchscript"
        info = to_onnx(arch, exporter=exporter).info
        assert info.exporter == ("dynamo" if exporter == "auto" else "torchscript"), info.fallback_reason
        assert info.max_abs_diff <= TOLERANCE and info.output_scale > 1e-2, (arch.name, info)
        assert info.input_shape == (1, arch.in_channels, arch.resolution, arch.resolution)


def test_seeded_network_fixes_weights_and_batch_norm_statistics_and_keeps_the_global_rng() -> None:
    state = torch.random.get_rng_state()
    a, b, c = (seeded_network("mobilenet_v3_small", s) for s in (0, 0, 1))
    assert torch.equal(torch.random.get_rng_state(), state)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["stem.0.0.weight"], sc["stem.0.0.weight"])
    norms = [m for m in a.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not a.training and all(not m.training for m in norms)
    assert all(m.momentum == a.arch.bn_momentum for m in norms)  # restored after the statistics pass
    assert float(norms[-1].running_var.mean()) != 1.0  # statistics come from data, not the defaults
    plain = build_model("mobilenet_v3_small").eval()
    x = seeded_input((1, 3, 224, 224))
    assert np.abs(_pytorch(plain, x)).max() < 1e-3 < np.abs(_pytorch(a, x)).max()  # why the statistics are set


def test_export_onnx_writes_the_checked_file_and_records_how(tmp_path) -> None:
    path = tmp_path / "sub" / "net.onnx"
    info = export_onnx("mobilenet_v2", path, exporter="torchscript", seed=3)
    assert info.path == str(path) and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["net.onnx"]  # no temporary file left
    assert info.exporter == "torchscript" and info.opset == nas_onnx.OPSET and info.seed == 3
    d = info.to_dict()
    assert d["input_shape"] == [1, 3, 224, 224] and d["onnxruntime_version"] and d["torch_version"]
    x = seeded_input(info.input_shape, seed=5)
    got = run_onnxruntime(path, x.numpy())
    assert np.abs(got - _pytorch(seeded_network("mobilenet_v2", 3), x)).max() <= TOLERANCE


def test_export_beside_puts_the_onnx_file_next_to_the_yaml(tmp_path) -> None:
    yaml_file = tmp_path / "003.yaml"
    dump_arch(nas.zoo.load("mnasnet_b1").replace(resolution=64), yaml_file)
    info = export_beside(yaml_file, exporter="torchscript")
    assert info.path == str(tmp_path / "003.onnx") and info.input_shape == (1, 3, 64, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["003.onnx", "003.yaml"]


def test_a_built_module_is_exported_as_it_is_and_left_untouched() -> None:
    net = build_model("mobilenet_v3_small").train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    model = to_onnx(net, exporter="torchscript", resolution=64)
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert model.info.seed is None and model.info.input_shape == (1, 3, 64, 64)
    x = seeded_input((1, 3, 64, 64), seed=9)
    assert np.abs(run_onnxruntime(model.data, x.numpy()) - _pytorch(net.eval(), x)).max() <= TOLERANCE


def test_a_module_without_an_arch_exports_with_its_input_shape() -> None:
    layer = resolve(nas.zoo.load("mnasnet_a1"))[5]  # one block, as a lookup table times it
    op = build_layer(layer)
    shape = (1, layer.in_chs, layer.input_size, layer.input_size)
    model = to_onnx(op, input_shape=shape, exporter="torchscript")
    assert model.info.input_shape == shape and model.info.seed is None
    x = seeded_input(shape, seed=4)
    assert np.abs(run_onnxruntime(model.data, x.numpy()) - _pytorch(op.eval(), x)).max() <= TOLERANCE
    with pytest.raises(OnnxExportError, match="^input_shape is for a built module; an architecture's shape is its own"):
        to_onnx("mnasnet_a1", input_shape=shape)


def test_dynamo_failure_falls_back_to_torchscript_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch.onnx.export

    def export(*args, dynamo: bool = True, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if dynamo:
            raise RuntimeError("boom\nsecond line of a long trace")
        return real(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", export)
    info = to_onnx("mobilenet_v1").info
    assert info.exporter == "torchscript"
    assert info.fallback_reason == "dynamo: RuntimeError: boom"
    with pytest.raises(OnnxExportError, match=r"^mobilenet_v1: ONNX export failed: dynamo: RuntimeError: boom$"):
        to_onnx("mobilenet_v1", exporter="dynamo")


def test_a_file_that_does_not_match_is_refused_with_one_line_and_not_written(monkeypatch, tmp_path) -> None:
    real = nas_onnx.run_onnxruntime
    monkeypatch.setattr(nas_onnx, "run_onnxruntime", lambda data, x: real(data, x) + 1e-3)
    path = tmp_path / "net.onnx"
    with pytest.raises(OnnxExportError) as err:
        export_onnx("mobilenet_v3_small", path)
    message = str(err.value)
    assert "\n" not in message and message.startswith("mobilenet_v3_small: ONNX export failed: dynamo: ")
    assert "torchscript: output differs from PyTorch by 0.001 (> 0.0001)" in message
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("source", "kwargs", "pattern"), [
    ("mobilenet_v2", {"exporter": "tflite"}, r"^unknown ONNX exporter 'tflite': use 'auto', 'dynamo', 'torchscript'$"),
    ("no_such_net", {}, r"^no_such_net: not a file, a zoo name"),
    (torch.nn.Conv2d(3, 8, 3), {}, r"^cannot export Conv2d: a module without an \.arch has no known input shape"),
])
def test_bad_input_is_one_line(source: object, kwargs: dict, pattern: str) -> None:
    with pytest.raises(OnnxExportError, match=pattern) as err:
        to_onnx(source, **kwargs)
    assert "\n" not in str(err.value)
