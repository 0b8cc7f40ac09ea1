"""MuJoCo's warnings, routed to logging where rewardsmith makes an env in the user's process.

MuJoCo's own handler prints each warning to stderr and appends it to ``MUJOCO_LOG.TXT``
in the current folder: validating a HalfCheetah task file left that file in the user's
folder and printed gymnasium's ``settotalmass`` deprecation, which is nothing the user
can act on. :func:`~rewardsmith.envs.generic.make_env` routes them; training envs are made
with ``gymnasium.make`` directly, so a worker keeps MuJoCo's handler (its stderr is kept
for diagnosis and its folder is scratch) unless it builds a generic task.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _log_warning(message: str) -> None:
    logger.info("MuJoCo: %s", message)


def route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to this module's logger (``-v`` shows them); no-op without it."""
    try:
        import mujoco
    except ImportError:
        return
    mujoco.set_mju_user_warning(_log_warning)
