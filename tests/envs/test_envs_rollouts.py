import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

from rewardsmith.envs import all_tasks, get_task
from rewardsmith.envs.fieldlib import quat_multiply
from rewardsmith.envs.wrapper import TaskWrapper, make_task_env

STEP_SECONDS = {
    "CartPole-v1": 0.02,
    "Pendulum-v1": 0.05,
    "MountainCarContinuous-v0": 1.0,  # no physical clock: time counts steps
    "MountainCar-v0": 1.0,
    "Acrobot-v1": 0.2,
    "InvertedPendulum-v5": 0.04,
    "InvertedDoublePendulum-v5": 0.05,
    "Reacher-v5": 0.02,
    "Pusher-v5": 0.05,
    "Swimmer-v5": 0.04,
    "HalfCheetah-v5": 0.05,
    "Hopper-v5": 0.008,
    "Walker2d-v5": 0.008,
    "Ant-v5": 0.05,
    "Humanoid-v5": 0.015,
    "HumanoidStandup-v5": 0.015,
    "LunarLander-v3": 0.02,
    "LunarLanderContinuous-v3": 0.02,
    "BipedalWalker-v3": 0.02,
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


def _short(task_id, steps, fitness=None, mode="native"):
    spec = get_task(task_id)
    env = gym.make(spec.env_id, max_episode_steps=steps)
    return TaskWrapper(env, spec, spec.get_fitness(fitness), mode)


def _gentle(env):
    # Small random actions, so that no episode ends within a few steps.
    action = env.action_space.sample()
    return action if isinstance(env.action_space, gym.spaces.Discrete) else action * 0.1


def _check_fields(spec, fields):
    assert set(fields) == {f.name for f in spec.fields}
    for f in spec.fields:
        value = fields[f.name]
        assert np.shape(value) == f.shape, f.name
        if f.shape:
            assert isinstance(value, np.ndarray) and value.dtype == np.float64
        else:
            assert isinstance(value, float), f"{f.name} is {type(value).__name__}"
        assert np.all(np.isfinite(value)), f.name


@pytest.mark.parametrize("spec", all_tasks(), ids=lambda s: s.id)
def test_fields_have_their_documented_shapes(spec):
    env = make_task_env(spec, reward_mode="native")
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    _check_fields(spec, info["fields"])
    assert info["fields"]["time"] == 0.0
    history = [info["fields"]]
    for _ in range(5):
        _, _, terminated, truncated, info = env.step(_gentle(env))
        _check_fields(spec, info["fields"])
        assert info["prev_fields"] is history[-1]  # what rewards read as prev_<field>
        history.append(info["fields"])
        assert not (terminated or truncated)
    times = [fields["time"] for fields in history]
    assert np.allclose(np.diff(times), STEP_SECONDS[spec.env_id])
    # Fields kept from an earlier step must not change under later steps (no aliasing).
    snapshot = [{k: np.copy(v) for k, v in fields.items()} for fields in history]
    env.step(_gentle(env))
    for before, kept in zip(snapshot, history, strict=True):
        for name, value in before.items():
            assert np.array_equal(value, kept[name]), name
    env.close()


def test_cartpole_fields_match_the_observation():
    env = make_task_env(get_task("CartPole-v1"), reward_mode="native")
    obs, info = env.reset(seed=3)
    obs, *_, info = env.step(1)
    f = info["fields"]
    got = [f["cart_position"], f["cart_velocity"], f["pole_angle"], f["pole_angular_velocity"]]
    assert np.allclose(got, obs, atol=1e-6)
    assert f["pole_upright"] == pytest.approx(math.cos(f["pole_angle"]))


def test_cartpole_balance_steps_counts_every_step_of_the_episode():
    env = make_task_env(get_task("CartPole-v1"), reward_mode="native")
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, info = env.step(0)  # always push left: falls fast
        steps += 1
        done = terminated or truncated
    stats = info["episode_stats"]
    assert 3 < steps < 100
    assert stats["fitness"] == steps == stats["length"]
    assert stats["native_return"] == steps
    assert stats["ended_by"] == "termination"


def test_cartpole_target_measure_counts_only_steps_near_x1():
    env = make_task_env(get_task("CartPole-v1"), "upright_near_x1.0", reward_mode="sparse")
    env.reset(seed=0)
    _, reward, *_ = env.step(1)
    assert reward == 0.0  # the cart starts near x = 0
    env.unwrapped.state = np.array([0.95, 0.0, 0.0, 0.0])
    _, reward, *_, info = env.step(1)
    assert reward == info["fitness_step"] == 1.0


def test_pendulum_angle_is_wrapped_and_sparse_reward_is_the_fitness_term():
    spec = get_task("Pendulum-v1")
    env = make_task_env(spec, reward_mode="sparse")
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        obs, reward, *_, info = env.step(np.array([0.0], dtype=np.float32))
        f = info["fields"]
        assert -math.pi <= f["pole_angle"] < math.pi
        assert np.allclose([f["cos_angle"], f["sin_angle"], f["pole_angular_velocity"]], obs)
        assert reward == info["fitness_step"]
        assert reward in (0.0, 1.0)
    env.unwrapped.state = np.array([4 * math.pi + 0.05, 0.0])  # wound up twice, near upright
    _, reward, *_, info = env.step(np.array([0.0], dtype=np.float32))
    assert abs(info["fields"]["pole_angle"]) < 0.2
    assert reward == 1.0


def test_mountain_car_reaching_the_flag():
    env = make_task_env(get_task("MountainCarContinuous-v0"), reward_mode="sparse")
    _, info = env.reset(seed=0)
    assert info["fields"]["goal_distance"] == pytest.approx(0.45 - info["fields"]["position"])
    _, reward, *_ = env.step(np.array([1.0], dtype=np.float32))
    assert reward == 0.0
    env.unwrapped.state = np.array([0.44, 0.05])
    _, reward, terminated, _, info = env.step(np.array([1.0], dtype=np.float32))
    assert terminated and reward == 1.0
    assert info["fields"]["goal_distance"] == 0.0
    assert info["episode_stats"]["fitness"] == 1.0


def test_acrobot_fitness_is_the_share_of_the_time_limit_left_at_the_goal():
    # Gymnasium pays -1 for each step before the goal step, so a goal on step k returns
    # 1 - k; the fitness must rank the same episodes the same way: 1 - k / 500.
    env = make_task_env(get_task("Acrobot-v1"), "time_left_at_goal", "native")
    try:
        env.reset(seed=0)
        steps, stats = 0, {}
        while not stats:
            link2_speed = env.unwrapped.state[3]
            *_, info = env.step(2 if link2_speed > 0 else 0)  # pump energy into the chain
            steps, stats = steps + 1, info.get("episode_stats", {})
    finally:
        env.close()
    assert stats["ended_by"] == "termination" and steps < 500
    assert stats["native_return"] == 1 - steps
    assert stats["fitness"] == pytest.approx(1 - steps / 500)


def test_inverted_pendulum_balance_and_target_measures():
    spec = get_task("InvertedPendulum-v5")
    env = make_task_env(spec, reward_mode="native")
    obs, info = env.reset(seed=0)
    assert info["fields"]["cart_position"] == obs[0]
    assert info["fields"]["pole_angle"] == obs[1]
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, info = env.step(np.array([3.0]))
        steps += 1
        done = terminated or truncated
    # The step that tips the pole past 0.2 rad ends the episode and does not count.
    assert info["episode_stats"]["fitness"] == steps - 1
    assert info["episode_stats"]["native_return"] == steps - 1

    env = make_task_env(spec, "upright_near_x0.5", reward_mode="sparse")
    env.reset(seed=0)
    _, reward, *_ = env.step(np.array([0.0]))
    assert reward == 0.0
    env.unwrapped.set_state(np.array([0.5, 0.0]), np.zeros(2))
    _, reward, *_ = env.step(np.array([0.0]))
    assert reward == 1.0


@pytest.mark.parametrize(("task_id", "dt"), [("HalfCheetah-v5", 0.05), ("Hopper-v5", 0.008)])
def test_distance_measures_follow_the_torso(task_id, dt):
    stats = {}
    for name in ("forward_distance", "backward_distance", "forward_speed"):
        env = _short(task_id, 20, name)
        env.action_space.seed(1)
        _, info = env.reset(seed=1)
        x0 = info["fields"]["x_position"]
        env_speeds = []
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            env_speeds.append(info["x_velocity"])  # the env's own finite-difference speed
            done = terminated or truncated
        x1 = info["fields"]["x_position"]
        stats[name] = info["episode_stats"]["fitness"]
        assert x1 == info["x_position"]
    assert stats["forward_distance"] == pytest.approx(x1 - x0)
    assert stats["forward_distance"] == pytest.approx(sum(env_speeds) * dt)
    assert stats["backward_distance"] == pytest.approx(-stats["forward_distance"])
    # Speed is over the full 1000-step episode, however early this one ended.
    assert stats["forward_speed"] == pytest.approx(stats["forward_distance"] / (1000 * dt))
    assert stats["forward_speed"] == pytest.approx(np.mean(env_speeds) * len(env_speeds) / 1000)


def test_walker_fields_match_the_observation():
    env = make_task_env(get_task("HalfCheetah-v5"), reward_mode="native")
    obs, info = env.reset(seed=0)
    f = info["fields"]
    assert f["torso_height"] == pytest.approx(0.7 + obs[0])
    assert f["torso_angle"] == obs[1]
    assert np.array_equal(f["joint_angles"], obs[2:8])
    assert f["x_velocity"] == obs[8]
    assert np.array_equal(f["joint_velocities"], obs[11:17])

    env = make_task_env(get_task("Hopper-v5"), reward_mode="native")
    obs, info = env.reset(seed=0)
    f = info["fields"]
    assert f["torso_height"] == pytest.approx(1.25, abs=0.01) and f["torso_height"] == obs[0]
    assert f["torso_angle"] == obs[1]
    assert np.array_equal(f["joint_angles"], obs[2:5])


def test_hopper_healthy_steps_agrees_with_the_env():
    env = make_task_env(get_task("Hopper-v5"), "healthy_steps", reward_mode="sparse")
    env.action_space.seed(0)
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert reward == float(env.unwrapped.is_healthy)
        steps += 1
        done = terminated or truncated
    assert terminated and steps < 1000  # random torques make it fall
    assert info["episode_stats"]["fitness"] == steps - 1


def _pose(env, quat, height):
    data = env.unwrapped.data
    data.qpos[2], data.qpos[3:7] = height, quat
    mujoco.mj_forward(env.unwrapped.model, data)


@pytest.mark.parametrize("task_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_humanoid_orientation_reads_standing_as_upright(task_id):
    # HumanoidStandup's torso frame is modelled lying down (head along its -x): a body
    # standing with its head above its torso must read as upright in both envs, and one
    # lying on its back as pitched nose-up with torso_upright near 0.
    spec = get_task(task_id)
    env = gym.make(spec.env_id)
    env.reset(seed=0)
    head_up = {"Humanoid-v5": [1, 0, 0, 0], "HumanoidStandup-v5": [0.5**0.5, 0, 0.5**0.5, 0]}
    _pose(env, head_up[task_id], 1.3)
    standing = spec.extract(env.unwrapped, None, None)
    assert standing["head_height"] > standing["torso_height"] + 0.1
    assert standing["torso_upright"] == pytest.approx(1.0)
    assert standing["pitch"] == pytest.approx(0.0, abs=1e-9)
    assert standing["yaw"] == pytest.approx(0.0, abs=1e-9)
    # A quarter turn nose-up from standing: lying on the back, head towards -x.
    back = np.array([0.5**0.5, 0, -(0.5**0.5), 0])
    _pose(env, quat_multiply(back, head_up[task_id]), 0.1)
    lying = spec.extract(env.unwrapped, None, None)
    assert lying["torso_upright"] == pytest.approx(0.0, abs=1e-9)
    assert lying["pitch"] == pytest.approx(-math.pi / 2, abs=1e-6)
    env.close()


def test_humanoid_standup_starts_lying_on_its_back():
    spec = get_task("HumanoidStandup-v5")
    env = make_task_env(spec, reward_mode="native")
    _, info = env.reset(seed=0)
    fields = info["fields"]
    assert fields["torso_height"] < 0.2 and abs(fields["torso_upright"]) < 0.3
    assert fields["pitch"] < -1.0  # nose up
    env.close()
