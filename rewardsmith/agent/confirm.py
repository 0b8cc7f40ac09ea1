"""Confirmation: retrain the search's best rewards on fresh seeds before choosing one.

The search measures every candidate on a single PPO seed, and at these budgets two seeds
of the same reward often differ by 2-3x in fitness. The highest of many single-seed
measurements is biased toward the luckiest seed (the winner's curse): on Reacher-v5 the
search picked a reward that reached 1.6 cm on its search seed and 5.8 cm on fresh ones.
So the ``confirm_top`` fittest distinct rewards that trained for the whole budget (any
place left goes to rewards that successive halving stopped at a tie) are retrained on
``confirm_seeds`` fresh seeds (the same seeds for every reward, so no reward is favoured
by easier seeds than the others), and the one with the highest mean over those seeds
becomes the run's answer. The search seed itself is left out of
that mean: it is the measurement the shortlist was selected on, so it is biased upward,
most of all for the rewards that only made the shortlist by luck.

The confirmation seeds are derived on their own path, distinct from both the search's
and the final evaluation's seeds, so the final evaluation stays an independent measure
of the chosen reward. Every finished training leaves
``confirm/<candidate id>/seed_<s>/fitness.json``; a resumed run retrains only the rest.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.agent.candidate import CandidateResult, IterationRecord
from rewardsmith.agent.final_eval import fitness_record, train_job_spec
from rewardsmith.agent.training import result_from_outcome
from rewardsmith.envs.spec import FitnessMeasure, TaskSpec
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import read_record, write_json
from rewardsmith.train.executor import Executor, Job

logger = logging.getLogger(__name__)


@dataclass
class Finalist:
    """A shortlisted reward and what the confirmation measured.

    Args:
        result: Its search result (one seed; the full budget, or a rung's share for a
            reward that halving stopped at a tie).
        iteration: The iteration it was trained in.
        fitness: Final fitness on each confirmation seed that trained.
        trace_means: Mean of the fitness trace on each of those seeds (breaks ties at a
            capped fitness: the reward that got there sooner ranks first).
        failed: Confirmation trainings that failed (a reward that crashes on some seeds
            is not one to hand a user).
    """

    result: CandidateResult
    iteration: int
    fitness: list[float]
    trace_means: list[float]
    failed: int = 0

    @property
    def mean(self) -> float | None:
        """Mean fitness over the confirmation seeds (``None`` when none trained)."""
        return float(np.mean(self.fitness)) if self.fitness else None

    def rank_key(self) -> tuple[bool, float, float, bool, float]:
        """Sort key, higher is better: no failure, confirmed mean, trace mean, search.

        The search's measure last, a full-budget one first: a rung's fitness is not
        comparable with it.
        """
        mean = self.mean if self.mean is not None else -math.inf
        trace = float(np.mean(self.trace_means)) if self.trace_means else -math.inf
        search = self.result.fitness if self.result.fitness is not None else -math.inf
        return (self.failed == 0, mean, trace, not self.result.pruned, search)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the report."""
        return {
            "id": self.result.candidate.id,
            "iteration": self.iteration,
            "search_fitness": self.result.fitness,
            "search_steps": self.result.steps,
            "search_pruned": self.result.pruned,
            "fitness": self.fitness,
            "mean": self.mean,
            "failed": self.failed,
        }


def why_chosen(chosen: Finalist, pick: Finalist) -> str:
    """Why ``chosen`` ranks ahead of the search's ``pick`` ("" when it is the pick)."""
    if chosen is pick:
        return ""
    if pick.failed and not chosen.failed:
        return f"the search's pick failed to train on {pick.failed} fresh seed(s)"
    mine, theirs = chosen.mean, pick.mean
    if mine is not None and (theirs is None or mine > theirs):
        return f"a higher mean fitness on the fresh seeds ({mine:.4g} against {theirs:.4g})"
    if mine is not None and mine == theirs:
        return f"the same mean fitness on the fresh seeds ({mine:.4g}), reached sooner"
    return "it ranks ahead on the fresh seeds"


def shortlist(history: Sequence[IterationRecord], top: int) -> list[tuple[CandidateResult, int]]:
    """The ``top`` fittest distinct rewards that trained for the whole budget, then ties.

    A reward proposed again in a later iteration (same id), or a twin that inherited
    another candidate's result without training (identical traces), counts once. Places
    the full-budget rewards leave free go to rewards that successive halving stopped at a
    tie (:attr:`CandidateResult.tied`), the most trained first: on InvertedPendulum two
    candidates balanced all 1000 steps at the second rung, the one kept scored 227 at the
    full budget, and without this the search's answer was the 227.

    Returns:
        ``(result, iteration)`` pairs: the full-budget rewards fittest first (ties:
        earliest first), so the first is the search's pick; then the tied ones. None of
        the tied ones when no reward trained for the whole budget.
    """
    seen_ids: set[str] = set()
    seen_results: set[tuple[Any, ...]] = set()
    full: list[tuple[CandidateResult, int]] = []
    tied: list[tuple[CandidateResult, int]] = []
    for record in history:
        for result in record.results:
            if result.status != "ok" or result.fitness is None:
                continue
            if result.pruned and not result.tied:
                continue
            fingerprint = (
                result.fitness,
                tuple(result.fitness_trace),
                tuple(result.return_trace),
            )
            if result.candidate.id in seen_ids or fingerprint in seen_results:
                continue
            seen_ids.add(result.candidate.id)
            seen_results.add(fingerprint)
            (tied if result.pruned else full).append((result, record.index))
    # The sort is stable: equal keys keep the order seen, the earliest first.
    full.sort(key=lambda pair: -pair[0].fitness)
    # The later the rung, the longer it trained and the more its tie says.
    tied.sort(key=lambda pair: -pair[0].steps)
    picked = full[:top]
    if picked:
        picked += tied[: top - len(picked)]
    return picked


