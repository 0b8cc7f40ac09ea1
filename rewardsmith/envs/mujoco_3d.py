"""Built-in 3-D MuJoCo bodies on a free joint: Ant-v5, Humanoid-v5, HumanoidStandup-v5.

The root's position, orientation (yaw, pitch, roll, up-vector), linear and angular
velocity come from the free joint's qpos/qvel (HumanoidStandup's turned to a standing
frame: its torso is modelled lying down); contact forces from ``data.cfrc_ext``;
head and hand heights from the geoms' world positions. Novel behaviours (walking along
+y, turning in place, standing still with arms raised) are registered as their own ids.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import distance_measure, native_return
from rewardsmith.envs.mujoco_locomotion import LOCOMOTION_FAST
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import register
from rewardsmith.envs.spec import Fields, FitnessMeasure, PPOPreset, StateField, TaskSpec

_field = StateField.of


def ant_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Free root, the 8 leg joints and the contact force on each of the four feet."""
    data = env.data
    root = fl.free_root(data.qpos, data.qvel)
    # Bodies 4, 7, 10, 13 are the (unnamed) lower legs that touch the ground.
    feet = fl.contact_force_norms(data.cfrc_ext, 0, 14)[[4, 7, 10, 13]]
    origin = fl.origin_offset(env, action, root["x_position"], root["y_position"])
    return {
        **root,
        "foot_contact_forces": feet,
        "distance_from_start": origin,
        "time": float(data.time),
    }


def humanoid_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Free root, the 17 joints, head and hand heights, and the feet's contact forces."""
    return fl.humanoid_fields(env, action, None)


def standup_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """As ``humanoid_extract``, with the orientation read in a standing frame.

    HumanoidStandup's torso is modelled lying on its back, its head along the torso
    frame's -x: the standing frame is a quarter turn about y from it, so torso_upright is
    about 0 lying flat and 1 standing, as for Humanoid.
    """
    return fl.humanoid_fields(env, action, (math.sqrt(0.5), 0.0, -math.sqrt(0.5), 0.0))


def _root_fields(height: str, n_joints: int, joints: str, dt: float) -> tuple[StateField, ...]:
    return (
        _field(
            "x_position",
            "m",
            "Torso x position; +x is forward, about 0 at the start.",
            "x_position",
        ),
        _field(
            "y_position",
            "m",
            "Torso y position; +y is to the left, about 0 at the start.",
            "y_position",
        ),
        _field("torso_height", "m", height, "height"),
        _field("x_velocity", "m/s", "Torso velocity along world x (+ is forward).", "x_velocity"),
        _field("y_velocity", "m/s", "Torso velocity along world y (+ is left).", "y_velocity"),
        _field("z_velocity", "m/s", "Torso vertical velocity (+ is up)."),
        _field(
            "yaw",
            "rad",
            "Heading about the vertical, in [-pi, pi]; 0 faces +x, + turns left.",
            "yaw",
        ),
        _field("pitch", "rad", "Torso pitch (nose down is +), in [-pi/2, pi/2]."),
        _field("roll", "rad", "Torso roll about its forward axis, in [-pi, pi]."),
        _field(
            "up_vector",
            "-",
            "The torso's up axis in world coordinates (x, y, z); (0, 0, 1) when level.",
            shape=(3,),
        ),
        _field("torso_upright", "-", "up_vector's z: 1 level/upright, -1 upside down.", "upright"),
        _field(
            "yaw_rate",
            "rad/s",
            "Turning rate about the world vertical (+ is counter-clockwise seen from above).",
            "yaw_rate",
        ),
        _field(
            "angular_velocity",
            "rad/s",
            "Torso angular velocity in its own frame (x, y, z).",
            shape=(3,),
        ),
        _field(
            "joint_angles", "rad", f"Joint angles: {joints}.", "joint_angles", shape=(n_joints,)
        ),
        _field(
            "joint_velocities",
            "rad/s",
            f"Joint angular velocities: {joints}.",
            "joint_velocities",
            shape=(n_joints,),
        ),
        _field(
            "distance_from_start",
            "m",
            "Horizontal distance of the torso from where it was at the start of the episode.",
        ),
    )


def _time(dt: float) -> StateField:
    return _field(
        "time", "s", f"Simulated seconds since the episode started ({dt} s per step).", "time"
    )


