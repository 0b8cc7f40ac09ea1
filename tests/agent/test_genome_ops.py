"""The offline designer's evolution operators: what each may and may not change."""

from __future__ import annotations

import numpy as np

from rewardsmith.agent.genome_ops import base_genome, crossover, jitter, mutate, random_genome
from rewardsmith.agent.intent import intent_for
from rewardsmith.agent.term import make_term
from rewardsmith.agent.terms import catalogue
from rewardsmith.envs.registry import get_task


def _slots(task_id: str):
    task = get_task(task_id)
    return catalogue(task, intent_for(task.description, ""))


def test_the_defaults_are_the_slots_included_at_least_half_the_time() -> None:
    slots = _slots("Hopper-v5")
    names = [t["name"] for t in base_genome(slots)]
    assert names == [s.term["name"] for s in slots if s.include >= 0.5]
    assert base_genome(slots)[0] is not slots[0].term  # a copy: children never alias the library


def test_jitter_keeps_the_alive_bonus_and_a_temperature_above_its_floor() -> None:
    rng = np.random.default_rng(0)
    alive = make_term("alive", "alive", None, 1.0, "alive")
    near = make_term("position", "decay", "x", 1.0, "objective", 0.5, 0.2, 1, 0.15)
    for _ in range(200):
        assert jitter(alive, rng, 1.0)["weight"] == 1.0
        assert jitter(near, rng, 1.0)["scale"] >= 0.15
    assert near["weight"] == 1.0 and near["scale"] == 0.2  # the parent is left alone


def test_a_weights_only_mutation_changes_no_term_and_no_form() -> None:
    rng = np.random.default_rng(1)
    slots = _slots("Walker2d-v5")
    parent = base_genome(slots)
    for _ in range(50):
        child, _ = mutate(parent, slots, rng, sigma=0.3, structural=False)
        assert [(t["name"], t["kind"]) for t in child] == [(t["name"], t["kind"]) for t in parent]


def test_structural_mutation_never_drops_what_the_reward_is_for() -> None:
    rng = np.random.default_rng(2)
    slots = _slots("Walker2d-v5")
    library = {s.term["name"] for s in slots}
    parent = base_genome(slots)
    kept = {t["name"] for t in parent if t["role"] in {"alive", "objective"}}
    changes = set()
    for _ in range(300):
        child, notes = mutate(parent, slots, rng, sigma=0.3, structural=True)
        names = [t["name"] for t in child]
        assert kept <= set(names) and set(names) <= library and len(names) == len(set(names))
        changes |= {note.split()[0] for note in notes[1:]}
    assert {"added", "dropped"} <= changes  # both happen, at their odds


def test_crossover_takes_terms_from_both_parents_without_duplicates() -> None:
    rng = np.random.default_rng(3)
    slots = _slots("Ant-v5")
    mine, _ = random_genome(slots, rng, sigma=0.5)
    theirs, _ = random_genome(slots, rng, sigma=0.5)
    union = {t["name"] for t in mine} | {t["name"] for t in theirs}
    seen_theirs = False
    for _ in range(100):
        child, _ = crossover(mine, theirs, rng)
        names = [t["name"] for t in child]
        assert len(names) == len(set(names)) and set(names) <= union
        assert {t["name"] for t in mine} <= set(names)  # a parent's terms are all kept
        seen_theirs |= any(t in theirs and t not in mine for t in child)
    assert seen_theirs
