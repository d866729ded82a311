"""The pilot of :mod:`nas.validation`: time training steps of the smallest, the median and the largest
(by MACs) of the first archs, to size the program before running it; saved as ``pilot.json`` beside the
caches and quoted by the report."""
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

__all__ = ["PILOT_NAME", "load_pilot", "run_pilot", "save_pilot", "time_steps"]

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
