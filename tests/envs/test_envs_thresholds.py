"""Success thresholds mean something: doing nothing, or acting at random, never reaches one."""

from __future__ import annotations

import numpy as np
import pytest

from rewardsmith.envs.registry import all_tasks
from rewardsmith.envs.wrapper import make_task_env

MEASURES = [
    (spec.id, measure.name)
    for spec in all_tasks()
    for measure in spec.fitness
    if measure.name != "native_return"  # a return has no natural success line of its own
]


def _episode(env, policy: str, seed: int) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    while True:
        action = env.action_space.sample()
        if policy == "zero":
            action = np.zeros_like(action) if np.ndim(action) else 0
        *_, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return float(info["episode_stats"]["fitness"])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


@pytest.mark.parametrize(("task_id", "measure"), MEASURES)
def test_no_threshold_is_met_by_idling_or_random_actions(task_id: str, measure: str) -> None:
    spec = next(s for s in all_tasks() if s.id == task_id)
    threshold = spec.get_fitness(measure).success_threshold
    env = make_task_env(spec, measure, "sparse")
    try:
        scores = {policy: _episode(env, policy, seed=0) for policy in ("zero", "random")}
    finally:
        env.close()
    assert max(scores.values()) < threshold, (
        f"{task_id} {measure}: success at {threshold} is reached without learning ({scores})"
    )
