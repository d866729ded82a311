"""Building a latency lookup table: time every op a space can produce (and a few whole networks for the
calibration) on this machine — :func:`build_table`, resumable, shuffled sweeps.

    from nas.latency import build_table, calibration_archs
    table = build_table(space, device="cpu", threads=1, out_path="lut.json",
                        calibration_archs=calibration_archs(space, 10))

Timing is spread over ``passes`` sweeps through the op list (each sweep in its own shuffled order), and an
entry is the median of its per-sweep medians. One ``measure_latency`` call only sees the machine during a
fraction of a second; on a shared or virtualised CPU the speed drifts over seconds and minutes (10–20 %
on the machine of docs/benchmarks.md), and sweeps decorrelate that drift from the ops. The whole networks
for calibration are timed inside the same sweeps, shuffled among the ops, so both see the same machine
states. After the first sweep the table is already usable; later sweeps refine it, and an interrupted
build resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import datetime
import random
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

from torch import nn

from nas.arch.io import load_arch
from nas.arch.layers import Layer
from nas.arch.spec import Arch
from nas.device import device_info
from nas.latency.calibrate import calibrate
from nas.latency.measure import measure_latency
from nas.latency.noise import DEFAULT_THREADS, NoisePolicy
from nas.latency.table import BUILD_KEYS, DEFAULT_SETTINGS, Entry, LatencyTable, LUTError, TableMeta
from nas.machine import OtherCpuLoad, other_busy_cores
from nas.model.builder import build_layer, build_model
from nas.version import __version__

__all__ = ["BUSY_LOAD", "BusyMachineWarning", "IDLE_PROBE_S", "build_table", "measure_network", "measure_networks",
           "measure_op", "op_module", "op_params"]

#: No wait-and-retry inside a build: its sweeps already spread every entry over minutes, and a 1-s pause per
#: noisy op would multiply the build time on a busy machine. The load is watched by the build itself.
_BUILD_NOISE = NoisePolicy(retries=0)

#: CPU cores used by other processes above which :func:`build_table` warns that they distort timings.
BUSY_LOAD = 0.5



class BusyMachineWarning(UserWarning):
    """Timing started while other processes kept more than :data:`BUSY_LOAD` CPU cores busy."""

#: Seconds :func:`build_table` listens before measuring, to see whether other processes are busy.
IDLE_PROBE_S = 1.0


def op_module(layer: Layer) -> nn.Module:
    """The module for one op alone (:func:`nas.model.builder.build_layer`, default BN arguments)."""
    return build_layer(layer)


def op_params(layer: Layer) -> int:
    """The parameter count of one op's module (recorded in its entry for the ``weight_mb`` term)."""
    return sum(p.numel() for p in op_module(layer).parameters())


def measure_op(layer: Layer, meta: TableMeta) -> float:
    """One timing of one op alone, in ms: the median of one ``measure_latency`` call with the table's
    settings on an input of shape ``(meta.batch_size, layer.in_chs, layer.input_size, layer.input_size)``.
    :func:`build_table` calls it once per pass."""
    result = measure_latency(op_module(layer), layer.input_size, in_channels=layer.in_chs, noise=_BUILD_NOISE,
                             **meta.measure_kwargs())
    return result.median_ms


def measure_network(arch: Arch | str, meta: TableMeta) -> float:
    """One timing of a whole network, in ms, with the same ``measure_latency`` settings as one pass over
    the table's ops (:func:`build_table` uses it for the calibration networks)."""
    a = load_arch(arch)
    return measure_latency(build_model(a), a.resolution, in_channels=a.in_channels, noise=_BUILD_NOISE,
                           **meta.measure_kwargs()).median_ms


def measure_networks(archs: Sequence[Arch | str], meta: TableMeta, *, passes: int | None = None,
                     progress: bool = False, desc: str = "networks") -> list[Entry]:
    """Whole-network latencies timed exactly like the table's ops: ``passes`` (default ``meta.passes``)
    sweeps over ``archs``, each in a shuffled order, one :func:`measure_network` per arch and sweep.

    Returns one :class:`Entry` per arch (``median_ms`` over the sweeps, their IQR, every sweep's value),
    e.g. to check a table's predictions. (For calibration, prefer ``build_table(calibration_archs=...)``,
    which times the networks among the ops.)
    """
    from tqdm.auto import tqdm

    loaded = [load_arch(a) for a in archs]
    n_passes = meta.passes if passes is None else passes
    samples: list[list[float]] = [[] for _ in loaded]
    with tqdm(total=len(loaded) * n_passes, disable=not progress, unit="net", desc=desc, dynamic_ncols=True) as bar:
        for p in range(n_passes):
            order = list(range(len(loaded)))
            random.Random(p).shuffle(order)
            for i in order:
                samples[i].append(measure_network(loaded[i], meta))
                bar.update(1)
    return [Entry.from_samples(s) for s in samples]


