"""An iteration's training phase: deduplicate, then train by successive halving (or fully).

Order of work, each step written to the run folder before the next so ``resume`` picks
up exactly where an interruption left it:

1. Candidates the critic rejected, or whose ``fitness.json`` exists, need nothing.
2. Twins (identical normalised code, or, unless ``--search full``, a STARC distance under
   the threshold on the shared transitions) follow the first candidate of their group
   and inherit its result.
3. The rest train rung by rung (``--search halving``, the default) or for the whole
   budget at once (``--search full``, the Eureka protocol). Every finished rung job leaves
   ``rung.json`` in the candidate's folder beside its checkpoint; the next rung continues
   that checkpoint. Seeds are derived from the root seed and the candidate's code, so
   they do not depend on the order jobs finish, and the same code trains the same way in
   any iteration (which is what lets the result cache answer it).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.agent.dedup import Twin, find_twins
from rewardsmith.agent.halving import is_tie, plan_rungs, pruned_reason, survivors
from rewardsmith.config import SynthConfig
from rewardsmith.envs.spec import FitnessMeasure, PPOPreset, TaskSpec
from rewardsmith.sandbox.runner import Limits
from rewardsmith.seeding import derive_seed
from rewardsmith.store import RunStore, json_object, read_record, write_json
from rewardsmith.train.executor import Executor, Job
from rewardsmith.train.jobs import JobOutcome

logger = logging.getLogger(__name__)

#: Share of a GPU one training asks Ray for when PPO runs on ``cuda``.
GPU_SHARE = 0.25
#: Files a rung hands to the next one.
CHECKPOINT_FILES = ("policy.zip", "vecnormalize.pkl", "metrics.csv", "rollouts.csv")


@dataclass
class Entry:
    """A candidate in the training phase: its folder number, code and critic's reward sample."""

    slot: int
    candidate: Any  # RewardCandidate
    sample: list[float] | None


def result_from_outcome(candidate: Any, outcome: JobOutcome) -> CandidateResult:
    """A candidate's result from its training job's outcome."""
    if not outcome.ok:
        return CandidateResult(candidate, "failed", problems=[outcome.error])
    r = outcome.result
    return CandidateResult(
        candidate=candidate,
        status="ok",
        fitness=r["fitness"],
        fitness_trace=r["fitness_trace"],
        return_trace=r["return_trace"],
        component_trace=r["component_trace"],
        length_trace=r["length_trace"],
        ended_by=r["ended_by"],
        field_ranges=r["field_ranges"],
        steps=r["steps"],
        success_rate=r["success_rate"],
    )


