import json
import keyword
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from rewardsmith.envs import all_tasks, get_task
from rewardsmith.envs.presets import RL_ZOO_PPO, budget_presets, ppo_kwargs
from rewardsmith.envs.spec import BUDGET_NAMES, PPOPreset
from rewardsmith.errors import UserError

BUILTIN_IDS = {
    "CartPole-v1": "classic",
    "Pendulum-v1": "classic",
    "MountainCarContinuous-v0": "classic",
    "Acrobot-v1": "classic",
    "MountainCar-v0": "classic",
    "InvertedPendulum-v5": "mujoco",
    "InvertedDoublePendulum-v5": "mujoco",
    "Reacher-v5": "mujoco",
    "Pusher-v5": "mujoco",
    "Swimmer-v5": "mujoco",
    "HalfCheetah-v5": "mujoco",
    "Hopper-v5": "mujoco",
    "Walker2d-v5": "mujoco",
    "Ant-v5": "mujoco",
    "Humanoid-v5": "mujoco",
    "HumanoidStandup-v5": "mujoco",
    "LunarLander-v3": "box2d",
    "LunarLanderContinuous-v3": "box2d",
    "BipedalWalker-v3": "box2d",
}
# Novel behaviours: own ids, an existing env, a fitness with no native reward behind it.
NOVEL = {
    "CartPoleHoldX-v1": ("CartPole-v1", "upright_near_x1.0"),
    "InvertedPendulumHoldX-v5": ("InvertedPendulum-v5", "upright_near_x0.5"),
    "HalfCheetahBackward-v5": ("HalfCheetah-v5", "backward_distance"),
    "HopperBackward-v5": ("Hopper-v5", "backward_distance"),
    "Walker2dSpeed1-v5": ("Walker2d-v5", "speed_1"),
    "SwimmerBackward-v5": ("Swimmer-v5", "backward_distance"),
    "AntWalkY-v5": ("Ant-v5", "y_distance"),
    "AntTurn-v5": ("Ant-v5", "turn_in_place"),
    "HumanoidArmsUp-v5": ("Humanoid-v5", "arms_up_still"),
    "LunarLanderLeft-v3": ("LunarLander-v3", "left_landing"),
}
TAGS = {
    "x_position",
    "x_velocity",
    "height",
    "angle",
    "angular_velocity",
    "upright",
    "joint_angles",
    "joint_velocities",
    "goal_distance",
    "time",
    "y_position",
    "y_velocity",
    "yaw",
    "yaw_rate",
    "contact",
    "hand_height",
    "reach_distance",
    "crash",
    "landed",
}
ALL = [spec.id for spec in all_tasks()]


def test_builtins_are_registered_with_their_family():
    builtin = {s.id: s.family for s in all_tasks() if s.family in ("classic", "mujoco", "box2d")}
    assert builtin == {**BUILTIN_IDS, **{k: BUILTIN_IDS[v[0]] for k, v in NOVEL.items()}}
    for task_id in BUILTIN_IDS:
        spec = get_task(task_id)
        assert spec.id == task_id
        assert spec.env_id == task_id
        assert spec.native_reward
        assert spec.get_fitness("native_return")


@pytest.mark.parametrize("task_id", NOVEL)
def test_novel_behaviours_measure_exactly_the_behaviour(task_id):
    spec = get_task(task_id)
    base_id, measure = NOVEL[task_id]
    base = get_task(base_id)
    assert spec.env_id == base.env_id and spec.fields == base.fields
    assert spec.fitness[0].name == measure and not spec.native_reward
    assert "native_return" not in [m.name for m in spec.fitness]
    assert spec.description != base.description


@pytest.mark.parametrize(
    ("wrong", "suggested"),
    [
        ("CartPole-v2", "CartPole-v1"),
        ("halfcheetah-v5", "HalfCheetah-v5"),
        ("Hoper-v5", "Hopper-v5"),
    ],
)
def test_unknown_id_suggests_the_closest(wrong, suggested):
    with pytest.raises(UserError, match="did you mean") as err:
        get_task(wrong)
    assert suggested in str(err.value)


def test_unknown_id_far_from_everything_has_no_suggestion():
    with pytest.raises(UserError) as err:
        get_task("Zzzzzz-v9")
    assert "did you mean" not in str(err.value)


