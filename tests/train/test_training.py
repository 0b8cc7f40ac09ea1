"""Training jobs through the real sandboxed worker, on small budgets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from rewardsmith.envs.registry import get_task
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.contract import RewardContractError
from rewardsmith.train.executor import Job, LocalExecutor
from rewardsmith.train.jobs import run_job
from rewardsmith.train.reward_vec_env import RewardTooSlowError, RewardVecEnv

REWARD = """
import numpy as np

def compute_reward(pole_angle, cart_position, action):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    centre = -0.1 * np.abs(cart_position)
    return 1.0 + upright + centre, {"upright": upright, "centre": centre}
"""


def _job(reward: dict, steps: int = 2048, seed: int = 0) -> dict:
    return {
        "kind": "train",
        "task": "CartPole-v1",
        "budget": str(steps),
        "seed": seed,
        "reward": reward,
    }


def test_candidate_training_writes_traces_and_files(tmp_path: Path) -> None:
    outcome = run_job(
        _job({"mode": "candidate", "source": REWARD}), Limits.for_training(60), keep_dir=tmp_path
    )
    assert outcome.ok, outcome.error + outcome.stderr_tail
    r = outcome.result
    assert r["steps"] >= 2048
    assert len(r["fitness_trace"]) == len(r["return_trace"]) == len(r["length_trace"]) > 1
    assert set(r["component_trace"]) == {"upright", "centre"}
    assert r["fitness"] == r["fitness_trace"][-1]
    assert sum(r["ended_by"].values()) >= 1
    assert {"cart_position", "pole_angle"} <= set(r["field_ranges"])
    names = {p.name for p in tmp_path.iterdir() if not p.name.startswith("events.out.tfevents")}
    assert names == {"metrics.csv", "policy.zip", "rollouts.csv"}
    rollouts = list(csv.DictReader((tmp_path / "rollouts.csv").open()))
    assert len(rollouts) >= r["steps"] // 2048 >= 1  # one row per PPO rollout
    assert {"steps", "component/upright", "component/centre", "component/__reward__"} <= set(
        rollouts[0]
    )
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert len(rows) == len(r["fitness_trace"])
    assert {"steps", "fitness", "return", "native_return", "component/upright"} <= set(rows[0])


def test_the_reported_fitness_is_the_saved_policys(tmp_path: Path) -> None:
    """The last checkpoint is measured after PPO's last update: the policy that is saved,
    recorded and exported, not the one an update earlier."""
    from stable_baselines3 import PPO

    from rewardsmith.train.evaluate import evaluate_policy
    from rewardsmith.train.ppo import EVAL_SEED_OFFSET, eval_envs
    from rewardsmith.train.vec import make_vec_env

    outcome = run_job(
        _job({"mode": "native"}, steps=2560, seed=5), Limits.for_training(60), keep_dir=tmp_path
    )
    assert outcome.ok, outcome.error + outcome.stderr_tail
    result = outcome.result
    spec = get_task("CartPole-v1")
    preset = spec.preset(2560)
    rollout = preset.n_envs * preset.ppo["n_steps"]
    assert result["steps_trace"][-1] == 2560 and 2560 % rollout == 0
    venv = make_vec_env(spec, None, eval_envs(preset), 5 + EVAL_SEED_OFFSET, "native")
    model = PPO.load(tmp_path / "policy.zip", device="cpu")
    again = evaluate_policy(model, venv, preset.eval_episodes, 5 + EVAL_SEED_OFFSET)
    assert again.fitness == result["fitness_episodes"]


def test_same_seed_same_result_and_native_sparse_modes(tmp_path: Path) -> None:
    a = run_job(_job({"mode": "native"}, seed=3), Limits.for_training(60))
    b = run_job(_job({"mode": "native"}, seed=3), Limits.for_training(60))
    s = run_job(_job({"mode": "sparse"}, seed=3), Limits.for_training(60))
    assert a.ok and b.ok and s.ok, (a.error, b.error, s.error)
    assert a.result["fitness_trace"] == b.result["fitness_trace"]
    # CartPole's native reward is 1 per step; so is the balance_steps term: same learning.
    assert a.result["fitness_trace"] == s.result["fitness_trace"]
    assert a.result["component_trace"] == {}


def test_nan_reward_during_training_fails_with_a_reason(tmp_path: Path) -> None:
    source = """
import numpy as np

def compute_reward(pole_angle):
    bad = np.where(np.abs(pole_angle) > 0.05, np.nan, 1.0)
    return bad, {"bad": bad}