class TrainingPhase:
    """Trains one iteration's accepted candidates.

    Args:
        config: The run's config (``search``, ``eta``, ``first_success``, ``seed``, budget).
        store: The run folder.
        task: The task.
        measure: The fitness measure.
        preset: The budget's PPO preset.
        executor: Where jobs run.
        limits: Sandbox limits of one training.
        callbacks: The loop's callbacks (``on_training_start/progress/done``).
        task_fields: Extra keys every job carries (a task file's text, for the worker).
    """

    def __init__(
        self,
        config: SynthConfig,
        store: RunStore,
        task: TaskSpec,
        measure: FitnessMeasure,
        preset: PPOPreset,
        executor: Executor,
        limits: Limits,
        callbacks: Any,
        task_fields: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.task = task
        self.measure = measure
        self.preset = preset
        self.executor = executor
        self.limits = limits
        self.callbacks = callbacks
        self.task_fields = task_fields or {}
        self.reached_success = False

    # Jobs ---------------------------------------------------------------------------------
    def _seed(self, entry: Entry) -> int:
        return derive_seed(self.config.seed, int(entry.candidate.id, 16))

    def _job(self, index: int, entry: Entry, steps: int, rung: int) -> Job:
        folder = self.store.cand_dir(index, entry.slot)
        spec: dict[str, Any] = {
            "kind": "train",
            "task": self.task.id,
            **self.task_fields,
            "fitness": self.measure.name,
            "budget": self.config.budget,
            "seed": self._seed(entry),
            "reward": {"mode": "candidate", "source": entry.candidate.source},
            "steps": steps,
            "resume": rung > 0,
        }
        if self.config.first_success and self.measure.success_threshold is not None:
            spec["stop_at_fitness"] = self.measure.success_threshold
        if self.config.device != "cpu":
            # Small MLPs use a GPU lightly: four trainings share one.
            spec["device"] = self.config.device
            spec["num_gpus"] = GPU_SHARE
        inputs: dict[str, Path] = {}
        if rung > 0:
            inputs = {n: folder / n for n in CHECKPOINT_FILES if (folder / n).exists()}
        key = f"iter_{index:02d}/cand_{entry.slot:02d}"
        limits = self.limits
        if self.config.device != "cpu":
            # CUDA maps tens of GB of virtual memory at start-up: RLIMIT_AS would kill it.
            limits = dataclasses.replace(limits, address_space_mb=None)
        return Job(key, spec, limits, folder, inputs)

    def _progress(self, job: Job, data: dict[str, Any]) -> None:
        hook = getattr(self.callbacks, "on_training_progress", None)
        if hook is not None:
            hook(
                job.key, int(data.get("steps", 0)), int(data.get("target", 0)), data.get("fitness")
            )

    # Rungs --------------------------------------------------------------------------------
    def _rung_state(self, index: int, entry: Entry) -> dict[str, Any] | None:
        path = self.store.cand_dir(index, entry.slot) / "rung.json"
        return read_record(path, json_object) if path.exists() else None

    def _finish(self, index: int, slot: int, result: CandidateResult) -> None:
        """Mark a candidate trained (``fitness.json``) the moment its result is final."""
        write_json(self.store.cand_dir(index, slot) / "fitness.json", result.to_json())

    def _run_rung(
        self, index: int, rung: int, steps: int, entries: list[Entry], last: bool
    ) -> dict[int, CandidateResult]:
        """Train ``entries`` up to ``steps``; reuse rung results already on disk.

        A failed training, or any training of the ``last`` rung, is final at once.
        """
        done: dict[int, CandidateResult] = {}
        jobs: list[Job] = []
        by_key: dict[str, Entry] = {}
        for entry in entries:
            state = self._rung_state(index, entry)
            if state is not None and state["rung"] >= rung:
                done[entry.slot] = CandidateResult.from_json(state["result"])
                continue
            job = self._job(index, entry, steps, rung)
            jobs.append(job)
            by_key[job.key] = entry
        for job in jobs:
            self.callbacks.on_training_start(job.key, len(jobs))
        for job, outcome in self.executor.run(jobs, self._progress) if jobs else []:
            entry = by_key[job.key]
            result = result_from_outcome(entry.candidate, outcome)
            if outcome.result.get("cache_hit"):
                result.problems.append("result reused from the cache (same code, seed, budget)")
            folder = self.store.cand_dir(index, entry.slot)
            write_json(
                folder / "rung.json",
                {"rung": rung, "steps": steps, **_rung_note(outcome), "result": result.to_json()},
            )
            done[entry.slot] = result
            if last or result.status != "ok":
                self._finish(index, entry.slot, result)
            self.callbacks.on_training_done(job.key, result)
        return done

    def _success(self, result: CandidateResult) -> bool:
        return self.measure.reached(result.fitness)

    def train(self, index: int, entries: list[Entry]) -> dict[int, CandidateResult]:
        """Train ``entries`` (already deduplicated) and return ``slot -> final result``."""
        final: dict[int, CandidateResult] = {}
        if not entries:
            return final
        total = self.preset.total_timesteps
        if self.config.search == "full":
            rungs = [total]
        else:
            rollout = int(self.preset.ppo.get("n_steps", 2048)) * self.preset.n_envs
            rungs = plan_rungs(total, len(entries), self.config.eta, rollout)
        alive = list(entries)
        for rung, steps in enumerate(rungs):
            results = self._run_rung(index, rung, steps, alive, rung == len(rungs) - 1)
            trained = [e for e in alive if results[e.slot].status == "ok"]
            for entry in alive:
                if results[entry.slot].status != "ok":
                    final[entry.slot] = results[entry.slot]
            last = rung == len(rungs) - 1
            if (
                not last
                and self.config.first_success
                and any(self._success(results[e.slot]) for e in trained)
            ):
                self.reached_success = True
                last = True
            if last or not trained:
                for entry in trained:
                    final[entry.slot] = results[entry.slot]
                break
            ranked = [results[e.slot] for e in trained]
            keep = survivors(
                [r.fitness or 0.0 for r in ranked],
                self.config.eta,
                [_trace_mean(r.fitness_trace) for r in ranked],
            )
            next_alive = [trained[i] for i in keep]
            for position, entry in enumerate(trained):
                if position in keep:
                    continue
                result = results[entry.slot]
                result.pruned = True
                fitness, kept = result.fitness or 0.0, [ranked[i].fitness or 0.0 for i in keep]
                result.tied = is_tie(fitness, kept)
                reason = pruned_reason(fitness, kept, self.config.eta, len(trained))
                result.problems.append(
                    f"successive halving stopped it after {result.steps:,} of {total:,} env steps: "
                    f"{reason} at that rung"
                )
                final[entry.slot] = result
            alive = next_alive
        if any(self._success(r) for r in final.values() if r.status == "ok"):
            self.reached_success = True
        return final

    # The phase ----------------------------------------------------------------------------
    def run(self, index: int, slots: list[Any]) -> list[CandidateResult]:
        """Results for every slot of iteration ``index``, in slot order."""
        results: dict[int, CandidateResult] = {}
        passed: list[Entry] = []
        for slot in slots:
            if not slot.report.passed:
                results[slot.slot] = CandidateResult(
                    slot.candidate, "rejected", problems=slot.report.problems
                )
                continue
            passed.append(
                Entry(slot.slot, slot.candidate, slot.report.dynamic.get("reward_sample"))
            )
        fixed_length = not self.task.ends_early
        # --search full is the Eureka protocol: only identical code is trained once.
        samples = [e.sample if self.config.search == "halving" else None for e in passed]
        twins = find_twins([e.candidate.id for e in passed], samples, fixed_length)
        leaders = [e for i, e in enumerate(passed) if i not in twins]
        todo: list[Entry] = []
        for entry in leaders:
            done = self.store.cand_dir(index, entry.slot) / "fitness.json"
            if done.exists():
                results[entry.slot] = read_record(done, CandidateResult.from_json)
            else:
                todo.append(entry)
        if twins:
            self.callbacks.on_message(
                f"{len(twins)} candidate(s) duplicate another and will not train"
            )
        for slot, result in self.train(index, todo).items():
            if not (self.store.cand_dir(index, slot) / "fitness.json").exists():
                self._finish(index, slot, result)  # pruned, or stopped by --first-success
            results[slot] = result
        for i, twin in twins.items():
            entry, leader = passed[i], passed[twin.of]
            result = CandidateResult.from_json(results[leader.slot].to_json())
            result.candidate = entry.candidate
            result.problems.append(_twin_note(leader.slot, twin))
            write_json(self.store.cand_dir(index, entry.slot) / "fitness.json", result.to_json())
            results[entry.slot] = result
        return [results[s.slot] for s in slots]


def _trace_mean(trace: list[float]) -> float:
    values = [v for v in trace if math.isfinite(v)]
    return sum(values) / len(values) if values else 0.0


def _rung_note(outcome: JobOutcome) -> dict[str, Any]:
    r = outcome.result
    return {"resumed_from_steps": r.get("resumed_from_steps", 0), "cache_hit": r.get("cache_hit")}


def _twin_note(leader: int, twin: Twin) -> str:
    if twin.identical:
        return f"identical to candidate {leader}; trained once, its result is shared"
    return (
        f"equivalent for learning to candidate {leader} (STARC distance {twin.distance:.4f} "
        "on the shared transitions: the same reward up to a positive scale); "
        "trained once, its result is shared"
    )
