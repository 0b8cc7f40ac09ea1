"""Final evaluation: retrain the best reward on fresh seeds next to the baselines.

The best reward, the env's native reward ("human") and the sparse fitness signal are
trained with the same budget and seeds; baseline results are cached per task, fitness,
budget and seed (``<out>/.cache/baselines``), so they are trained once across runs.
``HNS = (F_best - F_sparse) / |F_native - F_sparse|``, reported only where the seeds tell
the two baselines apart.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.envs.registry import task_job_fields
from rewardsmith.envs.spec import FitnessMeasure, TaskSpec
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import DamagedFile, json_object, read_record, write_json
from rewardsmith.train.executor import Executor, Job
from rewardsmith.train.jobs import JobOutcome

logger = logging.getLogger(__name__)


@dataclass
class FinalEvalPlan:
    """What the final evaluation trains.

    Args:
        task: The task.
        measure: The fitness measure.
        budget: Budget of every training.
        seeds: Evaluation seeds.
        cache_dir: Where baseline results are cached.
        best_dir: Where the best reward's retrainings keep their files.
        limits: Sandbox limits of a training.
    """

    task: TaskSpec
    measure: FitnessMeasure
    budget: str
    seeds: list[int]
    cache_dir: Path
    best_dir: Path
    limits: Limits


def fitness_record(data: Any) -> dict[str, Any]:
    """A saved training's record (``fitness.json``), checked to hold its fitness."""
    record = json_object(data)
    if "fitness" not in record:
        raise KeyError("fitness")
    return record


def _summary(values: list[float], measure: FitnessMeasure) -> dict[str, Any]:
    if not values:
        return {"mean": None, "std": None, "per_seed": [], "success_rate": None}
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "per_seed": values,
        "success_rate": measure.success_rate(values),
    }


def hns(best: float | None, native: float | None, sparse: float | None) -> float | None:
    """Human-normalised score ``(best - sparse) / |native - sparse|``, as Eureka defines it.

    The absolute value keeps the sign meaning "better than the sparse signal" when the
    native reward happens to score below sparse (on locomotion tasks, where the sparse
    signal is itself a dense velocity, it often does); 1 is then a gain over sparse as
    large as the gap between the two. ``None`` when a term is missing or native equals
    sparse.
    """
    if best is None or native is None or sparse is None:
        return None
    span = abs(native - sparse)
    if span < 1e-12 or not math.isfinite(span):
        return None
    return (best - sparse) / span


#: Baselines closer than this share of their size score the same, whatever their seeds say.
SAME_SHARE = 1e-3
#: Resamples of the seeds behind :func:`baselines_told_apart`.
_DRAWS = 2000


def _negligible(amount: float, *sizes: float) -> bool:
    """Whether ``amount`` is within :data:`SAME_SHARE` of the largest of ``sizes``."""
    return abs(amount) <= SAME_SHARE * max(*(abs(s) for s in sizes), 1e-9)


def _same_score(a: float, b: float) -> bool:
    """Whether two mean fitnesses are equal up to :data:`SAME_SHARE` of their size."""
    return _negligible(a - b, a, b)


def baselines_told_apart(native: list[float], sparse: list[float]) -> bool:
    """Whether the seeds tell the native and sparse baselines apart.

    HNS divides by their gap; where the gap is within the seeds' noise it is noise over
    noise (a task whose fitness signal is the env's own reward printed 43790). Told apart:
    means more than :data:`SAME_SHARE` of their size apart, and a 95 % bootstrap interval
    of the difference of means (each arm's seeds resampled on their own, a fixed stream)
    that excludes 0. Never on one seed an arm: it shows no noise to measure against.
    """
    if len(native) < 2 or len(sparse) < 2:
        return False  # one seed shows no noise to measure a gap against
    a, b = np.asarray(native, dtype=float), np.asarray(sparse, dtype=float)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    if not math.isfinite(mean_a - mean_b) or _same_score(mean_a, mean_b):
        return False
    rng = np.random.default_rng(0)
    diff = a[rng.integers(0, a.size, (_DRAWS, a.size))].mean(axis=1) - b[
        rng.integers(0, b.size, (_DRAWS, b.size))
    ].mean(axis=1)
    low, high = np.percentile(diff, [2.5, 97.5])
    return bool(low > 0 or high < 0)


def hns_text(report: dict[str, Any]) -> str:
    """The report's HNS as a reader should see it: a number, or why there is none."""
    if report.get("hns") is not None:
        return f"{report['hns']:.3f}"
    native, sparse = report.get("native"), report.get("sparse") or {}
    if not native or native.get("mean") is None:
        return "undefined (the task has no native reward to compare with)"
    if sparse.get("mean") is None:
        return "undefined (the sparse baseline did not train)"
    # "Both reach" is for baselines that score the same on every seed (CartPole's 500);
    # equal means over seeds that spread are a coincidence of the noise.
    settled = all(_negligible(arm.get("std") or 0.0, arm["mean"]) for arm in (native, sparse))
    if settled and _same_score(native["mean"], sparse["mean"]):
        return f"undefined (the native and sparse baselines both reach {native['mean']:.4g})"
    seeds = [len(arm["per_seed"]) for arm in (native, sparse) if "per_seed" in arm]
    if seeds and min(seeds) < 2:
        return (
            f"undefined: one seed cannot tell the native ({native['mean']:.4g}) and sparse "
            f"({sparse['mean']:.4g}) baselines apart; evaluate on more (--eval-seeds 3)"
        )
    return (
        f"undefined: the seeds do not tell the native ({native['mean']:.4g} ± "
        f"{native.get('std') or 0:.2g}) and sparse ({sparse['mean']:.4g} ± "
        f"{sparse.get('std') or 0:.2g}) baselines apart, so their gap measures nothing"
    )


