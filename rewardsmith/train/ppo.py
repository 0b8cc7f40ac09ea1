"""PPO training of one reward on one task, run inside the sandboxed worker.

Job keys: ``task``, ``fitness``, ``budget`` (preset name or env steps), ``seed``,
``reward`` (``{"mode": "candidate", "source": ...}``, ``{"mode": "native"}`` or
``{"mode": "sparse"}``), optionally ``save_policy`` (default true), ``steps`` (train
until this many env steps instead of the whole budget: a rung of successive halving),
``resume`` (continue the ``policy.zip``, ``vecnormalize.pkl``, ``metrics.csv`` and
``rollouts.csv`` given as input files rather than start from scratch) and
``stop_at_fitness`` (end training at the first checkpoint whose fitness reaches it) and
``device`` (``cpu`` or ``cuda``).
Checkpoints sit at the same env steps whether a policy trains in one go or in rungs,
plus one at the end of each rung, so traces of both protocols line up.
Writes ``metrics.csv`` (one row per checkpoint), ``policy.zip`` (and ``vecnormalize.pkl``)
and ``progress.json`` while it runs; returns the traces for the parent.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.envs.registry import get_task
from rewardsmith.envs.spec import PPOPreset, TaskSpec
from rewardsmith.train.evaluate import Evaluation, evaluate_policy
from rewardsmith.train.spaces import policy_name
from rewardsmith.train.vec import find_reward_wrapper, make_vec_env

logger = logging.getLogger(__name__)

EVAL_SEED_OFFSET = 10_000
#: Most envs one checkpoint's evaluation runs side by side.
MAX_EVAL_ENVS = 32


def anneal(model: Any, preset: PPOPreset, target: int) -> None:
    """Make the preset's annealed settings fall linearly to 0 over its whole budget.

    SB3's ``progress_remaining`` runs over one ``learn`` call, which here may be one rung
    of successive halving that ends at ``target`` env steps. Mapped back to env steps, each
    setting is ``start * (1 - steps / total_timesteps)`` whichever rung trains those steps,
    so a policy trained in rungs follows the same schedule as one trained in one go.
    """
    from stable_baselines3.common.utils import LinearSchedule

    left = 1.0 - min(target, preset.total_timesteps) / preset.total_timesteps
    for setting in preset.anneal:
        start = float(preset.ppo[setting])
        schedule = LinearSchedule(start, start * left, end_fraction=1.0)
        if setting == "learning_rate":
            model.lr_schedule = schedule
        else:
            model.clip_range = schedule


def eval_envs(preset: PPOPreset) -> int:
    """How many envs evaluate a checkpoint side by side: one per episode, up to a cap.

    The vector steps every env until the last episode ends; with fewer envs than episodes
    it would run a second round of long episodes, envs that have done their share
    stepping for nothing meanwhile.
    """
    return min(preset.eval_episodes, MAX_EVAL_ENVS)


def _budget(value: str | int) -> str | int:
    return int(value) if isinstance(value, int) or str(value).isdigit() else str(value)


_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU"}


def build_ppo_kwargs(preset: PPOPreset) -> dict[str, Any]:
    """PPO keyword arguments; presets are plain data, so activations are named by string."""
    kwargs = dict(preset.ppo)
    if "policy_kwargs" in kwargs:
        policy = dict(kwargs["policy_kwargs"])
        activation = policy.get("activation_fn")
        if isinstance(activation, str):
            import torch

            policy["activation_fn"] = getattr(torch.nn, _ACTIVATIONS[activation.lower()])
        kwargs["policy_kwargs"] = policy
    return kwargs


class _Checkpoints:
    """Evaluates fitness at evenly spaced steps and writes one metrics row each."""

    def __init__(
        self,
        spec: TaskSpec,
        fitness: str | None,
        preset: PPOPreset,
        seed: int,
        train_env: Any,
        mode: str,
        start: int = 0,
        target: int | None = None,
        stop_at: float | None = None,
    ) -> None:
        self.spec = spec
        self.measure = spec.get_fitness(fitness)
        self.preset = preset
        self.seed = seed
        self.train_env = train_env
        reward_wrapper = find_reward_wrapper(train_env)
        self.reward_wrapper = reward_wrapper
        self.eval_env = make_vec_env(
            spec,
            fitness,
            n_envs=eval_envs(preset),
            seed=seed + EVAL_SEED_OFFSET,
            reward_mode=mode,
            reward_fn=reward_wrapper.reward_fn if reward_wrapper else None,
            params=reward_wrapper.params if reward_wrapper else (),
            normalize=preset.normalize,
            training=False,
        )
        every = max(1, preset.total_timesteps // max(1, preset.checkpoints))
        self.target = preset.total_timesteps if target is None else target
        self.at = [every * (k + 1) for k in range(preset.checkpoints)]
        self.at = [a for a in self.at if start < a < self.target] + [self.target]
        self._next = 0  # the first checkpoint in ``at`` not yet passed
        self.stop_at = stop_at
        self.reached = False
        self.rows: list[dict[str, float]] = []
        self.rollout_rows: list[dict[str, float]] = []
        self._pending: list[dict[str, float]] = []
        self.last_eval: Evaluation | None = None
        self.started = time.perf_counter()

    def rollout_end(self, steps: int) -> None:
        """Log each reward component's mean over the rollout just collected."""
        if self.reward_wrapper is None:
            return
        means = self.reward_wrapper.pop_component_means()
        if means:
            row = {"steps": steps, **{f"component/{k}": v for k, v in means.items()}}
            self.rollout_rows.append(row)
            self._pending.append(row)

    def _component_means(self) -> dict[str, float]:
        """Components averaged over the rollouts since the last checkpoint."""
        if not self._pending and self.reward_wrapper is not None:
            partial = self.reward_wrapper.pop_component_means()
            self._pending = [{f"component/{k}": v for k, v in partial.items()}]
        keys = {k for row in self._pending for k in row if k.startswith("component/")}
        means = {k: float(np.mean([r[k] for r in self._pending if k in r])) for k in keys}
        self._pending = []
        means.pop("component/__reward__", None)
        return dict(sorted(means.items()))

    def due(self, steps: int) -> bool:
        """Whether ``steps`` passed a checkpoint not yet measured (and mark those passed).

        Several passed in one rollout are one measurement: the policy is the same.
        """
        passed = self._next
        while self._next < len(self.at) and steps >= self.at[self._next]:
            self._next += 1
        return self._next > passed

    def run(self, model: Any, steps: int) -> None:
        # An image or integer observation is not normalised: it has no statistics to copy.
        if self.preset.normalize and self.train_env.norm_obs:
            self.eval_env.obs_rms = self.train_env.obs_rms.copy()
        ev = evaluate_policy(
            model, self.eval_env, self.preset.eval_episodes, self.seed + EVAL_SEED_OFFSET
        )
        self.last_eval = ev
        row: dict[str, float] = {
            "steps": steps,
            "seconds": round(time.perf_counter() - self.started, 3),
            "fitness": float(np.mean(ev.fitness)),
            "fitness_std": float(np.std(ev.fitness)),
        }
        success = self.measure.success_rate(ev.fitness)
        if success is not None:  # no column at all for a task that declares no success
            row["success_rate"] = success
        row["return"] = float(np.mean(ev.returns))
        row["native_return"] = float(np.mean(ev.native_returns))
        row["length"] = float(np.mean(ev.lengths))
        if self.reward_wrapper is not None:
            row.update(self._component_means())
        self.rows.append(row)
        if self.stop_at is not None and row["fitness"] >= self.stop_at:
            self.reached = True
        _write_json_atomic(
            Path("progress.json"),
            {"steps": steps, "fitness": row["fitness"], "target": self.target},
        )
        logger.info("steps %d: fitness %.3f", steps, row["fitness"])


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of an earlier rung's CSV (empty when there is none)."""
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]