@dataclass
class ConfirmPlan:
    """What the confirmation trains.

    Args:
        task: The task.
        measure: The fitness measure.
        budget: Budget of every training (the search's).
        seeds: Confirmation seeds, shared by every finalist.
        root: Folder of the confirmation's trainings (``<run>/confirm``).
        limits: Sandbox limits of one training.
    """

    task: TaskSpec
    measure: FitnessMeasure
    budget: str
    seeds: list[int]
    root: Path
    limits: Limits


def _marker(plan: ConfirmPlan, candidate_id: str, seed: int) -> Path:
    return plan.root / candidate_id / f"seed_{seed}" / "fitness.json"


def confirm(
    plan: ConfirmPlan,
    finalists: Sequence[tuple[CandidateResult, int]],
    executor: Executor,
    callbacks: Any,
) -> tuple[CandidateResult, dict[str, Any]]:
    """Train every finalist on ``plan.seeds`` and choose the best.

    Args:
        plan: What to train, and where.
        finalists: ``(search result, iteration)`` pairs, fittest first (:func:`shortlist`).
        executor: Where the trainings run.
        callbacks: The loop's callbacks (a ``LoopCallbacks``): ``on_message`` and the
            ``on_training_*`` hooks show the trainings' progress.

    Returns:
        The chosen search result and the confirmation's report (also written to
        ``<root>/confirm.json``).
    """
    done: dict[tuple[str, int], dict[str, Any]] = {}
    jobs: list[Job] = []
    owner: dict[str, tuple[CandidateResult, int]] = {}
    for result, _ in finalists:
        reward = {"mode": "candidate", "source": result.candidate.source}
        for seed in plan.seeds:
            marker = _marker(plan, result.candidate.id, seed)
            if marker.exists():
                done[(result.candidate.id, seed)] = read_record(marker, fitness_record)
                continue
            spec = train_job_spec(plan.task, plan.measure, plan.budget, seed, reward, False)
            key = f"confirm/{result.candidate.id} seed {seed}"
            jobs.append(Job(key, spec, plan.limits, marker.parent))
            owner[key] = (result, seed)
    if jobs:
        callbacks.on_message(
            f"confirmation: retraining the {len(finalists)} fittest rewards on "
            f"{len(plan.seeds)} fresh seed(s) each before choosing ({len(jobs)} trainings)"
        )
    for job in jobs:
        callbacks.on_training_start(job.key, len(jobs))

    def progress(job: Job, data: dict[str, Any]) -> None:
        steps, target = int(data.get("steps", 0)), int(data.get("target", 0))
        callbacks.on_training_progress(job.key, steps, target, data.get("fitness"))

    for job, outcome in executor.run(jobs, progress) if jobs else []:
        result, seed = owner[job.key]
        callbacks.on_training_done(job.key, result_from_outcome(result.candidate, outcome))
        if not outcome.ok:
            # Not written down: a resumed run tries it again, as the final evaluation does.
            logger.warning("confirmation training %s failed: %s", job.key, outcome.error)
            continue
        record = {k: outcome.result[k] for k in ("fitness", "fitness_trace", "steps")}
        write_json(_marker(plan, result.candidate.id, seed), record)
        done[(result.candidate.id, seed)] = record

    measured: list[Finalist] = []
    for result, iteration in finalists:
        finalist = Finalist(result, iteration, [], [])
        for seed in plan.seeds:
            record = done.get((result.candidate.id, seed))
            if record is None:
                finalist.failed += 1
                continue
            finalist.fitness.append(float(record["fitness"]))
            trace = [v for v in record.get("fitness_trace", []) if math.isfinite(v)]
            finalist.trace_means.append(float(np.mean(trace)) if trace else -math.inf)
        measured.append(finalist)
    # Stable sort: among equal keys the search's order (fittest first) decides.
    ranked = sorted(measured, key=lambda f: f.rank_key(), reverse=True)
    chosen = ranked[0]
    search_pick = measured[0]
    report = {
        "seeds": plan.seeds,
        "budget": plan.budget,
        "candidates": [f.to_json() for f in ranked],
        "chosen": chosen.result.candidate.id,
        "search_pick": search_pick.result.candidate.id,
        "changed": chosen is not search_pick,
        "reason": why_chosen(chosen, search_pick),
    }
    write_json(plan.root / "confirm.json", report)
    return chosen.result, report
