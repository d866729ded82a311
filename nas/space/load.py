"""Search-space files → a validated :class:`~nas.space.space.SearchSpace`: :func:`load_space`.

A space is given as a bundled name (``mnasnet``, ``mobile_32px``, … — :func:`nas.space.bundled.bundled_names`),
a YAML path, or a plain dict. Every problem raises :class:`~nas.space.space.SpaceError` with one line naming
the file and the key::

    search_spaces/x.yaml: per_stage.kernel_size: 4 is not a valid kernel size (choices must be from 3, 5, 7)

Beyond the per-key checks, every stage a space can realise is built as a block for every input width it can
receive, so a space that could produce an invalid network is refused at load time, not in trial 4,000.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any, Mapping

from nas.arch.check import block_from_dict
from nas.arch.io import load_arch, load_zoo, zoo_names
from nas.files import parse_yaml, read_text
from nas.arch.fields import LIMITS
from nas.arch.spec import BLOCK_KINDS, KERNELS, Arch, ArchError, BlockArgs, StemArgs, validate
from nas import search_spaces
from nas.numbers import is_finite
from nas.space.space import KEYS, SearchSpace, SpaceError, find_choice, format_choices, show_choice

__all__ = ["NAME_PATTERN", "load_space"]

_TOP_KEYS = ("name", "skeleton", "resolution", "fixed_stages", "per_stage")
#: A space's name becomes part of run folders and file names: no path separators, no leading dot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _Loader:
    def __init__(self, label: str, base: Path | None):
        self.label, self.base = label, base

    def fail(self, where: str, message: str) -> None:
        raise SpaceError(f"{self.label}: {where}: {message}")

    def skeleton(self, value: Any) -> Arch:
        if isinstance(value, Mapping):
            try:
                return load_arch(value)
            except ArchError as exc:
                message = str(exc).removeprefix("<dict>: ")
                raise SpaceError(f"{self.label}: skeleton.{message}") from None
        if not isinstance(value, str) or not value.strip():
            self.fail("skeleton", f"expected a zoo name, an arch YAML path or an inline arch mapping, got {value!r}")
        if value.endswith((".yaml", ".yml")):
            path = Path(value) if self.base is None or Path(value).is_absolute() else self.base / value
            if not path.is_file():
                self.fail("skeleton", f"{path}: no such file")
            try:
                return load_arch(path)
            except ArchError as exc:
                self.fail("skeleton", str(exc))
        if value not in zoo_names():
            hint = difflib.get_close_matches(value, zoo_names(), n=1)
            self.fail("skeleton", f"unknown zoo network {value!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                      + f"; known: {', '.join(zoo_names())}")
        return load_zoo(value)

    def choice_list(self, key: str, raw: Any, kinds: set[str]) -> tuple:
        where = f"per_stage.{key}"
        if not isinstance(raw, list) or not raw:
            self.fail(where, f"expected a non-empty list of choices, got {raw!r}")
        for v in raw:
            self.check_value(where, key, v, kinds)
        for j, v in enumerate(raw):
            if find_choice(tuple(raw[:j]), v) is not None:
                self.fail(where, f"duplicate choice {show_choice(v)}")
        return tuple(raw)

    def check_value(self, where: str, key: str, v: Any, kinds: set[str]) -> None:
        if key == "block":
            if v not in BLOCK_KINDS or not isinstance(v, str):
                self.fail(where, f"{v!r} is not a block kind (choices must be from {', '.join(BLOCK_KINDS)})")
        elif key == "kernel_size":
            allowed = sorted(set.intersection(*(set(KERNELS[k]) for k in kinds)))
            if not _is_int(v) or v not in allowed:
                self.fail(where, f"{show_choice(v) if is_finite(v) else repr(v)} is not a valid kernel size "
                                 f"(choices must be from {format_choices(allowed)}"
                                 + (f" for {'/'.join(sorted(kinds))} blocks)" if len(allowed) < 4 else ")"))
        elif key == "expand_ratio":
            if not is_finite(v) or not 1 <= v <= 16:
                self.fail(where, f"{v!r} is not a valid expand ratio (choices must be numbers in [1, 16])")
        elif key == "se_ratio":
            if not is_finite(v) or not 0 <= v <= 1:
                self.fail(where, f"{v!r} is not a valid SE ratio (choices must be numbers in [0, 1])")
        elif key == "num_repeat_delta":
            if not _is_int(v):
                self.fail(where, f"{v!r} is not a valid repeat delta (choices must be integers)")
        elif key == "filters_scale":
            if not is_finite(v) or not 0 < v <= 8:
                self.fail(where, f"{v!r} is not a valid width scale (choices must be numbers in (0, 8])")
        elif key == "id_skip":
            if not isinstance(v, bool):
                self.fail(where, f"{v!r} is not a valid skip flag (choices must be true or false)")


def _skeleton_value(b: BlockArgs, key: str) -> Any:
    return {"num_repeat_delta": 0, "filters_scale": 1.0}.get(key, getattr(b, key, None))


def load_space(source: str | Path | Mapping[str, Any]) -> SearchSpace:
    """Load and validate a search space: a bundled name (``"mnasnet"``, ``"mobile_32px"``, … — see
    :func:`nas.search_spaces.names`), a YAML file, or a plain dict (labelled ``<dict>``).

    Every problem raises :class:`SpaceError` with one line naming the file and the key.
    """
    if isinstance(source, str) and not Path(source).is_file() and search_spaces.path(source) is not None:
        source = search_spaces.path(source)
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise SpaceError(f"{source}: no such search space file (bundled: {', '.join(search_spaces.names())})")
    label, base, data = _read(source)
    ld = _Loader(label, base)
    _check_top(ld, data)
    skeleton = ld.skeleton(data["skeleton"])
    if "resolution" in data:
        r = data["resolution"]
        if not _is_int(r) or not 32 <= r <= LIMITS["resolution"]:
            ld.fail("resolution", f"expected an integer from 32 to {LIMITS['resolution']}, got {r!r}")
        skeleton = dataclasses.replace(skeleton, resolution=r)
    fixed = _fixed_stages(ld, data.get("fixed_stages", []), len(skeleton.blocks))
    searched = tuple(i for i in range(len(skeleton.blocks)) if i not in fixed)
    declared = _declared(ld, data.get("per_stage", {}), skeleton, searched)
    choices = {i: {k: declared[k] if k in declared else (_skeleton_value(skeleton.blocks[i], k),) for k in KEYS}
               for i in searched}
    try:
        space = SearchSpace(name=data["name"], skeleton=skeleton, choices=choices, fixed_stages=fixed,
                            searched_stages=searched, declared=tuple(k for k in KEYS if k in declared), source=label)
    except ArchError as exc:  # a choice takes a stage past nas.arch.fields.LIMITS
        ld.fail("per_stage", f"a stage can realise an invalid block: {exc.where}: {exc.problem}")
    _check_stages(space, ld)
    return space


def _read(source: str | Path | Mapping[str, Any]) -> tuple[str, Path | None, Any]:
    """(label, folder relative skeleton paths are resolved against, parsed content) of a space source."""
    if isinstance(source, Mapping):
        return "<dict>", None, source
    label = str(source)
    return label, Path(source).parent, parse_yaml(read_text(source, label, SpaceError), label, SpaceError)


def _check_top(ld: _Loader, data: Any) -> None:
    """The top level: a mapping of known keys with ``name`` (no spaces) and ``skeleton``."""
    if not isinstance(data, Mapping):
        raise SpaceError(f"{ld.label}: expected a mapping with keys {', '.join(_TOP_KEYS)}, got {type(data).__name__}")
    if "blocks" in data and "skeleton" not in data:
        raise SpaceError(f"{ld.label}: this is an architecture (it has blocks:, no skeleton:), not a search space; "
                         "give it where an ARCH is asked for (nas inspect, nas train, nas scale)")
    for key in data:
        if key not in _TOP_KEYS:
            hint = difflib.get_close_matches(str(key), _TOP_KEYS, n=1)
            ld.fail(str(key), "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; known: {', '.join(_TOP_KEYS)}")
    for key in ("name", "skeleton"):
        if key not in data:
            ld.fail(key, "missing required key")
    name = data["name"]
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        ld.fail("name", f"expected a name of letters, digits, '_', '.' and '-' (it names files and folders), "
                        f"got {name!r}")


def _fixed_stages(ld: _Loader, raw: Any, n: int) -> tuple[int, ...]:
    """The validated, sorted ``fixed_stages`` of a skeleton with ``n`` stages."""
    if not isinstance(raw, list):
        ld.fail("fixed_stages", f"expected a list of stage indices, got {raw!r}")
    for v in raw:
        if not _is_int(v) or not 0 <= v < n:
            ld.fail("fixed_stages", f"{v!r} is not a stage index of the skeleton (0…{n - 1})")
    if len(set(raw)) != len(raw):
        ld.fail("fixed_stages", "duplicate stage index")
    return tuple(sorted(raw))


def _declared(ld: _Loader, per_stage: Any, skeleton: Arch, searched: tuple[int, ...]) -> dict[str, tuple]:
    """The validated choice lists the file declares under ``per_stage``."""
    per_stage = {} if per_stage is None else per_stage
    if not isinstance(per_stage, Mapping):
        ld.fail("per_stage", f"expected a mapping of key → list of choices, got {per_stage!r}")
    for key in per_stage:
        if key not in KEYS:
            hint = difflib.get_close_matches(str(key), KEYS, n=1)
            ld.fail(f"per_stage.{key}", "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                    + f"; known: {', '.join(KEYS)}")
    kinds = (set(per_stage["block"]) & set(BLOCK_KINDS)
             if isinstance(per_stage.get("block"), list) and all(isinstance(v, str) for v in per_stage["block"])
             else set())
    kinds = kinds or {skeleton.blocks[i].block for i in searched} or {"mbconv"}
    return {k: ld.choice_list(k, per_stage[k], kinds) for k in KEYS if k in per_stage}


def _check_stages(space: SearchSpace, ld: _Loader) -> None:
    """Every realised stage, for every input width it can receive, must be a valid block (catches what
    per-key checks cannot: e.g. the skeleton's kernel 1 with a searched ``mbconv``, odd shuffle widths)."""
    in_widths = [space.skeleton.stem.filters]
    for i in range(len(space.skeleton.blocks)):
        options = space.stage_options(i)
        for b in options:
            for in_chs in in_widths:
                stage = dataclasses.replace(b, input_filters=in_chs)
                try:
                    block_from_dict(dataclasses.asdict(stage), "", f"blocks[{i}]")
                    validate(Arch(name="check", blocks=(stage,), stem=StemArgs(filters=in_chs)), "")
                except ArchError as exc:
                    key = "fixed_stages" if i in space.fixed_stages else "per_stage"
                    problem = str(exc).removeprefix(": ").replace("blocks[0]", f"blocks[{i}]")
                    ld.fail(key, f"stage {i} can realise an invalid block: {problem}")
        in_widths = sorted({b.output_filters for b in options})
