"""Runtime timing (nas.latency.runtimes): sane structures and every setting recorded with tiny run times (no
timing is asserted); unknown backends and settings are one-line errors raised before any export."""
from __future__ import annotations

import numpy as np
import pytest

from nas.latency import runtimes
from nas.latency.runtimes import (BACKENDS, BackendError, RuntimeTiming, available_backends, check_backend,
                                  time_backend, time_callable, time_onnxruntime, time_openvino)
from nas.model.onnx import to_onnx

TINY = dict(repeats=2, min_run_time=0.005, warmup=1)
SHAPE = (1, 3, 32, 32)


@pytest.fixture(scope="module")
def small_onnx():
    """A checked ONNX export of the tiny_32px skeleton (32 px), TorchScript exporter for speed."""
    from nas.space.load import load_space

    return to_onnx(load_space("tiny_32px").skeleton, exporter="torchscript")


def _sane(t: RuntimeTiming, repeats: int) -> None:
    assert len(t.samples_ms) == repeats and all(v > 0 for v in t.samples_ms)
    assert len(t.per_call_ms) >= repeats and all(v > 0 for v in t.per_call_ms)
    assert min(t.per_call_ms) <= t.median_ms <= max(t.per_call_ms)
    assert 0 <= t.iqr_ms <= max(t.per_call_ms) - min(t.per_call_ms)
    assert RuntimeTiming.from_dict(t.to_dict()) == t


@pytest.mark.parametrize(("text", "name"), [("onnxruntime", "onnxruntime"), (" OpenVINO ", "openvino"),
                                            ("eager", "eager")])
def test_check_backend_normalises_known_names(text: str, name: str) -> None:
    assert check_backend(text) == name


@pytest.mark.parametrize("bad", ["tflite", "", "onnx", None])
def test_an_unknown_backend_is_one_line(bad: object) -> None:
    with pytest.raises(BackendError) as err:
        check_backend(bad)
    assert str(err.value) == f"unknown latency backend {bad!r}: use 'eager', 'onnxruntime', 'openvino'"


def test_unknown_backend_fails_before_exporting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "to_onnx", lambda *a, **k: pytest.fail("exported"))
    with pytest.raises(BackendError, match="^unknown latency backend 'tvm'"):
        time_backend("mnasnet_a1", backend="tvm")
    with pytest.raises(BackendError, match="^backend 'eager' is PyTorch itself: time it with measure_latency$"):
        time_backend("mnasnet_a1", backend="eager")
    with pytest.raises(BackendError, match="^backend 'openvino' times on the CPU here; device 'cuda'"):
        time_backend("mnasnet_a1", backend="openvino", device="cuda")
    with pytest.raises(BackendError, match="^unknown device 'gpu'"):
        time_backend("mnasnet_a1", backend="onnxruntime", device="gpu")
    if "CUDAExecutionProvider" not in runtimes.onnxruntime_providers():
        with pytest.raises(BackendError, match="^device 'cuda': this ONNX Runtime has no CUDAExecutionProvider"):
            time_backend("mnasnet_a1", backend="onnxruntime", device="cuda")


def test_available_backends_lists_what_imports() -> None:
    found = available_backends()
    assert found[:2] == ["eager", "onnxruntime"] and set(found) <= set(BACKENDS)


def test_time_callable_warms_up_then_times_independent_repeats() -> None:
    calls = []
    samples, per_call = time_callable(lambda: calls.append(1), repeats=3, min_run_time=0.001, warmup=7)
    assert len(samples) == 3 and len(per_call) >= 3 and len(calls) > 7
    with pytest.raises(BackendError, match="^repeats must be an integer >= 1, got 0$"):
        time_callable(lambda: None, repeats=0)
    with pytest.raises(BackendError, match="^min_run_time must be a positive number of seconds, got nan$"):
        time_callable(lambda: None, min_run_time=float("nan"))


def test_runtime_timing_statistics() -> None:
    t = RuntimeTiming(samples_ms=[2.0, 4.0], per_call_ms=[1.0, 2.0, 3.0, 4.0, 5.0], settings={"backend": "x"})
    assert t.median_ms == 3.0 and t.iqr_ms == 2.0
    assert t.cv == pytest.approx(np.std([2.0, 4.0], ddof=1) / 3.0)
    assert np.isnan(RuntimeTiming([1.0], [1.0], {}).cv)
    assert t.to_dict()["median_ms"] == 3.0


