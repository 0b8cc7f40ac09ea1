"""PPO training of one reward on one task, run inside the sandboxed worker.

Job keys: ``task``, ``fitness``, ``budget`` (preset name or env steps), ``seed``,
``reward`` (``{"mode": "candidate", "source": ...}``, ``{"mode": "native"}`` or
``{"mode": "sparse"}``), optionally ``save_policy`` (default true).
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
from rewardsmith.train.vec import find_reward_wrapper, make_vec_env

logger = logging.getLogger(__name__)

EVAL_SEED_OFFSET = 10_000


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
            n_envs=min(preset.eval_episodes, preset.n_envs),
            seed=seed + EVAL_SEED_OFFSET,
            reward_mode=mode,
            reward_fn=reward_wrapper.reward_fn if reward_wrapper else None,
            params=reward_wrapper.params if reward_wrapper else (),
            normalize=preset.normalize,
            training=False,
        )
        every = max(1, preset.total_timesteps // max(1, preset.checkpoints))
        self.at = [every * (k + 1) for k in range(preset.checkpoints)]
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
        return len(self.rows) < len(self.at) and steps >= self.at[len(self.rows)]

    def run(self, model: Any, steps: int) -> None:
        if self.preset.normalize:
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
            "success_rate": ev.success_rate(self.measure.success_threshold),
            "return": float(np.mean(ev.returns)),
            "native_return": float(np.mean(ev.native_returns)),
            "length": float(np.mean(ev.lengths)),
        }
        if self.reward_wrapper is not None:
            row.update(self._component_means())
        self.rows.append(row)
        _write_json_atomic(Path("progress.json"), {"steps": steps, "fitness": row["fitness"]})
        logger.info("steps %d: fitness %.3f", steps, row["fitness"])


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


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
    env = make_vec_env(
        spec, fitness, preset.n_envs, seed, mode, reward_fn, params, preset.normalize, gamma=gamma
    )
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **build_ppo_kwargs(preset))
    # A logger with no outputs: SB3 would otherwise create a /tmp/SB3-* folder per model.
    model.set_logger(Logger(folder=None, output_formats=[]))
    checkpoints = _Checkpoints(spec, fitness, preset, seed, env, mode)

    class _Hook(BaseCallback):
        def _on_rollout_end(self) -> None:
            checkpoints.rollout_end(self.num_timesteps)

        def _on_step(self) -> bool:
            if checkpoints.due(self.num_timesteps):
                checkpoints.run(self.model, self.num_timesteps)
            return True

    model.learn(total_timesteps=preset.total_timesteps, callback=_Hook())
    if len(checkpoints.rows) < len(checkpoints.at):
        checkpoints.run(model, model.num_timesteps)

    files = ["metrics.csv"]
    _write_metrics(checkpoints.rows, Path("metrics.csv"))
    if checkpoints.rollout_rows:
        _write_metrics(checkpoints.rollout_rows, Path("rollouts.csv"))
        files.append("rollouts.csv")
    if job.get("save_policy", True):
        model.save("policy.zip")
        files.append("policy.zip")
        if preset.normalize:
            env.save("vecnormalize.pkl")
            files.append("vecnormalize.pkl")
    final = checkpoints.last_eval
    assert final is not None
    rows = checkpoints.rows
    components = sorted({k for r in rows for k in r if k.startswith("component/")})
    wrapper = find_reward_wrapper(env)
    return {
        "fitness": float(np.mean(final.fitness)),
        "fitness_episodes": final.fitness,
        "success_rate": final.success_rate(spec.get_fitness(fitness).success_threshold),
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
        "reward_seconds": wrapper.reward_seconds if wrapper else 0.0,
        "env_seconds": wrapper.env_seconds if wrapper else 0.0,
        "pid": os.getpid(),
        "files": files,
    }
