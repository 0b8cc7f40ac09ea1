"""Built-in discrete classic-control tasks: Acrobot-v1 and MountainCar-v0.

Fields are read from the env's ``state`` attribute (its own double-precision state).
Gymnasium is not imported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import native_return
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import register
from rewardsmith.envs.spec import Fields, FitnessMeasure, PPOPreset, StateField, TaskSpec

_field = StateField.of


# ---------------------------------------------------------------------------- Acrobot-v1


def acrobot_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Both links' angles (0 hanging down) and the free tip's height above the pivot."""
    theta1, theta2, dtheta1, dtheta2 = (float(v) for v in env.state)
    tip = -math.cos(theta1) - math.cos(theta1 + theta2)
    return {
        "link1_angle": fl.wrap_angle(theta1),
        "link2_angle": fl.wrap_angle(theta2),
        "link1_angular_velocity": dtheta1,
        "link2_angular_velocity": dtheta2,
        "tip_height": tip,
        "goal_distance": max(1.0 - tip, 0.0),
        "time": fl.count_step(env, action) * 0.2,
    }


def _tip_above(prev: Fields, fields: Fields, native: float) -> float:
    return 1.0 if fields["tip_height"] > 1.0 else 0.0


# Gymnasium cuts Acrobot off after 500 steps of 0.2 s.
_ACROBOT_LIMIT_S = 100.0


def _time_left_at_goal(prev: Fields, fields: Fields, native: float) -> float:
    # Episodes end on the goal step, so under "max" this is the value at that step.
    return _tip_above(prev, fields, native) * (1.0 - fields["time"] / _ACROBOT_LIMIT_S)


def _tip_height(prev: Fields, fields: Fields, native: float) -> float:
    return fields["tip_height"]


# RL-Zoo's settings (normalised, 16 envs; SB3's default batch, learning rate and clip).
_ACROBOT_ZOO = ppo_kwargs(
    n_steps=256,
    batch_size=64,
    n_epochs=4,
    gamma=0.99,
    gae_lambda=0.94,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)