@pytest.mark.parametrize("as_path", [False, True])
def test_onnxruntime_timing_records_every_setting(small_onnx, tmp_path, as_path: bool) -> None:
    source = small_onnx.data
    if as_path:
        source = tmp_path / "net.onnx"
        source.write_bytes(small_onnx.data)
    t = time_onnxruntime(source, SHAPE, threads=2, inter_threads=1, graph_optimization="basic", spinning=False,
                         **TINY)
    _sane(t, 2)
    s = t.settings
    assert s["backend"] == "onnxruntime" and s["execution_provider"] == "CPUExecutionProvider"
    assert (s["threads"], s["threads_intra"], s["threads_inter"]) == (2, 2, 1)
    assert (s["graph_optimization"], s["execution_mode"], s["allow_spinning"], s["io_binding"]) == (
        "basic", "sequential", False, False)
    assert s["input_shape"] == list(SHAPE) and (s["repeats"], s["min_run_time"], s["warmup"]) == (2, 0.005, 1)
    import onnxruntime

    assert s["onnxruntime_version"] == onnxruntime.__version__ and s["device_type"] == "cpu" and s["date"]


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"provider": "tpu"}, "^unknown ONNX Runtime provider 'tpu': use 'cpu' or 'cuda'$"),
    ({"graph_optimization": "max"}, "^unknown graph optimisation level 'max': use disable, basic, extended, all$"),
    ({"threads": 0}, "^threads must be an integer >= 1, got 0$"),
    ({"inter_threads": 0}, "^inter_threads must be an integer >= 1, got 0$"),
])
def test_onnxruntime_bad_settings_are_one_line(small_onnx, kwargs: dict, pattern: str) -> None:
    with pytest.raises(BackendError, match=pattern):
        time_onnxruntime(small_onnx.data, SHAPE, **kwargs)


def test_onnxruntime_missing_file_and_missing_provider(small_onnx, tmp_path) -> None:
    with pytest.raises(BackendError, match=r"nope\.onnx: no such ONNX file$"):
        time_onnxruntime(tmp_path / "nope.onnx", SHAPE)
    if "CUDAExecutionProvider" not in runtimes.onnxruntime_providers():
        with pytest.raises(BackendError, match="has no CUDAExecutionProvider"):
            time_onnxruntime(small_onnx.data, SHAPE, provider="cuda")


def test_openvino_timing_records_the_compiled_settings(small_onnx) -> None:
    pytest.importorskip("openvino")
    t = time_openvino(small_onnx.data, SHAPE, threads=1, **TINY)
    _sane(t, 2)
    s = t.settings
    assert s["backend"] == "openvino" and s["precision"] == "f32" and s["threads"] == 1
    assert s["openvino_config"]["INFERENCE_NUM_THREADS"] == "1" and s["openvino_config"]["NUM_STREAMS"] == "1"
    assert s["openvino_config"]["PERFORMANCE_HINT"] == "LATENCY" and s["openvino_version"]


def test_openvino_missing_is_one_line(monkeypatch: pytest.MonkeyPatch, small_onnx) -> None:
    import builtins

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name.split(".")[0] == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    assert "openvino" not in available_backends()
    with pytest.raises(BackendError, match=r"^backend 'openvino' needs the optional openvino package \(the "
                                           r"nas\[openvino\] extra\), which is not installed$"):
        time_openvino(small_onnx.data, SHAPE)
    with pytest.raises(BackendError, match="^backend 'openvino' needs the optional openvino package"):
        time_backend("mnasnet_a1", backend="openvino")


def test_time_backend_exports_checks_and_times(small_onnx) -> None:
    from nas.space.load import load_space

    arch = load_space("tiny_32px").skeleton
    t = time_backend(arch, backend="onnxruntime", exporter="torchscript", **TINY)
    _sane(t, 2)
    assert t.settings["onnx"]["exporter"] == "torchscript" and t.settings["onnx"]["max_abs_diff"] <= 1e-4
    assert t.settings["input_shape"] == [1, arch.in_channels, arch.resolution, arch.resolution]
    reused = time_backend(None, backend="onnxruntime", onnx_model=small_onnx, **TINY)
    assert reused.settings["onnx"]["opset"] == small_onnx.info.opset


def test_time_backend_times_one_op_with_its_input_shape() -> None:
    import nas.zoo
    from nas.arch.layers import resolve
    from nas.model.builder import build_layer

    layer = resolve(nas.zoo.load("mobilenet_v2"))[3]
    shape = (1, layer.in_chs, layer.input_size, layer.input_size)
    t = time_backend(build_layer(layer), backend="onnxruntime", input_shape=shape, exporter="torchscript", **TINY)
    _sane(t, 2)
    assert t.settings["input_shape"] == list(shape) and t.settings["onnx"]["seed"] is None
