"""All built-in MuJoCo tasks (imported for their ``register`` side effect).

The tasks live in one module per family: balancing (``mujoco_control``), planar
locomotion (``mujoco_locomotion``), swimming (``mujoco_swimmer``), free-joint bodies
(``mujoco_3d``) and arms (``mujoco_manipulation``).
"""

from __future__ import annotations

from rewardsmith.envs import (  # noqa: F401
    mujoco_3d,
    mujoco_control,
    mujoco_locomotion,
    mujoco_manipulation,
    mujoco_swimmer,
)
