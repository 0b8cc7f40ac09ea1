"""Collect real transitions from random rollouts, for the critic's dynamic check.

Job keys: ``task``, ``fitness``, ``seed``, ``n_envs``, ``steps`` (vector steps).
Writes ``transitions.npz``: one array per state field, ``prev_<field>`` (its value one
step earlier) and ``action`` (first axis: the transitions, in vector-step order,
``n_envs`` at a time), and ``step_seconds``, the mean wall time of one single-env step,
which the critic's speed check compares against.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rewardsmith.envs.registry import get_task
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.train.contract import PREVIOUS_PREFIX


def run_probe(job: dict[str, Any]) -> dict[str, Any]:
    """Roll out uniformly random actions and save the fields the env reported."""
    spec = get_task(job["task"])
    n_envs = int(job.get("n_envs", 8))
    steps = int(job.get("steps", 64))
    seed = int(job["seed"])
    envs = [make_task_env(spec, job.get("fitness"), "native") for _ in range(n_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
        env.action_space.seed(seed + i)
    names = [f.name for f in spec.fields]
    columns: dict[str, list[Any]] = {name: [] for name in names}
    previous: dict[str, list[Any]] = {name: [] for name in names}
    actions: list[Any] = []
    stepping = 0.0
    for _ in range(steps):
        for env in envs:
            action = env.action_space.sample()
            started = time.perf_counter()
            _, _, terminated, truncated, info = env.step(action)
            stepping += time.perf_counter() - started
            for name in names:
                columns[name].append(np.asarray(info["fields"][name], dtype=np.float64))
                previous[name].append(np.asarray(info["prev_fields"][name], dtype=np.float64))
            actions.append(action)
            if terminated or truncated:
                env.reset()
    for env in envs:
        env.close()
    arrays = {name: np.stack(values) for name, values in columns.items()}
    for name, values in previous.items():
        # A field whose own name is prev_<other> keeps its place; its step back is not offered.
        arrays.setdefault(PREVIOUS_PREFIX + name, np.stack(values))
    arrays["action"] = np.stack([np.asarray(a) for a in actions])
    arrays["step_seconds"] = np.asarray(stepping / (steps * n_envs))
    np.savez("transitions.npz", **arrays)
    return {"transitions": int(steps * n_envs), "files": ["transitions.npz"]}
