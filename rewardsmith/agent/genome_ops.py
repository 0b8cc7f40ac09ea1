"""Evolution operators on reward genomes (lists of terms) for the offline designer.

The library's defaults, random draws from it, log-normal mutation of weights and
temperatures with structural changes (add, drop or switch a term's form), crossover of
two parents, and :func:`corrected`: the changes a parent's training traces call for
(flat or dominant components, episodes that end early, an alive bonus that pays for
standing still).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.task_facts import termination_kind
from rewardsmith.agent.term import Slot, Term, make_term

FLAT_SPREAD = 0.05  # relative spread below which a component's trace counts as flat
SMALL_SHARE = 0.05  # share of the total |reward| below which a component does nothing
DOMINANT_SHARE = 0.8  # share above which a shaping term drowns the objective
MAX_ALIVE = 10.0
MIN_ALIVE = 0.1  # the idle correction halves the alive bonus down to this, no further
IDLE_SHARE = 0.1  # objective pay below this share of the alive bonus: standing still pays
_BOUNDED = {"gauss", "decay", "bonus", "cosine", "tanh", "margin"}


def fmt(value: Any) -> str:
    """A weight, scale or fitness as the designer's notes and prompt write it."""
    return "none" if value is None else f"{float(value):.4g}"


def base_genome(slots: list[Slot]) -> list[Term]:
    """The library's default form of every slot included at least half the time."""
    return [copy.deepcopy(s.term) for s in slots if s.include >= 0.5]


def jitter(term: Term, rng: np.random.Generator, sigma: float) -> Term:
    """``term`` with its weight and temperature scaled by log-normal noise (``sigma``)."""
    term = dict(term)
    if term["kind"] != "alive":
        term["weight"] *= math.exp(rng.normal(0.0, sigma))
    if term["kind"] in {"gauss", "decay", "tanh"}:
        term["scale"] = max(
            term.get("floor", 0.0), term["scale"] * math.exp(rng.normal(0.0, sigma))
        )
    return term


def random_genome(
    slots: list[Slot], rng: np.random.Generator, sigma: float
) -> tuple[list[Term], list[str]]:
    """A genome drawn from the library, with notes on what was drawn.

    Each slot is included by its odds, some in another form, every term jittered.
    """
    genome: list[Term] = []
    notes: list[str] = []
    for slot in slots:
        if slot.include < 1.0 and rng.random() >= slot.include:
            continue
        term = slot.term
        if slot.alternatives and rng.random() < 0.4:
            term = slot.alternatives[int(rng.integers(len(slot.alternatives)))]
            notes.append(f"{term['name']} as {term['kind']} (scale {fmt(term['scale'])})")
        genome.append(jitter(term, rng, sigma))
    notes.append(f"terms {', '.join(t['name'] for t in genome)}; weights jittered (sigma {sigma})")
    return genome, notes


def mutate(
    genome: list[Term], slots: list[Slot], rng: np.random.Generator, sigma: float, structural: bool
) -> tuple[list[Term], list[str]]:
    """A jittered child, with notes on what changed.

    With ``structural``, at most one term is also added, dropped or switched to another form.
    """
    child = [jitter(t, rng, sigma) for t in genome]
    notes = [f"weights and temperatures jittered (sigma {sigma})"]
    if not structural:
        return child, notes
    present = {t["name"] for t in child}
    missing = [s for s in slots if s.term["name"] not in present]
    optional = [t for t in child if t["role"] in {"shaping", "penalty"}]
    roll = rng.random()
    if missing and roll < 0.3:
        slot = missing[int(rng.integers(len(missing)))]
        child.append(jitter(slot.term, rng, sigma))
        notes.append(f"added {slot.term['name']}")
    elif optional and roll < 0.5:
        drop = optional[int(rng.integers(len(optional)))]
        child = [t for t in child if t is not drop]
        notes.append(f"dropped {drop['name']}")
    elif roll < 0.7:
        by_name = {s.term["name"]: s for s in slots}
        switchable = [
            t for t in child if by_name.get(t["name"]) and by_name[t["name"]].alternatives
        ]
        if switchable:
            old = switchable[int(rng.integers(len(switchable)))]
            slot = by_name[old["name"]]
            forms = [f for f in [slot.term, *slot.alternatives] if f != old]
            new = jitter(forms[int(rng.integers(len(forms)))], rng, sigma)
            child = [new if t is old else t for t in child]
            notes.append(f"{old['name']} now {new['kind']} (scale {fmt(new['scale'])})")
    return child, notes


def crossover(
    genome: list[Term], other: list[Term], rng: np.random.Generator
) -> tuple[list[Term], list[str]]:
    """Each shared term from either parent at even odds; ``other``'s own terms half the time."""
    theirs = {t["name"]: t for t in other}
    child = [
        dict(theirs[t["name"]]) if t["name"] in theirs and rng.random() < 0.5 else t for t in genome
    ]
    mine = {t["name"] for t in genome}
    child += [dict(t) for t in other if t["name"] not in mine and rng.random() < 0.5]
    return child, ["recombined with the second-best genome"]


