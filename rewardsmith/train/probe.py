"""Collect real transitions from random rollouts, for the critic's dynamic check.

Job keys: ``task``, ``fitness``, ``seed``, ``n_envs``, ``steps`` (vector steps).
Writes ``transitions.npz``: one array per state field, ``prev_<field>`` (its value one
step earlier) and ``action`` (first axis: the transitions, in vector-step order,
``n_envs`` at a time), and ``step_seconds``, the mean wall time of one single-env step,
which the critic's speed check compares against.

The result also holds ``fingerprint``, what each field reads on one fixed rollout
(:func:`field_fingerprint`); with ``fingerprint_only`` the job computes only that.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from rewardsmith.envs.registry import get_task
from rewardsmith.envs.spec import TaskSpec
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.train.contract import PREVIOUS_PREFIX

#: The rollout a fingerprint reads: the same seed on every run, so a run and its resume (or
#: two runs) compare what their fields mean, not where their seeds took the env.
FINGERPRINT_SEED = 0
FINGERPRINT_STEPS = 16


def _digits(value: Any) -> str:
    # Rounded to 1e-6 and six significant digits, so a run moved to another machine reads
    # the same; a change in what a field means moves it by far more. ``+ 0.0`` folds -0 into 0.
    rounded = np.round(np.asarray(value, dtype=np.float64).ravel(), 6) + 0.0
    return ",".join(f"{x:.6g}" for x in rounded)


def field_fingerprint(spec: TaskSpec, fitness: str | None = None) -> dict[str, str]:
    """A short digest per state field of its values over one fixed random rollout.

    Two fingerprints of the same task differ only where a field's computation changed (a
    new rewardsmith, env or simulator), which is what a resumed run needs to know.
    """
    env = make_task_env(spec, fitness, "native")
    rows: dict[str, list[str]] = {f.name: [] for f in spec.fields}
    try:
        env.reset(seed=FINGERPRINT_SEED)
        env.action_space.seed(FINGERPRINT_SEED)
        for _ in range(FINGERPRINT_STEPS):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            for name, parts in rows.items():
                parts.append(_digits(info["fields"][name]))
            if terminated or truncated:
                env.reset()
    finally:
        env.close()
    return {
        name: hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]
        for name, parts in rows.items()
    }


def run_probe(job: dict[str, Any]) -> dict[str, Any]:
    """Roll out uniformly random actions and save the fields the env reported."""
    spec = get_task(job["task"])
    fingerprint = field_fingerprint(spec, job.get("fitness"))
    if job.get("fingerprint_only"):
        return {"fingerprint": fingerprint, "files": []}
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
    return {
        "transitions": int(steps * n_envs),
        "fingerprint": fingerprint,
        "files": ["transitions.npz"],
    }
