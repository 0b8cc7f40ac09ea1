"""Build the vector envs a training or an evaluation runs on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from rewardsmith.envs.spec import TaskSpec
from rewardsmith.envs.wrapper import RewardMode, make_task_env
from rewardsmith.train.reward_vec_env import RewardVecEnv
from rewardsmith.train.spaces import normalisation_kwargs, policy_env


class FreshInfoDummyVecEnv(DummyVecEnv):
    """``DummyVecEnv`` that hands out the envs' info dicts without deep-copying them.

    SB3 deep-copies every step's infos to guard against envs that reuse one dict; task
    envs build fresh dicts each step, and with the state fields inside, the copy cost
    about 6 % of PPO's time on HalfCheetah (see ``bench/reward_overhead.py``).
    """

    def step_wait(self) -> VecEnvStepReturn:
        """Step every env, auto-resetting finished ones, as ``DummyVecEnv`` does."""
        for i, env in enumerate(self.envs):
            obs, reward, terminated, truncated, info = env.step(self.actions[i])
            self.buf_rews[i] = reward
            self.buf_dones[i] = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                info["terminal_observation"] = obs
                obs, self.reset_infos[i] = env.reset()
            self.buf_infos[i] = info
            self._save_obs(i, obs)
        return (
            self._obs_from_buf(),
            np.copy(self.buf_rews),
            np.copy(self.buf_dones),
            list(self.buf_infos),
        )


def make_vec_env(
    spec: TaskSpec,
    fitness: str | None,
    n_envs: int,
    seed: int,
    reward_mode: RewardMode,
    reward_fn: Callable[..., Any] | None = None,
    params: Sequence[str] = (),
    normalize: bool = False,
    training: bool = True,
    gamma: float = 0.99,
) -> VecEnv:
    """``n_envs`` task envs in one process, with the candidate reward and normalisation.

    Args:
        spec: The task.
        fitness: Fitness measure name (``None``: the task's default).
        n_envs: Number of envs.
        seed: Seed of the first env; env ``i`` gets ``seed + i``.
        reward_mode: ``native``, ``sparse`` or ``candidate``.
        reward_fn: The candidate's ``compute_reward`` (``candidate`` mode only).
        params: Its parameter names.
        normalize: Add ``VecNormalize`` (rewards normalised only when ``training``).
        training: Whether the normalisation statistics update.
        gamma: Discount of the return whose scale normalises rewards (PPO's own gamma).
    """
    venv: VecEnv = FreshInfoDummyVecEnv(
        [lambda: policy_env(make_task_env(spec, fitness, reward_mode)) for _ in range(n_envs)]
    )
    venv.seed(seed)
    if reward_mode == "candidate":
        if reward_fn is None:
            raise ValueError("candidate mode needs a reward function")
        venv = RewardVecEnv(venv, reward_fn, params)
    if normalize:
        venv = VecNormalize(
            venv,
            training=training,
            norm_reward=training,
            gamma=gamma,
            **normalisation_kwargs(venv.observation_space),
        )
    return venv


def find_reward_wrapper(venv: VecEnv) -> RewardVecEnv | None:
    """The :class:`RewardVecEnv` inside ``venv``, if there is one."""
    while True:
        if isinstance(venv, RewardVecEnv):
            return venv
        inner = getattr(venv, "venv", None)
        if inner is None:
            return None
        venv = inner
