import warnings

import pytest

from rewardsmith.envs import all_tasks
from rewardsmith.envs.spec import BUDGET_NAMES
from rewardsmith.envs.wrapper import make_task_env


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


# Novel-behaviour tasks share their base task's presets: check each set of presets once.
UNIQUE_PRESETS = list({id(s.presets): s for s in all_tasks()}.values())


@pytest.mark.parametrize("spec", UNIQUE_PRESETS, ids=lambda s: s.id)
def test_sb3_ppo_accepts_every_preset(spec):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    for budget in BUDGET_NAMES:
        preset = spec.preset(budget)
        venv = DummyVecEnv([lambda: make_task_env(spec, reward_mode="native")] * preset.n_envs)
        if preset.normalize:
            venv = VecNormalize(venv, gamma=preset.ppo["gamma"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. SB3's batch-size-vs-rollout warning
            model = PPO("MlpPolicy", venv, device="cpu", **preset.ppo)
        assert model.n_steps == preset.ppo["n_steps"]
        venv.close()
