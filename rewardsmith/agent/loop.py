"""The synthesis loop: design → critic → train → reflect, iteration after iteration.

Everything the loop learns goes to the run folder as it happens, in an order that makes
``resume`` exact: each designer call's ``exchange_NN.json`` holds what the model answered,
a candidate's ``critic.json`` holds its verdict, its ``fitness.json`` marks it trained, an
iteration's ``candidates.json`` marks its design phase done, ``iteration.json`` marks it
finished. Resuming re-reads these and does only what is missing: an interrupted design
phase replays the answers on disk and asks the model only for what it never answered.
The loop prints nothing: it reports through :class:`LoopCallbacks`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.confirm import ConfirmPlan, confirm, shortlist
from rewardsmith.agent.critic import Critic, CriticReport
from rewardsmith.agent.designer import DesignBatch, DesignContext, Designer
from rewardsmith.agent.feedback import Ranker
from rewardsmith.agent.final_eval import FinalEvalPlan, run_final_evaluation
from rewardsmith.agent.human_round import HumanOutcome, ranked_best, run_human_round
from rewardsmith.agent.reflection import hacking_alert, reflect, select_best
from rewardsmith.agent.training import TrainingPhase
from rewardsmith.agent.transitions import ensure_transitions
from rewardsmith.config import SynthConfig
from rewardsmith.envs.registry import resolve_task, task_job_fields
from rewardsmith.errors import RunFailed, UserError
from rewardsmith.sandbox.runner import Limits
from rewardsmith.seeding import (
    CONFIRM_SEED_PATH,
    FINAL_EVAL_SEED_PATH,
    derive_seed,
    derive_seeds,
)
from rewardsmith.store import (
    RUN_FILE,
    RUN_IMPORT_PATHS,
    RunStore,
    read_record,
    write_atomic,
    write_json,
)
from rewardsmith.train.executor import Executor

logger = logging.getLogger(__name__)

PROPOSAL_ROUNDS = 3
PROBE_STEPS = 64


class LoopCallbacks:
    """Hooks the CLI (or a web page) subscribes to; every method defaults to doing nothing."""

    def on_message(self, text: str) -> None:
        """A line of news about the run."""

    def on_iteration_start(self, index: int, total: int) -> None:
        """An iteration begins (or resumes)."""

    def on_candidate_checked(self, index: int, slot: int, report: CriticReport) -> None:
        """The critic judged a candidate."""

    def on_training_start(self, key: str, total: int) -> None:
        """A training job starts; ``total`` is how many of them this phase runs."""

    def on_training_progress(
        self, key: str, steps: int, target: int, fitness: float | None
    ) -> None:
        """A running training reached a checkpoint: env steps so far, its target, fitness."""

    def on_training_done(self, key: str, result: CandidateResult) -> None:
        """A training job finished (or failed)."""

    def on_iteration_end(self, record: IterationRecord) -> None:
        """An iteration finished; its feedback is written."""

    def on_final(self, report: dict[str, Any]) -> None:
        """The final evaluation finished."""

    def on_ranking_needed(self, index: int, url: str) -> None:
        """Iteration ``index`` waits for a person to rank its policies on the page at ``url``."""


@dataclass
class Slot:
    """A candidate's place in an iteration: its folder number and the critic's verdict."""

    slot: int
    candidate: RewardCandidate
    report: CriticReport

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``candidates.json``."""
        return {
            "slot": self.slot,
            "candidate": self.candidate.to_json(),
            "critic": self.report.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Slot:
        """Inverse of :meth:`to_json`."""
        return cls(
            data["slot"],
            RewardCandidate.from_json(data["candidate"]),
            CriticReport.from_json(data["critic"]),
        )


class SynthesisLoop:
    """Runs (or resumes) one synthesis in one run folder.

    Args:
        config: The run's configuration (validated).
        store: The run folder.
        designer: Writes reward candidates.
        executor: Runs worker jobs (trainings, checks).
        callbacks: Progress hooks.
        reviewer: Optional LLM review (``--llm-critic``, an ``LLMReviewer``), called on
            candidates that pass the critic; its tokens count into the run's usage.
        ranker: Asks a person to rank an iteration (``--feedback human|both``); the CLI
            passes the local ranking page, :func:`rewardsmith.web.ranking.serve_ranking`.
    """

    def __init__(
        self,
        config: SynthConfig,
        store: RunStore,
        designer: Designer,
        executor: Executor,
        callbacks: LoopCallbacks | None = None,
        reviewer: Any = None,
        ranker: Ranker | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.designer = designer
        self.executor = executor
        self.callbacks = callbacks or LoopCallbacks()
        self.reviewer = reviewer
        self.ranker = ranker
        if config.feedback != "auto" and ranker is None:
            # Found now, not after an iteration of training.
            raise UserError(
                f"--feedback {config.feedback} needs a ranking page and this loop was built "
                "without one; pass ranker=rewardsmith.web.ranking.serve_ranking"
            )
        # A run reads its own copy of a task file: its modules are where they were found
        # when the run began.
        run = store.read_run() if (store.root / RUN_FILE).is_file() else {}
        self.task = resolve_task(config.env, config.task_file, run.get(RUN_IMPORT_PATHS))
        self.measure = self.task.get_fitness(config.fitness)
        self.preset = self.task.preset(config.budget_value)
        self.ctx = DesignContext(
            task=self.task,
            description=config.task or self.task.description,
            fitness=self.measure,
            seed=config.seed,
        )
        self.train_limits = Limits.for_training(self._training_seconds())
        self.reached_success = False

    @classmethod
    def from_config(
        cls,
        config: SynthConfig,
        store: RunStore,
        executor: Executor,
        callbacks: LoopCallbacks | None = None,
        ranker: Ranker | None = None,
    ) -> SynthesisLoop:
        """The loop with the designer (and ``--llm-critic`` reviewer) its config asks for."""
        from rewardsmith.agent.designer import make_designer

        designer = make_designer(
            config.model,
            config.api_base,
            config.temperature,
            timeout=config.llm_timeout,
            max_retries=config.llm_retries,
            backoff_base=config.llm_backoff,
        )
        reviewer = None
        if config.llm_critic:
            from rewardsmith.agent.llm import ChatModel
            from rewardsmith.agent.llm_review import LLMReviewer

            chat = ChatModel(
                config.model or "",
                api_base=config.api_base,
                timeout=config.llm_timeout,
                max_retries=config.llm_retries,
                backoff_base=config.llm_backoff,
            )
            reviewer = LLMReviewer(chat)
        return cls(config, store, designer, executor, callbacks, reviewer, ranker)

    def _training_seconds(self) -> float:
        # Generous: a slow machine at ~300 steps/s, plus evaluation, plus start-up.
        return 120.0 + self.preset.total_timesteps / 300.0 * 2.0

    # Set-up ------------------------------------------------------------------------------
    def _transitions(self) -> Path:
        job = {
            "kind": "probe",
            "task": self.task.id,
            **task_job_fields(self.task),
            "fitness": self.measure.name,
            "seed": derive_seed(self.config.seed, 0xC0FFEE),
            "n_envs": self.preset.n_envs,
            "steps": PROBE_STEPS,
        }
        return ensure_transitions(self.store, job, self.callbacks.on_message)

    # Design ------------------------------------------------------------------------------
    def _save_exchange(self, index: int, batch: DesignBatch, counter: list[int]) -> None:
        folder = self.store.iter_dir(index)
        name = "prompt.md" if counter[1] == 0 else f"prompt_{counter[1]:02d}.md"
        write_atomic(folder / name, batch.prompt)
        counter[1] += 1
        for text in batch.responses:
            write_atomic(folder / f"response_{counter[0]:02d}.md", text)
            counter[0] += 1
        self._add_usage(batch.usage)

    def _add_usage(self, usage: dict[str, float]) -> None:
        """Add one model request's tokens and cost to the run's totals in ``run.json``."""
        if not usage:
            return
        totals = dict(self.store.read_run().get("usage", {}))
        for key in ("prompt_tokens", "completion_tokens", "cost_usd"):
            totals[key] = totals.get(key, 0) + usage.get(key, 0)
        totals["requests"] = totals.get("requests", 0) + 1
        self.store.update_run(usage=totals)

    def _exchange(
        self, index: int, counter: list[int], call: Callable[[], DesignBatch]
    ) -> DesignBatch:
        """The next designer call of iteration ``index``, made once per run.

        Replayed from the run folder when an interrupted attempt already made it; else
        made, saved, and marked done.
        """
        path = self.store.iter_dir(index) / f"exchange_{counter[1]:02d}.json"
        if path.exists():
            batch = read_record(path, _load_exchange)
            counter[0] += len(batch.responses)
            counter[1] += 1
            remember = getattr(self.designer, "remember", None)
            if remember is not None:
                remember(batch.candidates)
            logger.info("replayed designer call %s", path.name)
            return batch
        batch = call()
        self._save_exchange(index, batch, counter)
        # Written last: a call killed before this line is asked again, never half-replayed.
        write_json(
            path,
            {
                "candidates": [c.to_json() for c in batch.candidates],
                "prompt": batch.prompt,
                "responses": batch.responses,
                "usage": batch.usage,
            },
        )
        return batch

    def _judge(self, index: int, slot: int, candidate: RewardCandidate, critic: Critic) -> Slot:
        folder = self.store.cand_dir(index, slot)
        verdict = folder / "critic.json"
        reward = folder / "reward.py"
        if verdict.exists() and reward.exists() and reward.read_text() == candidate.source:
            # Judged before an interruption; the verdict may hold an LLM review worth keeping.
            report = read_record(verdict, CriticReport.from_json)
            self.callbacks.on_candidate_checked(index, slot, report)
            return Slot(slot, candidate, report)
        write_atomic(reward, candidate.source)
        report = critic.check(candidate)
        if report.passed and self.reviewer is not None:
            review = self.reviewer.review(self.ctx, candidate)
            self._add_usage(review.usage)
            if not review.passed:
                reasons = list(review.reasons)
                if review.suggested_fix:
                    reasons.append(f"suggested fix: {review.suggested_fix}")
                report = CriticReport(
                    passed=False,
                    problems=[f"LLM review: {r}" for r in reasons],
                    static_ok=report.static_ok,
                    dynamic=report.dynamic,
                )
        write_json(verdict, report.to_json())
        self.callbacks.on_candidate_checked(index, slot, report)
        return Slot(slot, candidate, report)

    def _design(self, index: int, history: list[IterationRecord], critic: Critic) -> list[Slot]:
        manifest = self.store.iter_dir(index) / "candidates.json"
        if manifest.exists():
            return read_record(manifest, lambda saved: [Slot.from_json(s) for s in saved])
        want = self.config.n_samples
        slots: list[Slot] = []
        counter = [0, 0]  # responses written, prompts written
        if (self.store.iter_dir(index) / "exchange_00.json").exists():
            self.callbacks.on_message(
                "continuing the interrupted design phase from the answers on disk"
            )
        for _ in range(PROPOSAL_ROUNDS):
            accepted = sum(s.report.passed for s in slots)
            if accepted >= want:
                break
            batch = self._exchange(
                index,
                counter,
                lambda n=want - accepted: self.designer.propose(self.ctx, history, n),
            )
            for candidate in batch.candidates:
                if sum(s.report.passed for s in slots) >= want:
                    break
                judged = self._judge(index, len(slots), candidate, critic)
                slots.append(judged)
                for _ in range(self.config.max_revisions):
                    if judged.report.passed:
                        break
                    fix = self._exchange(
                        index,
                        counter,
                        lambda j=judged: self.designer.revise(
                            self.ctx, j.candidate, j.report.problems
                        ),
                    )
                    if not fix.candidates:
                        break
                    judged = self._judge(index, len(slots), fix.candidates[0], critic)
                    slots.append(judged)
        write_json(manifest, [s.to_json() for s in slots])
        return slots

    # Training ----------------------------------------------------------------------------
    def _train(self, index: int, slots: list[Slot]) -> list[CandidateResult]:
        phase = TrainingPhase(
            self.config,
            self.store,
            self.task,
            self.measure,
            self.preset,
            self.executor,
            self.train_limits,
            self.callbacks,
            task_fields=task_job_fields(self.task),
        )
        results = phase.run(index, slots)
        self.reached_success = self.reached_success or phase.reached_success
        return results

    # The loop ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every missing iteration, then the final evaluation; return the report."""
        self.store.update_run(status="running", started=time.time())
        critic = Critic(self.task, self._transitions(), n_envs=self.preset.n_envs)
        history: list[IterationRecord] = []
        for index in range(self.config.iterations):
            done = self.store.iter_dir(index) / "iteration.json"
            if done.exists():
                history.append(read_record(done, _load_record))
                continue
            self.callbacks.on_iteration_start(index, self.config.iterations)
            slots = self._design(index, history, critic)
            results = self._train(index, slots)
            human = self._human_round(index, results, history)
            best = human.best if human else select_best(results)
            feedback = human.feedback if human else reflect(results, self.measure)
            record = IterationRecord(
                index,
                results,
                best.candidate.id if best else None,
                feedback,
                human.ranking.to_json() if human else None,
            )
            write_atomic(self.store.iter_dir(index) / "feedback.md", feedback)
            write_json(done, _dump_record(record))
            history.append(record)
            self.callbacks.on_iteration_end(record)
            if self.config.first_success and self.reached_success:
                self.callbacks.on_message(
                    f"a candidate reached the success threshold "
                    f"({self.measure.success_threshold:g}); stopping the search (--first-success)"
                )
                break
        report = self._finish(history)
        self.store.update_run(status="finished", finished=time.time())
        return report

    def _finish(self, history: list[IterationRecord]) -> dict[str, Any]:
        overall = self._overall_best(history)
        if overall is None:
            self.store.update_run(status="failed")
            raise RunFailed(
                "no candidate trained successfully in any iteration; "
                f"see the critic verdicts in {self.store.root}/iter_*/cand_*/critic.json"
            )
        confirmation = None
        if not self._person_chose(history):
            overall, confirmation = self._confirm(history, overall)
        best_dir = self.store.best_dir
        write_atomic(best_dir / "reward.py", overall.candidate.source)
        report: dict[str, Any] = {
            "task": self.task.id,
            "description": self.ctx.description,
            "fitness": self.measure.name,
            "fitness_meaning": self.measure.meaning,
            "success_threshold": self.measure.success_threshold,
            "search": {
                "candidate": overall.candidate.id,
                "fitness": overall.fitness,
                "steps": overall.steps,
                # Halving stopped it at a tie; the confirmation took it over the one kept.
                "pruned": overall.pruned,
                "iteration": next(rec.index for rec in history if overall in rec.results),
                "hacking_alert": hacking_alert(overall),
            },
        }
        if confirmation is not None:
            report["confirmation"] = confirmation
        if self.config.eval_seeds > 0:
            seeds = self.config.eval_seeds
            arms = "native and sparse baselines" if self.task.native_reward else "sparse baseline"
            self.callbacks.on_message(
                f"final evaluation: the best reward and the {arms} on {seeds} "
                f"seed{'' if seeds == 1 else 's'} each"
            )
            plan = FinalEvalPlan(
                task=self.task,
                measure=self.measure,
                budget=self.config.budget,
                seeds=derive_seeds(self.config.seed, self.config.eval_seeds, FINAL_EVAL_SEED_PATH),
                cache_dir=self.store.root.parent / ".cache" / "baselines",
                best_dir=best_dir,
                limits=self.train_limits,
            )
            report.update(run_final_evaluation(plan, overall.candidate, self.executor))
        write_json(best_dir / "report.json", report)
        self.callbacks.on_final(report)
        return report

    # Human feedback ------------------------------------------------------------------------
    def _human_round(
        self, index: int, results: list[CandidateResult], history: list[IterationRecord]
    ) -> HumanOutcome | None:
        """Videos and, with ``--feedback human|both``, a person's ranking (else ``None``)."""
        return run_human_round(self, index, results, history)

    def _person_chose(self, history: list[IterationRecord]) -> bool:
        return self.config.feedback != "auto" and ranked_best(history) is not None

    def _overall_best(self, history: list[IterationRecord]) -> CandidateResult | None:
        """The search's answer: the latest preferred reward when people ranked, else the fittest."""
        if self._person_chose(history):
            return ranked_best(history)
        return select_best([r for rec in history for r in rec.results])

    def _confirm(
        self, history: list[IterationRecord], search_pick: CandidateResult
    ) -> tuple[CandidateResult, dict[str, Any] | None]:
        """Retrain the fittest rewards on fresh seeds and keep the best on average.

        Returns the search's pick unchanged (and no report) when confirmation is off or
        fewer than two distinct rewards trained for the whole budget.
        """
        if self.config.confirm_seeds < 1 or self.config.confirm_top < 2:
            return search_pick, None
        finalists = shortlist(history, self.config.confirm_top)
        if len(finalists) < 2:
            return search_pick, None
        seeds = derive_seeds(self.config.seed, self.config.confirm_seeds, CONFIRM_SEED_PATH)
        plan = ConfirmPlan(
            task=self.task,
            measure=self.measure,
            budget=self.config.budget,
            seeds=seeds,
            root=self.store.root / "confirm",
            limits=self.train_limits,
        )
        chosen, report = confirm(plan, finalists, self.executor, self.callbacks)
        if report["changed"]:
            stopped = (
                f" (successive halving had stopped it at a tie after {chosen.steps:,} steps)"
                if chosen.pruned
                else ""
            )
            self.callbacks.on_message(
                f"confirmation chose {chosen.candidate.id}{stopped} over the search's pick "
                f"{report['search_pick']}: {report['reason']}"
            )
        return chosen, report


def _dump_record(record: IterationRecord) -> dict[str, Any]:
    return {
        "index": record.index,
        "best_id": record.best_id,
        "feedback": record.feedback,
        "results": [r.to_json() for r in record.results],
        "ranking": record.ranking,
    }


def _load_exchange(data: dict[str, Any]) -> DesignBatch:
    return DesignBatch(
        [RewardCandidate.from_json(c) for c in data["candidates"]],
        data["prompt"],
        data["responses"],
        data.get("usage", {}),
    )


def _load_record(data: dict[str, Any]) -> IterationRecord:
    return IterationRecord(
        index=data["index"],
        results=[CandidateResult.from_json(r) for r in data["results"]],
        best_id=data["best_id"],
        feedback=data["feedback"],
        ranking=data.get("ranking"),
    )
