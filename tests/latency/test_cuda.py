"""Eager timing with the CUDA path (nas.latency.cuda): the CPU side here (structure, settings, errors, the
caller's model untouched); the graph capture and replay on a real GPU (skipped without one; run by
scripts/gpu_check.sh)."""
from __future__ import annotations

import pytest
import torch

from nas.latency.cuda import capture_graph, eager_step, time_torch
from nas.latency.runtimes import BackendError, RuntimeTiming
from nas.model.builder import build_model
from nas.space.load import load_space

TINY = dict(repeats=2, min_run_time=0.005, warmup=1)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def arch():
    return load_space("tiny_32px").skeleton


def test_cpu_timing_has_the_same_structure_and_records_its_settings(arch) -> None:
    t = time_torch(arch, device="cpu", threads=1, **TINY)
    assert isinstance(t, RuntimeTiming) and len(t.samples_ms) == 2 and min(t.per_call_ms) > 0
    s = t.settings
    assert (s["backend"], s["device_type"], s["threads"], s["cuda_graph"], s["cudnn_benchmark"]) == (
        "eager", "cpu", 1, False, False)
    assert s["input_shape"] == [1, arch.in_channels, arch.resolution, arch.resolution]
    assert s["torch_version"] == torch.__version__ and s["cuda_version"] is None and s["date"]


def test_the_callers_model_stays_where_and_as_it_was(arch) -> None:
    net = build_model(arch).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flag = torch.backends.cudnn.benchmark
    t = time_torch(net, resolution=64, device="cpu", channels_last=True, **TINY)
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert next(net.parameters()).is_contiguous() and torch.backends.cudnn.benchmark == flag
    assert t.settings["input_shape"] == [1, 3, 64, 64] and t.settings["channels_last"] is True


def test_eager_step_is_one_forward_call(arch) -> None:
    net = build_model(arch).eval()
    x = torch.zeros(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(eager_step(net, x)(), net(x))


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"device": "cpu", "cuda_graph": True}, "^a CUDA graph needs a CUDA device, not 'cpu'$"),
    ({"device": "npu"}, "^unknown device 'npu'"),
    ({"device": "cpu", "repeats": 0}, "^repeats must be an integer >= 1, got 0$"),
    ({"device": "cpu", "batch_size": 0}, "^batch_size must be an integer >= 1, got 0$"),
])
def test_bad_settings_are_one_line(arch, kwargs: dict, pattern: str) -> None:
    with pytest.raises(BackendError, match=pattern):
        time_torch(arch, **kwargs)


def test_a_graph_needs_a_cuda_tensor(arch) -> None:
    with pytest.raises(BackendError, match="^a CUDA graph needs a CUDA device; the input is on cpu$"):
        capture_graph(build_model(arch).eval(), torch.zeros(1, 3, 32, 32))


@needs_cuda
def test_graph_replay_matches_eager_on_cuda(arch) -> None:
    eager = time_torch(arch, device="cuda", **TINY)
    graph = time_torch(arch, device="cuda", cuda_graph=True, **TINY)
    assert eager.settings["device_type"] == "cuda" and eager.settings["cudnn_benchmark"] is True
    assert graph.settings["cuda_graph"] is True and graph.settings["graph_max_abs_diff"] <= 1e-4
    assert graph.settings["cuda_version"] == torch.version.cuda and len(graph.samples_ms) == 2


@needs_cuda
def test_replay_reads_the_captured_input(arch) -> None:
    net = build_model(arch).cuda().eval()
    x = torch.randn(1, 3, 32, 32, device="cuda")
    with torch.inference_mode():
        replay, out = capture_graph(net, x)
        replay()
        torch.cuda.synchronize()
        assert torch.allclose(out, net(x), atol=1e-4)
