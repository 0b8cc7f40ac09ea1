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


def quat_yaw_pitch_roll(quat: Any) -> tuple[float, float, float]:
    """Yaw (about world z), pitch (about y), roll (about x), in radians, ZYX convention."""
    w, x, y, z = (float(v) for v in quat)
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    sin_pitch = max(-1.0, min(1.0, 2.0 * (w * y - z * x)))
    pitch = math.asin(sin_pitch)
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    return yaw, pitch, roll


def quat_multiply(a: Any, b: Any) -> np.ndarray:
    """Hamilton product ``a * b`` of ``(w, x, y, z)`` quaternions: rotate by b, then by a."""
    aw, ax, ay, az = (float(v) for v in a)
    bw, bx, by, bz = (float(v) for v in b)
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dtype=np.float64,
    )


def quat_matrix(quat: Any) -> np.ndarray:
    """The 3x3 rotation matrix of a ``(w, x, y, z)`` quaternion (body to world)."""
    w, x, y, z = (float(v) for v in quat)
    return np.array(
        [
            [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
            [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
            [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
        ],
        dtype=np.float64,
    )


def free_root(qpos: np.ndarray, qvel: np.ndarray, level: Any = None) -> dict[str, Any]:
    """Fields of a body on a free joint (qpos: x, y, z, quaternion; qvel: linear, angular).

    MuJoCo's free-joint angular velocity is in the body frame; the yaw rate is taken
    about the world's vertical so that "turning" means the same however the body tilts.

    Args:
        qpos: Generalised positions, the free joint's first.
        qvel: Generalised velocities, the free joint's first.
        level: The ``(w, x, y, z)`` rotation from the frame a reader calls upright and
            facing +x to the body's own frame, where the two differ; None where the body's
            frame is upright at rest. HumanoidStandup's torso is modelled lying on its
            back (its head along the frame's -x), so its own frame's z axis points up
            while it lies flat; orientation fields read in that frame would call lying
            "upright".
    """
    quat = np.asarray(qpos[3:7], dtype=np.float64)
    local = np.asarray(qvel[3:6], dtype=np.float64)
    if level is not None:
        quat = quat_multiply(quat, level)
        # The same angular velocity, in the upright frame's axes.
        local = quat_matrix(level).T @ local
    yaw, pitch, roll = quat_yaw_pitch_roll(quat)
    rotation = quat_matrix(quat)
    # The body's z axis in world coordinates.
    up = vector(rotation[:, 2])
    # World angular velocity = R @ local; its z row of the rotation matrix.
    yaw_rate = float(rotation[2] @ local)
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
        "angular_velocity": vector(local),
        "joint_angles": vector(qpos[7:]),
        "joint_velocities": vector(qvel[6:]),
    }


def humanoid_fields(env: Any, action: Any, level: Any) -> dict[str, Any]:
    """The gymnasium humanoids' fields (Humanoid-v5, HumanoidStandup-v5: the same bodies).

    Args:
        env: The unwrapped MuJoCo env.
        action: The action just taken; None on reset.
        level: Passed to ``free_root``: the rotation to the frame read as upright.
    """
    data = env.data
    root = free_root(data.qpos, data.qvel, level)
    head = float(data.geom("head").xpos[2])
    hands = np.array(
        [data.geom("left_hand").xpos[2], data.geom("right_hand").xpos[2]], dtype=np.float64
    )
    # Bodies 6 and 9 are the right and left foot.
    feet = contact_force_norms(data.cfrc_ext, 0, 14)[[6, 9]]
    origin = origin_offset(env, action, root["x_position"], root["y_position"])
    return {
        **root,
        "head_height": head,
        "hands_above_head": hands - head,
        "foot_contact_forces": feet,
        "distance_from_start": origin,
        "time": float(data.time),
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
