"""scale_to_latency: the largest width multiplier that meets a target, checked against a lookup table on a
tiny network (deterministic entries, no timing) by brute force over the grid; and `nas scale`."""
from __future__ import annotations

from pathlib import Path

import pytest

import nas
from nas.arch.layers import resolve
from nas.latency.table import Entry, LatencyTable, TableMeta
from nas.model.cost import layer_macs
from nas.search.scale import scale_to_latency, width_grid
from support import run_nas

TINY = nas.load_arch("""\
name: tiny
resolution: 32
num_classes: 10
stem: {filters: 16, kernel_size: 3, strides: 2}
blocks:
  - {block: mbconv, num_repeat: 2, kernel_size: 3, strides: 2, expand_ratio: 4, input_filters: 16, output_filters: 24}
  - {block: mbconv, num_repeat: 2, kernel_size: 5, strides: 2, expand_ratio: 4, input_filters: 24, output_filters: 40}
head: {filters: 128}
""")


@pytest.fixture(scope="module")
def table() -> LatencyTable:
    """A table of every layer of every scaled tiny network: 0.05 ms + MACs / 1e6 per layer."""
    meta = TableMeta(device="test", device_type="cpu", torch_version="x", threads=1, space="tiny-scaled")
    entries = {layer.key: Entry.from_samples([0.05 + layer_macs(layer) / 1e6])
               for _, arch in width_grid(TINY) for layer in resolve(arch)}
    return LatencyTable(meta=meta, entries=entries)


@pytest.mark.parametrize("target", [0.7, 0.9, 1.7, 3.0])
def test_the_largest_multiplier_meeting_the_target(table: LatencyTable, target: float) -> None:
    grid = width_grid(TINY)
    latencies = [table.predict(arch) for _, arch in grid]
    assert latencies == sorted(latencies)  # this table's latency grows with the width, as bisection assumes
    feasible = [alpha for (alpha, _), ms in zip(grid, latencies) if ms <= target]
    result = scale_to_latency(TINY, target, table.predict)
    assert result.feasible and result.width_multiplier == max(feasible)
    assert result.latency_ms == table.predict(result.arch) <= target
    assert result.arch.name == f"tiny-x{max(feasible):.2f}" and result.arch.width_multiplier == max(feasible)
    assert len({alpha for alpha, _ in result.tried}) <= 10 < len(grid)  # a bisection, not a sweep
    assert len(result.tried) == len(scale_to_latency(TINY, target, table.predict, confirm=0).tried) + 4


def test_a_lucky_measurement_does_not_pick_the_multiplier(table: LatencyTable) -> None:
    """The winner's curse: the first measurement of each network reads 30 % fast, later ones true. Trusting single
    measurements picks a network that misses the target; confirming by medians steps back to the true answer."""
    target = 1.7
    truth = scale_to_latency(TINY, target, table.predict, confirm=0)
    seen: dict[str, int] = {}

    def lucky_first(arch: nas.Arch) -> float:
        key = nas.arch_key(arch)
        seen[key] = seen.get(key, 0) + 1
        return table.predict(arch) * (0.7 if seen[key] == 1 else 1.0)

    cursed = scale_to_latency(TINY, target, lucky_first, confirm=0)
    assert cursed.width_multiplier > truth.width_multiplier and table.predict(cursed.arch) > target
    seen.clear()
    confirmed = scale_to_latency(TINY, target, lucky_first, confirm=2)
    assert confirmed.width_multiplier == truth.width_multiplier
    assert confirmed.latency_ms == table.predict(confirmed.arch) <= target  # the median of 0.7×, 1×, 1×
    with pytest.raises(ValueError, match="confirm"):
        scale_to_latency(TINY, target, table.predict, confirm=-1)


def test_the_smallest_network_is_confirmed_too() -> None:
    """Every network takes 11 ms except for a lucky first timing (9 ms) of the two smallest: against 10 ms the
    medians say nothing fits, and a NaN timing never fits."""
    grid = width_grid(TINY)
    lucky = {nas.arch_key(grid[0][1]), nas.arch_key(grid[1][1])}
    seen: set[str] = set()

    def timing(arch: nas.Arch) -> float:
        key = nas.arch_key(arch)
        first = key in lucky and key not in seen
        seen.add(key)
        return 9.0 if first else 11.0

    result = scale_to_latency(TINY, 10.0, timing, confirm=2)
    assert not result.feasible and result.width_multiplier == 0.10 and result.latency_ms == 11.0
    assert not scale_to_latency(TINY, 10.0, lambda a: float("nan")).feasible


