"""nas.space and search_spaces/*.yaml.

Per space file, 200 archs suggested through Optuna (``study.ask``, seeded RandomSampler) and 200 sampled with
``space.sample`` are all validated, round-tripped through YAML, checked against ``space.ops()``, built and run
forward at 32 px (~0.1 s each on a 2-core CPU, ~3.5 min in all). ``NAS_SPACE_TESTS_QUICK=1`` builds only 10 of
each (plus the largest arch of each space) for quick local iterations.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import random
import time
from pathlib import Path

import optuna
import pytest
import torch

import nas
from nas.arch import Arch, dump_arch, load_arch
from nas.arch.layers import resolve
from support import ROOT
from nas.space import KEYS, SearchSpace, SpaceError, load_space

SPACES = ["mnasnet", "efficientnet_b0", "mobilenet_v3", "mobile_32px", "tiny_32px"]
N_ARCHS = 200
QUICK = os.environ.get("NAS_SPACE_TESTS_QUICK") == "1"  # for quick local iterations only
N_FORWARD = 10 if QUICK else N_ARCHS  # per source (suggested / sampled) and space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def space_path(name: str) -> Path:
    return ROOT / "search_spaces" / f"{name}.yaml"


@pytest.fixture(scope="module", params=SPACES)
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return load_space(space_path(request.param))


_GENERATED: dict[str, tuple[list[Arch], list[Arch], list[dict]]] = {}


def generated(space: SearchSpace) -> tuple[list[Arch], list[Arch], list[dict]]:
    """200 archs from ``study.ask()`` (seeded RandomSampler), their params, and 200 from ``space.sample``."""
    if space.name not in _GENERATED:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        suggested, params = [], []
        for _ in range(N_ARCHS):
            trial = study.ask()
            suggested.append(space.suggest(trial))
            params.append(dict(trial.params))
            study.tell(trial, 0.0)
        rng = random.Random(0)
        sampled = [space.sample(rng) for _ in range(N_ARCHS)]
        _GENERATED[space.name] = (suggested, sampled, params)
    return _GENERATED[space.name]


def largest(space: SearchSpace) -> Arch:
    """Every stage at its last (for these files: biggest) choice."""
    return space.from_params({f"s{i}_{k}": space.choices[i][k][-1] for i in space.searched_stages for k in KEYS})


def forward(arch: Arch) -> None:
    model = nas.build_model(arch, num_classes=10).eval()
    with torch.inference_mode():
        out = model(torch.zeros(1, arch.in_channels, 32, 32))
    assert out.shape == (1, 10) and torch.isfinite(out).all(), arch.name


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny forwards: threads only add overhead on a shared 2-core machine
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------ the files


def test_every_space_file_is_tested() -> None:
    assert sorted(p.stem for p in (ROOT / "search_spaces").glob("*.yaml")) == sorted(SPACES)


def test_space_files_load(space: SearchSpace) -> None:
    text = space_path(space.name).read_text()
    assert text.startswith("#"), "each space file starts with a comment block"
    assert space.fixed_stages == (0,)
    assert space.searched_stages == tuple(range(1, len(space.skeleton.blocks)))
    assert set(space.choices) == set(space.searched_stages)
    assert all(tuple(space.choices[i]) == KEYS for i in space.searched_stages)
    assert space.size() > 10**8
    refs = space.reference_archs()
    if space.name == "mobilenet_v3":
        assert refs == []  # V3's 2.3/2.5 expansions are replaced by the searched choices
    else:
        assert refs == [space.skeleton]  # the skeleton itself, under its own name
        assert refs[0] in space


def test_inline_skeleton_of_mobile_32px() -> None:
    space = load_space(space_path("mobile_32px"))
    sk = space.skeleton
    assert (sk.resolution, sk.num_classes, sk.in_channels, sk.stem.strides) == (32, 10, 3, 1)
    assert sum(b.strides == 2 for b in sk.blocks) == 3
    model = nas.build_model(largest(space), in_channels=1)  # Fashion-MNIST: one channel, 28 px
    with torch.inference_mode():
        assert model.eval()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_largest_mobile_32px_arch_stays_cheap(one_thread: None) -> None:
    from nas.model.cost import count_macs, count_params

    space = load_space(space_path("mobile_32px"))
    model = nas.build_model(largest(space)).eval()
    params, macs = count_params(model), count_macs(model, 32)
    assert params < 5_000_000 and macs < 100_000_000, (params, macs)
    with torch.inference_mode():
        start = time.perf_counter()
        assert model(torch.zeros(64, 3, 32, 32)).shape == (64, 10)
    print(f"largest mobile_32px arch: {params:,} params, {macs:,} MACs, "
          f"batch-64 forward {time.perf_counter() - start:.2f} s on 1 thread")


# ------------------------------------------------------------------------------------- generated archs


def test_archs_are_valid_named_and_round_trip(space: SearchSpace) -> None:
    suggested, sampled, _ = generated(space)
    for arch in suggested + sampled:  # every arch validates in from_params (arch.validate)
        assert arch.name.startswith(f"{space.name}-") and len(arch.name) == len(space.name) + 11
        assert arch in space
    for arch in suggested[:20] + sampled[:20]:  # YAML I/O itself is tested (hypothesis) in test_arch.py
        text = dump_arch(arch)
        assert load_arch(text) == arch and dump_arch(load_arch(text)) == text
    assert len({a.name for a in sampled}) == len(set(sampled)) > N_ARCHS * 0.9  # name ↔ content


def test_suggested_and_sampled_archs_build_and_run(space: SearchSpace, one_thread: None) -> None:
    suggested, sampled, _ = generated(space)
    for arch in [largest(space), *suggested[:N_FORWARD], *sampled[:N_FORWARD]]:
        forward(arch)


def test_ops_cover_every_layer_of_every_generated_arch(space: SearchSpace) -> None:
    keys = {op.key for op in space.ops()}
    assert len(keys) == len(space.ops())  # no duplicates
    suggested, sampled, _ = generated(space)
    for arch in [*suggested, *sampled, largest(space), *space.reference_archs()]:
        missing = [layer.key for layer in resolve(arch) if layer.key not in keys]
        assert not missing, f"{arch.name}: {missing[:3]}"
    assert [op.key for op in space.ops()] == [op.key for op in load_space(space_path(space.name)).ops()]


def test_ops_at_another_resolution(space: SearchSpace) -> None:
    keys = {op.key for op in space.ops(64)}
    arch = space.sample(3)
    assert all(layer.key in keys for layer in resolve(arch, 64))


# ---------------------------------------------------------------------------------------- parameters


def test_parameter_names_are_stable(space: SearchSpace) -> None:
    names = [f"s{i}_{k}" for i in space.searched_stages for k in KEYS]
    assert space.param_names() == names
    assert list(space.distributions()) == names
    _, _, params = generated(space)
    assert all(list(p) == names for p in params)  # single-choice keys too
    for name, dist in space.distributions().items():
        i, key = int(name[1:name.index("_")]), name[name.index("_") + 1:]
        assert dist.choices == space.choices[i][key]


def test_fixed_trial_gives_identical_arch(space: SearchSpace) -> None:
    suggested, _, params = generated(space)
    for arch, p in list(zip(suggested, params))[:20]:
        a1 = space.suggest(optuna.trial.FixedTrial(p))
        a2 = space.suggest(optuna.trial.FixedTrial(dict(p)))
        assert a1 == a2 == arch == space.from_params(p)
        assert dump_arch(a1) == dump_arch(a2) == dump_arch(arch)
        assert space.from_params(space.params_of(a1)) == a1
    # values as a JSON/YAML round trip may give them back (1.0 → 1) select the same choices
    p = {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in params[0].items()}
    assert space.from_params(p) == suggested[0]


def test_sample_is_seeded(space: SearchSpace) -> None:
    assert space.sample(7) == space.sample(random.Random(7))
    assert [space.sample(random.Random(1)) for _ in range(3)] == [space.sample(1)] * 3


def test_enqueued_reference_and_tpe_see_the_same_space() -> None:
    space = load_space(space_path("mnasnet"))
    ref = space.reference_archs()[0]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5))
    study.enqueue_trial(space.params_of(ref))
    for n in range(15):
        trial = study.ask()
        arch = space.suggest(trial)
        if n == 0:
            assert dataclasses.replace(arch, name=ref.name) == ref
        assert arch in space
        study.tell(trial, float(len(resolve(arch))))


def test_from_params_errors() -> None:
    space = load_space(space_path("mnasnet"))
    params = space.sample_params(0)
    with pytest.raises(SpaceError, match=r"mnasnet.yaml: s3_kernel_size: 4 is not one of the choices 3, 5$"):
        space.from_params({**params, "s3_kernel_size": 4})
    with pytest.raises(SpaceError, match=r"s2_id_skip: 1 is not one of the choices true, false$"):
        space.from_params({**params, "s2_id_skip": 1})
    del params["s5_filters_scale"]
    with pytest.raises(SpaceError, match=r"s5_filters_scale: missing parameter"):
        space.from_params(params)
    # single-choice parameters may be left out, unrelated names are ignored
    params = {k: v for k, v in space.sample_params(0).items() if not k.endswith("_block")}
    assert space.from_params({**params, "lr": 0.1}) == space.sample(0)


def test_params_of_rejects_archs_outside_the_space() -> None:
    space = load_space(space_path("efficientnet_b0"))
    blocks = list(space.skeleton.blocks)
    blocks[2] = dataclasses.replace(blocks[2], expand_ratio=4)
    with pytest.raises(SpaceError, match=r"blocks\[2\]: not a stage of this space"):
        space.params_of(space.skeleton.replace(blocks=blocks))
    with pytest.raises(SpaceError, match="activation differs"):
        space.params_of(space.skeleton.replace(activation="relu"))
    assert nas.zoo.load("mobilenet_v2") not in space
    # dataset adapters are not search decisions
    adapted = space.skeleton.replace(num_classes=10, in_channels=1, resolution=32)
    assert adapted in space and space.params_of(adapted) == space.params_of(space.skeleton)


# ------------------------------------------------------------------------------------------- counting

TINY = """\
name: tiny
skeleton:
  name: tiny_base
  resolution: 32
  num_classes: 10
  stem: {filters: 16, kernel_size: 3, strides: 1}
  blocks:
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 1, expand_ratio: 1, input_filters: 16, output_filters: 16}
    - {block: mbconv, num_repeat: 2, kernel_size: 3, strides: 2, expand_ratio: 6, input_filters: 16, output_filters: 24}
    - {block: mbconv, num_repeat: 1, kernel_size: 3, strides: 2, expand_ratio: 6, input_filters: 24, output_filters: 40}
  head: {filters: 64}
