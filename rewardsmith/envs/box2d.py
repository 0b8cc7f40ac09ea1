"""Built-in Box2D tasks: LunarLander-v3 (discrete and continuous), BipedalWalker-v3.

Fields are read from the Box2D bodies the envs keep (``env.lander``, ``env.legs``,
``env.hull``, ``env.joints``), in world units (the envs' metres: 30 pixels each), not
from the normalised observation. Box2D is not imported here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import distance_measure, native_return
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import register
from rewardsmith.envs.spec import Fields, FitnessMeasure, PPOPreset, StateField, TaskSpec

_field = StateField.of


# ------------------------------------------------------------------------- LunarLander-v3


def lunar_lander_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """The lander body's state; x from the screen centre, height above the pad (legs out)."""
    lander = env.lander
    pos, vel = lander.position, lander.linearVelocity
    # The screen is 600 / 30 = 20 units wide; legs reach 18 / 30 below the body's centre.
    return {
        "x_position": float(pos.x) - 10.0,
        "height": float(pos.y) - (float(env.helipad_y) + 18.0 / 30.0),
        "x_velocity": float(vel.x),
        "y_velocity": float(vel.y),
        "angle": float(lander.angle),
        "angular_velocity": float(lander.angularVelocity),
        "leg_contacts": np.array(
            [float(env.legs[0].ground_contact), float(env.legs[1].ground_contact)],
            dtype=np.float64,
        ),
        "crashed": 1.0 if env.game_over else 0.0,
        "at_rest": 0.0 if lander.awake else 1.0,
        "time": fl.count_step(env, action) * 0.02,
    }


_LANDER_FIELDS = (
    _field(
        "x_position",
        "m",
        "Lander x from the screen centre, within [-10, 10]; the pad spans [-2, 2]; +x is right.",
        "x_position",
    ),
    _field("height", "m", "Lander height above the landing pad with its legs out.", "height"),
    _field("x_velocity", "m/s", "Horizontal velocity (+ is right).", "x_velocity"),
    _field(
        "y_velocity", "m/s", "Vertical velocity (+ is up; negative while descending).", "y_velocity"
    ),
    _field("angle", "rad", "Body tilt; 0 is upright, + turns counter-clockwise.", "angle"),
    _field("angular_velocity", "rad/s", "Rate of change of angle.", "angular_velocity"),
    _field(
        "leg_contacts",
        "-",
        "1 for each leg (left, right) touching the ground, else 0.",
        "contact",
        shape=(2,),
    ),
    _field("crashed", "-", "1 when the lander's body hit the ground (a crash), else 0.", "crash"),
    _field(
        "at_rest",
        "-",
        "1 when the lander has come to rest (a completed landing), else 0.",
        "landed",
    ),
    _field("time", "s", "Seconds since the episode started (0.02 s per step).", "time"),
)


def _landed(fields: Fields) -> bool:
    return fields["at_rest"] > 0.5 and fields["crashed"] < 0.5


def _landed_anywhere(prev: Fields, fields: Fields, native: float) -> float:
    return 1.0 if _landed(fields) else 0.0


def _landed_left(prev: Fields, fields: Fields, native: float) -> float:
    if not _landed(fields):
        return 0.0
    return min(1.0, max(0.0, 0.5 - fields["x_position"] / 20.0))


_LAND_LEFT = FitnessMeasure(
    "left_landing",
    "At the episode's end, for a landing (at rest, not crashed): 0.5 - x_position / 20, i.e. "
    "0.5 on the pad's centre and 1 at the screen's left edge (x = -10); 0 without a landing.",
    "-",
    _landed_left,
    "last",
    0.75,
)

# RL-Zoo's settings (same for the discrete and the continuous lander).
_LANDER_ZOO = ppo_kwargs(
    n_steps=1024,
    batch_size=64,
    n_epochs=4,
    gamma=0.999,
    gae_lambda=0.98,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.01,
    policy_kwargs={"net_arch": [64, 64]},
)
_LANDER_FAST = ppo_kwargs(_LANDER_ZOO, n_steps=512, batch_size=256)
_LANDER_PRESETS = budget_presets(
    smoke=PPOPreset(32_768, 8, _LANDER_FAST, eval_episodes=3, checkpoints=5),
    quick=PPOPreset(491_520, 16, _LANDER_ZOO, eval_episodes=5),
    full=PPOPreset(1_000_000, 16, _LANDER_ZOO, eval_episodes=10),
)
_LANDER_END = (
    "The episode ends when the lander crashes (crashed = 1), flies off the side of the "
    "screen (|x_position| >= 10) or comes to rest (at_rest = 1, a landing); it is cut off "
    "after 1000 steps."
)

LUNAR_LANDER = TaskSpec(
    id="LunarLander-v3",
    env_id="LunarLander-v3",
    description="Land gently on the pad between the flags without crashing.",
    fields=_LANDER_FIELDS,
    extract=lunar_lander_extract,
    fitness=(
        FitnessMeasure(
            "landed",
            "1 when the episode ends with the lander at rest and not crashed, else 0.",
            "-",
            _landed_anywhere,
            "last",
            1.0,
        ),
        _LAND_LEFT,
        native_return(
            "shaping toward the pad, +-100 for landing or crashing, +10 per leg contact, "
            "fuel costs.",
            200.0,
        ),
    ),
    presets=_LANDER_PRESETS,
    action_meaning=(
        "Discrete: 0 does nothing, 1 fires the left orientation engine, 2 the main engine, "
        "3 the right orientation engine. The reward receives an integer array of shape (n,)."
    ),
    termination=_LANDER_END,
    family="box2d",
)

