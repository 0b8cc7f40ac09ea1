"""The ``smoke`` preset must be enough for PPO to solve the easy tasks with their own reward."""

import numpy as np
import pytest

from rewardsmith.envs import get_task
from rewardsmith.envs.wrapper import make_task_env


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


@pytest.mark.slow
@pytest.mark.parametrize("task_id", ["CartPole-v1", "InvertedPendulum-v5"])
def test_smoke_preset_solves_the_task(task_id):
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    torch.set_num_threads(1)
    spec = get_task(task_id)
    preset = spec.preset("smoke")
    measure = spec.get_fitness()
    venv = DummyVecEnv(
        [lambda: make_task_env(spec, reward_mode="native") for _ in range(preset.n_envs)]
    )
    if preset.normalize:
        venv = VecNormalize(venv, gamma=preset.ppo["gamma"])
    venv.seed(0)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", **preset.ppo)
    model.learn(preset.total_timesteps)

    env = make_task_env(spec, reward_mode="native")
    scores = []
    for episode in range(preset.eval_episodes):
        obs, _ = env.reset(seed=100 + episode)
        done = False
        while not done:
            if preset.normalize:
                obs = venv.normalize_obs(obs)
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        scores.append(info["episode_stats"]["fitness"])
    assert np.mean(scores) >= measure.success_threshold, scores
