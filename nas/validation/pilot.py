"""The pilot of :mod:`nas.validation`: time training steps of the smallest, the median and the largest
(by MACs) of the first archs, to size the program before running it; saved as ``pilot.json`` beside the
caches and quoted by the report. :func:`run_speed` / :func:`speed_markdown`: the trainer's epoch time under
its speed settings (before and after channels-last on the CPU; eager, CUDA graphs and bf16 on a GPU)."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nas.arch.spec import Arch
from nas.files import atomic_write
from nas.validation.cache import timestamp
from nas.validation.validator import Validator

__all__ = ["PILOT_NAME", "SPEED_VARIANTS", "load_pilot", "run_pilot", "run_speed", "save_pilot", "speed_markdown",
           "time_steps"]

PILOT_NAME = "pilot.json"


def time_steps(v: Validator, arch: Arch, *, steps: int = 20, warmup: int = 3) -> dict[str, Any]:
    """Seconds per training step (forward + backward + optimizer step of the recipe, batch
    ``setup.training.batch_size``) of ``arch``, median over ``steps`` steps after ``warmup``; and the
    implied seconds per epoch, with the arch's parameters and MACs."""
    import torch

    from nas.model.cost import count_macs, count_params
    from nas.train.optim import make_optimizer  # the recipe's optimizer, so the step costs the same
    from nas.train.threads import torch_threads

    data = v.data()
    config = v.setup.train_config(1, v.seed)
    with torch_threads(v.setup.threads):
        macs = count_macs(v.build(arch, v.seed), data.resolution, data.in_channels)
        model = v.build(arch, v.seed, for_training=True)
        opt = make_optimizer(model, config)
        crit = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        images, labels = data.train.tensors
        model.train()
        times = []
        g = torch.Generator().manual_seed(v.seed)
        for i in range(warmup + steps):
            idx = torch.randint(0, len(labels), (config.batch_size,), generator=g)
            t0 = time.perf_counter()
            loss = crit(model(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    per_step = float(np.median(times))
    steps_per_epoch = math.ceil(data.train_size / config.batch_size)
    return {"arch_name": arch.name, "params": count_params(model), "macs": macs,
            "s_per_step": per_step, "s_per_epoch": per_step * steps_per_epoch,
            "batch_size": config.batch_size, "train_images": data.train_size, "resolution_px": data.resolution}


def run_pilot(v: Validator, n: int, *, steps: int = 20) -> dict[str, Any]:
    """Time (:func:`time_steps`) the smallest, the median and the largest (by MACs) of the first ``n``
    archs; with the date, the machine (:func:`nas.machine.describe`) and the setup."""
    from nas.machine import describe
    from nas.model.cost import count_macs

    data = v.data()
    archs = v.archs(n)
    macs = [count_macs(v.build(a, v.seed), data.resolution, data.in_channels) for a in archs]
    order = np.argsort(macs, kind="stable")
    picks = {"small": order[0], "median": order[len(order) // 2], "large": order[-1]}
    rows = {label: time_steps(v, archs[i], steps=steps) for label, i in picks.items()}
    return {"date": timestamp(), "machine": describe(), "setup": v.setup.to_dict(),
            "archs_considered": n, "macs_min": int(min(macs)), "macs_median": float(np.median(macs)),
            "macs_max": int(max(macs)), "mean_macs": float(np.mean(macs)), "rows": rows}


def load_pilot(cache_dir: str | Path) -> dict[str, Any] | None:
    """The pilot saved in ``cache_dir``, or None if there is none (or it does not parse)."""
    p = Path(cache_dir) / PILOT_NAME
    try:
        return json.loads(p.read_text()) if p.exists() else None
    except ValueError:
        return None


def save_pilot(cache_dir: str | Path, pilot: Mapping[str, Any]) -> Path:
    """Write ``pilot`` as ``cache_dir/pilot.json`` (atomically); returns the path."""
    return atomic_write(Path(cache_dir) / PILOT_NAME, json.dumps(pilot, indent=2) + "\n")


#: The trainer settings timed by :func:`run_speed`, per device type: (label, TrainConfig overrides, streamed).
SPEED_VARIANTS: dict[str, list[tuple[str, dict[str, Any], bool]]] = {
    "cpu": [("NCHW, streamed sample by sample", {"channels_last": False}, True),
            ("NCHW, in memory (before)", {"channels_last": False}, False),
            ("channels-last, in memory (after)", {"channels_last": True}, False)],
    "cuda": [("eager, data on the GPU", {"cuda_graphs": False}, False),
             ("CUDA graphs, data on the GPU", {"cuda_graphs": True}, False),
             ("CUDA graphs + bf16 autocast", {"cuda_graphs": True, "precision": "bf16"}, False)],
}


def run_speed(v: Validator, n: int, *, steps: tuple[int, int] = (10, 30)) -> dict[str, Any]:
    """Epoch time of the trainer (:func:`nas.train.speed.time_training`) for the smallest, the median and
    the largest (by parameters) of the first ``n`` archs, under every setting of :data:`SPEED_VARIANTS` for
    the setup's device type; with the date, the machine and the setup."""
    import dataclasses
    import os

    from nas.device import resolve_device
    from nas.machine import describe
    from nas.train.speed import time_training
    from nas.train.threads import torch_threads

    data = v.data()
    archs = v.archs(n)
    params = [sum(p.numel() for p in v.build(a, v.seed).parameters()) for a in archs]
    order = np.argsort(params, kind="stable")
    picks = {"small": order[0], "median": order[len(order) // 2], "large": order[-1]}
    base = v.setup.train_config(1, v.seed)
    load_before = os.getloadavg()[0]
    rows = []
    with torch_threads(v.setup.threads):
        for label, i in picks.items():
            for name, overrides, streamed in SPEED_VARIANTS[resolve_device(v.setup.device).type]:
                config = dataclasses.replace(base, **overrides)
                t = time_training(lambda: v.build(archs[i], v.seed), data, config, steps=steps, streamed=streamed)
                rows.append({"pick": label, "arch_name": archs[i].name, "params": params[i], "variant": name, **t})
    return {"date": timestamp(), "machine": describe(), "setup": v.setup.to_dict(), "archs_considered": n,
            "steps": list(steps), "rows": rows, "load": [load_before, os.getloadavg()[0]]}


def speed_markdown(speed: Mapping[str, Any], *, command: str | None = None) -> str:
    """The speed table as Markdown: seconds per epoch of each arch under each setting, and the speed-up of
    the last setting over the one before it."""
    from nas.markdown import table

    m, s = speed["machine"], speed["setup"]
    first = speed["rows"][0]
    L = [f"## Training speed: {s['device']}, {first['train_images']} training images, batch {first['batch_size']}", ""]
    L += [f"- Command: `{command}`"] if command else []
    L += [f"- Date: {speed['date']}; machine: {m['cpu']}, {m['cores']} logical cores, torch {m['torch']}, "
          f"{m['threads']} threads; 1-min load average {speed['load'][0]:.2f} before, {speed['load'][1]:.2f} after "
          "(numbers taken under load are not comparable across machines)",
          f"- Method: the real trainer on {speed['steps'][0]} and {speed['steps'][1]} batches; seconds per step = "
          "the difference over the extra steps (fixed costs cancel); seconds per epoch = that × steps per epoch",
          ""]
    cells = [[r["pick"], r["arch_name"], f"{r['params']:,}", r["variant"], f"{1e3 * r['s_per_step']:.1f}",
              f"{r['s_per_epoch']:.1f}"] for r in speed["rows"]]
    L.append(table(["arch", "name", "params", "setting", "ms/step", "s/epoch"], cells))
    by_arch: dict[str, list[dict[str, Any]]] = {}
    for r in speed["rows"]:
        by_arch.setdefault(r["pick"], []).append(r)
    gains = [f"{k} {rs[-2]['s_per_epoch'] / rs[-1]['s_per_epoch']:.2f}×" for k, rs in by_arch.items()
             if len(rs) >= 2 and rs[-1]["s_per_epoch"] > 0]
    if gains:
        L += ["", f"Speed-up of \"{speed['rows'][-1]['variant']}\" over \"{speed['rows'][-2]['variant']}\": "
              + ", ".join(gains) + "."]
    return "\n".join(L) + "\n"
