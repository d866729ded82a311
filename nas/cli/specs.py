"""Command-line text → the library's typed scoring settings: ``--latency measure|lut:FILE`` →
:class:`~nas.search.specs.LatencyMethod`, ``--proxy NAME|train:epochs=N,...`` → :class:`~nas.search.specs.ProxySpec`.
Both are argparse types: a bad value is one line naming the flag and the forms, exit 2."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nas.search.specs import LatencyMethod, ProxySpec, TrainProxy
    from nas.validation.predictor_proxy import PredictorSpec

__all__ = ["latency_method", "proxy_spec", "train_spec"]

_TRAIN_KEYS = {"epochs": int, "lr": float, "batch_size": int, "train_size": int, "test_size": int, "optimizer": str}


def latency_method(text: str) -> LatencyMethod:
    """``paired``, ``measure`` or ``lut:FILE.json``."""
    from nas.search.specs import LatencyMethod

    if text in ("measure", "paired"):
        return LatencyMethod(text)
    if text.startswith("lut:") and len(text) > 4:
        return LatencyMethod.lut(text[4:])
    raise argparse.ArgumentTypeError(f"invalid --latency {text!r}: use 'paired', 'measure' or 'lut:FILE.json'")


def proxy_spec(text: str) -> ProxySpec:
    """A zero-cost proxy name, or ``train:epochs=N[,lr=X,batch_size=N,train_size=N,test_size=N,optimizer=O]``."""
    from nas.proxies import names
    from nas.search.specs import ProxySpec, TrainProxy

    if text.startswith("predictor:"):
        return ProxySpec("predictor", predictor=_predictor(text))
    if text != "train" and not text.startswith("train:"):
        if text in names():
            return ProxySpec(text)
        raise argparse.ArgumentTypeError(f"invalid --proxy {text!r}: use one of {', '.join(names())}, "
                                         "train:epochs=N or predictor:K")
    options: dict[str, object] = {}
    for item in filter(None, text[len("train:"):].split(",")):
        key, _, value = item.partition("=")
        if key not in _TRAIN_KEYS or not value:
            raise argparse.ArgumentTypeError(f"invalid --proxy {text!r}: options are epochs=N, lr=X, batch_size=N, "
                                             "train_size=N, test_size=N, optimizer=sgd|adamw")
        try:
            options[key] = _TRAIN_KEYS[key](value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid --proxy {text!r}: {key} must be a number") from None
    try:
        return ProxySpec("train", TrainProxy(**options))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --proxy {text!r}: {exc}") from None


def train_spec(text: str) -> TrainProxy:
    """``train:epochs=N[,lr=X,…]`` (the ``--refine`` stage's training) → :class:`~nas.search.specs.TrainProxy`."""
    if text != "train" and not text.startswith("train:"):
        raise argparse.ArgumentTypeError(f"invalid --refine {text!r}: use train:epochs=N[,lr=X,batch_size=N,"
                                         "train_size=N,test_size=N,optimizer=sgd|adamw]")
    try:
        spec = proxy_spec(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--proxy", "--refine")) from None
    assert spec.train is not None
    return spec.train


def _predictor(text: str) -> PredictorSpec:
    """``predictor:K[,model=ridge|gp|boost][,epochs=E][,seeds=0+1]``."""
    from nas.validation.predictor_proxy import PredictorSpec

    k, *items = text[len("predictor:"):].split(",")
    options: dict[str, object] = {}
    try:
        options["k"] = int(k)
        for item in items:
            key, _, value = item.partition("=")
            if key == "model":
                options["model"] = value
            elif key == "epochs":
                options["epochs"] = int(value)
            elif key == "seeds":
                options["seeds"] = tuple(int(s) for s in value.split("+"))
            else:
                raise ValueError(f"unknown option {key!r}")
        return PredictorSpec(**options)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --proxy {text!r}: {exc} (use predictor:K[,model=ridge|gp|boost]"
                                         "[,epochs=E][,seeds=0+1])") from None