_MUJOCO_DEFAULT = ppo_kwargs(
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
_ZOO_NET = LOCOMOTION_FAST["policy_kwargs"]
_FAST_3D = ppo_kwargs(
    LOCOMOTION_FAST,
    gamma=0.99,
    gae_lambda=0.95,
    policy_kwargs={**_ZOO_NET, "log_std_init": -1.0},
)

# ------------------------------------------------------------------------------- Ant-v5

_ANT_JOINTS = (
    "hip and ankle of the front-left, front-right, back and right-back legs, in that order "
    "(hip_1, ankle_1, hip_2, ankle_2, hip_3, ankle_3, hip_4, ankle_4)"
)
_ANT_TURN_RADIUS = 1.0


def _turn_step(prev: Fields, fields: Fields, native: float, sign: float) -> float:
    if fields["distance_from_start"] >= _ANT_TURN_RADIUS:
        return 0.0
    change = fields["yaw"] - prev["yaw"]
    return sign * ((change + math.pi) % (2.0 * math.pi) - math.pi)


_ANT_TURN = FitnessMeasure(
    "turn_in_place",
    f"Radians turned counter-clockwise (seen from above) over the episode, counting only "
    f"steps while the torso is within {_ANT_TURN_RADIUS} m of where it started.",
    "rad",
    partial(_turn_step, sign=1.0),
    "sum",
    12.6,
)

ANT = TaskSpec(
    id="Ant-v5",
    env_id="Ant-v5",
    description="Walk forward (+x) as fast as possible without flipping over.",
    fields=(
        *_root_fields(
            "Height of the torso centre (about 0.55-0.75 m standing; the episode ends "
            "outside [0.2, 1.0] m).",
            8,
            _ANT_JOINTS,
            0.05,
        ),
        _field(
            "foot_contact_forces",
            "N",
            "Magnitude of the contact force on each lower leg (front-left, front-right, back, "
            "right-back); 0 when that foot is in the air.",
            "contact",
            shape=(4,),
        ),
        _time(0.05),
    ),
    extract=ant_extract,
    fitness=(
        distance_measure("forward_distance", "x_position", 1.0, "Metres moved along +x.", 10.0),
        distance_measure("y_distance", "y_position", 1.0, "Metres moved along +y.", 10.0),
        _ANT_TURN,
        native_return(
            "forward velocity + 1 per healthy step - 0.5 action^2 - contact cost.", 1000.0
        ),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _FAST_3D, normalize=True, eval_episodes=2, checkpoints=5),
        quick=PPOPreset(1_000_000, 8, _FAST_3D, normalize=True, eval_episodes=3),
        full=PPOPreset(1_000_000, 1, _MUJOCO_DEFAULT, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(8): torques in [-1, 1] on the joints, in joint_angles' order.",
    termination=(
        "The episode ends when torso_height leaves [0.2, 1.0] m (the ant flipped or jumped); "
        "it is cut off after 1000 steps (50 s)."
    ),
    family="mujoco",
)

# --------------------------------------------------------------------------- Humanoid-v5

_HUMANOID_JOINTS = (
    "abdomen z, y, x; right hip x, z, y; right knee; left hip x, z, y; left knee; "
    "right shoulder 1, 2; right elbow; left shoulder 1, 2; left elbow"
)
_HUMANOID_EPISODE = 1000


def _humanoid_healthy(prev: Fields, fields: Fields, native: float) -> float:
    return 1.0 if 1.0 < fields["torso_height"] < 2.0 else 0.0


def _arms_up_still(prev: Fields, fields: Fields, native: float) -> float:
    healthy = 1.0 < fields["torso_height"] < 2.0
    still = math.hypot(fields["x_velocity"], fields["y_velocity"]) < 0.5
    raised = bool(np.all(np.asarray(fields["hands_above_head"]) > 0.0))
    return 1.0 / _HUMANOID_EPISODE if healthy and still and raised else 0.0


def _humanoid_extra(dt: float) -> tuple[StateField, ...]:
    return (
        _field("head_height", "m", "Height of the head's centre above the ground."),
        _field(
            "hands_above_head",
            "m",
            "Height of the left and right hand minus head_height; > 0 when that hand is "
            "raised above the head.",
            "hand_height",
            shape=(2,),
        ),
        _field(
            "foot_contact_forces",
            "N",
            "Magnitude of the contact force on the right and left foot; 0 in the air.",
            "contact",
            shape=(2,),
        ),
        _time(dt),
    )


_HUMANOID_ZOO = ppo_kwargs(
    n_steps=512,
    batch_size=256,
    n_epochs=5,
    gamma=0.95,
    gae_lambda=0.9,
    learning_rate=3.56987e-5,
    clip_range=0.3,
    ent_coef=0.00238306,
    max_grad_norm=2.0,
    vf_coef=0.431892,
    policy_kwargs=_ZOO_NET,
)

_ARMS_UP = FitnessMeasure(
    "arms_up_still",
    "Fraction of the 1000 steps with the torso above 1 m, horizontal speed below 0.5 m/s "
    "and both hands above the head.",
    "fraction",
    _arms_up_still,
    "sum",
    0.5,
)

HUMANOID = TaskSpec(
    id="Humanoid-v5",
    env_id="Humanoid-v5",
    description="Walk forward (+x) as fast as possible without falling.",
    fields=(
        *_root_fields(
            "Height of the torso centre (about 1.4 m standing; the episode ends outside "
            "(1.0, 2.0) m).",
            17,
            _HUMANOID_JOINTS,
            0.015,
        ),
        *_humanoid_extra(0.015),
    ),
    extract=humanoid_extract,
    fitness=(
        distance_measure("forward_distance", "x_position", 1.0, "Metres moved along +x.", 10.0),
        FitnessMeasure(
            "healthy_steps",
            "Steps (of at most 1000) with the torso between 1 and 2 m high.",
            "steps",
            _humanoid_healthy,
            "sum",
            950.0,
        ),
        _ARMS_UP,
        native_return("1.25 x forward velocity + 5 per healthy step - control cost.", 3000.0),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _FAST_3D, normalize=True, eval_episodes=2, checkpoints=5),
        quick=PPOPreset(1_000_000, 8, _FAST_3D, normalize=True, eval_episodes=3),
        full=PPOPreset(10_000_000, 1, _HUMANOID_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(17): torques in [-0.4, 0.4] on the joints, in joint_angles' order.",
    termination=(
        "The episode ends when torso_height leaves (1.0, 2.0) m (the humanoid fell); it is "
        "cut off after 1000 steps (15 s)."
    ),
    family="mujoco",
)


def _mean_height(prev: Fields, fields: Fields, native: float) -> float:
    return fields["torso_height"]


_STANDUP_ZOO = ppo_kwargs(
    n_steps=512,
    batch_size=32,
    n_epochs=20,
    gamma=0.99,
    gae_lambda=0.9,
    learning_rate=2.55673e-5,
    clip_range=0.3,
    ent_coef=3.62109e-6,
    max_grad_norm=0.7,
    vf_coef=0.430793,
    policy_kwargs=_ZOO_NET,
)

HUMANOID_STANDUP = TaskSpec(
    id="HumanoidStandup-v5",
    env_id="HumanoidStandup-v5",
    description="Stand up from lying on the ground and stay standing.",
    fields=(
        *_root_fields(
            "Height of the torso centre (about 0.1 m lying on the back, as every episode "
            "starts, 1.4 m standing). The orientation fields are those of a standing body: "
            "lying on the back, torso_upright is about 0 and pitch about -pi/2.",
            17,
            _HUMANOID_JOINTS,
            0.015,
        ),
        *_humanoid_extra(0.015),
    ),
    extract=standup_extract,
    fitness=(
        FitnessMeasure(
            "mean_height",
            "Mean torso height over the episode (0.1 m lying, 1.4 m standing).",
            "m",
            _mean_height,
            "mean",
            1.0,
        ),
        native_return(
            "333 x torso height per step (height / the 0.003 s physics timestep) + 1 - "
            "0.1 x control cost - a clipped contact-force cost.",
            80_000.0,
        ),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _FAST_3D, normalize=True, eval_episodes=2, checkpoints=5),
        quick=PPOPreset(1_000_000, 8, _FAST_3D, normalize=True, eval_episodes=3),
        full=PPOPreset(10_000_000, 1, _STANDUP_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(17): torques in [-0.4, 0.4] on the joints, in joint_angles' order.",
    termination="Episodes never end early; they are cut off after 1000 steps (15 s).",
    ends_early=False,
    family="mujoco",
)

# --------------------------------------------------------------- novel behaviours (no native)

ANT_WALK_Y = replace(
    ANT,
    id="AntWalkY-v5",
    description="Walk along +y as fast as possible without flipping over.",
    fitness=(ANT.get_fitness("y_distance"), ANT.fitness[0]),
    native_reward=False,
)
ANT_TURN = replace(
    ANT,
    id="AntTurn-v5",
    description="Turn counter-clockwise in place as fast as possible, without walking away.",
    fitness=(_ANT_TURN,),
    native_reward=False,
)
HUMANOID_ARMS_UP = replace(
    HUMANOID,
    id="HumanoidArmsUp-v5",
    description="Stand still with both arms raised above the head, without falling.",
    fitness=(_ARMS_UP, HUMANOID.get_fitness("healthy_steps")),
    native_reward=False,
)

for _spec in (ANT, HUMANOID, HUMANOID_STANDUP, ANT_WALK_Y, ANT_TURN, HUMANOID_ARMS_UP):
    register(_spec)
