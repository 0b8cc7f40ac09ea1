"""What the offline designer reads off a task's words: how its episodes end, above all."""

from __future__ import annotations

import pytest

from rewardsmith.agent.task_facts import (
    episode_steps,
    free_body,
    termination_bound,
    termination_kind,
)
from rewardsmith.envs.registry import all_tasks, get_task

# How every built-in task's episodes end, as its termination text states it. A wrong
# reading is costly: an alive bonus on a task that ends at its goal pays for never
# reaching it (Acrobot's "tip_height >= 1 m (the goal)" once read as a failure).
ENDINGS = {
    "failure": [
        "CartPole-v1", "CartPoleHoldX-v1", "Hopper-v5", "HopperBackward-v5", "Walker2d-v5",
        "Walker2dSpeed1-v5", "Ant-v5", "AntWalkY-v5", "AntTurn-v5", "Humanoid-v5",
        "HumanoidArmsUp-v5", "InvertedPendulum-v5", "InvertedPendulumHoldX-v5",
        "InvertedDoublePendulum-v5", "BipedalWalker-v3",
    ],
    "success": ["Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0"],
    "mixed": ["LunarLander-v3", "LunarLanderContinuous-v3", "LunarLanderLeft-v3"],
    "none": [
        "Pendulum-v1", "HalfCheetah-v5", "HalfCheetahBackward-v5", "HumanoidStandup-v5",
        "Reacher-v5", "Pusher-v5", "Swimmer-v5", "SwimmerBackward-v5",
    ],
}  # fmt: skip


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_every_built_in_task_ends_as_its_text_says(ending: str) -> None:
    for task_id in ENDINGS[ending]:
        assert termination_kind(get_task(task_id)) == ending, task_id


def test_the_table_covers_every_built_in_task() -> None:
    listed = [task_id for ids in ENDINGS.values() for task_id in ids]
    builtin = [t.id for t in all_tasks() if t.family not in ("generic", "custom")]
    assert sorted(listed) == sorted(builtin)


def test_a_field_named_tip_is_not_a_tipping_failure() -> None:
    from dataclasses import replace

    acrobot = get_task("Acrobot-v1")
    assert termination_kind(acrobot) == "success"
    tipping = replace(acrobot, termination="The episode ends when the chain tips over.")
    assert termination_kind(tipping) == "failure"


def test_bounds_and_step_limits_are_read_in_their_units() -> None:
    assert termination_bound(get_task("CartPole-v1"), "pole_angle") == pytest.approx(0.2095)
    assert termination_bound(get_task("CartPole-v1"), "cart_position") == 2.4
    assert termination_bound(get_task("InvertedPendulum-v5"), "pole_angle") == 0.2
    assert episode_steps(get_task("Acrobot-v1")) == 500
    assert episode_steps(get_task("BipedalWalker-v3")) == 1600


def test_free_bodies_are_the_3d_walkers() -> None:
    free = sorted(t.id for t in all_tasks() if free_body(t))
    assert free == sorted(
        ["Ant-v5", "AntWalkY-v5", "AntTurn-v5", "Humanoid-v5", "HumanoidArmsUp-v5",
         "HumanoidStandup-v5"]
    )  # fmt: skip
