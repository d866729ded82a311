"""Search spaces as data (DESIGN.md §3): a YAML file → :class:`SearchSpace` → :class:`~nas.arch.Arch`.

A space is a *skeleton* network (a zoo name, an arch YAML path, or an inline Arch mapping) plus one list of
choices per stage field, shared by every searched stage — MnasNet's factorized hierarchical space::

    name: mnasnet
    skeleton: mnasnet_b1          # zoo name | path/to/arch.yaml (relative to this file) | inline mapping
    resolution: 224               # optional override of the skeleton's resolution
    fixed_stages: [0]             # stages copied from the skeleton (default [])
    per_stage:                    # every other stage chooses once from each list
      block: [mbconv]             # ds | mbconv | shuffle | conv
      kernel_size: [3, 5]
      expand_ratio: [3, 6]
      se_ratio: [0, 0.25]
      num_repeat_delta: [-1, 0, 1]
      filters_scale: [0.75, 1.0, 1.25]
      id_skip: [true, false]

An omitted ``per_stage`` key means "the skeleton stage's own value" (a single choice). Stage ``i`` of a
sampled arch takes its block, kernel, expansion, SE ratio and skip flag from the choices,
``num_repeat = max(1, skeleton_repeat + delta)``, ``output_filters = make_divisible(skeleton_output ×
scale, 8)`` (scale 1 keeps the skeleton width exactly), ``input_filters`` chained from the previous stage,
strides and activation from the skeleton. Stem, head, SE conventions, BN and the default activation are the
skeleton's. Block-kind normalisation keeps every arch valid and canonical: ``expand_ratio = 1`` unless
``mbconv``; ``se_ratio = 0`` for ``shuffle``/``conv``; ``pw_act`` only on a ``ds`` stage whose skeleton
stage is a ``ds`` with ``pw_act``; and ``id_skip`` = the skeleton stage's flag where no block of the stage
can have an identity skip whatever its input (shuffle units; a single stride-2 block) — so two parameter
sets that build the same network give the same ``Arch``.

Optuna parameters are named ``s{i}_{key}`` for every searched stage ``i`` and every one of the seven keys
(single-choice keys too), all categorical with choices that never depend on other answers::

    >>> space = load_space("search_spaces/mnasnet.yaml")
    >>> arch = space.sample(0)                      # or space.suggest(trial), space.from_params(params)
    >>> arch == space.from_params(space.params_of(arch))
    True

Errors are :class:`SpaceError`, one line naming the file and the key::

    search_spaces/x.yaml: per_stage.kernel_size: 4 is not a valid kernel size (choices must be from 3, 5, 7)
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from nas.arch.key import arch_key
from nas.arch.layers import Layer, resolve, resolve_head, resolve_stage, round_filters, round_repeats
from nas.arch.spec import Arch, ArchError, BlockArgs, make_divisible, validate

if TYPE_CHECKING:  # optuna is imported lazily: loading a space and sampling never need it
    import optuna

__all__ = ["KEYS", "SearchSpace", "SpaceError", "find_choice", "format_choices", "show_choice"]

KEYS = ("block", "kernel_size", "expand_ratio", "se_ratio", "num_repeat_delta", "filters_scale", "id_skip")


class SpaceError(ValueError):
    """An invalid search space file or parameter set: one line, ``source: key: problem``."""


# ---------------------------------------------------------------------------------------------------
# The space
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """A validated search space. Build it with :func:`load_space`; treat every attribute as read-only.

    ``choices[i][key]`` is the tuple of choices of searched stage ``i`` (all seven :data:`KEYS`; an
    omitted key holds the skeleton's value). ``declared`` lists the keys the file gave explicitly.
    """

    name: str
    skeleton: Arch  # with the space's resolution applied
    choices: Mapping[int, Mapping[str, tuple]]
    fixed_stages: tuple[int, ...]
    searched_stages: tuple[int, ...]
    declared: tuple[str, ...] = ()
    source: str = "<space>"
    # Derived at construction: per searched stage, choice-index tuple → realised stage (input_filters=0),
    # and the distinct realised stages in first-seen order.
    _configs: dict[int, dict[tuple[int, ...], BlockArgs]] = field(init=False, repr=False)
    _distinct: dict[int, dict[BlockArgs, tuple[int, ...]]] = field(init=False, repr=False)
    _ops_cache: dict[int, list[Layer]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        configs: dict[int, dict[tuple[int, ...], BlockArgs]] = {}
        distinct: dict[int, dict[BlockArgs, tuple[int, ...]]] = {}
        for i in self.searched_stages:
            lists = [self.choices[i][k] for k in KEYS]
            configs[i], distinct[i] = {}, {}
            for index in itertools.product(*(range(len(c)) for c in lists)):
                b = self._realise(i, {k: c[j] for k, c, j in zip(KEYS, lists, index)})
                configs[i][index] = b
                distinct[i].setdefault(b, index)
        object.__setattr__(self, "_configs", configs)
        object.__setattr__(self, "_distinct", distinct)
        object.__setattr__(self, "_ops_cache", {})

    # -- realisation ---------------------------------------------------------------------------------

    def _realise(self, i: int, v: Mapping[str, Any]) -> BlockArgs:
        """Stage ``i`` for one value per key, normalised, with ``input_filters=0`` (chained later)."""
        sk = self.skeleton.blocks[i]
        kind = v["block"]
        scale = v["filters_scale"]
        out = sk.output_filters if scale == 1 else make_divisible(sk.output_filters * scale, 8)
        try:
            b = self._block(i, v, kind, out)
        except ArchError as exc:  # beyond nas.arch.fields.LIMITS: the loader names the file
            raise exc.at(self.source, f"blocks[{i}]") from None
        return self._canonical(i, b)

    def _block(self, i: int, v: Mapping[str, Any], kind: str, out: int) -> BlockArgs:
        sk = self.skeleton.blocks[i]
        return BlockArgs(
            block=kind,
            num_repeat=max(1, sk.num_repeat + v["num_repeat_delta"]),
            kernel_size=v["kernel_size"],
            strides=sk.strides,
            expand_ratio=v["expand_ratio"] if kind == "mbconv" else 1,
            input_filters=0,
            output_filters=out,
            se_ratio=v["se_ratio"] if kind in ("mbconv", "ds") else 0,
            id_skip=v["id_skip"],
            activation=sk.activation,
            pw_act=kind == "ds" and sk.block == "ds" and sk.pw_act,
        )

    def _canonical(self, i: int, b: BlockArgs) -> BlockArgs:
        """Stage ``i`` with ``id_skip`` set to the skeleton stage's value where no block of the stage can
        have an identity skip whatever its input (a shuffle unit; a single stride-2 block)."""
        never = b.block == "shuffle" or (
            b.strides == 2 and round_repeats(b.num_repeat, self.skeleton.depth_multiplier) == 1)
        skeleton_flag = self.skeleton.blocks[i].id_skip
        return dataclasses.replace(b, id_skip=skeleton_flag) if never and b.id_skip != skeleton_flag else b

    def _arch(self, stages: Mapping[int, BlockArgs]) -> Arch:
        """Chain the stages (searched ones from ``stages``, fixed ones from the skeleton) into a named Arch."""
        blocks, previous = [], self.skeleton.stem.filters
        for i, sk in enumerate(self.skeleton.blocks):
            b = stages[i] if i in stages else sk
            blocks.append(dataclasses.replace(b, input_filters=previous))
            previous = b.output_filters
        arch = dataclasses.replace(self.skeleton, name=self.name, blocks=tuple(blocks))
        arch = dataclasses.replace(arch, name=f"{self.name}-{arch_key(arch)[:10]}")
        try:
            validate(arch, self.source)
        except ArchError as exc:  # load-time checks make this unreachable; keep the promise of one line
            raise SpaceError(str(exc)) from None
        return arch

    # -- parameters ----------------------------------------------------------------------------------

    def param_names(self) -> list[str]:
        """``s{i}_{key}`` for every searched stage and key, in suggestion order."""
        return [f"s{i}_{k}" for i in self.searched_stages for k in KEYS]

    def distributions(self) -> dict[str, "optuna.distributions.CategoricalDistribution"]:
        """The Optuna distribution of every parameter (for ``study.enqueue_trial``, ``create_trial``…)."""
        from optuna.distributions import CategoricalDistribution

        return {f"s{i}_{k}": CategoricalDistribution(list(self.choices[i][k]))
                for i in self.searched_stages for k in KEYS}

    def _index(self, params: Mapping[str, Any]) -> dict[int, tuple[int, ...]]:
        """Choice indices per searched stage. Single-choice parameters may be missing; names that are not
        parameters of this space are ignored (a study may hold other hyperparameters)."""
        out = {}
        for i in self.searched_stages:
            index = []
            for k in KEYS:
                name, choices = f"s{i}_{k}", self.choices[i][k]
                if name not in params:
                    if len(choices) > 1:
                        raise SpaceError(f"{self.source}: {name}: missing parameter (choices: {format_choices(choices)})")
                    index.append(0)
                    continue
                j = find_choice(choices, params[name])
                if j is None:
                    raise SpaceError(f"{self.source}: {name}: {params[name]!r} is not one of the choices "
                                     f"{format_choices(choices)}")
                index.append(j)
            out[i] = tuple(index)
        return out

    def from_params(self, params: Mapping[str, Any]) -> Arch:
        """The Arch for a parameter dict (``trial.params``, ``FixedTrial`` params, :meth:`params_of`).

        Deterministic: equal parameters always give an equal Arch with identical YAML text.
        """
        index = self._index(params)
        return self._arch({i: self._configs[i][index[i]] for i in self.searched_stages})

    def suggest(self, trial: "optuna.trial.BaseTrial") -> Arch:
        """Ask ``trial`` for every parameter (``suggest_categorical``) and return the Arch.

        A ``FixedTrial`` needs every parameter, single-choice ones included (``params_of`` gives them).
        """
        params = {f"s{i}_{k}": trial.suggest_categorical(f"s{i}_{k}", list(self.choices[i][k]))
                  for i in self.searched_stages for k in KEYS}
        return self.from_params(params)

    def sample(self, rng: random.Random | int | None = None) -> Arch:
        """A random Arch, each parameter uniform over its choices (not uniform over distinct archs).
        ``rng`` is a ``random.Random`` or a seed."""
        return self.from_params(self.sample_params(rng))

    def sample_params(self, rng: random.Random | int | None = None) -> dict[str, Any]:
        """Random parameters, each uniform over its choices, in :meth:`param_names` order."""
        r = rng if isinstance(rng, random.Random) else random.Random(rng)
        return {f"s{i}_{k}": r.choice(self.choices[i][k]) for i in self.searched_stages for k in KEYS}

    def params_of(self, arch: Arch) -> dict[str, Any]:
        """Parameters that produce ``arch`` (the first in choice order when several do). The name and the
        dataset adapters ``build_model`` overrides (``num_classes``, ``in_channels``, ``resolution``) are
        ignored. Raises :class:`SpaceError` naming the first field or stage that is outside the space."""
        where = f"{self.source}: arch {arch.name!r}"
        if len(arch.blocks) != len(self.skeleton.blocks):
            raise SpaceError(f"{where}: has {len(arch.blocks)} stages, the space {len(self.skeleton.blocks)}")
        for f in dataclasses.fields(Arch):
            if f.name in ("name", "blocks", "num_classes", "in_channels", "resolution"):
                continue
            if getattr(arch, f.name) != getattr(self.skeleton, f.name):
                raise SpaceError(f"{where}: {f.name} differs from the skeleton's")
        params: dict[str, Any] = {}
        for i, b in enumerate(arch.blocks):
            b0 = self._canonical(i, dataclasses.replace(b, input_filters=0))
            if i in self.fixed_stages:
                if b0 != dataclasses.replace(self.skeleton.blocks[i], input_filters=0):
                    raise SpaceError(f"{where}: blocks[{i}]: differs from the skeleton's fixed stage")
                continue
            index = self._distinct[i].get(b0)
            if index is None:
                raise SpaceError(f"{where}: blocks[{i}]: not a stage of this space")
            params.update({f"s{i}_{k}": self.choices[i][k][j] for k, j in zip(KEYS, index)})
        return params

    def __contains__(self, arch: object) -> bool:
        if not isinstance(arch, Arch):
            return False
        try:
            self.params_of(arch)
        except SpaceError:
            return False
        return True

    def reference_archs(self) -> list[Arch]:
        """The skeleton as the space realises it, named after the skeleton (e.g. ``mnasnet_b1``), if it is
        inside the space; else an empty list (e.g. MobileNetV3's 2.3/2.5 expansions are not choices)."""
        try:
            arch = self.from_params(self.params_of(self.skeleton))
        except SpaceError:
            return []
        return [dataclasses.replace(arch, name=self.skeleton.name)]

    # -- counting ------------------------------------------------------------------------------------

    def stage_options(self, i: int) -> list[BlockArgs]:
        """The distinct realised configurations of stage ``i`` (``input_filters`` = 0: set by chaining)."""
        if i in self.fixed_stages:
            return [dataclasses.replace(self.skeleton.blocks[i], input_filters=0)]
        return list(self._distinct[i])

    def size(self) -> int:
        """The number of distinct Arch objects of the space: the product over searched stages of the
        number of distinct realised stage configurations (choices that realise the same stage count once)."""
        return math.prod(len(self._distinct[i]) for i in self.searched_stages)

    def widths(self) -> list[list[int]]:
        """Possible ``output_filters`` of every stage (before the skeleton's width multiplier)."""
        return [sorted({b.output_filters for b in self.stage_options(i)}) for i in range(len(self.skeleton.blocks))]

    # -- layers for lookup tables --------------------------------------------------------------------

    def ops(self, resolution: int | None = None) -> list[Layer]:
        """Every distinct layer (by :attr:`Layer.key`) any arch of the space can produce at ``resolution``
        (default: the space's), stem and head included, in a deterministic order.

        Each stage is resolved for every possible input width × every realised configuration with
        ``max_repeats=2`` (later repeats are identical layers); sizes follow the skeleton's fixed strides.
        """
        size = self.skeleton.resolution if resolution is None else resolution
        if size not in self._ops_cache:
            self._ops_cache[size] = self._ops(size)
        return list(self._ops_cache[size])

    def _ops(self, resolution: int) -> list[Layer]:
        arch, wm = self.skeleton, self.skeleton.width_multiplier
        stem = resolve(arch, resolution)[0]
        found: dict[str, Layer] = {stem.key: stem}
        in_widths, size = [stem.out_chs], stem.output_size
        for i in range(len(arch.blocks)):
            options = self.stage_options(i)
            sizes = set()
            for in_chs in in_widths:
                for b in options:
                    for layer in resolve_stage(arch, b, i, in_chs, size, max_repeats=2):
                        found.setdefault(layer.key, layer)
                    sizes.add(layer.output_size)
            assert len(sizes) == 1, f"stage {i}: output size depends on the choices ({sizes})"
            size = sizes.pop()
            in_widths = sorted({round_filters(b.output_filters, wm) for b in options})
        for in_chs in in_widths:
            layer = resolve_head(arch, in_chs, size)
            found.setdefault(layer.key, layer)
        return list(found.values())




def format_choices(values: Iterable[Any]) -> str:
    """``3, 5`` / ``true, false`` / ``0.75, 1``: choices as a person writes them in the YAML file."""
    return ", ".join(show_choice(v) for v in values)


def show_choice(v: Any) -> str:
    """One choice as written in YAML (``true``, ``0.75``, ``mbconv``)."""
    return str(v).lower() if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)


def _same(a: Any, b: Any) -> bool:
    """Equal and both bools or both non-bools (``True == 1`` in Python)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def find_choice(choices: tuple, value: Any) -> int | None:
    """The index of ``value`` among ``choices`` (``True`` never matches ``1``), or ``None``."""
    for j, c in enumerate(choices):
        if _same(c, value):
            return j
    return None
