"""The human part of an iteration: record each policy, wait for a person's ranking, write feedback.

The loop calls :func:`run_human_round` after training. Videos are worker jobs run through
the loop's executor (so they run where trainings run); each candidate's ``video.json``
marks its recording done (or failed, with the reason). The loop's ranker asks the person
(the CLI passes :mod:`rewardsmith.web`'s page: the agent never imports the web layer, as
DESIGN.md's import arrows say); the wait ends when the page posts a ranking or another process
(``rewardsmith rank``) saves ``ranking.json``, which marks the iteration's feedback done:
a run interrupted while waiting resumes to the same wait, and one interrupted after the
ranking was saved goes straight on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rewardsmith.agent.candidate import CandidateResult, IterationRecord
from rewardsmith.agent.feedback import (
    Ranking,
    RankingRequest,
    diff_summary_messages,
    human_feedback,
    load_ranking,
    preferred_history,
    preferred_result,
    structural_diff,
)
from rewardsmith.agent.reflection import reflect
from rewardsmith.envs.registry import task_job_fields
from rewardsmith.sandbox.runner import Limits
from rewardsmith.seeding import derive_seed
from rewardsmith.store import RunStore, write_json
from rewardsmith.train.executor import Executor, Job

if TYPE_CHECKING:
    from rewardsmith.agent.loop import SynthesisLoop

logger = logging.getLogger(__name__)

VIDEO_STATUS = "video.json"
_VIDEO_SEED_PATH = 0x51DE0


@dataclass
class HumanOutcome:
    """What a person's ranking decided for one iteration.

    Args:
        ranking: The ranking.
        best: The preferred candidate's result (the best-ranked one when the person found
            none acceptable, so the next prompt still has code to build on).
        feedback: The feedback text of the next prompt.
    """

    ranking: Ranking
    best: CandidateResult | None
    feedback: str


@dataclass
class VideoPlan:
    """What recording an iteration's policies needs to know.

    Args:
        store: The run folder.
        task_id: The task (the worker looks it up).
        fitness: The fitness measure's name.
        seed: The run's root seed (each video's seed derives from it).
        task_fields: Job keys that let a worker rebuild a task-file task
            (:func:`~rewardsmith.envs.registry.task_job_fields`).
        seconds: Video length.
        shadows: Render MuJoCo shadows and reflections.
    """

    store: RunStore
    task_id: str
    fitness: str
    seed: int
    task_fields: dict[str, Any] = field(default_factory=dict)
    seconds: float = 5.0
    shadows: bool = False


def render_job(plan: VideoPlan, index: int, slot: int) -> Job:
    """The worker job that records candidate ``slot``'s trained policy."""
    folder = plan.store.cand_dir(index, slot)
    spec = {
        **plan.task_fields,
        "kind": "render",
        "task": plan.task_id,
        "fitness": plan.fitness,
        "seed": derive_seed(plan.seed, index, slot, _VIDEO_SEED_PATH),
        "seconds": plan.seconds,
        "shadows": plan.shadows,
        "reflections": plan.shadows,
    }
    inputs = {n: folder / n for n in ("policy.zip", "vecnormalize.pkl") if (folder / n).is_file()}
    key = f"iter_{index:02d}/cand_{slot:02d}/video"
    # Software rendering with shadows takes a few seconds per simulated second.
    return Job(key, spec, Limits.for_training(60.0 + 10.0 * plan.seconds), folder, inputs)


def record_videos(
    plan: VideoPlan,
    index: int,
    results: list[CandidateResult],
    executor: Executor,
    say: Callable[[str], None],
) -> None:
    """Record every trained candidate of iteration ``index`` that has no video yet.

    ``results`` is indexed by slot. A twin of an earlier slot (same code) is not recorded
    again. A failed recording is reported through ``say`` and remembered in
    ``video.json``; the candidate is still ranked, with "no video" in place of the player.
    """
    jobs: list[Job] = []
    seen: set[str] = set()
    for slot, result in enumerate(results):
        folder = plan.store.cand_dir(index, slot)
        if result.status != "ok" or result.candidate.id in seen:
            continue
        seen.add(result.candidate.id)
        if (folder / VIDEO_STATUS).exists():
            continue
        if not (folder / "policy.zip").is_file():
            write_json(folder / VIDEO_STATUS, {"ok": False, "error": "no policy.zip was saved"})
            continue
        jobs.append(render_job(plan, index, slot))
    if not jobs:
        return
    say(f"recording {len(jobs)} policy video(s)")
    for job, outcome in executor.run(jobs):
        folder = job.keep_dir
        assert folder is not None
        status = {k: v for k, v in outcome.result.items() if k not in ("files", "traceback")}
        status.update(ok=outcome.ok, error=outcome.error)
        write_json(folder / VIDEO_STATUS, status)
        if not outcome.ok:
            name = job.key.split("/")[1]
            say(f"{name}: no video: {outcome.error}")