fixed_stages: [0]
per_stage:
"""


def tiny(tmp_path: Path, per_stage: str) -> SearchSpace:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY + per_stage)
    return load_space(path)


def all_archs(space: SearchSpace) -> list[Arch]:
    names = space.param_names()
    dists = space.distributions()
    return [space.from_params(dict(zip(names, values)))
            for values in itertools.product(*(dists[n].choices for n in names))]


@pytest.mark.parametrize("per_stage,expected", [
    # 2 searched stages × 2 kernels × 2 scales (24→24/48, 40→40/80) = 4 × 4
    ("  kernel_size: [3, 5]\n  filters_scale: [1.0, 2.0]\n", 16),
    # ds ignores expand_ratio: {ds, mbconv e3, mbconv e6} × 2 kernels = 6 per stage
    ("  block: [ds, mbconv]\n  expand_ratio: [3, 6]\n  kernel_size: [3, 5]\n", 36),
    # 24 × 0.75 = 18 rounds up to 24: two scales, one width; 40 × 0.75 = 30 → 32 stays distinct
    ("  filters_scale: [0.75, 1.0]\n", 1 * 2),
    # stage 2 is one stride-2 block: id_skip cannot matter there (unless the delta adds a block)
    ("  id_skip: [true, false]\n", 2 * 1),
    ("  id_skip: [true, false]\n  num_repeat_delta: [0, 1]\n", (2 * 2) * (1 + 2)),
    # conv/shuffle drop SE and expansion; 3 kinds × SE 2 → mbconv 2 + ds 2 + conv 1
    ("  block: [mbconv, ds, conv]\n  se_ratio: [0, 0.25]\n", 5 * 5),
])
def test_size_equals_a_hand_count(tmp_path: Path, per_stage: str, expected: int) -> None:
    space = tiny(tmp_path, per_stage)
    archs = all_archs(space)
    assert space.size() == expected == len(set(archs)) == len({dump_arch(a) for a in archs})


def test_tiny_space_ops_are_exactly_the_layers_of_its_archs(tmp_path: Path) -> None:
    space = tiny(tmp_path, "  block: [mbconv, ds]\n  kernel_size: [3, 5]\n  expand_ratio: [1, 6]\n"
                           "  num_repeat_delta: [-1, 1]\n  filters_scale: [0.5, 2.0]\n  id_skip: [true, false]\n")
    archs = all_archs(space)
    assert len(set(archs)) == space.size()
    layer_keys = {layer.key for a in set(archs) for layer in resolve(a)}
    assert [op.key for op in space.ops()] == list(dict.fromkeys(op.key for op in space.ops()))
    assert {op.key for op in space.ops()} == layer_keys  # nothing missing, nothing extra


def test_kind_normalisation(tmp_path: Path) -> None:
    space = tiny(tmp_path, "  block: [ds, conv, shuffle]\n  expand_ratio: [6]\n  se_ratio: [0.25]\n")
    kinds = {}
    for arch in all_archs(space):
        for b in arch.blocks[1:]:
            kinds[b.block] = (b.expand_ratio, b.se_ratio, b.pw_act)
    assert kinds == {"ds": (1, 0.25, False), "conv": (1, 0, False), "shuffle": (1, 0, False)}


def test_skeleton_may_be_an_arch_file_next_to_the_space(tmp_path: Path) -> None:
    dump_arch(nas.zoo.load("mobilenet_v2").replace(name="my_v2"), tmp_path / "nets" / "v2.yaml")
    (tmp_path / "s.yaml").write_text("name: v2\nskeleton: nets/v2.yaml\nresolution: 96\nper_stage:\n"
                                     "  kernel_size: [3, 5]\n")
    space = load_space(tmp_path / "s.yaml")
    assert space.skeleton.name == "my_v2" and space.skeleton.resolution == 96 and space.fixed_stages == ()
    assert space.size() == 2 ** 7 and space.reference_archs()[0] == space.skeleton


# ------------------------------------------------------------------------------------------- errors

BAD = [
    ("per_stage:\n  kernel_size: [3, 4]\n",
     "per_stage.kernel_size: 4 is not a valid kernel size (choices must be from 3, 5, 7"),
    ("per_stage:\n  kernal_size: [3]\n", "per_stage.kernal_size: unknown key (did you mean 'kernel_size'?)"),
    ("per_stage:\n  expand_ratio: []\n", "per_stage.expand_ratio: expected a non-empty list of choices"),
    ("per_stage:\n  filters_scale: 1.0\n", "per_stage.filters_scale: expected a non-empty list of choices"),
    ("per_stage:\n  filters_scale: [1.0, -0.5]\n", "per_stage.filters_scale: -0.5 is not a valid width scale"),
    ("per_stage:\n  se_ratio: [0, 1.5]\n", "per_stage.se_ratio: 1.5 is not a valid SE ratio"),
    ("per_stage:\n  expand_ratio: [0.5, 6]\n", "per_stage.expand_ratio: 0.5 is not a valid expand ratio"),
    ("per_stage:\n  block: [mbconv, fused]\n", "per_stage.block: 'fused' is not a block kind"),
    ("per_stage:\n  kernel_size: [3, 5, 3]\n", "per_stage.kernel_size: duplicate choice 3"),
    ("per_stage:\n  num_repeat_delta: [0, 0.5]\n", "per_stage.num_repeat_delta: 0.5 is not a valid repeat delta"),
    ("per_stage:\n  id_skip: [true, 1]\n", "per_stage.id_skip: 1 is not a valid skip flag"),
    ("per_stage:\n  block: [conv, mbconv]\n  kernel_size: [1, 3]\n",
     "per_stage.kernel_size: 1 is not a valid kernel size (choices must be from 3, 5, 7 for conv/mbconv blocks)"),
    ("fixed_stages: [0, 9]\n", "fixed_stages: 9 is not a stage index of the skeleton (0…6)"),
    ("resolution: 16\n", "resolution: expected an integer from 32 to 2048, got 16"),
    ("strides: [1]\n", "strides: unknown key"),
]


@pytest.mark.parametrize("extra,message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_malformed_space_files_fail_with_one_line(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nskeleton: mnasnet_b1\n" + extra)
    with pytest.raises(SpaceError) as err:
        load_space(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text, text


INLINE = ("name: s, resolution: 32, num_classes: 10, stem: {filters: 32, kernel_size: 3, strides: 2}, "
          "head: {filters: 64}, ")


@pytest.mark.parametrize("content,message", [
    ("name: x\nskeleton: mnasnet_b2\n", "skeleton: unknown zoo network 'mnasnet_b2' (did you mean 'mnasnet_b1'?); "
                                        "known: efficientnet_b0, "),
    ("name: x\nskeleton: {" + INLINE + "blocks: [{block: mbconv, num_repeat: 1, kernel_size: 4, strides: 1, "
     "expand_ratio: 1, input_filters: 32, output_filters: 16}]}\n",
     "skeleton.blocks[0].kernel_size: must be one of 3, 5, 7 (got 4)"),
    ("name: x\nskeleton: {" + INLINE + "blocks: [{block: conv, num_repeat: 1, kernel_size: 1, strides: 1, "
     "expand_ratio: 1, input_filters: 32, output_filters: 16}]}\nper_stage: {block: [conv, mbconv]}\n",
     "per_stage: stage 0 can realise an invalid block: blocks[0].kernel_size: must be one of 3, 5, 7 (got 1)"),
    ("name: x\nskeleton: [mnasnet_b1\n", "invalid YAML"),
    ("name: x\nskeleton: mnasnet_b1\nresolution: 2049\n", "resolution: expected an integer from 32 to 2048, got 2049"),
    ("name: x\nskeleton: mnasnet_b1\nper_stage: {num_repeat_delta: [0, 100]}\n",
     "per_stage: a stage can realise an invalid block: blocks[0].num_repeat: must be ≤ 64 (got 101); "
     "see nas.arch.fields.LIMITS"),
    ("- just a list\n", "expected a mapping"),
    ("skeleton: mnasnet_b1\n", "name: missing required key"),
    ("name: x y\nskeleton: mnasnet_b1\n", "name: expected a name of letters, digits"),
    ("name: ../../etc/x\nskeleton: mnasnet_b1\n", "name: expected a name of letters, digits"),
])
def test_malformed_top_level_and_skeleton(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(content)
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert "\n" not in str(err.value) and message in str(err.value), str(err.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match=r"nope.yaml: no such search space file \(bundled: efficientnet_b0, mnasnet, "):
        load_space(tmp_path / "nope.yaml")
    with pytest.raises(SpaceError, match=r"^mnasnt: no such search space file \(bundled: .*\bmnasnet\b"):
        load_space("mnasnt")
    assert issubclass(SpaceError, ValueError)
