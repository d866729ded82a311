"""The progress display of :meth:`nas.validation.validator.Validator.run_jobs`: one bar in epochs over the
pending trainings (with ETA), and one line per finished or skipped training."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["JobProgress"]


class JobProgress:
    """A tqdm bar over ``pending`` jobs (anything with ``arch``, ``epochs`` and ``seed``), used as a
    context manager; ``enabled=False`` hides the bar but keeps the per-training lines."""

    def __init__(self, pending: Sequence[Any], label: str, *, enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        self.label, self.pending, self.done = label, len(pending), 0
        self.bar = tqdm(total=sum(j.epochs for j in pending), unit="ep", disable=not enabled or not pending,
                        dynamic_ncols=True, desc=label)

    def __enter__(self) -> "JobProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def skipped(self, job: Any) -> None:
        """``job`` is left to another worker: count its epochs as done."""
        self.bar.write(f"{self.label}: {job.arch.name} {job.epochs} ep seed {job.seed}: another worker has it")
        self.bar.update(job.epochs)
        self.done += 1

    def start(self, job: Any, checkpoint: Path) -> Callable[[int, float], None]:
        """``job`` starts (or resumes from ``checkpoint``); returns the ``on_epoch_end`` callback that moves
        the bar."""
        from nas.train.checkpoint import checkpoint_epochs

        self.bar.set_description(f"{self.label} arch {self.done + 1}/{self.pending} ({job.epochs} ep, seed {job.seed})")
        resumed = checkpoint_epochs(checkpoint) if checkpoint.exists() else 0  # epochs it already holds
        self.bar.update(resumed)
        self.last = resumed

        def tick(epoch: int, loss: float) -> None:
            self.bar.update(epoch - self.last)
            self.last = epoch
            self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

        return tick

    def finished(self, job: Any, record: dict[str, Any]) -> None:
        """``job`` is done (its cache ``record``): complete its epochs and print one line."""
        self.bar.update(job.epochs - self.last)
        self.done += 1
        if record.get("status") == "ok":
            self.bar.write(f"{self.label}: {record['arch_name']} {job.epochs} ep seed {job.seed}: "
                           f"top-1 {record['test_top1']:.4f} ({record['seconds']:.0f} s)")
        else:
            self.bar.write(f"{self.label}: {record['arch_name']} failed: {record.get('error')}")