ACROBOT = TaskSpec(
    id="Acrobot-v1",
    env_id="Acrobot-v1",
    description="Swing the free end of the two-link chain above the bar as quickly as possible.",
    fields=(
        _field(
            "link1_angle",
            "rad",
            "Upper link angle in [-pi, pi); 0 hangs straight down.",
        ),
        _field("link2_angle", "rad", "Lower link angle relative to the upper link, in [-pi, pi)."),
        _field(
            "link1_angular_velocity", "rad/s", "Rate of change of link1_angle.", "angular_velocity"
        ),
        _field("link2_angular_velocity", "rad/s", "Rate of change of link2_angle."),
        _field(
            "tip_height",
            "m",
            "Height of the free end above the pivot, in [-2, 2] (links are 1 m); the goal is "
            "above 1.",
            "height",
        ),
        _field(
            "goal_distance",
            "m",
            "max(1 - tip_height, 0), within [0, 3]: 0 once the tip is above the goal line.",
            "goal_distance",
        ),
        _field("time", "s", "Seconds since the episode started (0.2 s per step).", "time"),
    ),
    extract=acrobot_extract,
    fitness=(
        # "As quickly as possible" is part of the behaviour, so the primary measure rewards
        # the time left, not only arrival; 0.8 is gymnasium's solved line (a return of -100).
        FitnessMeasure(
            "time_left_at_goal",
            "Share of the 100 s episode limit still left when the tip first rises above 1 m "
            "(the goal line): 1 - seconds_to_goal / 100, and 0 when it never gets there.",
            "-",
            _time_left_at_goal,
            "max",
            0.8,
        ),
        FitnessMeasure(
            "reached_goal",
            "1 when the tip rises above 1 m (the goal line) during the episode, else 0.",
            "-",
            _tip_above,
            "max",
            1.0,
        ),
        FitnessMeasure(
            "max_tip_height",
            "Highest tip height reached in the episode (goal above 1 m).",
            "m",
            _tip_height,
            "max",
            1.0,
        ),
        native_return("-1 per step until the tip is above the goal line.", -100.0),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 16, _ACROBOT_ZOO, normalize=True, eval_episodes=3, checkpoints=5),
        quick=PPOPreset(204_800, 16, _ACROBOT_ZOO, normalize=True, eval_episodes=5),
        full=PPOPreset(1_000_000, 16, _ACROBOT_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning=(
        "Discrete: torque on the middle joint, 0 is -1 N m, 1 is none, 2 is +1 N m. The reward "
        "receives an integer array of shape (n,)."
    ),
    termination=(
        "The episode ends when tip_height >= 1 m (the goal); it is cut off after 500 steps."
    ),
    family="classic",
)

# ------------------------------------------------------------------------ MountainCar-v0


def mountain_car_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Position, velocity and height on the hill; the goal flag's position."""
    position, velocity = (float(v) for v in env.state)
    goal = float(env.goal_position)
    return {
        "position": position,
        "velocity": velocity,
        "height": 0.45 * math.sin(3.0 * position) + 0.55,
        "goal_position": goal,
        "goal_distance": max(goal - position, 0.0),
        "time": float(fl.count_step(env, action)),
    }


def _reached_goal(prev: Fields, fields: Fields, native: float) -> float:
    return 1.0 if fields["position"] >= fields["goal_position"] else 0.0


def _position(prev: Fields, fields: Fields, native: float) -> float:
    return fields["position"]


# RL-Zoo's settings (normalised, 16 envs, short rollouts; SB3's default batch).
_MOUNTAIN_CAR_ZOO = ppo_kwargs(
    n_steps=16,
    batch_size=64,
    n_epochs=4,
    gamma=0.99,
    gae_lambda=0.98,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)

MOUNTAIN_CAR_DISCRETE = TaskSpec(
    id="MountainCar-v0",
    env_id="MountainCar-v0",
    description="Drive the underpowered car up the right hill to the flag at x = 0.5.",
    fields=(
        _field(
            "position",
            "m",
            "Car x position in [-1.2, 0.6]; the valley floor is near -0.52 and the goal is to "
            "the right (+x).",
            "x_position",
        ),
        _field(
            "velocity",
            "m/step",
            "Car velocity along x in [-0.07, 0.07] (+ is right).",
            "x_velocity",
        ),
        _field(
            "height", "m", "Height of the car on the hill: 0.45 sin(3 position) + 0.55.", "height"
        ),
        _field("goal_position", "m", "x position of the goal flag (0.5)."),
        _field(
            "goal_distance",
            "m",
            "max(goal_position - position, 0): 0 at the goal.",
            "goal_distance",
        ),
        _field("time", "steps", "Steps since the episode started.", "time"),
    ),
    extract=mountain_car_extract,
    fitness=(
        FitnessMeasure(
            "reached_goal",
            "1 when the car reaches the flag (position >= 0.5) during the episode, else 0.",
            "-",
            _reached_goal,
            "max",
            1.0,
        ),
        FitnessMeasure(
            "max_position",
            "Furthest x position reached to the right in the episode (goal at 0.5).",
            "m",
            _position,
            "max",
            0.5,
        ),
        native_return("-1 per step until the car reaches the flag.", -120.0),
    ),
    presets=budget_presets(
        smoke=PPOPreset(
            32_768, 16, _MOUNTAIN_CAR_ZOO, normalize=True, eval_episodes=3, checkpoints=5
        ),
        quick=PPOPreset(200_192, 16, _MOUNTAIN_CAR_ZOO, normalize=True, eval_episodes=5),
        full=PPOPreset(1_000_000, 16, _MOUNTAIN_CAR_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning=(
        "Discrete: 0 accelerates left, 1 does nothing, 2 accelerates right; too weak to climb "
        "directly. The reward receives an integer array of shape (n,)."
    ),
    termination=(
        "The episode ends when position >= 0.5 (the goal); it is cut off after 200 steps."
    ),
    family="classic",
)

for _spec in (ACROBOT, MOUNTAIN_CAR_DISCRETE):
    register(_spec)
