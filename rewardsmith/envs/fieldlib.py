"""Numpy-only helpers that the built-in tasks' field extractors call.

The export contract: every built-in task's ``extract`` is a top-level function whose only
globals are ``np``, ``math`` and ``fl`` (this module), and every function here uses only
``np`` and ``math``. So ``inspect.getsource`` of an extractor plus this module's source
is a standalone field reader (``tests/envs/test_envs_contract.py`` checks it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Attribute the extractors keep their step counter in, on the unwrapped env.
STEPS_ATTR = "_rewardsmith_steps"


def count_step(env: Any, action: Any) -> int:
    """Steps since the last reset: 0 on reset (``action is None``), then 1, 2, ...

    For envs that keep no clock of their own; the counter lives on the env itself.
    """
    steps = 0 if action is None else getattr(env, STEPS_ATTR, 0) + 1
    setattr(env, STEPS_ATTR, steps)
    return steps


def wrap_angle(angle: float) -> float:
    """``angle`` wrapped to ``[-pi, pi)``."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def vector(values: Any) -> np.ndarray:
    """A float64 copy (the simulator overwrites its arrays in place on the next step)."""
    return np.array(values, dtype=np.float64).reshape(-1)


def planar_root(qpos: np.ndarray, qvel: np.ndarray, height_offset: float) -> dict[str, Any]:
    """Fields of a planar walker whose first three joints are rootx, rootz, rooty (pitch).

    Args:
        qpos: Generalised positions.
        qvel: Generalised velocities.
        height_offset: Added to rootz to give the torso height above the ground.
    """
    x, z, pitch = (float(v) for v in qpos[:3])
    x_dot, z_dot, pitch_dot = (float(v) for v in qvel[:3])
    return {
        "x_position": x,
        "x_velocity": x_dot,
        "torso_height": z + height_offset,
        "z_velocity": z_dot,
        "torso_angle": pitch,
        "torso_angular_velocity": pitch_dot,
        "torso_upright": math.cos(pitch),
        "joint_angles": vector(qpos[3:]),
        "joint_velocities": vector(qvel[3:]),
    }


def quat_up_vector(quat: Any) -> np.ndarray:
    """The body's z axis in world coordinates, from a MuJoCo ``(w, x, y, z)`` quaternion."""
    w, x, y, z = (float(v) for v in quat)
    return np.array(
        [2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)],
        dtype=np.float64,
    )


def quat_yaw_pitch_roll(quat: Any) -> tuple[float, float, float]:
    """Yaw (about world z), pitch (about y), roll (about x), in radians, ZYX convention."""
    w, x, y, z = (float(v) for v in quat)
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    sin_pitch = max(-1.0, min(1.0, 2.0 * (w * y - z * x)))
    pitch = math.asin(sin_pitch)
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    return yaw, pitch, roll


def free_root(qpos: np.ndarray, qvel: np.ndarray) -> dict[str, Any]:
    """Fields of a body on a free joint (qpos: x, y, z, quaternion; qvel: linear, angular).

    MuJoCo's free-joint angular velocity is in the body frame; the yaw rate is taken
    about the world's vertical so that "turning" means the same however the body tilts.
    """
    yaw, pitch, roll = quat_yaw_pitch_roll(qpos[3:7])
    up = quat_up_vector(qpos[3:7])
    w, x, y, z = (float(v) for v in qpos[3:7])
    local = [float(v) for v in qvel[3:6]]
    # World angular velocity = R @ local; its z row of the rotation matrix.
    r20 = 2.0 * (x * z - w * y)
    r21 = 2.0 * (y * z + w * x)
    r22 = 1.0 - 2.0 * (x * x + y * y)
    yaw_rate = r20 * local[0] + r21 * local[1] + r22 * local[2]
    return {
        "x_position": float(qpos[0]),
        "y_position": float(qpos[1]),
        "torso_height": float(qpos[2]),
        "x_velocity": float(qvel[0]),
        "y_velocity": float(qvel[1]),
        "z_velocity": float(qvel[2]),
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "up_vector": up,
        "torso_upright": float(up[2]),
        "yaw_rate": yaw_rate,
        "angular_velocity": vector(qvel[3:6]),
        "joint_angles": vector(qpos[7:]),
        "joint_velocities": vector(qvel[6:]),
    }


def contact_force_norms(cfrc_ext: np.ndarray, first: int, last: int) -> np.ndarray:
    """Per-body magnitude of the external contact force (N), bodies ``first:last``."""
    forces = np.asarray(cfrc_ext, dtype=np.float64)[first:last, 3:6]
    return np.sqrt(np.sum(forces * forces, axis=1))


def distance(a: Any, b: Any) -> float:
    """Euclidean distance between two points."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.sqrt(np.sum(diff * diff)))


def origin_offset(env: Any, action: Any, x: float, y: float) -> float:
    """Horizontal distance from where the episode started (remembered on the env at reset)."""
    if action is None or not hasattr(env, "_rewardsmith_origin"):
        env._rewardsmith_origin = (x, y)
    x0, y0 = env._rewardsmith_origin
    return math.hypot(x - x0, y - y0)