def _cache_path(plan: FinalEvalPlan, mode: str, seed: int) -> Path:
    name = f"{plan.task.id}__{plan.measure.name}__{plan.budget}__{mode}__{seed}.json"
    return plan.cache_dir / name


def train_job_spec(
    task: TaskSpec,
    measure: FitnessMeasure,
    budget: str,
    seed: int,
    reward: dict[str, Any],
    save_policy: bool,
) -> dict[str, Any]:
    """A worker job that trains ``reward`` from scratch for the whole ``budget``.

    Args:
        task: The task.
        measure: The fitness measure the training is scored by.
        budget: Preset name or env steps.
        seed: Training seed.
        reward: ``{"mode": "candidate", "source": ...}``, ``{"mode": "native"}`` or
            ``{"mode": "sparse"}``.
        save_policy: Keep the trained policy (and its video) in the job's folder.
    """
    return {
        "kind": "train",
        "task": task.id,
        **task_job_fields(task),
        "fitness": measure.name,
        "budget": budget,
        "seed": seed,
        "reward": reward,
        "save_policy": save_policy,
    }


def run_final_evaluation(
    plan: FinalEvalPlan,
    best: RewardCandidate,
    executor: Executor,
    on_done: Callable[[str, int, JobOutcome], None] | None = None,
) -> dict[str, Any]:
    """Train the best reward and the baselines on ``plan.seeds``; return the report.

    Finished trainings are kept (best: ``best/seed_<s>/fitness.json``; baselines: the
    cache), so an interrupted final evaluation resumes where it stopped.
    """
    modes = ["candidate", "sparse"] + (["native"] if plan.task.native_reward else [])
    done: dict[tuple[str, int], dict[str, Any]] = {}
    jobs: list[Job] = []
    for mode in modes:
        for seed in plan.seeds:
            if mode == "candidate":
                keep = plan.best_dir / f"seed_{seed}"
                marker = keep / "fitness.json"
                reward = {"mode": mode, "source": best.source}
            else:
                keep = None
                marker = _cache_path(plan, mode, seed)
                reward = {"mode": mode}
            if marker.exists():
                try:
                    done[(mode, seed)] = read_record(marker, fitness_record)
                    continue
                except DamagedFile:
                    if mode == "candidate":
                        raise  # the run's own record: the user decides
                    # A shared cache entry: a damaged one is a miss, trained again.
                    logger.warning("cached baseline %s is damaged; training it again", marker)
            spec = train_job_spec(
                plan.task, plan.measure, plan.budget, seed, reward, mode == "candidate"
            )
            jobs.append(Job(f"{mode}/{seed}", spec, plan.limits, keep))
    for job in executor.run(jobs) if jobs else []:
        job_, outcome = job
        mode, seed = job_.spec["reward"]["mode"], job_.spec["seed"]
        if on_done is not None:
            on_done(mode, seed, outcome)
        if not outcome.ok:
            logger.warning("final evaluation %s failed: %s", job_.key, outcome.error)
            continue
        record = {k: outcome.result[k] for k in ("fitness", "success_rate", "fitness_trace")}
        record["steps"] = outcome.result["steps"]
        marker = (
            plan.best_dir / f"seed_{seed}" / "fitness.json"
            if mode == "candidate"
            else _cache_path(plan, mode, seed)
        )
        write_json(marker, record)
        done[(mode, seed)] = record

    def values(mode: str) -> list[float]:
        return [done[(mode, s)]["fitness"] for s in plan.seeds if (mode, s) in done]

    report = {
        "fitness": plan.measure.name,
        "fitness_meaning": plan.measure.meaning,
        "success_threshold": plan.measure.success_threshold,
        "budget": plan.budget,
        "seeds": plan.seeds,
        "best": {"id": best.id, **_summary(values("candidate"), plan.measure)},
        "sparse": _summary(values("sparse"), plan.measure),
        "native": _summary(values("native"), plan.measure) if plan.task.native_reward else None,
    }
    native_mean = report["native"]["mean"] if report["native"] else None
    report["baselines_told_apart"] = baselines_told_apart(values("native"), values("sparse"))
    report["hns"] = (
        hns(report["best"]["mean"], native_mean, report["sparse"]["mean"])
        if report["baselines_told_apart"]
        else None
    )
    missing = [f"{m}/{s}" for m in modes for s in plan.seeds if (m, s) not in done]
    report["missing"] = missing
    return report