def test_a_target_below_the_smallest_network_is_reported_infeasible(table: LatencyTable) -> None:
    result = scale_to_latency(TINY, 0.01, table.predict)
    assert not result.feasible and result.width_multiplier == 0.10 and result.latency_ms > 0.01
    with pytest.raises(ValueError, match="positive"):
        scale_to_latency(TINY, 0.0, table.predict)


def test_grid_merges_multipliers_that_round_to_one_network() -> None:
    grid = width_grid(TINY)
    assert grid[0][0] == 0.10 and grid[-1][0] <= 2.0
    networks = {" ".join(layer.key for layer in resolve(arch)) for _, arch in grid}
    assert len(networks) == len(grid) < 191  # e.g. α 0.10 … 0.12 all round the 16-wide stem to 8


def test_nas_scale_writes_the_scaled_yaml(tmp_path: Path) -> None:
    out = run_nas("scale", "mobilenet_v2", "--latency-target", "1s", "--resolution", "32", "--threads", "1",
                  "--out", str(tmp_path / "mv2.yaml"), timeout=600)
    assert out.returncode == 0, out.stderr
    arch = nas.load_arch(tmp_path / "mv2.yaml")
    assert arch.width_multiplier == 2.0 and "meets the 1000 ms target" in out.stdout  # a generous budget: α 2
    assert "×2.00 is the grid's largest multiplier: the target allows a wider network" in out.stdout
    tight = run_nas("scale", "mobilenet_v2", "--latency-target", "0.001ms", "--resolution", "32", "--threads", "1",
                    "--confirm", "0", "--out", str(tmp_path / "tight.yaml"), timeout=600)
    assert tight.returncode == 1 and "MISSES (even the smallest multiplier)" in tight.stdout  # a script sees it
    assert nas.load_arch(tmp_path / "tight.yaml").width_multiplier == 0.10  # the closest, still written
    bad = run_nas("scale", "mobilenet_v9", "--latency-target", "10ms")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "mobilenet_v9" in bad.stderr
    bad = run_nas("scale", "mobilenet_v2", "--latency-target", "10ms", "--confirm", "-1")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--confirm" in bad.stderr


def test_nas_scale_paired_times_every_variant_beside_the_network_it_scales(tmp_path: Path) -> None:
    out = run_nas("scale", "mobilenet_v3_small", "--latency-target", "1s", "--resolution", "32", "--threads", "1",
                  "--latency", "paired", "--out", str(tmp_path / "v3s.yaml"), timeout=600)
    assert out.returncode == 0, out.stderr
    assert "paired timing: every variant beside mobilenet_v3_small (" in out.stdout
    assert "the median of its 5 solo timings" in out.stdout and "meets the 1000 ms target" in out.stdout
    assert nas.load_arch(tmp_path / "v3s.yaml").width_multiplier == 2.0


def test_grid_stops_at_the_widest_valid_architecture() -> None:
    wide = nas.load_arch("mnasnet_b1").replace(width_multiplier=5.0)
    grid = width_grid(wide)  # α up to 2 would ask for ×10: the grid ends at ×8, the field's limit
    assert grid[-1][0] == 1.6 and grid[-1][1].width_multiplier == 8
    assert [a for a, _ in grid] == sorted(a for a, _ in grid) and grid[0][0] == 0.1
    with pytest.raises(ValueError, match=r"^mnasnet_b1: no valid width on the grid 1\.7…2 \(×5 already\)"):
        width_grid(wide, lo=1.7)


@pytest.mark.parametrize(("name", "file"), [("mnasnet_b1-x0.50", "mnasnet_b1-x0.50.yaml"),
                                            ("../../evil/x-x0.5", "evil_x-x0.5.yaml"),
                                            ("/etc/cron.d/x", "etc_cron.d_x.yaml"), ("..", "scaled.yaml")])
def test_the_default_output_stays_in_the_working_folder(name: str, file: str) -> None:
    from nas.cli.scale import default_out

    assert default_out(name) == Path(file)


def test_an_arch_name_with_a_path_does_not_choose_where_nas_scale_writes(tmp_path: Path) -> None:
    text = nas.load_arch("mobilenet_v3_small").to_yaml().replace("name: mobilenet_v3_small", "name: ../../evil/x")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "arch.yaml").write_text(text)
    out = run_nas("scale", "arch.yaml", "--latency-target", "1s", "--resolution", "32", "--threads", "1",
                  "--confirm", "0", cwd=work, timeout=600)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "evil").exists()
    assert sorted(p.name for p in work.iterdir()) == ["arch.yaml", "evil_x-x2.00.yaml"]