"""
    outcome = run_job(_job({"mode": "candidate", "source": source}), Limits.for_training(60))
    assert not outcome.ok
    assert "RewardContractError" in outcome.error and "finite" in outcome.error.lower()


def _venv(n: int = 2) -> DummyVecEnv:
    spec = get_task("CartPole-v1")
    venv = DummyVecEnv([lambda: make_task_env(spec, None, "candidate") for _ in range(n)])
    venv.seed(0)
    return venv


def test_reward_vec_env_batches_one_call_per_step(in_tmp: Path) -> None:
    calls = []

    def fn(pole_angle, action):
        calls.append((pole_angle.shape, action.shape))
        return pole_angle * 0 + 2.0, {"two": np.full(pole_angle.shape[0], 2.0)}

    env = RewardVecEnv(_venv(3), fn, ("pole_angle", "action"))
    env.reset()
    for _ in range(5):
        _, reward, _, _ = env.step(np.array([0, 1, 0]))
        assert reward.dtype == np.float32 and reward.tolist() == [2.0, 2.0, 2.0]
    assert calls == [((3,), (3,))] * 5
    assert env.pop_component_means() == {"two": 2.0, "__reward__": 2.0}
    assert env.pop_component_means() == {}


def test_prev_fields_are_the_step_before_and_the_reset_state_after_a_reset(
    in_tmp: Path,
) -> None:
    def progress(cart_position, prev_cart_position):
        moved = cart_position - prev_cart_position
        return moved, {"moved": moved}

    venv = _venv(3)
    env = RewardVecEnv(venv, progress, ("cart_position", "prev_cart_position"))
    env.reset()
    before = [e.unwrapped.state[0] for e in venv.envs]  # the reset states
    rng = np.random.default_rng(0)
    episodes_ended = 0
    for _ in range(60):
        _, reward, dones, infos = env.step(rng.integers(0, 2, size=3))
        now = np.array([info["fields"]["cart_position"] for info in infos])
        assert np.allclose(reward, now - np.array(before), atol=1e-6)
        assert np.all(reward != 0)  # the cart always moves: prev is never a copy of now
        # After an episode ends, the next step starts from the new episode's reset state.
        before = [
            venv.reset_infos[i]["fields"]["cart_position"] if done else now[i]
            for i, done in enumerate(dones)
        ]
        episodes_ended += int(dones.sum())
    assert episodes_ended > 0


def test_reward_vec_env_rejects_bad_output(in_tmp: Path) -> None:
    env = RewardVecEnv(_venv(), lambda pole_angle: (np.ones(5), {}), ("pole_angle",))
    env.reset()
    with pytest.raises(RewardContractError):
        env.step(np.array([0, 1]))


def test_reward_vec_env_stops_a_reward_slower_than_the_env(in_tmp: Path) -> None:
    import time

    def slow(pole_angle):
        time.sleep(0.004)
        return pole_angle, {}

    env = RewardVecEnv(_venv(), slow, ("pole_angle",), max_time_fraction=1.0)
    env.reset()
    with pytest.raises(RewardTooSlowError, match="vectorise"):
        for _ in range(2000):
            env.step(np.array([0, 1]))


def test_executor_runs_jobs_in_parallel_and_retries_a_killed_worker(tmp_path: Path) -> None:
    executor = LocalExecutor(workers=2, retries=1)
    jobs = [
        Job(
            "a", {"kind": "probe", "task": "CartPole-v1", "seed": 0, "steps": 4}, Limits.for_check()
        ),
        Job("b", {"kind": "nope"}, Limits.for_check()),
        # A worker killed before it writes a result is retried once, then fails.
        Job(
            "c",
            {"kind": "probe", "task": "CartPole-v1", "seed": 0, "steps": 4},
            Limits(cpu_seconds=None, wall_seconds=0.02),
        ),
    ]
    outcomes = {job.key: outcome for job, outcome in executor.run(jobs)}
    executor.close()
    assert outcomes["a"].ok
    assert not outcomes["b"].ok and "unknown job kind" in outcomes["b"].error
    assert not outcomes["c"].ok
    assert "wall-clock limit" in outcomes["c"].error and "after 2 tries" in outcomes["c"].error


def test_an_annealed_setting_falls_the_same_in_rungs_as_in_one_go(tmp_path: Path) -> None:
    """The learning rate and clip range fall to 0 over the preset's whole budget, so a
    policy trained in two rungs (saved and loaded between them, as successive halving
    does) gets the same values at the same env steps as one trained in one go."""
    from dataclasses import replace

    from stable_baselines3 import PPO

    from rewardsmith.train.ppo import anneal

    task = get_task("CartPole-v1")
    ppo = {**task.preset("smoke").ppo, "n_steps": 64, "batch_size": 64, "n_epochs": 1}
    preset = replace(
        task.preset("smoke"),
        total_timesteps=512,
        n_envs=1,
        ppo=ppo,
        anneal=("learning_rate", "clip_range"),
    )

    def updates(model: PPO, log: list[tuple[int, float, float]]) -> PPO:
        train = model.train

        def logged() -> None:  # what this update will use, at the steps done by then
            progress = model._current_progress_remaining
            log.append(
                (model.num_timesteps, model.lr_schedule(progress), model.clip_range(progress))
            )
            train()
            assert model.policy.optimizer.param_groups[0]["lr"] == log[-1][1]

        model.train = logged
        return model

    def venv() -> DummyVecEnv:
        return DummyVecEnv([lambda: make_task_env(task, reward_mode="native")])

    whole: list[tuple[int, float, float]] = []
    model = updates(PPO("MlpPolicy", venv(), seed=0, device="cpu", **ppo), whole)
    anneal(model, preset, 512)
    model.learn(512)

    rungs: list[tuple[int, float, float]] = []
    model = updates(PPO("MlpPolicy", venv(), seed=0, device="cpu", **ppo), rungs)
    anneal(model, preset, 256)
    model.learn(256)
    del model.train  # the log, not the model, is what must not travel in the file
    model.save(tmp_path / "policy.zip")
    model = updates(PPO.load(tmp_path / "policy.zip", env=venv(), device="cpu"), rungs)
    anneal(model, preset, 512)
    model.learn(256, reset_num_timesteps=False)

    steps = [64 * k for k in range(1, 9)]
    assert [s for s, _, _ in whole] == [s for s, _, _ in rungs] == steps
    expected = [
        (s, ppo["learning_rate"] * (1 - s / 512), ppo["clip_range"] * (1 - s / 512)) for s in steps
    ]
    np.testing.assert_allclose(whole, expected, rtol=1e-9)
    np.testing.assert_allclose(rungs, expected, rtol=1e-9)
