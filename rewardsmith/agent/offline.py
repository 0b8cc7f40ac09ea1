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

import numpy as np

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.designer import DesignBatch, DesignContext
from rewardsmith.agent.feedback import preference_order, rejected_by_people
from rewardsmith.agent.genome_ops import (
    base_genome,
    corrected,
    crossover,
    fmt,
    mutate,
    random_genome,
)
from rewardsmith.agent.genome_source import render_source
from rewardsmith.agent.intent import Intent, intent_for, read_intent, read_tolerance
from rewardsmith.agent.landing_terms import guard_hovering
from rewardsmith.agent.task_facts import DESIGN_TAGS, episode_steps, termination_kind
from rewardsmith.agent.term import Slot, Term
from rewardsmith.agent.terms import catalogue, requests
from rewardsmith.envs.spec import FitnessMeasure, TaskSpec

logger = logging.getLogger(__name__)


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
    tagged = [f"{f.name} ({', '.join(sorted(f.tags))})" for f in task.fields if f.tags & known]
    asked = requests(task, intent)
    if tagged and asked and not any(bound for _, bound in asked):
        # Shaping terms (upright, an action cost) may still bind, but aim at nothing asked.
        return (
            f"the offline designer reads {', '.join(intent.read)} in "
            f"{description or task.description!r}, but {task.id} has no field for it: "
            f"{'; '.join(what for what, _ in asked)} (its tagged fields: {', '.join(tagged)}); "
            "ask for something those measure with --task, pass --model to let an LLM "
            "designer read the env's source, or declare such a field in a task file"
        )
    if any(t["field"] in state for slot in slots for t in (slot.term, *slot.alternatives)):
        return ""
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


def offline_reading_note(task: TaskSpec, description: str) -> str:
    """What of ``description`` the offline designer will not design for ("" if nothing).

    A description it cannot read ("do a backflip") would otherwise get the task's default
    reward silently, and one it reads in part ("run forward with arms raised" on Hopper)
    rewards without the part no field measures.
    """
    if not description.strip():
        return ""
    intent = read_intent(description)
    if intent.has_objective:
        asked = requests(task, intent)
        missing = [what for what, bound in asked if not bound]
        if len(missing) == len(asked) and asked:
            return ""  # none of it: refused by offline_design_problem
        parts = []
        if missing:
            parts.append(f"leave out what {task.id} has no field for: {'; '.join(missing)}")
        if intent.unread:
            parts.append(f"ignore {'; '.join(intent.unread)}")
        if not parts:
            return ""
        declare = ", or declare such a field in a task file" if missing else ""
        return (
            f"the offline designer's rewards for {description!r} {', and '.join(parts)}; "
            f"pass --model to let an LLM designer read it{declare}"
        )
    return (
        f"the offline designer reads no objective in {description!r} (it reads a direction, "
        "a speed, a target x, height or angle, upright, still, a goal, a turn, arms up, "
        f"landing), so it designs for {task.id}'s own: {task.description!r}; say the "
        "behaviour in those terms, or pass --model to let an LLM designer read it"
    )


#: The key of ``run.json`` that keeps what the designer was told it could not do.
DESIGN_NOTES_KEY = "design_notes"


def design_notes(model: str | None, task: TaskSpec, description: str | None) -> list[str]:
    """What a run says about how the offline designer reads ``description``.

    Printed before the run starts and kept in ``run.json`` for ``show`` and the report;
    nothing for a model designer.
    """
    from rewardsmith.agent.designer import uses_offline_designer

    if not uses_offline_designer(model) or not description:
        return []
    note = offline_reading_note(task, description)
    return [note] if note else []


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
        genome = _genome_of(candidate) or base_genome(slots)
        text = " ".join(problems)
        kept = [t for t in genome if t["role"] in {"alive", "objective"} or not _blamed(t, text)]
        notes = [f"revised after: {p}" for p in problems[:3]]
        if len(kept) < len(genome):
            notes.append("dropped terms named in the problems")
        else:
            # Nothing to blame: fall back to the library's default forms of the same slots.
            names = {t["name"] for t in genome}
            defaults = [copy.deepcopy(s.term) for s in slots if s.term["name"] in names]
            kept = defaults or base_genome(slots)
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
        plan = [(base_genome(slots), None, ["library defaults"])]
        while len(plan) < n:
            genome, notes = random_genome(slots, rng, sigma=0.35)
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
        solved = ctx.fitness.reached(fitness)
        stuck = threshold is not None and threshold > 0 and fitness < 0.05 * threshold
        restarts = n // 2 if stuck else 0
        plan: list[tuple[list[Term], str | None, list[str]]] = []
        for i in range(n - restarts):
            use_second = second is not None and i > 0 and rng.random() < 0.3
            result, genome = second if use_second else (best, best_genome)
            child, notes = corrected(ctx, genome, result)
            if i == 0 and (notes or solved):
                child, more = mutate(child, slots, rng, sigma=0.1, structural=False)
            elif second is not None and rng.random() < 0.3:
                other = best_genome if use_second else second[1]
                child, more = crossover(child, other, rng)
                child, extra = mutate(child, slots, rng, sigma=0.2, structural=False)
                more += extra
            else:
                child, more = mutate(child, slots, rng, sigma=0.3, structural=True)
            lead = f"parent {result.candidate.id} (fitness {fmt(result.fitness)})"
            plan.append((child, result.candidate.id, [lead, *notes, *more]))
        for _ in range(restarts):
            genome, notes = random_genome(slots, rng, sigma=0.5)
            plan.append((genome, None, ["restart: fitness is still near zero", *notes]))
        return plan

    def _evolution_summary(
        self, ctx: DesignContext, scored: list[tuple[CandidateResult, list[Term]]]
    ) -> str:
        best = scored[0][0]
        return (
            f"Evolution from the best trained candidates so far: {best.candidate.id} "
            f"(fitness {fmt(best.fitness)}, success threshold "
            f"{ctx.fitness.threshold_text()}) of {len(scored)} scored. Children keep the "
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
            genome, more = mutate(genome, slots, rng, sigma=0.2 + 0.05 * attempt, structural=True)
            notes = [*notes, *more]
        logger.warning("no new genome after 30 tries; proposing one candidate fewer")
        return None


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
            f"| {t['name']} | {t['kind']} | {t['field'] or '-'} | {fmt(t['weight'])} | "
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
