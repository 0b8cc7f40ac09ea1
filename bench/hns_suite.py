"""HNS suite: the offline designer against the native and sparse rewards, task by task.

For every task: ``rewardsmith synthesize`` with the offline designer finds a best reward
(at ``--budget``), then that reward, the env's native reward and the sparse fitness
signal are each trained on the same ``--seeds`` evaluation seeds at the same budget.
Prints one table per task: fitness of each (mean with a 95 % bootstrap interval), the
human-normalised score ``HNS = (F_best - F_sparse) / (F_native - F_sparse)`` with its
bootstrap interval, and the success rate (for the novel behaviours, which have no native
reward, HNS is undefined and the success rate and the sparse comparison are the result).

    python bench/hns_suite.py --budget quick --seeds 5            # all MuJoCo tasks
    python bench/hns_suite.py --tasks InvertedPendulum-v5 --budget smoke --seeds 2 \
        --iterations 1 --samples 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rewardsmith.envs.registry import all_tasks, get_task, task_job_fields  # noqa: E402
from rewardsmith.sandbox.runner import Limits  # noqa: E402
from rewardsmith.train.jobs import run_job  # noqa: E402

EVAL_SEED_BASE = 10_000  # far from the synthesis seeds, the same for every reward


def bootstrap(values: list[float], rng: np.random.Generator, n: int = 2000) -> tuple[float, ...]:
    """Mean and 95 % percentile-bootstrap interval of ``values``."""
    data = np.asarray(values, dtype=float)
    means = data[rng.integers(0, len(data), size=(n, len(data)))].mean(axis=1)
    return float(data.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def hns_interval(
    best: list[float], native: list[float], sparse: list[float], rng: np.random.Generator
) -> tuple[float, float, float] | None:
    """HNS of the means, with a bootstrap interval resampling each arm's seeds."""
    span = np.mean(native) - np.mean(sparse)
    if abs(span) < 1e-12:
        return None
    point = (np.mean(best) - np.mean(sparse)) / span
    draws = []
    for _ in range(2000):
        b, h, s = (np.mean(rng.choice(v, len(v))) for v in (best, native, sparse))
        if abs(h - s) > 1e-12:
            draws.append((b - s) / (h - s))
    return float(point), float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def synthesize(task_id: str, args: argparse.Namespace, out: Path) -> str:
    """Run the offline designer; return the best reward's source."""
    command = [
        sys.executable, "-m", "rewardsmith.cli", "synthesize", "--env", task_id,
        "--budget", args.budget, "--iterations", str(args.iterations),
        "--samples", str(args.samples), "--eval-seeds", "1", "--executor", "local",
        "--workers", str(args.workers), "--out", str(out), "--no-videos", "--seed", "0",
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=out, capture_output=not args.verbose)
    runs = sorted(out.glob("*/best/reward.py"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise RuntimeError(f"synthesis of {task_id} left no best/reward.py under {out}")
    return runs[-1].read_text()


def train(task_id: str, reward: dict[str, Any], budget: str, seed: int) -> float:
    """Fitness of one training (final checkpoint), via the sandboxed worker."""
    spec = get_task(task_id)
    job = {
        "kind": "train", "task": task_id, **task_job_fields(spec),
        "fitness": spec.fitness[0].name, "seed": seed,
        "budget": int(budget) if budget.isdigit() else budget,
        "reward": reward, "save_policy": False,
    }  # fmt: skip
    steps = spec.preset(int(budget) if budget.isdigit() else budget).total_timesteps
    outcome = run_job(job, Limits.for_training(600.0 + steps / 100.0))
    if not outcome.ok:
        raise RuntimeError(f"{task_id} {reward['mode']} seed {seed}: {outcome.error}")
    return float(outcome.result["fitness"])


def run_task(task_id: str, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    """Synthesis, then best/native/sparse on the evaluation seeds."""
    spec = get_task(task_id)
    out = Path(args.out) / task_id
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    source = synthesize(task_id, args, out)
    arms = {"best": {"mode": "candidate", "source": source}, "sparse": {"mode": "sparse"}}
    if spec.native_reward:
        arms["native"] = {"mode": "native"}
    seeds = [EVAL_SEED_BASE + i for i in range(args.seeds)]
    jobs = [(arm, seed) for arm in arms for seed in seeds]
    with ThreadPoolExecutor(args.workers) as pool:
        values = list(pool.map(lambda j: train(task_id, arms[j[0]], args.budget, j[1]), jobs))
    scores: dict[str, list[float]] = {arm: [] for arm in arms}
    for (arm, _), value in zip(jobs, values, strict=True):
        scores[arm].append(value)
    threshold = spec.fitness[0].success_threshold
    row: dict[str, Any] = {
        "task": task_id,
        "fitness": spec.fitness[0].name,
        "threshold": threshold,
        "scores": scores,
        "minutes": (time.time() - started) / 60,
    }
    for arm, vals in scores.items():
        row[arm] = bootstrap(vals, rng)
        row[f"{arm}_success"] = float(np.mean([v >= threshold for v in vals]))
    row["hns"] = (
        hns_interval(scores["best"], scores["native"], scores["sparse"], rng)
        if ("native" in scores)
        else None
    )
    return row


def _fmt(triple: tuple[float, ...] | None) -> str:
    if triple is None:
        return "n/a"
    return f"{triple[0]:.4g} [{triple[1]:.4g}, {triple[2]:.4g}]"


def table(row: dict[str, Any]) -> str:
    """One task's markdown table."""
    lines = [
        f"### {row['task']}: `{row['fitness']}` (success at {row['threshold']:g}; "
        f"{len(row['scores']['best'])} seeds, {row['minutes']:.1f} min)",
        "",
        "| reward | fitness (mean [95 % CI]) | success rate |",
        "|---|---|---|",
    ]
    for arm in ("best", "native", "sparse"):
        if arm in row:
            lines.append(f"| {arm} | {_fmt(row[arm])} | {row[f'{arm}_success']:.2f} |")
    if row["hns"] is not None:
        lines.append(f"\nHNS: {_fmt(row['hns'])}\n")
    elif "native" not in row:
        lines.append("\nHNS: undefined (no native reward for this behaviour)\n")
    else:
        lines.append("\nHNS: undefined (native and sparse scored the same)\n")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run every task, print the tables and save the raw results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mujoco = [s.id for s in all_tasks() if s.family == "mujoco"]
    parser.add_argument("--tasks", nargs="*", default=mujoco)
    parser.add_argument("--budget", default="quick")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs" / "hns_suite"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    results = Path(args.out) / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    # Rows are saved after every task, so a suite of hours keeps what it finished and a
    # rerun with the same --out skips those tasks.
    rows = json.loads(results.read_text()) if results.exists() else []
    done = {row["task"] for row in rows}
    for row in rows:
        if row["task"] in args.tasks:
            print(table(row), flush=True)
    for task_id in args.tasks:
        if task_id in done:
            continue
        # Each task bootstraps from its own stream: a resumed suite gives the same numbers.
        row = run_task(task_id, args, np.random.default_rng(list(task_id.encode())))
        rows.append(row)
        print(table(row), flush=True)
        results.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
