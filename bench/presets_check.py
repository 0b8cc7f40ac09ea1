"""Do the built-in PPO presets solve their tasks with the env's own reward?

Every task's ``full`` preset copies RL-Zoo's PPO settings, and its success threshold is
meant to be within reach of them. This trains the native reward of each task at one
budget on ``--seeds`` seeds (the same evaluation seeds as ``hns_suite.py``) and prints,
per task: the task fitness (mean with a 95 % bootstrap interval) and the share of seeds at
its success threshold, the final evaluation's native return beside the return RL-Zoo
published for its PPO agent, and a verdict.

    python bench/presets_check.py --tasks CartPole-v1 Pendulum-v1 --budget full --seeds 5
    python bench/presets_check.py --budget full --seeds 5     # every task with a native reward
    python bench/presets_check.py --out runs/presets_check --summary

Trainings are saved under ``<out>/<task>/trainings/`` as they end (the layout
``hns_suite.py`` uses, so its native arm at the same budget is found there too), and a
rerun trains only what is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the package, and hns_suite beside this file

from hns_suite import (  # noqa: E402
    EVAL_SEED_BASE,
    _budget,
    _fmt,
    interval,
    resampled_means,
    success_share,
    train,
)

from rewardsmith.envs.presets import RL_ZOO_PPO  # noqa: E402
from rewardsmith.envs.registry import all_tasks, get_task  # noqa: E402

#: Share of seeds at the threshold for "solves": one seed in five may fail, as PPO seeds do.
SOLVED_SHARE = 0.8


def check_task(task_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """The native reward of one task on every seed: the raw numbers of its row."""
    spec = get_task(task_id)
    cache = Path(args.out) / task_id / "trainings"
    seeds = [EVAL_SEED_BASE + i for i in range(args.seeds)]

    def one(seed: int) -> dict[str, Any]:
        return train(
            task_id, {"mode": "native"}, args.budget, seed, cache, "native",
            need=("fitness", "native_return"),
        )  # fmt: skip

    with ThreadPoolExecutor(args.workers) as pool:
        records = list(pool.map(one, seeds))
    zoo = RL_ZOO_PPO.get(task_id)
    return {
        "task": task_id,
        "fitness": spec.fitness[0].name,
        "threshold": spec.fitness[0].success_threshold,
        "budget": args.budget,
        "steps": spec.preset(_budget(args.budget)).total_timesteps,
        "scores": [r["fitness"] for r in records],
        "native_returns": [r["native_return"] for r in records],
        "minutes": sum(r["minutes"] for r in records),
        "zoo_return": zoo[0] if zoo else None,
        "zoo_steps": zoo[1] if zoo else None,
    }


def verdict(row: dict[str, Any]) -> str:
    """Whether the preset solved the task: enough seeds at the fitness threshold."""
    share = success_share(row["scores"], row["threshold"])
    if share >= SOLVED_SHARE:
        return "solves"
    if share > 0:
        return "solves on some seeds"
    return "does not solve"


def table(rows: list[dict[str, Any]]) -> str:
    """One markdown table over the checked tasks."""
    lines = [
        "| task | budget | seeds | fitness (success at) | success | native return "
        "| RL-Zoo PPO return (steps) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rng = np.random.default_rng(list(row["task"].encode()))
        arms = {"fitness": row["scores"], "native": row["native_returns"]}
        draws = resampled_means(arms, rng)
        fit = interval(float(np.mean(row["scores"])), draws["fitness"])
        ret = interval(float(np.mean(row["native_returns"])), draws["native"])
        share = success_share(row["scores"], row["threshold"])
        zoo = (
            f"{row['zoo_return']:g} ({row['zoo_steps'] / 1e6:g}M)"
            if row["zoo_return"] is not None
            else "not published"
        )
        lines.append(
            f"| {row['task']} | {row['budget']} ({row['steps'] / 1000:g}k) "
            f"| {len(row['scores'])} | {row['fitness']}: {_fmt(fit)} ({row['threshold']:g}) "
            f"| {share:.2f} | {_fmt(ret)} | {zoo} | {verdict(row)} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, train every task's native reward, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    native = [s.id for s in all_tasks() if s.native_reward]
    parser.add_argument("--tasks", nargs="*", default=native)
    parser.add_argument("--budget", default="full")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs" / "presets_check"))
    parser.add_argument(
        "--summary", action="store_true", help="print the table of <out>/results.json; run nothing"
    )
    args = parser.parse_args()
    for task_id in args.tasks:
        if not get_task(task_id).native_reward:
            parser.error(f"{task_id} has no native reward to check its presets with")
    results = Path(args.out) / "results.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    if args.summary:
        print(table(rows))
        return
    results.parent.mkdir(parents=True, exist_ok=True)
    for task_id in args.tasks:
        row = check_task(task_id, args)
        rows = [r for r in rows if (r["task"], r["budget"]) != (task_id, args.budget)] + [row]
        results.write_text(json.dumps(rows, indent=2))
        print(table([row]).splitlines()[-1], flush=True)
    print(table([r for r in rows if r["task"] in args.tasks and r["budget"] == args.budget]))


if __name__ == "__main__":
    main()