def test_task_modules_do_not_import_the_simulators():
    heavy = "('gymnasium', 'mujoco', 'torch', 'stable_baselines3')"
    code = (
        "import sys, rewardsmith.envs.classic, rewardsmith.envs.classic_discrete,"
        " rewardsmith.envs.mujoco, rewardsmith.envs.box2d;"
        f"bad = [m for m in {heavy} if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("task_id", ALL)
def test_fields_are_documented(task_id):
    spec = get_task(task_id)
    names = [f.name for f in spec.fields]
    assert len(names) == len(set(names))
    assert "action" not in names
    for f in spec.fields:
        assert f.name.isidentifier() and not keyword.iskeyword(f.name)
        assert not f.name.startswith("prev_")  # prev_<field> is the field one step back
        assert isinstance(f.shape, tuple)
        assert f.unit and f.meaning.endswith(".")
        assert f.tags <= TAGS, f.tags - TAGS
    tags = set().union(*(f.tags for f in spec.fields))
    assert "time" in tags
    # Something to move along, keep upright or reach.
    assert tags & {"x_position", "angle", "goal_distance", "height"}
    assert spec.description and spec.action_meaning and spec.termination


@pytest.mark.parametrize("task_id", ALL)
def test_fitness_measures_are_well_formed(task_id):
    spec = get_task(task_id)
    names = [m.name for m in spec.fitness]
    assert len(names) == len(set(names))
    for m in spec.fitness:
        assert re.fullmatch(r"[a-z][a-z0-9_.]*", m.name), m.name
        assert m.aggregate in ("sum", "mean", "last", "max")
        assert math.isfinite(m.success_threshold)
        assert m.meaning and m.unit
    assert spec.get_fitness() is spec.fitness[0]
    assert spec.get_fitness(names[-1]).name == names[-1]


@pytest.mark.parametrize("task_id", ALL)
def test_only_native_return_reads_the_native_reward(task_id):
    spec = get_task(task_id)
    # Any scalar-valued fields will do: zeros, with time advancing so speeds are defined.
    prev = {f.name: np.zeros(f.shape) if f.shape else 0.0 for f in spec.fields}
    cur = dict(prev, time=1.0)
    for m in spec.fitness:
        value = m.step(prev, cur, float("nan"))
        assert math.isnan(value) == (m.name == "native_return"), m.name


def test_get_fitness_unknown_name_lists_the_known_ones():
    spec = get_task("HalfCheetah-v5")
    with pytest.raises(KeyError) as err:
        spec.get_fitness("fly")
    for name in ("forward_distance", "backward_distance", "forward_speed"):
        assert name in str(err.value)


def test_required_measures_exist():
    required = {
        "CartPole-v1": ["balance_steps", "upright_near_x1.0"],
        "Pendulum-v1": ["upright_fraction"],
        "MountainCarContinuous-v0": ["reached_goal", "max_position"],
        "Acrobot-v1": ["time_left_at_goal", "reached_goal", "max_tip_height"],
        "InvertedPendulum-v5": ["balance_steps", "upright_near_x0.5"],
        "HalfCheetah-v5": ["forward_distance", "backward_distance", "forward_speed"],
        "Hopper-v5": ["forward_distance", "healthy_steps", "backward_distance"],
    }
    for task_id, names in required.items():
        spec = get_task(task_id)
        assert spec.fitness[0].name == names[0]
        for name in names:
            spec.get_fitness(name)


@pytest.mark.parametrize("task_id", ALL)
def test_every_budget_has_a_plain_data_preset(task_id):
    spec = get_task(task_id)
    assert tuple(spec.presets) == BUDGET_NAMES
    steps = [spec.preset(b).total_timesteps for b in BUDGET_NAMES]
    assert steps == sorted(steps)
    for budget in BUDGET_NAMES:
        preset = spec.preset(budget)
        json.dumps(dict(preset.ppo))  # run.json must be able to hold it
        assert isinstance(preset.ppo["learning_rate"], float)
        assert (preset.n_envs * preset.ppo["n_steps"]) % preset.ppo["batch_size"] == 0
        assert 1 <= preset.eval_episodes <= 20 and preset.checkpoints >= 1
    assert spec.preset("smoke").eval_episodes <= 5
    assert spec.preset(12_345).total_timesteps == 12_345


def test_ppo_kwargs_rejects_callables_and_missing_keys():
    base = get_task("CartPole-v1").preset("smoke").ppo
    assert ppo_kwargs(base, gamma=0.9)["gamma"] == 0.9
    assert base["gamma"] != 0.9  # the base is copied, not changed
    with pytest.raises(ValueError, match="plain data"):
        ppo_kwargs(base, learning_rate=lambda progress: 1e-3 * progress)
    with pytest.raises(ValueError, match="lack n_steps"):
        ppo_kwargs({k: v for k, v in base.items() if k != "n_steps"})


def test_budget_presets_needs_all_three():
    preset = get_task("CartPole-v1").preset("smoke")
    with pytest.raises(ValueError, match="exactly"):
        budget_presets(smoke=preset, quick=preset)
    tiny = PPOPreset(10, preset.n_envs, preset.ppo)
    with pytest.raises(ValueError, match="less than one rollout"):
        budget_presets(smoke=tiny, quick=preset, full=preset)


@pytest.mark.parametrize("task_id", sorted(RL_ZOO_PPO))
def test_full_preset_matches_rl_zoo_budget_and_threshold(task_id):
    spec = get_task(task_id)
    zoo_return, zoo_steps = RL_ZOO_PPO[task_id]
    assert spec.preset("full").total_timesteps >= zoo_steps
    # Success with the native reward must be what the zoo's agent reached, or less.
    assert spec.get_fitness("native_return").success_threshold <= zoo_return


def test_success_is_counted_only_where_a_threshold_is_declared() -> None:
    cartpole = get_task("CartPole-v1").get_fitness()
    assert cartpole.reached(475.0) and not cartpole.reached(474.9)
    assert not cartpole.reached(None)
    assert cartpole.success_rate([500.0, 10.0]) == 0.5 and cartpole.success_rate([]) is None
    assert cartpole.threshold_text() == "475 steps"
    # Blackjack's spec declares no reward_threshold: a return of 0 (a draw) is no success.
    blackjack = get_task("Blackjack-v1").get_fitness()
    assert blackjack.success_threshold is None
    assert not blackjack.reached(1.0)
    assert blackjack.success_rate([1.0, -1.0]) is None
    assert blackjack.threshold_text() == "none declared"