def await_ranking(
    loop: SynthesisLoop, index: int, results: list[CandidateResult]
) -> Ranking | None:
    """The ranking of iteration ``index``: the saved one, or one a person gives now.

    Returns ``None`` when no candidate trained, so there is nothing to rank. The loop
    refuses to start with human feedback and no ranker, so ``loop.ranker`` is set here.
    """
    iter_dir = loop.store.iter_dir(index)
    saved = load_ranking(iter_dir)
    if saved is not None:
        return saved
    request = RankingRequest(
        iter_dir,
        index,
        [r.to_json() for r in results],
        loop.config.feedback,
        loop.ctx.description,
        loop.measure.name,
    )
    ranking = loop.ranker(request, lambda url: loop.callbacks.on_ranking_needed(index, url))
    if ranking is None:
        loop.callbacks.on_message("no candidate trained in this iteration: nothing to rank")
    return ranking


def _difference(loop: SynthesisLoop, previous: str, current: str) -> str:
    """How the preferred reward changed: a model's summary when there is a model, else a diff."""
    diff = structural_diff(previous, current)
    chat = getattr(loop.designer, "chat", None)
    if chat is None:
        return diff
    from rewardsmith.agent.llm import LLMError

    try:
        answer = chat.complete(diff_summary_messages(previous, current, diff), temperature=0.0)
    except LLMError as exc:
        logger.warning("no model summary of the preferred reward's changes: %s", exc)
        return diff
    loop._add_usage(
        {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "cost_usd": answer.cost_usd,
        }
    )
    summary = answer.texts[0].strip() if answer.texts else ""
    return summary or diff


def run_human_round(
    loop: SynthesisLoop,
    index: int,
    results: list[CandidateResult],
    history: list[IterationRecord],
) -> HumanOutcome | None:
    """Videos (when asked for) and, when feedback involves a person, their ranking.

    Args:
        loop: The running synthesis.
        index: The iteration.
        results: Its results, indexed by slot.
        history: The finished iterations before it.

    Returns:
        The ranking's outcome, or ``None`` when fitness decides (``--feedback auto``, or
        nothing to rank).
    """
    if loop.config.record_videos:
        plan = VideoPlan(
            loop.store,
            loop.task.id,
            loop.measure.name,
            loop.config.seed,
            task_job_fields(loop.task),
            loop.config.video_seconds,
            loop.config.video_shadows,
        )
        record_videos(plan, index, results, loop.executor, loop.callbacks.on_message)
    if loop.config.feedback == "auto":
        return None
    ranking = await_ranking(loop, index, results)
    if ranking is None:
        return None
    best = preferred_result(results, ranking)
    if best is None and ranking.order:
        best = results[ranking.order[0]]
    earlier = preferred_history(history)
    difference = ""
    if best is not None and earlier and earlier[-1][1].candidate.id != best.candidate.id:
        difference = _difference(loop, earlier[-1][1].candidate.source, best.candidate.source)
    show_fitness = loop.config.feedback == "both"
    text = human_feedback(results, ranking, history, loop.measure, show_fitness, difference)
    if show_fitness:
        text = f"{text}\n{reflect(results, loop.measure)}"
    return HumanOutcome(ranking, best, text)


def ranked_best(history: list[IterationRecord]) -> CandidateResult | None:
    """The run's answer under human feedback: the latest ranked iteration's preferred reward."""
    for record in reversed(history):
        if record.ranking and record.best is not None:
            return record.best
    return None