def _new_meta(ops: Sequence[Layer], *, device: str, threads: int | None, batch_size: int, space: str,
              passes: int, repeats: int, min_run_time: float, warmup: int, backend: str = "eager") -> TableMeta:
    try:
        info = device_info(device, threads if threads is not None else DEFAULT_THREADS)
    except ValueError as exc:
        raise LUTError(str(exc)) from None
    for name, value in (("passes", passes), ("repeats", repeats), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LUTError(f"{name} must be an integer ≥ 1, got {value!r}")
    stems = [op for op in ops if op.kind == "stem"]
    in_channels = stems[0].in_chs if stems else 0
    sizes = {op.input_size for op in stems}
    return TableMeta(device=info["device"], device_type=info["device_type"],
                     torch_version=info["torch_version"], threads=info["threads"], batch_size=batch_size,
                     in_channels=in_channels, space=space, resolution=sizes.pop() if len(sizes) == 1 else 0,
                     passes=passes, repeats=repeats, min_run_time=float(min_run_time), warmup=warmup,
                     created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                     nas_version=__version__, backend=backend)


def build_table(
    ops: Iterable[Layer] | Any,
    *,
    device: str = "auto",
    threads: int | None = None,
    out_path: str | Path | None = None,
    progress: bool = True,
    resume: bool = True,
    space: str | None = None,
    calibration_archs: Sequence[Arch | str] = (),
    holdout_archs: Sequence[Arch | str] = (),
    batch_size: int = 1,
    passes: int = DEFAULT_SETTINGS["passes"],
    repeats: int = DEFAULT_SETTINGS["repeats"],
    min_run_time: float = DEFAULT_SETTINGS["min_run_time"],
    warmup: int = DEFAULT_SETTINGS["warmup"],
    save_every: int = 10,
    backend: str = "eager",
) -> LatencyTable:
    """Measure every op (and the calibration networks) and return the table; with ``out_path``, the JSON
    is kept up to date as it goes.

    Args:
        ops: the layers to measure — a list of :class:`~nas.layers.Layer`, or a ``SearchSpace`` (its
            ``ops()`` and its name are used). Duplicate keys are measured once per pass.
        device: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        threads: intra-op threads while timing (``None``: 1, :data:`~nas.latency.noise.DEFAULT_THREADS`).
        out_path: JSON file, rewritten atomically every ``save_every`` timings and on any exit (also
            Ctrl-C), so an interrupted build leaves a valid partial table.
        progress: show a tqdm progress bar (on stderr).
        resume: if ``out_path`` holds a table built with the same settings on the same machine (see
            :class:`TableMeta`), keep its timings and take only the missing ones (a larger ``passes``
            refines an existing table). A table with other settings raises :class:`LUTError`;
            ``resume=False`` overwrites it.
        space: the space name recorded in the metadata (default: ``ops.name`` for a space, else ``''``).
        calibration_archs: whole networks to calibrate on. They are timed *inside* the sweeps, shuffled
            among the ops, so that they see the machine in the same states as the ops (on a machine whose
            speed drifts over minutes, networks timed in a separate burst can be off by 20–30 % against
            the table); when every timing is done, :func:`calibrate` is fitted on them.
        holdout_archs: whole networks timed the same way, inside the sweeps, and stored in
            ``table.networks`` but left out of the fit: a test of the predictor free of the machine's drift
            between a build and a later timing.
        passes: sweeps over the ops and networks; an entry is the median of its sweeps' timings.
        batch_size, repeats, min_run_time, warmup, backend: ``measure_latency``'s settings for every timing.

    An existing calibration is kept only if nothing new had to be measured.
    """
    if hasattr(ops, "ops") and callable(ops.ops):
        space = ops.name if space is None else space
        ops = ops.ops()
    unique: dict[str, Layer] = {}
    for op in ops:
        unique.setdefault(op.key, op)
    archs = {a.name: a for a in (load_arch(x) for x in calibration_archs)}
    holdout = {a.name: a for a in (load_arch(x) for x in holdout_archs) if a.name not in archs}
    meta = _new_meta(list(unique.values()), device=device, threads=threads, batch_size=batch_size, backend=backend,
                     space=space or "", passes=passes, repeats=repeats, min_run_time=min_run_time, warmup=warmup)
    path = Path(out_path) if out_path is not None else None
    table = _resumed(path, meta) if path is not None and path.exists() and resume else LatencyTable(meta=meta)
    return _Build(table, unique, archs, path, passes, save_every, holdout).run(progress)


def _resumed(path: Path, meta: TableMeta) -> LatencyTable:
    """The table at ``path`` to go on with, if it was built with the same settings (:data:`BUILD_KEYS`)."""
    old = LatencyTable.read(path)
    diffs = [f"{k} {getattr(old.meta, k)!r} ≠ {getattr(meta, k)!r}" for k in BUILD_KEYS
             if getattr(old.meta, k) != getattr(meta, k)]
    if diffs:
        raise LUTError(f"{path}: exists with other settings ({'; '.join(diffs)}); delete it or "
                       f"overwrite it (resume=False, --force)")
    return LatencyTable(meta=dataclasses.replace(meta, created=old.meta.created, passes=max(meta.passes, old.meta.passes),
                                                 busy_other_cores=old.meta.busy_other_cores),
                        entries=dict(old.entries), calibration=old.calibration, networks=dict(old.networks))


class _Build:
    """The sweeps of :func:`build_table`: work items ``("op", key)`` and ``("net", name)`` with their timings
    so far, the load other processes put on the machine meanwhile, and periodic saves."""

    def __init__(self, table: LatencyTable, ops: dict[str, Layer], archs: dict[str, Arch], path: Path | None,
                 passes: int, save_every: int, holdout: dict[str, Arch] | None = None):
        self.table, self.ops, self.archs, self.path = table, ops, archs, path
        self.nets = {**archs, **(holdout or {})}  # every network timed; only ``archs`` are fitted
        self.passes, self.save_every = passes, save_every
        self.samples: dict[tuple[str, str], list[float]] = {}
        for key in ops:
            self.samples["op", key] = list(table.entries[key].samples_ms) if key in table.entries else []
        for name in self.nets:
            self.samples["net", name] = list(table.networks[name].samples_ms) if name in table.networks else []
        self.params = {key: table.entries[key].params for key in ops if key in table.entries}
        self.todo = sum(max(0, passes - len(s)) for s in self.samples.values())
        self.monitor, self.last_sample = OtherCpuLoad(), time.monotonic()

    def note_load(self, value: float | None) -> None:
        """Keep the busiest load seen in the table's metadata."""
        if value is not None:
            meta = self.table.meta
            self.table.meta = dataclasses.replace(meta, busy_other_cores=max(meta.busy_other_cores, round(value, 2)))

    def sample_load(self, min_interval: float) -> None:
        """Average other processes' load over windows of at least ``min_interval`` s: brief bursts don't count."""
        if time.monotonic() - self.last_sample >= min_interval:
            self.note_load(self.monitor.sample())
            self.last_sample = time.monotonic()

    def probe(self) -> None:
        """Listen before timing; warn once if other processes keep the machine busy."""
        others = other_busy_cores(IDLE_PROBE_S)
        self.note_load(others)
        self.monitor.sample()
        self.last_sample = time.monotonic()
        if others is not None and others > BUSY_LOAD:
            warnings.warn(f"other processes keep {others:.2f} CPU cores busy (> {BUSY_LOAD}): they distort the "
                          f"timings; stop (the partial table is kept) and resume when the machine is idle, or go "
                          f"on: the busiest moment is recorded in the table's metadata (busy_other_cores)",
                          BusyMachineWarning, stacklevel=4)

    def measure(self, kind: str, key: str) -> None:
        """One more timing of one work item, and its entry updated."""
        samples = self.samples[kind, key]
        if kind == "op":
            samples.append(measure_op(self.ops[key], self.table.meta))
            if not self.params.get(key):
                self.params[key] = op_params(self.ops[key])
            self.table.entries[key] = Entry.from_samples(samples, self.params[key])
        else:
            samples.append(measure_network(self.nets[key], self.table.meta))
            self.table.networks[key] = Entry.from_samples(samples)

    def fill_params(self) -> None:
        """Parameter counts for entries that lack one (resumed from a schema-1 table)."""
        for key, entry in list(self.table.entries.items()):
            if not entry.params and key in self.ops:
                self.table.entries[key] = dataclasses.replace(entry, params=op_params(self.ops[key]))

    def run(self, progress: bool) -> LatencyTable:
        from tqdm.auto import tqdm

        table, total = self.table, len(self.samples) * self.passes
        if self.todo:
            table.calibration = None
            self.probe()
        since_save, calibrated = 0, False
        bar = tqdm(total=total, initial=total - self.todo, disable=not progress, unit="op",
                   desc=f"LUT {table.meta.space or 'ops'}", dynamic_ncols=True)
        try:
            for p in range(self.passes):
                items = [item for item, s in self.samples.items() if len(s) == p]
                random.Random(p).shuffle(items)  # decorrelate slow drift of the machine from the op order
                for kind, key in items:
                    self.measure(kind, key)
                    bar.update(1)
                    since_save += 1
                    if since_save >= self.save_every:
                        self.sample_load(10.0)
                        if self.path is not None:
                            table.save(self.path)
                        since_save = 0
            if self.archs and (self.todo or table.calibration is None):
                self.fill_params()
                calibrate(table, list(self.archs.values()), [table.networks[n].median_ms for n in self.archs])
                calibrated = True
        finally:
            bar.close()
            if self.todo:
                self.sample_load(5.0)
            if self.path is not None and (self.todo or calibrated or not self.path.exists()):
                table.save(self.path)
        return table
