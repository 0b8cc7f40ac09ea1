"""The offline designer: an evolutionary search over shaped reward terms, no network.

Iteration 0 proposes diverse genomes (term sets, weights, temperatures) from the task's
tagged fields and the description's intent. Later iterations breed from the best trained
candidates, steered by what training showed: flat components are rescaled or dropped,
dominant shaping terms scaled down, the alive bonus raised when episodes end early, and
part of the population restarted when nothing works yet. Each candidate is emitted as a
markdown answer with a ``python`` block, exactly like an LLM's, so nothing downstream
can tell the two apart.
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

import numpy as np

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.designer import DesignBatch, DesignContext
from rewardsmith.agent.feedback import preference_order, rejected_by_people
from rewardsmith.agent.genome_source import render_source
from rewardsmith.agent.intent import Intent, intent_for, read_tolerance
from rewardsmith.agent.task_facts import DESIGN_TAGS, episode_steps, termination_kind
from rewardsmith.agent.terms import Slot, Term, catalogue, guard_hovering, make_term
from rewardsmith.envs.spec import FitnessMeasure, TaskSpec

logger = logging.getLogger(__name__)

FLAT_SPREAD = 0.05  # relative spread below which a component's trace counts as flat
SMALL_SHARE = 0.05  # share of the total |reward| below which a component does nothing
DOMINANT_SHARE = 0.8  # share above which a shaping term drowns the objective
MAX_ALIVE = 10.0
MIN_ALIVE = 0.1  # the idle correction halves the alive bonus down to this, no further
IDLE_SHARE = 0.1  # objective pay below this share of the alive bonus: standing still pays
_BOUNDED = {"gauss", "decay", "bonus", "cosine", "tanh", "margin"}


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _clean(terms: list[Term]) -> list[Term]:
    return [{**t, "weight": _round(t["weight"]), "scale": _round(t["scale"])} for t in terms]


def offline_design_problem(task: TaskSpec, description: str, fitness: FitnessMeasure) -> str:
    """Why the offline designer cannot write rewards for ``task`` ("" when it can).

    It builds rewards from the task's tagged state fields; with none of those, every
    genome is an alive bonus or an action cost, which cannot aim at a behaviour.
    """
    intent = intent_for(description or task.description, f"{task.description} {fitness.meaning}")
    slots = catalogue(task, intent)
    state = {f.name for f in task.fields if "time" not in f.tags}
    known = set(DESIGN_TAGS)
    if any(t["field"] in state for slot in slots for t in (slot.term, *slot.alternatives)):
        return ""
    tagged = [f"{f.name} ({', '.join(sorted(f.tags))})" for f in task.fields if f.tags & known]
    if tagged:
        return (
            f"the offline designer has no term for {description or task.description!r} over "
            f"{task.id}'s tagged fields {', '.join(tagged)}; state the behaviour in terms it "
            "reads (a direction, a target x or height, upright, a goal) with --task, or pass "
            "--model to let an LLM designer read the env's source"
        )
    fields = ", ".join(f.name for f in task.fields)
    return (
        f"the offline designer builds rewards from tagged state fields, and {task.id} has "
        f"none it can use (fields: {fields}); pass --model to let an LLM designer read the "
        "env's source, or declare fields in a task file with tags = [...] from: "
        + ", ".join(DESIGN_TAGS)
    )


class OfflineDesigner:
    """Evolves reward genomes; deterministic given the seed, the iteration and the history.

    The designer remembers what it has proposed, so a second call in the same iteration
    (the loop asking again after rejections) yields new candidates, not the same ones.
    """

    name = "offline"

    def __init__(self) -> None:
        self._issued: set[str] = set()

    def propose(self, ctx: DesignContext, history: list[IterationRecord], n: int) -> DesignBatch:
        """``n`` candidates: diverse at first, then children of the best trained ones."""
        iteration = len(history)
        seen = {r.candidate.id for record in history for r in record.results}
        repeat = len(self._issued - seen)  # earlier calls for this same history
        rng = np.random.default_rng([ctx.seed, iteration, repeat, 0x5EED])
        intent, slots = self._library(ctx)
        seen |= self._issued
        scored = _scored(history)
        if scored:
            plan = self._evolve(ctx, slots, scored, n, rng)
            how = self._evolution_summary(ctx, scored)
        else:
            plan = self._initial(slots, n, rng)
            how = (
                f"Iteration {iteration}: no trained offline candidate to learn from yet, so "
                f"{n} diverse genomes were drawn from the term library (seed {ctx.seed})."
            )
        candidates, responses, lines = [], [], []
        for genome, parent, notes in plan:
            candidate = self._unique(ctx, genome, parent, notes, seen, slots, rng)
            if candidate is None:
                continue
            index = len(responses)
            candidate.origin["response_index"] = index
            seen.add(candidate.id)
            self._issued.add(candidate.id)
            candidates.append(candidate)
            responses.append(_response(index, candidate))
            lines.append(_plan_line(index, candidate))
        prompt = _prompt(ctx, intent, slots, how, lines, iteration)
        return DesignBatch(candidates, prompt, responses, _no_usage())

    def revise(
        self, ctx: DesignContext, candidate: RewardCandidate, problems: list[str]
    ) -> DesignBatch:
        """A conservative variant of a rejected candidate: offending terms dropped or reset."""
        intent, slots = self._library(ctx)
        rng = np.random.default_rng([ctx.seed, 0xF1, int(candidate.id[:8], 16)])
        genome = _genome_of(candidate) or _base(slots)
        text = " ".join(problems)
        kept = [t for t in genome if t["role"] in {"alive", "objective"} or not _blamed(t, text)]
        notes = [f"revised after: {p}" for p in problems[:3]]
        if len(kept) < len(genome):
            notes.append("dropped terms named in the problems")
        else:
            # Nothing to blame: fall back to the library's default forms of the same slots.
            names = {t["name"] for t in genome}
            kept = [copy.deepcopy(s.term) for s in slots if s.term["name"] in names] or _base(slots)
            notes.append("reset terms to the library defaults")
        fixed = self._unique(
            ctx, kept, candidate.id, notes, {candidate.id} | self._issued, slots, rng
        )
        found = [fixed] if fixed is not None else []
        for c in found:
            c.origin["response_index"] = 0
            self._issued.add(c.id)
        responses = [_response(0, c) for c in found]
        how = f"Revision of candidate {candidate.id} rejected before training."
        prompt = _prompt(ctx, intent, slots, how, [_plan_line(0, c) for c in found], None)
        return DesignBatch(found, prompt, responses, _no_usage())

    # ----------------------------------------------------------------------- search steps

    def _library(self, ctx: DesignContext) -> tuple[Intent, list[Slot]]:
        fallback = f"{ctx.task.description} {ctx.fitness.meaning}"
        intent = intent_for(ctx.description or ctx.task.description, fallback)
        # The fitness meaning is shown to an LLM designer too; its tolerance is fair game.
        read_tolerance(ctx.fitness.meaning, intent)
        return intent, catalogue(ctx.task, intent)

    def _initial(
        self, slots: list[Slot], n: int, rng: np.random.Generator
    ) -> list[tuple[list[Term], str | None, list[str]]]:
        plan = [(_base(slots), None, ["library defaults"])]
        while len(plan) < n:
            genome, notes = _random_genome(slots, rng, sigma=0.35)
            plan.append((genome, None, notes))
        return plan[:n]

    def _evolve(
        self,
        ctx: DesignContext,
        slots: list[Slot],
        scored: list[tuple[CandidateResult, list[Term]]],
        n: int,
        rng: np.random.Generator,
    ) -> list[tuple[list[Term], str | None, list[str]]]:
        best, best_genome = scored[0]
        second = scored[1] if len(scored) > 1 else None
        threshold = ctx.fitness.success_threshold
        fitness = float(best.fitness or 0.0)
        solved = fitness >= threshold
        stuck = threshold > 0 and fitness < 0.05 * threshold
        restarts = n // 2 if stuck else 0
        plan: list[tuple[list[Term], str | None, list[str]]] = []
        for i in range(n - restarts):
            use_second = second is not None and i > 0 and rng.random() < 0.3
            result, genome = second if use_second else (best, best_genome)
            child, notes = _directed(ctx, genome, result)
            if i == 0 and (notes or solved):
                child, more = _mutate(child, slots, rng, sigma=0.1, structural=False)
            elif second is not None and rng.random() < 0.3:
                other = best_genome if use_second else second[1]
                child, more = _crossover(child, other, rng)
                child, extra = _mutate(child, slots, rng, sigma=0.2, structural=False)
                more += extra
            else:
                child, more = _mutate(child, slots, rng, sigma=0.3, structural=True)
            lead = f"parent {result.candidate.id} (fitness {_fmt(result.fitness)})"
            plan.append((child, result.candidate.id, [lead, *notes, *more]))
        for _ in range(restarts):
            genome, notes = _random_genome(slots, rng, sigma=0.5)
            plan.append((genome, None, ["restart: fitness is still near zero", *notes]))
        return plan

    def _evolution_summary(
        self, ctx: DesignContext, scored: list[tuple[CandidateResult, list[Term]]]
    ) -> str:
        best = scored[0][0]
        return (
            f"Evolution from the best trained candidates so far: {best.candidate.id} "
            f"(fitness {_fmt(best.fitness)}, success threshold "
            f"{_fmt(ctx.fitness.success_threshold)}) of {len(scored)} scored. Children keep the "
            "parent's terms, apply the corrections training suggested, then mutate weights and "
            "temperatures (log-normal), add or drop terms, or recombine two parents."
        )

    def _unique(
        self,
        ctx: DesignContext,
        genome: list[Term],
        parent: str | None,
        notes: list[str],
        seen: set[str],
        slots: list[Slot],
        rng: np.random.Generator,
    ) -> RewardCandidate | None:
        for attempt in range(30):
            terms = _clean(guard_hovering(copy.deepcopy(genome), episode_steps(ctx.task)))
            header = [
                f"Offline designer. Task: {_one_line(ctx.description or ctx.task.description)}"
            ]
            header += [f"{t['name']}: {t['kind']} on {t['field'] or 'a constant'}" for t in terms]
            candidate = RewardCandidate(render_source(terms, ctx.task, header), parent=parent)
            if candidate.id not in seen:
                candidate.origin = {
                    "designer": self.name,
                    "model": "offline",
                    "genome": {"terms": terms},
                    "notes": list(notes),
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "cost_usd": 0.0,
                }
                return candidate
            # Same code as an earlier candidate: perturb more until it is new.
            genome, more = _mutate(genome, slots, rng, sigma=0.2 + 0.05 * attempt, structural=True)
            notes = [*notes, *more]
        logger.warning("no new genome after 30 tries; proposing one candidate fewer")
        return None


# ------------------------------------------------------------------------- genome operators


def _base(slots: list[Slot]) -> list[Term]:
    return [copy.deepcopy(s.term) for s in slots if s.include >= 0.5]


def _jitter(term: Term, rng: np.random.Generator, sigma: float) -> Term:
    term = dict(term)
    if term["kind"] != "alive":
        term["weight"] *= math.exp(rng.normal(0.0, sigma))
    if term["kind"] in {"gauss", "decay", "tanh"}:
        term["scale"] = max(
            term.get("floor", 0.0), term["scale"] * math.exp(rng.normal(0.0, sigma))
        )
    return term


def _random_genome(
    slots: list[Slot], rng: np.random.Generator, sigma: float
) -> tuple[list[Term], list[str]]:
    genome: list[Term] = []
    notes: list[str] = []
    for slot in slots:
        if slot.include < 1.0 and rng.random() >= slot.include:
            continue
        term = slot.term
        if slot.alternatives and rng.random() < 0.4:
            term = slot.alternatives[int(rng.integers(len(slot.alternatives)))]
            notes.append(f"{term['name']} as {term['kind']} (scale {_fmt(term['scale'])})")
        genome.append(_jitter(term, rng, sigma))
    notes.append(f"terms {', '.join(t['name'] for t in genome)}; weights jittered (sigma {sigma})")
    return genome, notes


def _mutate(
    genome: list[Term], slots: list[Slot], rng: np.random.Generator, sigma: float, structural: bool
) -> tuple[list[Term], list[str]]:
    child = [_jitter(t, rng, sigma) for t in genome]
    notes = [f"weights and temperatures jittered (sigma {sigma})"]
    if not structural:
        return child, notes
    present = {t["name"] for t in child}
    missing = [s for s in slots if s.term["name"] not in present]
    optional = [t for t in child if t["role"] in {"shaping", "penalty"}]
    roll = rng.random()
    if missing and roll < 0.3:
        slot = missing[int(rng.integers(len(missing)))]
        child.append(_jitter(slot.term, rng, sigma))
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
            new = _jitter(forms[int(rng.integers(len(forms)))], rng, sigma)
            child = [new if t is old else t for t in child]
            notes.append(f"{old['name']} now {new['kind']} (scale {_fmt(new['scale'])})")
    return child, notes


def _crossover(
    genome: list[Term], other: list[Term], rng: np.random.Generator
) -> tuple[list[Term], list[str]]:
    theirs = {t["name"]: t for t in other}
    child = [
        dict(theirs[t["name"]]) if t["name"] in theirs and rng.random() < 0.5 else t for t in genome
    ]
    mine = {t["name"] for t in genome}
    child += [dict(t) for t in other if t["name"] not in mine and rng.random() < 0.5]
    return child, ["recombined with the second-best genome"]


def _directed(
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
                notes.append(f"{name} is rarely near its target ({_fmt(value)}): temperature x2")
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
            notes.append(f"{name} dominates the reward ({_fmt(value)}): weight x0.5")
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
    if result.fitness is None or result.fitness >= ctx.fitness.success_threshold:
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
        f"episodes run to the time limit while the objective pays {_fmt(pay)} a step against "
        f"an alive bonus of {_fmt(before)}: alive bonus x0.5"
    ]


# --------------------------------------------------------------------------- bookkeeping


def _genome_of(candidate: RewardCandidate) -> list[Term] | None:
    genome = candidate.origin.get("genome")
    if isinstance(genome, dict) and isinstance(genome.get("terms"), list):
        return [dict(t) for t in genome["terms"]]
    return None


def _scored(history: list[IterationRecord]) -> list[tuple[CandidateResult, list[Term]]]:
    found = []
    for record in history:
        for result in record.results:
            genome = _genome_of(result.candidate)
            if result.status == "ok" and result.fitness is not None and genome:
                found.append((result, genome))
    # A person's ranking, when there is one, is the selection signal: what they preferred
    # breeds first and what they called unacceptable not at all; fitness orders the rest.
    rejected = rejected_by_people(history)
    found = [item for item in found if item[0].candidate.id not in rejected]
    places = preference_order(history)
    found.sort(
        key=lambda item: (places.get(item[0].candidate.id, len(places)), -float(item[0].fitness))
    )
    return found


def _blamed(term: Term, text: str) -> bool:
    return term["name"] in text or bool(term["field"] and term["field"] in text)


def _no_usage() -> dict[str, float]:
    return {"prompt_tokens": 0.0, "completion_tokens": 0.0, "cost_usd": 0.0, "dropped": 0.0}


def _fmt(value: Any) -> str:
    return "none" if value is None else f"{float(value):.4g}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _response(index: int, candidate: RewardCandidate) -> str:
    notes = "\n".join(f"- {note}" for note in candidate.origin.get("notes", []))
    parent = f" (child of {candidate.parent})" if candidate.parent else ""
    return (
        f"Candidate {index}{parent}, written by the offline designer.\n\n{notes}\n\n"
        f"```python\n{candidate.source.strip()}\n```\n"
    )


def _plan_line(index: int, candidate: RewardCandidate) -> str:
    return f"- candidate {index} `{candidate.id}`: " + "; ".join(candidate.origin.get("notes", []))


def _prompt(
    ctx: DesignContext,
    intent: Intent,
    slots: list[Slot],
    how: str,
    lines: list[str],
    iteration: int | None,
) -> str:
    title = f"iteration {iteration}" if iteration is not None else "revision"
    table = ["| term | form | field | weight | included | why |", "|---|---|---|---|---|---|"]
    for slot in slots:
        t = slot.term
        table.append(
            f"| {t['name']} | {t['kind']} | {t['field'] or '-'} | {_fmt(t['weight'])} | "
            f"{'always' if slot.include >= 1 else f'p={slot.include:g}'} | {slot.why} |"
        )
    read = ", ".join(intent.read) or "nothing specific"
    return "\n".join(
        [
            f"# Offline designer, {title}",
            "",
            "No language model: the offline designer searched a library of shaped reward "
            "terms bound to the task's tagged state fields.",
            "",
            f"- Description: {_one_line(ctx.description or ctx.task.description)}",
            f"- Read from it: {read}",
            f"- Fitness: `{ctx.fitness.name}`: {ctx.fitness.meaning}",
            f"- Episodes end: {termination_kind(ctx.task)} "
            f"({_one_line(ctx.task.termination) or '-'})",
            "",
            "## Term library for this task",
            "",
            *table,
            "",
            "## What this call did",
            "",
            how,
            "",
            *lines,
            "",
        ]
    )
