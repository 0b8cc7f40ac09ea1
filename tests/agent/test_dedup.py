"""Rewards that teach the same thing are found before training (STARC-style distance)."""

from __future__ import annotations

import numpy as np

from rewardsmith.agent.dedup import EQUIVALENT_DISTANCE, canonicalise, find_twins, starc_distance

RNG = np.random.default_rng(0)
BASE = RNG.normal(size=256)


def test_positive_scale_and_shift_are_equivalent_on_fixed_length_tasks() -> None:
    assert starc_distance(BASE, 3.0 * BASE + 7.0) < 1e-9


def test_shift_matters_when_episodes_can_end_early() -> None:
    positive = np.abs(BASE) + 1.0
    assert starc_distance(positive, 5.0 * positive, shift_invariant=False) < 1e-9
    # A constant per step is a survival bonus where episodes end early: not the same reward.
    assert starc_distance(positive, positive - 3.0, shift_invariant=False) > EQUIVALENT_DISTANCE
    assert starc_distance(positive, positive - 3.0, shift_invariant=True) < 1e-9


def test_negation_is_as_far_as_it_gets() -> None:
    assert abs(starc_distance(BASE, -BASE) - 2.0) < 1e-9


def test_a_different_term_is_not_equivalent() -> None:
    other = BASE + 0.3 * RNG.normal(size=256)
    assert starc_distance(BASE, other) > EQUIVALENT_DISTANCE


def test_monotone_but_non_linear_transform_is_not_equivalent() -> None:
    # Same ranking, different shape: PPO would weigh transitions differently.
    assert starc_distance(BASE, np.exp(BASE)) > EQUIVALENT_DISTANCE


def test_constant_short_or_mismatched_samples_are_not_comparable() -> None:
    assert canonicalise(np.ones(256)) is None
    assert canonicalise(BASE[:8]) is None
    assert starc_distance(BASE, BASE[:200]) is None


def test_find_twins_groups_identical_code_and_equivalent_rewards() -> None:
    ids = ["a", "b", "a", "c", "d"]
    samples = [BASE, 2.0 * BASE + 1.0, BASE, np.exp(BASE), None]
    twins = find_twins(ids, samples)
    assert set(twins) == {1, 2}
    assert twins[2].of == 0 and twins[2].identical
    assert twins[1].of == 0 and not twins[1].identical and twins[1].distance < 1e-6
    # Unknown samples never merge, except by identical code.
    assert 4 not in twins and 3 not in twins
