"""Built-in MuJoCo arms: Reacher-v5 (fingertip to target), Pusher-v5 (object to goal).

Positions come from the bodies' world positions in ``env.data`` (fingertip, target,
tips_arm, object, goal), the same points the envs' own rewards use.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import native_return
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import register
from rewardsmith.envs.spec import Fields, FitnessMeasure, PPOPreset, StateField, TaskSpec

_field = StateField.of


def reacher_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Fingertip and target in the arm's plane; qpos = [joint0, joint1, target_x, target_y]."""
    data = env.data
    tip = fl.vector(data.body("fingertip").xpos[:2])
    target = fl.vector(data.body("target").xpos[:2])
    return {
        "fingertip_position": tip,
        "target_position": target,
        "fingertip_to_target": target - tip,
        "goal_distance": fl.distance(tip, target),
        "joint_angles": fl.vector(data.qpos[:2]),
        "joint_velocities": fl.vector(data.qvel[:2]),
        "time": float(data.time),
    }


def pusher_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Arm tip, object and goal in 3-D; the 7 arm joints."""
    data = env.data
    tip = fl.vector(data.body("tips_arm").xpos)
    obj = fl.vector(data.body("object").xpos)
    goal = fl.vector(data.body("goal").xpos)
    return {
        "tip_position": tip,
        "object_position": obj,
        "goal_position": goal,
        "tip_to_object_distance": fl.distance(tip, obj),
        "goal_distance": fl.distance(obj[:2], goal[:2]),
        "joint_angles": fl.vector(data.qpos[:7]),
        "joint_velocities": fl.vector(data.qvel[:7]),
        "time": float(data.time),
    }


def _closeness(prev: Fields, fields: Fields, native: float) -> float:
    return -fields["goal_distance"]


def _within(prev: Fields, fields: Fields, native: float, tolerance: float) -> float:
    return 1.0 if fields["goal_distance"] < tolerance else 0.0


def _final_closeness(what: str, threshold: float) -> FitnessMeasure:
    return FitnessMeasure(
        "final_closeness",
        f"Minus the {what} distance at the episode's last step (0 is perfect; "
        f"{threshold:g} m means {-threshold:g} m away; success is within {-threshold:g} m).",
        "m",
        _closeness,
        "last",
        threshold,
    )


_SMOKE = ppo_kwargs(
    n_steps=512,
    batch_size=256,
    n_epochs=10,
    gamma=0.9,
    gae_lambda=0.95,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)

# ---------------------------------------------------------------------------- Reacher-v5

# RL-Zoo's tuned Reacher settings (single env, normalised).
_REACHER_ZOO = ppo_kwargs(
    n_steps=512,
    batch_size=32,
    n_epochs=5,
    gamma=0.9,
    gae_lambda=1.0,
    learning_rate=1.04019e-4,
    clip_range=0.3,
    ent_coef=7.52585e-8,
    max_grad_norm=0.9,
    vf_coef=0.950368,
    policy_kwargs={"net_arch": [64, 64]},
)

REACHER = TaskSpec(
    id="Reacher-v5",
    env_id="Reacher-v5",
    description="Move the arm's fingertip onto the target and keep it there.",
    fields=(
        _field("fingertip_position", "m", "Fingertip (x, y) in the arm's plane.", shape=(2,)),
        _field(
            "target_position",
            "m",
            "Target (x, y); random within 0.2 m of the base each episode.",
            shape=(2,),
        ),
        _field("fingertip_to_target", "m", "target_position - fingertip_position.", shape=(2,)),
        _field(
            "goal_distance",
            "m",
            "Fingertip-to-target distance, within [0, 0.4]; 0 on the target.",
            "goal_distance",
        ),
        _field(
            "joint_angles",
            "rad",
            "Shoulder and elbow angles (not wrapped).",
            "joint_angles",
            shape=(2,),
        ),
        _field(
            "joint_velocities",
            "rad/s",
            "Shoulder and elbow angular velocities.",
            "joint_velocities",
            shape=(2,),
        ),
        _field(
            "time", "s", "Simulated seconds since the episode started (0.02 s per step).", "time"
        ),
    ),
    extract=reacher_extract,
    fitness=(
        _final_closeness("fingertip-to-target", -0.02),
        FitnessMeasure(
            "on_target_fraction",
            "Fraction of the 50 steps with the fingertip within 0.02 m of the target.",
            "fraction",
            partial(_within, tolerance=0.02),
            "mean",
            0.5,
        ),
        native_return("-(fingertip-to-target distance) - action^2 per step.", -5.0),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _SMOKE, normalize=True, eval_episodes=5, checkpoints=5),
        quick=PPOPreset(204_800, 8, _SMOKE, normalize=True, eval_episodes=10),
        full=PPOPreset(1_000_000, 1, _REACHER_ZOO, normalize=True, eval_episodes=20),
    ),
    action_meaning="Box(2): torques in [-1, 1] on the shoulder and elbow.",
    termination="Episodes never end early; they are cut off after 50 steps (1 s).",
    ends_early=False,
    family="mujoco",
)

# ----------------------------------------------------------------------------- Pusher-v5

# RL-Zoo has no tuned PPO entry for Pusher: its MuJoCo defaults (SB3's default PPO,
# normalised, 1M steps).
_PUSHER_ZOO = ppo_kwargs(
    n_steps=2048,
    batch_size=64,
    n_epochs=10,
    gamma=0.99,
    gae_lambda=0.95,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)
_PUSHER_FAST = ppo_kwargs(_SMOKE, gamma=0.99)

PUSHER = TaskSpec(
    id="Pusher-v5",
    env_id="Pusher-v5",
    description="Push the object onto the goal with the arm's tip.",
    fields=(
        _field("tip_position", "m", "Arm tip (x, y, z) in the world.", shape=(3,)),
        _field("object_position", "m", "Object (x, y, z); it slides on the table.", shape=(3,)),
        _field("goal_position", "m", "Goal (x, y, z); fixed on the table.", shape=(3,)),
        _field(
            "tip_to_object_distance",
            "m",
            "Distance from the arm tip to the object; small when the arm touches it.",
            "reach_distance",
        ),
        _field(
            "goal_distance",
            "m",
            "Object-to-goal distance on the table plane, within [0, 0.5]; 0 on the goal.",
            "goal_distance",
        ),
        _field("joint_angles", "rad", "The 7 arm joint angles.", "joint_angles", shape=(7,)),
        _field(
            "joint_velocities",
            "rad/s",
            "The 7 arm joint angular velocities.",
            "joint_velocities",
            shape=(7,),
        ),
        _field(
            "time", "s", "Simulated seconds since the episode started (0.05 s per step).", "time"
        ),
    ),
    extract=pusher_extract,
    fitness=(
        _final_closeness("object-to-goal", -0.08),
        native_return(
            "-(object-to-goal distance) - 0.5 (tip-to-object distance) - 0.1 action^2.", -30.0
        ),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _PUSHER_FAST, normalize=True, eval_episodes=3, checkpoints=5),
        quick=PPOPreset(303_104, 8, _PUSHER_FAST, normalize=True, eval_episodes=5),
        full=PPOPreset(1_000_000, 1, _PUSHER_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(7): torques in [-2, 2] on the arm joints, in joint_angles' order.",
    termination="Episodes never end early; they are cut off after 100 steps (5 s).",
    ends_early=False,
    family="mujoco",
)

for _spec in (REACHER, PUSHER):
    register(_spec)