LUNAR_LANDER_CONTINUOUS = replace(
    LUNAR_LANDER,
    id="LunarLanderContinuous-v3",
    env_id="LunarLanderContinuous-v3",
    action_meaning=(
        "Box(2): main engine throttle in [-1, 1] (off below 0, 50-100 % from 0 to 1) and "
        "side engines in [-1, 1] (left below -0.5, right above 0.5, off between)."
    ),
)

LUNAR_LANDER_LEFT = replace(
    LUNAR_LANDER,
    id="LunarLanderLeft-v3",
    description="Land safely as far left as allowed, away from the pad.",
    fitness=(_LAND_LEFT, LUNAR_LANDER.fitness[0]),
    native_reward=False,
)

# ----------------------------------------------------------------------- BipedalWalker-v3


def bipedal_walker_extract(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    """Hull, the four leg joints, the two lower legs' contacts and the lidar fractions."""
    hull = env.hull
    pos, vel = hull.position, hull.linearVelocity
    # The hull starts at x = 10 terrain steps of 14/30, above ground level 400/30/4.
    return {
        "x_position": float(pos.x) - 10.0 * 14.0 / 30.0,
        "hull_height": float(pos.y) - 400.0 / 30.0 / 4.0,
        "x_velocity": float(vel.x),
        "y_velocity": float(vel.y),
        "hull_angle": float(hull.angle),
        "hull_angular_velocity": float(hull.angularVelocity),
        "joint_angles": np.array([float(j.angle) for j in env.joints], dtype=np.float64),
        "joint_velocities": np.array([float(j.speed) for j in env.joints], dtype=np.float64),
        "leg_contacts": np.array(
            [float(env.legs[1].ground_contact), float(env.legs[3].ground_contact)],
            dtype=np.float64,
        ),
        "lidar": np.array([float(ray.fraction) for ray in env.lidar], dtype=np.float64),
        "fallen": 1.0 if env.game_over else 0.0,
        "time": fl.count_step(env, action) * 0.02,
    }


_BIPEDAL_ZOO = ppo_kwargs(
    n_steps=2048,
    batch_size=64,
    n_epochs=10,
    gamma=0.999,
    gae_lambda=0.95,
    learning_rate=3e-4,
    clip_range=0.18,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)
_BIPEDAL_FAST = ppo_kwargs(_BIPEDAL_ZOO, n_steps=512, batch_size=256, gamma=0.99)

BIPEDAL_WALKER = TaskSpec(
    id="BipedalWalker-v3",
    env_id="BipedalWalker-v3",
    description="Walk forward (+x) to the end of the terrain without falling.",
    fields=(
        _field(
            "x_position",
            "m",
            "Hull x from the start; +x is forward; the terrain ends about 84 m ahead.",
            "x_position",
        ),
        _field(
            "hull_height",
            "m",
            "Hull height above the starting ground level (the terrain is uneven).",
            "height",
        ),
        _field("x_velocity", "m/s", "Hull velocity along x (+ is forward).", "x_velocity"),
        _field("y_velocity", "m/s", "Hull vertical velocity (+ is up).", "y_velocity"),
        _field("hull_angle", "rad", "Hull tilt; 0 is level.", "angle"),
        _field(
            "hull_angular_velocity", "rad/s", "Rate of change of hull_angle.", "angular_velocity"
        ),
        _field(
            "joint_angles",
            "rad",
            "Hip and knee angles of leg 1 then leg 2.",
            "joint_angles",
            shape=(4,),
        ),
        _field(
            "joint_velocities",
            "rad/s",
            "Hip and knee angular speeds of leg 1 then leg 2.",
            "joint_velocities",
            shape=(4,),
        ),
        _field(
            "leg_contacts",
            "-",
            "1 for each lower leg (1, 2) touching the ground, else 0.",
            "contact",
            shape=(2,),
        ),
        _field(
            "lidar",
            "-",
            "Ten lidar rays ahead and below: fraction of 160/30 m until the ray hits terrain.",
            shape=(10,),
        ),
        _field("fallen", "-", "1 once the hull touched the ground (a fall), else 0.", "crash"),
        _field("time", "s", "Seconds since the episode started (0.02 s per step).", "time"),
    ),
    extract=bipedal_walker_extract,
    fitness=(
        distance_measure(
            "forward_distance", "x_position", 1.0, "Metres the hull moves forward (+x).", 60.0
        ),
        native_return(
            "forward progress (about 300 for the whole course) - 100 on a fall - torque costs.",
            200.0,
        ),
    ),
    presets=budget_presets(
        smoke=PPOPreset(32_768, 8, _BIPEDAL_FAST, normalize=True, eval_episodes=2, checkpoints=5),
        quick=PPOPreset(1_015_808, 16, _BIPEDAL_FAST, normalize=True, eval_episodes=3),
        full=PPOPreset(5_000_000, 32, _BIPEDAL_ZOO, normalize=True, eval_episodes=10),
    ),
    action_meaning="Box(4): motor speed/torque in [-1, 1] for hip 1, knee 1, hip 2, knee 2.",
    termination=(
        "The episode ends when the hull touches the ground (fallen = 1), the walker moves "
        "off the left edge, or it reaches the end of the terrain; it is cut off after 1600 "
        "steps."
    ),
    family="box2d",
)

for _spec in (LUNAR_LANDER, LUNAR_LANDER_CONTINUOUS, LUNAR_LANDER_LEFT, BIPEDAL_WALKER):
    register(_spec)
