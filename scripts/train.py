#!/usr/bin/env python3
"""Train one architecture for a few epochs on a local dataset and record its test accuracy.

    python scripts/train.py ARCH.yaml --data fashion-mnist --epochs 5 [--out DIR]

ARCH is a YAML file or a zoo name. Writes DIR/checkpoint.pt after every epoch and
DIR/result.json at the end (DIR defaults to runs/train/<arch-name>/). Ctrl-C saves the
checkpoint; rerunning the same command resumes. Usage errors exit 2, Ctrl-C exits 130.
All logic lives in nas.data and nas.train.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

try:
    import nas  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nas.cli import OneLineParser, positive_float, positive_int  # noqa: E402
from nas.data import SPEC_FORMS, DataError, load_dataset  # noqa: E402
from nas.train import CheckpointError, TrainConfig, check_model, seed_everything, train  # noqa: E402


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="train.py", description=__doc__.split("\n\n")[0])
    p.add_argument("arch", metavar="ARCH", help="architecture YAML file or zoo name")
    p.add_argument("--data", default="fashion-mnist", help=f"dataset spec: {SPEC_FORMS} (default: fashion-mnist)")
    p.add_argument("--epochs", type=positive_int, default=10, help="training epochs (default: 10)")
    p.add_argument("--resolution", type=positive_int, default=32, help="input side in pixels (default: 32)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="batch size (default: 128)")
    p.add_argument("--lr", type=positive_float, default=None, help="peak learning rate (default: sgd 0.05, adamw 0.002)")
    p.add_argument("--weight-decay", type=float, default=None, help="weight decay (default: sgd 5e-4, adamw 0.05)")
    p.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    p.add_argument("--schedule", choices=("cosine", "onecycle"), default="cosine")
    p.add_argument("--train-size", type=positive_int, default=None, help="stratified train subset size (default: all)")
    p.add_argument("--test-size", type=positive_int, default=None, help="stratified test subset size (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads")
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto (default: cpu)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: runs/train/<arch-name>/)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _build(arch: str, num_classes: int, in_channels: int) -> tuple[Any, str]:
    """Build the model for a YAML path or a zoo name; return (model, arch name)."""
    from nas.builder import build_model  # lazily: torch-heavy and owned by nas.builder

    path = Path(arch)
    if path.is_file():
        return build_model(path, num_classes=num_classes, in_channels=in_channels), path.stem
    if path.suffix.lower() in (".yaml", ".yml") or len(path.parts) > 1:
        raise FileNotFoundError(f"{arch}: no such file")
    from nas import zoo

    return build_model(zoo.load(arch), num_classes=num_classes, in_channels=in_channels), arch


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def fail(message: object) -> None:
        parser.exit(2, f"{parser.prog}: error: {' '.join(str(message).split())}\n")

    try:
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
            weight_decay=args.weight_decay, schedule=args.schedule, seed=args.seed,
            num_threads=args.threads, device=args.device,
        )
        data = load_dataset(
            args.data, resolution=args.resolution, train_size=args.train_size,
            test_size=args.test_size, seed=args.seed,
        )
        seed_everything(args.seed)
        model, name = _build(args.arch, data.num_classes, data.in_channels)
        check_model(model, data)
    except ImportError as exc:
        fail(f"cannot build {args.arch}: {exc}")
    except (DataError, OSError, ValueError) as exc:  # nas.arch.ArchError is a ValueError
        fail(exc)

    out = args.out if args.out is not None else Path("runs") / "train" / name
    try:  # KeyboardInterrupt: train() has saved the checkpoint; main() reports it
        result = train(model, data, config, checkpoint=out / "checkpoint.pt", progress=not args.no_progress)
    except CheckpointError as exc:
        fail(exc)
    except FloatingPointError as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 1
    result.save(out / "result.json")
    print(
        f"{name}: test top-1 {result.test_top1:.4f} after {result.epochs_done} epochs "
        f"({result.seconds:.1f} s, {result.n_params:,} params); wrote {out / 'result.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