def _restore_normalisation(env: Any, path: Path) -> None:
    """Carry an earlier rung's ``VecNormalize`` statistics into this rung's env."""
    import pickle

    with path.open("rb") as fh:
        saved = pickle.load(fh)  # written by this worker's own previous rung
    if env.norm_obs:
        env.obs_rms = saved.obs_rms
    env.ret_rms = saved.ret_rms


def _write_metrics(rows: list[dict[str, float]], path: Path) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def run_training(job: dict[str, Any]) -> dict[str, Any]:
    """Train PPO on the job's reward and measure the task fitness at each checkpoint."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import Logger

    torch.set_num_threads(1)
    spec = get_task(job["task"])
    fitness = job.get("fitness")
    preset = spec.preset(_budget(job["budget"]))
    seed = int(job["seed"])
    reward = job["reward"]
    mode = reward["mode"]
    reward_fn, params = None, ()
    if mode == "candidate":
        from rewardsmith.sandbox.loader import load_reward
        from rewardsmith.train.contract import reward_parameters

        reward_fn = load_reward(reward["source"])
        params = tuple(reward_parameters(reward["source"]))

    gamma = float(preset.ppo.get("gamma", 0.99))
    resume = bool(job.get("resume")) and Path("policy.zip").exists()
    device = str(job.get("device", "cpu"))
    target = int(job.get("steps") or preset.total_timesteps)
    stop_at = job.get("stop_at_fitness")
    prior_rows = _read_metrics(Path("metrics.csv")) if resume else []
    prior_rollouts = _read_metrics(Path("rollouts.csv")) if resume else []
    start = int(prior_rows[-1]["steps"]) if prior_rows else 0
    # A continued rung sees fresh episodes: its env seed moves on with the steps done.
    env_seed = seed + start
    env = make_vec_env(
        spec, fitness, preset.n_envs, env_seed, mode, reward_fn, params, preset.normalize, gamma
    )
    if resume:
        model = PPO.load("policy.zip", env=env, device=device)
        model.set_random_seed(env_seed)
        if preset.normalize and Path("vecnormalize.pkl").exists():
            _restore_normalisation(env, Path("vecnormalize.pkl"))
        start = int(model.num_timesteps)
    else:
        policy = policy_name(env.observation_space)
        model = PPO(policy, env, seed=seed, device=device, verbose=0, **build_ppo_kwargs(preset))
    anneal(model, preset, target)
    # A logger with no outputs: SB3 would otherwise create a /tmp/SB3-* folder per model.
    model.set_logger(Logger(folder=None, output_formats=[]))
    checkpoints = _Checkpoints(
        spec, fitness, preset, seed, env, mode, start=start, target=target, stop_at=stop_at
    )

    class _Hook(BaseCallback):
        # A checkpoint is measured when the next rollout starts, after PPO's update on the
        # rollout it fell in: measured during that rollout, the last one's fitness was of
        # a policy one update short of the one saved, recorded and exported.
        def _on_rollout_start(self) -> None:
            if checkpoints.due(self.num_timesteps):
                checkpoints.run(self.model, self.num_timesteps)

        def _on_rollout_end(self) -> None:
            checkpoints.rollout_end(self.num_timesteps)

        def _on_step(self) -> bool:
            return not checkpoints.reached

    if target > start:
        model.learn(
            total_timesteps=target - start, callback=_Hook(), reset_num_timesteps=not resume
        )
    # The last checkpoint falls in the last rollout, whose update ends learn().
    if (not checkpoints.reached and checkpoints.due(model.num_timesteps)) or not checkpoints.rows:
        checkpoints.run(model, model.num_timesteps)

    files = ["metrics.csv"]
    rows = prior_rows + checkpoints.rows
    _write_metrics(rows, Path("metrics.csv"))
    rollout_rows = prior_rollouts + checkpoints.rollout_rows
    if rollout_rows:
        _write_metrics(rollout_rows, Path("rollouts.csv"))
        files.append("rollouts.csv")
    if job.get("save_policy", True):
        model.save("policy.zip")
        files.append("policy.zip")
        if preset.normalize:
            env.save("vecnormalize.pkl")
            files.append("vecnormalize.pkl")
    final = checkpoints.last_eval
    assert final is not None
    components = sorted({k for r in rows for k in r if k.startswith("component/")})
    wrapper = find_reward_wrapper(env)
    return {
        "fitness": float(np.mean(final.fitness)),
        "fitness_episodes": final.fitness,
        "success_rate": spec.get_fitness(fitness).success_rate(final.fitness),
        "fitness_trace": [r["fitness"] for r in rows],
        "return_trace": [r["return"] for r in rows],
        "native_return_trace": [r["native_return"] for r in rows],
        "length_trace": [r["length"] for r in rows],
        "steps_trace": [r["steps"] for r in rows],
        "component_trace": {
            c.split("/", 1)[1]: [r.get(c, float("nan")) for r in rows] for c in components
        },
        "ended_by": dict(final.ended_by),
        "field_ranges": final.field_ranges,
        "steps": int(model.num_timesteps),
        "resumed_from_steps": start if resume else 0,
        "reached_fitness": checkpoints.reached,
        "reward_seconds": wrapper.reward_seconds if wrapper else 0.0,
        "env_seconds": wrapper.env_seconds if wrapper else 0.0,
        "pid": os.getpid(),
        "files": files,
    }
