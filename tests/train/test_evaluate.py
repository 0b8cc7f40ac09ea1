"""Checkpoint evaluation: the envs it runs on and what it records of the fields."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewardsmith.envs.registry import get_task
from rewardsmith.train.evaluate import evaluate_policy
from rewardsmith.train.ppo import MAX_EVAL_ENVS, eval_envs
from rewardsmith.train.vec import make_vec_env


class _Recorder(VecEnvWrapper):
    """Keeps every step's scalar fields, env by env, as the evaluation saw them."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.seen: dict[str, list[float]] = {}

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        for info in infos:
            for name, value in info["fields"].items():
                self.seen.setdefault(name, []).append(float(value))
        return obs, rewards, dones, infos


class _Alternating:
    """A stand-in policy: left and right in turn (episodes of different lengths)."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        self.calls += 1
        return np.full(len(obs), self.calls % 2), None


def test_field_ranges_span_every_step_of_every_env(in_tmp: Path) -> None:
    spec = get_task("CartPole-v1")
    venv = _Recorder(make_vec_env(spec, None, 3, 7, "native", training=False))
    result = evaluate_policy(_Alternating(), venv, episodes=5, seed=7)
    assert len(result.fitness) == 5
    assert set(result.field_ranges) == set(venv.seen)
    for name, values in venv.seen.items():
        assert result.field_ranges[name] == [min(values), max(values)], name


def test_each_evaluation_episode_gets_its_own_env_up_to_a_cap() -> None:
    # CartPole's quick preset plays 10 episodes per checkpoint and trains on 8 envs: on
    # 8 envs two of them would play a second episode while six stepped for nothing.
    quick = get_task("CartPole-v1").preset("quick")
    assert quick.eval_episodes > quick.n_envs
    assert eval_envs(quick) == quick.eval_episodes
    assert eval_envs(replace(quick, eval_episodes=3)) == 3
    assert eval_envs(replace(quick, eval_episodes=1000)) == MAX_EVAL_ENVS
