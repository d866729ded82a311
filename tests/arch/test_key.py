"""The architecture key: same network, same key."""
from __future__ import annotations

import dataclasses

import nas
from nas.arch import arch_key

# The keys of these zoo nets before their files stated a head width rule: caches keyed by them stay valid.
KEYS = {"mnasnet_a1": "2f11e3b042f4536e", "mnasnet_b1": "4e408e82c932652b", "mobilenet_v2": "de1d628ed4765217",
        "efficientnet_b0": "5d9dc7097dd4d4ef"}


def test_keys_ignore_name_and_the_head_rule_at_width_one() -> None:
    for name, key in KEYS.items():
        arch = nas.zoo.load(name)
        assert arch_key(arch) == key
        assert arch_key(arch.replace(name="other")) == key
        for rule in ("scale", "fixed", "grow"):
            assert arch_key(arch.replace(head=dataclasses.replace(arch.head, width_rule=rule))) == key


def test_the_head_rule_is_in_the_key_when_it_changes_the_network() -> None:
    arch = nas.zoo.load("mobilenet_v2").replace(width_multiplier=0.5)
    keys = {arch_key(arch.replace(head=dataclasses.replace(arch.head, width_rule=r))) for r in ("scale", "grow")}
    assert len(keys) == 2