def corrected(
    ctx: DesignContext, genome: list[Term], result: CandidateResult
) -> tuple[list[Term], list[str]]:
    """The corrections the parent's training traces call for."""
    child = [dict(t) for t in genome]
    notes: list[str] = []
    last = {
        name: float(trace[-1])
        for name, trace in result.component_trace.items()
        if trace and math.isfinite(trace[-1])
    }
    total = sum(abs(last.get(t["name"], 0.0)) for t in child) or 1.0
    shaping_total = sum(abs(last.get(t["name"], 0.0)) for t in child if t["role"] != "alive") or 1.0
    has_objective = any(t["role"] == "objective" for t in child)
    for term in list(child):
        name = term["name"]
        trace = [v for v in result.component_trace.get(name, []) if math.isfinite(v)]
        # A progress term's mean per step is small by design (its sum is the distance
        # closed, however long the episode): never judged flat or small.
        if len(trace) < 2 or term["kind"] in {"alive", "progress"}:
            continue
        value = last.get(name, 0.0)
        spread = max(trace) - min(trace)
        flat = spread <= FLAT_SPREAD * max(abs(float(np.mean(trace))), 1e-9)
        small = abs(value) < SMALL_SHARE * total
        if term["kind"] in _BOUNDED - {"tanh", "cosine"} and abs(value) < 0.1 * abs(term["weight"]):
            wider = min(term["scale"] * 2.0, term.get("cap", math.inf))
            if wider > term["scale"]:
                term["scale"] = wider
                notes.append(f"{name} is rarely near its target ({fmt(value)}): temperature x2")
        elif flat and small and not (term["role"] == "penalty" and not any(trace)):
            # A penalty that never fired (crash, leaving the screen) is a deterrent at work;
            # dropping it would make the event free again.
            if term["role"] == "objective":
                term["weight"] *= 3.0
                notes.append(f"{name} is flat and small: weight x3")
            else:
                child.remove(term)
                notes.append(f"{name} is flat and small: dropped")
        elif (
            has_objective
            and term["role"] in {"shaping", "penalty"}
            and abs(value) > DOMINANT_SHARE * shaping_total
        ):
            term["weight"] *= 0.5
            notes.append(f"{name} dominates the reward ({fmt(value)}): weight x0.5")
    notes += _alive_correction(ctx, child, result)
    notes += _idle_correction(ctx, child, result, last)
    return child, notes


def _alive_term(genome: list[Term]) -> Term | None:
    """The genome's alive bonus (a time cost is an ``alive`` kind too, with another role)."""
    return next((t for t in genome if t["kind"] == "alive" and t["role"] == "alive"), None)


def _alive_correction(ctx: DesignContext, child: list[Term], result: CandidateResult) -> list[str]:
    if termination_kind(ctx.task) != "failure":
        return []
    ended = result.ended_by
    if ended.get("termination", 0) <= ended.get("time limit", 0):
        return []
    alive = _alive_term(child)
    others = sum(abs(t["weight"]) for t in child if t is not alive)
    if alive is None:
        child.insert(0, make_term("alive", "alive", None, 1.0, "alive"))
        return ["episodes end early: added an alive bonus"]
    if alive["weight"] < 2.0 * others and alive["weight"] < MAX_ALIVE:
        alive["weight"] = min(MAX_ALIVE, alive["weight"] * 2.0)
        return [f"episodes end early ({ended}): alive bonus x2"]
    return []


def _idle_correction(
    ctx: DesignContext, child: list[Term], result: CandidateResult, last: dict[str, float]
) -> list[str]:
    """Halve an alive bonus that pays the policy to stand still.

    The mirror of :func:`_alive_correction`: where episodes already run to the time limit
    and the objective pays next to nothing against the bonus, surviving is the whole
    return, and standing still is a safe optimum that more survival pay only deepens.
    HopperBackward at quick: alive 1 a step, the backward speed 0.024 a step, every
    evaluation episode to the time limit, 0.2 m of the 2 m asked.
    """
    if termination_kind(ctx.task) != "failure":
        return []
    if result.fitness is None or ctx.fitness.reached(result.fitness):
        return []
    ended = result.ended_by
    if not ended or ended.get("termination", 0) > 0:
        return []
    alive = _alive_term(child)
    objective = [t for t in child if t["role"] == "objective" and t["name"] in last]
    if alive is None or not objective or alive["weight"] <= MIN_ALIVE:
        return []
    pay = sum(abs(last[t["name"]]) for t in objective)
    if pay >= IDLE_SHARE * alive["weight"]:
        return []
    before = alive["weight"]
    alive["weight"] = max(MIN_ALIVE, before * 0.5)
    return [
        f"episodes run to the time limit while the objective pays {fmt(pay)} a step against "
        f"an alive bonus of {fmt(before)}: alive bonus x0.5"
    ]
