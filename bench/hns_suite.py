"""HNS suite: the offline designer against the native and sparse rewards, task by task.

For every task: ``rewardsmith synthesize`` with the offline designer finds a best reward
(at ``--budget``; its confirmation retrains the ``--confirm-top`` fittest rewards on
``--confirm-seeds`` fresh seeds before choosing, ``--confirm-seeds 0`` takes the search's
one-seed pick as before), then that reward, the env's native reward and the sparse fitness
signal are each trained on the same ``--seeds`` evaluation seeds at the same budget.
Prints one table per task: fitness of each (mean with a 95 % bootstrap interval), the
human-normalised score ``HNS = (F_best - F_sparse) / |F_native - F_sparse|`` with its
bootstrap interval, and the success rate (for the novel behaviours, which have no native
reward, HNS is undefined and the success rate and the sparse comparison are the result).

    python bench/hns_suite.py --budget quick --seeds 5            # all MuJoCo tasks
    python bench/hns_suite.py --tasks InvertedPendulum-v5 --budget smoke --seeds 2 \
        --iterations 1 --samples 2
    python bench/hns_suite.py --out runs/hns_suite --summary     # the table of a finished run

A suite of hours resumes where it stopped: rerun it with the same ``--out``. Finished tasks
are kept in ``<out>/results.json`` and skipped when rerun at the same budget and number of
seeds (a rerun with more ``--seeds`` trains only the new ones); within an unfinished task
a finished synthesis is reused (one stopped part-way is resumed with ``rewardsmith
resume``), and so is every evaluation training already saved under
``<out>/<task>/trainings/`` whose job (task, reward, budget, seed) is the same.
``--baselines-only`` trains just the native and sparse arms into that cache, so they can
be trained on another machine and copied in before the suite reaches them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rewardsmith.agent.final_eval import baselines_told_apart, hns  # noqa: E402
from rewardsmith.envs.registry import all_tasks, get_task, task_job_fields  # noqa: E402
from rewardsmith.sandbox.runner import Limits  # noqa: E402
from rewardsmith.train.jobs import run_job  # noqa: E402

EVAL_SEED_BASE = 10_000  # far from the synthesis seeds, the same for every reward


DRAWS = 2000  # bootstrap resamples


def resampled_means(
    arms: dict[str, list[float]], rng: np.random.Generator, n: int = DRAWS
) -> dict[str, np.ndarray]:
    """``n`` bootstrap means of each arm, each arm's seeds resampled on its own.

    Every interval of a task (each arm's, HNS's, the differences') is read off these same
    draws, so they agree with one another.
    """
    return {
        arm: np.asarray(v, dtype=float)[rng.integers(0, len(v), size=(n, len(v)))].mean(axis=1)
        for arm, v in arms.items()
    }


def interval(point: float, draws: np.ndarray | list[float]) -> tuple[float, float, float]:
    """``point`` with the 95 % percentile interval of its bootstrap ``draws``."""
    return float(point), float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def hns_interval(
    scores: dict[str, list[float]], draws: dict[str, np.ndarray]
) -> tuple[float, float, float] | None:
    """HNS of the arms' means, with its interval over the resampled means."""
    point = hns(*(float(np.mean(scores[arm])) for arm in ("best", "native", "sparse")))
    if point is None:
        return None
    values = [
        hns(float(b), float(n), float(s))
        for b, n, s in zip(*(draws[a] for a in ("best", "native", "sparse")), strict=True)
    ]
    return interval(point, [v for v in values if v is not None])


def difference_interval(
    a: str, b: str, scores: dict[str, list[float]], draws: dict[str, np.ndarray]
) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` of two arms, with its interval over the resampled means."""
    return interval(float(np.mean(scores[a]) - np.mean(scores[b])), draws[a] - draws[b])


def finished_synthesis(out: Path) -> tuple[str, dict[str, Any]] | None:
    """The newest synthesis under ``out`` that wrote its best reward and report, if any."""
    runs = sorted(
        (p for p in out.glob("*/best/reward.py") if (p.parent / "report.json").exists()),
        key=lambda p: p.stat().st_mtime,
    )
    if not runs:
        return None
    return runs[-1].read_text(), json.loads((runs[-1].parent / "report.json").read_text())


def unfinished_synthesis(out: Path) -> Path | None:
    """The newest run folder under ``out`` that started but wrote no report, if any."""
    runs = sorted(
        (p.parent for p in out.glob("*/run.json") if not (p.parent / "best/report.json").exists()),
        key=lambda p: p.stat().st_mtime,
    )
    return runs[-1] if runs else None


def synthesis_command(task_id: str, args: argparse.Namespace, out: Path) -> list[str]:
    """``rewardsmith resume`` for a synthesis stopped part-way, else a new ``synthesize``."""
    stopped = unfinished_synthesis(out)
    if stopped is not None:
        # Finished candidates are not retrained: the search goes on where it stopped.
        return [sys.executable, "-m", "rewardsmith.cli", "resume", str(stopped)]
    return [
        sys.executable, "-m", "rewardsmith.cli", "synthesize", "--env", task_id,
        "--budget", args.budget, "--iterations", str(args.iterations),
        "--samples", str(args.samples), "--eval-seeds", "1", "--executor", "local",
        "--workers", str(args.workers), "--out", str(out), "--no-videos", "--seed", "0",
        "--confirm-top", str(args.confirm_top), "--confirm-seeds", str(args.confirm_seeds),
    ]  # fmt: skip


def synthesize(task_id: str, args: argparse.Namespace, out: Path) -> tuple[str, dict[str, Any]]:
    """Run the offline designer; return the best reward's source and the run's report.

    A synthesis already finished under ``out`` (a resumed suite) is reused, and one stopped
    part-way is resumed.
    """
    found = finished_synthesis(out)
    if found is not None:
        print(f"{task_id}: reusing the finished synthesis under {out}", flush=True)
        return found
    command = synthesis_command(task_id, args, out)
    subprocess.run(command, check=True, cwd=out, capture_output=not args.verbose)
    found = finished_synthesis(out)
    if found is None:
        raise RuntimeError(f"synthesis of {task_id} left no best/reward.py under {out}")
    return found


def _budget(text: str) -> str | int:
    """A preset name, or a step count as a number (what jobs and ``preset()`` take)."""
    return int(text) if text.isdigit() else text


def _job(task_id: str, reward: dict[str, Any], budget: str, seed: int) -> dict[str, Any]:
    spec = get_task(task_id)
    return {
        "kind": "train", "task": task_id, **task_job_fields(spec),
        "fitness": spec.fitness[0].name, "seed": seed,
        "budget": _budget(budget),
        "reward": reward, "save_policy": False,
    }  # fmt: skip


def job_key(job: dict[str, Any]) -> str:
    """A digest of everything a training's result depends on but the code and the machine."""
    return hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()


def train(
    task_id: str,
    reward: dict[str, Any],
    budget: str,
    seed: int,
    cache: Path | None = None,
    arm: str = "",
    need: tuple[str, ...] = ("fitness",),
) -> dict[str, Any]:
    """One training (final checkpoint) via the sandboxed worker: its fitness, the env's own
    return and its time.

    With ``cache``, a result saved there for the same job is returned without training,
    and a new result is saved there (as ``<arm>-<seed>.json``) once its training ends. A
    saved record of the same job is returned if it holds every key in ``need``; records
    saved before ``native_return`` was kept lack it, and are trained again only when asked.
    """
    job = _job(task_id, reward, budget, seed)
    key = job_key(job)
    saved = cache / f"{arm or reward['mode']}-{seed}.json" if cache is not None else None
    if saved is not None and saved.exists():
        record = json.loads(saved.read_text())
        if record.get("key") == key and all(k in record for k in need):
            return record
    steps = get_task(task_id).preset(_budget(budget)).total_timesteps
    started = time.time()
    outcome = run_job(job, Limits.for_training(600.0 + steps / 100.0))
    if not outcome.ok:
        raise RuntimeError(f"{task_id} {reward['mode']} seed {seed}: {outcome.error}")
    result = outcome.result
    record = {
        "key": key, "fitness": float(result["fitness"]),
        # The final evaluation's mean return under the env's own reward: what RL-Zoo reports.
        "native_return": float(result["native_return_trace"][-1]),
        "minutes": (time.time() - started) / 60,
        "host": platform.node(), "python": platform.python_version(),
    }  # fmt: skip
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        partial = saved.with_suffix(".part")
        partial.write_text(json.dumps(record, indent=2))
        os.replace(partial, saved)  # whole records only, even if the suite is killed
    return record


def train_arms(
    task_id: str, arms: dict[str, dict[str, Any]], args: argparse.Namespace, cache: Path
) -> dict[str, list[float]]:
    """Every arm on every evaluation seed, ``--workers`` at a time, through ``cache``."""
    seeds = [EVAL_SEED_BASE + i for i in range(args.seeds)]
    jobs = [(arm, seed) for arm in arms for seed in seeds]

    def one(job: tuple[str, int]) -> float:
        arm, seed = job
        return float(train(task_id, arms[arm], args.budget, seed, cache, arm)["fitness"])

    with ThreadPoolExecutor(args.workers) as pool:
        values = list(pool.map(one, jobs))
    scores: dict[str, list[float]] = {arm: [] for arm in arms}
    for (arm, _), value in zip(jobs, values, strict=True):
        scores[arm].append(value)
    return scores


def trainings_dir(args: argparse.Namespace, task_id: str) -> Path:
    """Where a task's evaluation trainings are saved.

    The suite and ``--baselines-only`` both ask here, so baselines trained alone are found.
    """
    return Path(args.out) / task_id / "trainings"


def baseline_arms(task_id: str) -> dict[str, dict[str, Any]]:
    """The arms that do not depend on the synthesis: sparse, and native where there is one."""
    arms: dict[str, dict[str, Any]] = {"sparse": {"mode": "sparse"}}
    if get_task(task_id).native_reward:
        arms["native"] = {"mode": "native"}
    return arms


def run_task(task_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """Synthesis, then best/native/sparse on the evaluation seeds: the raw scores."""
    spec = get_task(task_id)
    out = Path(args.out) / task_id
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    source, report = synthesize(task_id, args, out)
    arms = {"best": {"mode": "candidate", "source": source}, **baseline_arms(task_id)}
    scores = train_arms(task_id, arms, args, trainings_dir(args, task_id))
    return {
        "task": task_id,
        "fitness": spec.fitness[0].name,
        "threshold": spec.fitness[0].success_threshold,
        "budget": args.budget,
        "steps": spec.preset(_budget(args.budget)).total_timesteps,
        "scores": scores,
        "best_source": source,
        "search": report["search"],
        "confirmation": report.get("confirmation"),
        "minutes": (time.time() - started) / 60,
    }


def success_share(values: list[float], threshold: float) -> float:
    """Share of the seeds whose fitness is at or above the task's success threshold."""
    return float(np.mean([v >= threshold for v in values]))


def summarise(row: dict[str, Any]) -> dict[str, Any]:
    """Intervals, success rates and HNS from a row's raw scores.

    Recomputed from the scores every time (each task with its own bootstrap stream), so
    a resumed suite, or ``--summary`` later, gives the same numbers.
    """
    rng = np.random.default_rng(list(row["task"].encode()))
    scores = row["scores"]
    draws = resampled_means(scores, rng)
    found = dict(row)
    for arm, vals in scores.items():
        found[arm] = interval(float(np.mean(vals)), draws[arm])
        found[f"{arm}_success"] = success_share(vals, row["threshold"])
    # HNS divides by native - sparse: where the seeds cannot tell those two apart (on
    # locomotion "sparse" is distance per step, nearly the native reward) HNS is noise
    # over noise, and the plain differences are what can be read. Whether they are told
    # apart is the package's rule, the one every synthesis report applies, so that the
    # suite and a user's own run never disagree about the same seeds.
    found["vs_sparse"] = difference_interval("best", "sparse", scores, draws)
    found["hns"] = found["vs_native"] = found["hns_told_apart"] = None
    if "native" in scores:
        found["hns"] = hns_interval(scores, draws)
        found["vs_native"] = difference_interval("best", "native", scores, draws)
        found["hns_told_apart"] = baselines_told_apart(scores["native"], scores["sparse"])
    return found


def same_settings(row: dict[str, Any], args: argparse.Namespace) -> bool:
    """Whether a saved row answers this run: the same budget and number of seeds.

    A rerun with more ``--seeds`` (or another ``--budget``) must not print the old row as
    if it were the new one; it recomputes the task, training only the seeds not saved.
    """
    same_seeds = all(len(values) == args.seeds for values in row["scores"].values())
    return row["budget"] == args.budget and same_seeds


def _fmt(triple: tuple[float, ...] | None) -> str:
    if triple is None:
        return "n/a"
    return f"{triple[0]:.4g} [{triple[1]:.4g}, {triple[2]:.4g}]"


def table(row: dict[str, Any]) -> str:
    """One task's markdown table."""
    row = summarise(row)
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
    lines.append(f"\nHNS: {_hns_text(row)}\n")
    lines.append(
        f"best - native: {_fmt(row['vs_native'])}; best - sparse: {_fmt(row['vs_sparse'])}\n"
    )
    confirmation = row.get("confirmation")
    if confirmation:
        means = ", ".join(
            f"`{c['id']}` {c['search_fitness']:.4g} -> {c['mean']:.4g}"
            if c["mean"] is not None
            else f"`{c['id']}` {c['search_fitness']:.4g} -> failed"
            for c in confirmation["candidates"]
        )
        verdict = "overturned the search's pick" if confirmation["changed"] else "kept it"
        lines.append(
            f"Confirmation ({len(confirmation['seeds'])} fresh seeds; search fitness -> "
            f"mean on them): {means}; it {verdict}.\n"
        )
    return "\n".join(lines)


def _hns_text(row: dict[str, Any]) -> str:
    if row["hns"] is not None:
        if row["hns_told_apart"]:
            return _fmt(row["hns"])
        return f"{_fmt(row['hns'])} (native and sparse not told apart: read the differences)"
    if "native" not in row["scores"]:
        return "undefined (no native reward for this behaviour)"
    return "undefined (native and sparse scored the same)"


def summary(rows: list[dict[str, Any]]) -> str:
    """One markdown table over every task: the form ``docs/benchmarks.md`` keeps."""
    lines = [
        "| task | fitness (success at) | budget | seeds | best synthesised | native | sparse "
        "| HNS | best - native | best - sparse | success best / native / sparse |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for raw in rows:
        row = summarise(raw)
        rates = " / ".join(
            f"{row[f'{arm}_success']:.2f}" if arm in row["scores"] else "-"
            for arm in ("best", "native", "sparse")
        )
        lines.append(
            f"| {row['task']} | {row['fitness']} ({row['threshold']:g}) "
            f"| {row.get('budget', '?')} ({row.get('steps', 0) / 1000:g}k) "
            f"| {len(row['scores']['best'])} | {_fmt(row['best'])} "
            f"| {_fmt(row.get('native'))} | {_fmt(row['sparse'])} | {_hns_text(row)} "
            f"| {_fmt(row['vs_native'])} | {_fmt(row['vs_sparse'])} | {rates} |"
        )
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
    parser.add_argument("--confirm-top", type=int, default=3, help="0: the search's pick")
    parser.add_argument("--confirm-seeds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs" / "hns_suite"))
    parser.add_argument(
        "--summary", action="store_true", help="print the table of <out>/results.json; run nothing"
    )
    parser.add_argument(
        "--baselines-only",
        action="store_true",
        help="train only the native and sparse arms into <out>/<task>/trainings; no synthesis",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.baselines_only:
        for task_id in args.tasks:
            scores = train_arms(task_id, baseline_arms(task_id), args, trainings_dir(args, task_id))
            print(f"{task_id}: {json.dumps(scores)}", flush=True)
        return
    results = Path(args.out) / "results.json"
    # Rows are saved after every task, so a suite of hours keeps what it finished and a
    # rerun with the same --out skips those tasks.
    rows = json.loads(results.read_text()) if results.exists() else []
    if args.summary:
        print(summary(rows))
        return
    results.parent.mkdir(parents=True, exist_ok=True)
    done = {row["task"] for row in rows if same_settings(row, args)}
    for row in rows:
        if row["task"] in args.tasks and row["task"] in done:
            print(table(row), flush=True)
    for task_id in args.tasks:
        if task_id in done:
            continue
        row = run_task(task_id, args)
        # A row of other settings is replaced: its trainings are reused through the cache.
        rows = [r for r in rows if r["task"] != task_id] + [row]
        print(table(row), flush=True)
        results.write_text(json.dumps(rows, indent=2))
    print(summary([row for row in rows if row["task"] in args.tasks]))


if __name__ == "__main__":
    main()
