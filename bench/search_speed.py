"""How much faster rewardsmith's search is than the Eureka protocol, at equal fitness.

For each task: the offline designer writes N candidates once and the critic checks them
once; then the *same* candidates, with the same seeds, train under three protocols,
side by side in one run:

  (a) eureka    every candidate the full budget, one after another (1 worker)
  (b) fan-out   every candidate the full budget, on Ray with W workers
  (c) defaults  Ray with W workers + deduplication + successive halving (eta 2) + an
                empty result cache (it only helps within the run)

and prints, per protocol, the wall time until the best candidate reached the task's
success threshold (from the moment each result arrived), the wall time of the whole
phase and the best final fitness, then the ratios (c)/(a) and (b)/(a) of wall time.
Ray is started before the clock starts, as a run pays it once.

    python bench/search_speed.py --budget smoke
    python bench/search_speed.py --budget quick --tasks InvertedPendulum-v5 Hopper-v5
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.agent.critic import Critic
from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.loop import PROBE_STEPS, LoopCallbacks, Slot
from rewardsmith.agent.offline import OfflineDesigner
from rewardsmith.agent.reflection import select_best
from rewardsmith.agent.training import Entry, TrainingPhase
from rewardsmith.config import SynthConfig
from rewardsmith.envs.registry import get_task
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import RunStore
from rewardsmith.train.executor import Executor, LocalExecutor
from rewardsmith.train.jobs import run_job
from rewardsmith.train.ray_executor import RayExecutor
from rewardsmith.train.result_cache import CachingExecutor, ResultCache

DEFAULT_TASKS = ["InvertedPendulum-v5", "Hopper-v5", "InvertedPendulumHoldX-v5"]


class Clock(LoopCallbacks):
    """Notes when the first result at or above the success threshold arrived."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.started = time.perf_counter()
        self.first_success: float | None = None

    def on_training_done(self, key: str, result: CandidateResult) -> None:
        if (
            self.first_success is None
            and result.fitness is not None
            and result.fitness >= self.threshold
        ):
            self.first_success = time.perf_counter() - self.started


def _candidates(task_id: str, n: int, seed: int, folder: Path) -> list[Slot]:
    task = get_task(task_id)
    measure = task.get_fitness(None)
    ctx = DesignContext(task=task, description=task.description, fitness=measure, seed=seed)
    batch = OfflineDesigner().propose(ctx, [], n)
    preset = task.preset("smoke")
    probe = {
        "kind": "probe",
        "task": task.id,
        "fitness": measure.name,
        "seed": seed,
        "n_envs": preset.n_envs,
        "steps": PROBE_STEPS,
    }
    outcome = run_job(probe, Limits.for_training(300), keep_dir=folder)
    assert outcome.ok, outcome.error
    critic = Critic(task, folder / "transitions.npz", n_envs=preset.n_envs)
    return [Slot(i, c, critic.check(c)) for i, c in enumerate(batch.candidates)]


def _protocol(
    name: str, task_id: str, budget: str, slots: list[Slot], workers: int, root: Path
) -> dict[str, Any]:
    task = get_task(task_id)
    measure = task.get_fitness(None)
    full = name != "defaults"
    config = SynthConfig(env=task_id, budget=budget, search="full" if full else "halving", eta=2)
    config.validate()
    store = RunStore.create(root, f"{task_id}-{name}")
    executor: Executor
    if name == "eureka":
        executor = LocalExecutor(1)
    else:
        ray = RayExecutor(workers=workers)
        ray.start()  # a run pays Ray's start once; it is not what is compared
        executor = ray
        if name == "defaults":
            executor = CachingExecutor(ray, ResultCache(root / f"cache-{task_id}"))
    preset = task.preset(config.budget_value)
    clock = Clock(measure.success_threshold)
    phase = TrainingPhase(
        config, store, task, measure, preset, executor, Limits.for_training(3600), clock
    )
    clock.started = time.perf_counter()
    try:
        if full:  # every accepted candidate trains, twins included
            entries = [Entry(s.slot, s.candidate, None) for s in slots if s.report.passed]
            results = list(phase.train(0, entries).values())
        else:
            results = phase.run(0, slots)
    finally:
        wall = time.perf_counter() - clock.started
        executor.close()
    best = select_best(results)
    return {
        "wall": wall,
        "to_target": clock.first_success,
        "best": best.fitness if best else None,
        "trained_steps": sum(r.steps for r in results if r.status == "ok"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    with tempfile.TemporaryDirectory(prefix="rs-bench-") as tmp:
        os.chdir(tmp)  # MuJoCo's log and SB3's files land here, not in the repo
        for task_id in args.tasks:
            folder = Path(tmp) / task_id
            folder.mkdir()
            slots = _candidates(task_id, args.candidates, args.seed, folder)
            passed = sum(s.report.passed for s in slots)
            print(f"\n{task_id} ({args.budget}): {len(slots)} candidates, {passed} passed")
            rows = {}
            for name in ("eureka", "fan-out", "defaults"):
                rows[name] = row = _protocol(
                    name, task_id, args.budget, slots, args.workers, folder
                )
                target = "-" if row["to_target"] is None else f"{row['to_target']:.1f}"
                best = "-" if row["best"] is None else f"{row['best']:.1f}"
                print(
                    f"  {name:9s} wall {row['wall']:7.1f} s  to target {target:>7s} s  "
                    f"best fitness {best:>8s}  env steps {row['trained_steps']:,}",
                    flush=True,
                )
            a, b, c = rows["eureka"], rows["fan-out"], rows["defaults"]
            print(
                f"  wall ratio (c)/(a) = {c['wall'] / a['wall']:.3f}   "
                f"(b)/(a) = {b['wall'] / a['wall']:.3f}   "
                f"speed-up of (b) = {a['wall'] / b['wall']:.2f}x on {args.workers} workers"
            )
            if a["to_target"] and c["to_target"]:
                print(f"  to-target ratio (c)/(a) = {c['to_target'] / a['to_target']:.3f}")


if __name__ == "__main__":
    main()
