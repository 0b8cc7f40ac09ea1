"""Built-in Swimmer-v5 and its novel behaviour SwimmerBackward-v5.

The swimmer moves in a viscous plane with no gravity, so it has no health, height or
contacts: its fields are the front tip's planar pose and the two body joints, read from
``env.data.qpos`` / ``env.data.qvel``. Neither gymnasium nor mujoco is imported here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import distance_measure, native_return
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import register
from rewardsmith.envs.spec import PPOPreset, StateField, TaskSpec

_field = StateField.of


def swimmer_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Qpos = [x, y, heading, joint1, joint2] of the front segment."""
    data = env.data
    qpos, qvel = data.qpos, data.qvel
    return {
        "x_position": float(qpos[0]),
        "y_position": float(qpos[1]),
        "x_velocity": float(qvel[0]),
        "y_velocity": float(qvel[1]),
        "heading": float(qpos[2]),
        "heading_rate": float(qvel[2]),
        "joint_angles": fl.vector(qpos[3:]),
        "joint_velocities": fl.vector(qvel[3:]),
        "time": float(data.time),
    }


# RL-Zoo: its MuJoCo defaults (SB3's default PPO, normalised) with gamma 0.9999.
_SWIMMER_ZOO = ppo_kwargs(
    n_steps=2048,
    batch_size=64,
    n_epochs=10,
    gamma=0.9999,
    gae_lambda=0.95,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)
_SWIMMER_FAST = ppo_kwargs(_SWIMMER_ZOO, n_steps=512, batch_size=256)

SWIMMER = TaskSpec(
    id="Swimmer-v5",
    env_id="Swimmer-v5",
    description="Swim forward (+x) as fast as possible.",
    fields=(
        _field(
            "x_position",
            "m",
            "Front tip x position; +x is forward, about 0 at the start.",
            "x_position",
        ),
        _field("y_position", "m", "Front tip y position (sideways).", "y_position"),
        _field("x_velocity", "m/s", "Front tip velocity along x (+ is forward).", "x_velocity"),
        _field("y_velocity", "m/s", "Front tip velocity along y.", "y_velocity"),
        _field(
            "heading",
            "rad",
            "Heading of the front segment; 0 points along +x (not wrapped).",
            "yaw",
        ),
        _field("heading_rate", "rad/s", "Rate of change of heading.", "yaw_rate"),
        _field("joint_angles", "rad", "The two body joints' angles.", "joint_angles", shape=(2,)),
        _field(
            "joint_velocities",
            "rad/s",
            "The two body joints' angular velocities.",
            "joint_velocities",
            shape=(2,),
        ),
        _field(
            "time", "s", "Simulated seconds since the episode started (0.04 s per step).", "time"
        ),
    ),
    extract=swimmer_extract,
    fitness=(
        distance_measure(
            "forward_distance", "x_position", 1.0, "Metres swum forward (+x) in the episode.", 10.0
        ),
        distance_measure(
            "backward_distance",
            "x_position",
            -1.0,
            "Metres swum backward (-x) in the episode.",
            10.0,
        ),
        native_return("forward velocity minus 1e-4 action^2 per step.", 250.0),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _SWIMMER_FAST, normalize=True, eval_episodes=2, checkpoints=5),
        quick=PPOPreset(303_104, 8, _SWIMMER_FAST, normalize=True, eval_episodes=3),
        full=PPOPreset(1_000_000, 1, _SWIMMER_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(2): torques in [-1, 1] on the two body joints.",
    termination="Episodes never end early; they are cut off after 1000 steps (40 s).",
    ends_early=False,
    family="mujoco",
)


# --------------------------------------------------------------- novel behaviours (no native)

SWIMMER_BACKWARD = replace(
    SWIMMER,
    id="SwimmerBackward-v5",
    description="Swim backward (-x) as fast as possible.",
    fitness=(SWIMMER.get_fitness("backward_distance"), SWIMMER.fitness[0]),
    native_reward=False,
)

register(SWIMMER)
register(SWIMMER_BACKWARD)
