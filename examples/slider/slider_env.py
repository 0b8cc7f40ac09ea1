"""A user's own env, as rewardsmith sees one: a block on a rail, pushed to a goal.

``slide_to_goal.toml`` beside this file names it as ``env = "slider_env:Slider"``;
rewardsmith imports this module from the task file's folder, in the CLI and in every
training worker.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

RAIL = 2.0  # |x| beyond this and the block has left the rail


class Slider(gym.Env):
    """A unit mass on a frictional rail, pushed by a bounded force toward a random goal.

    Observation: ``[x, v, goal]`` (m, m/s, m). Action: the force, in [-1, 1] N. The env's
    own reward is minus the distance to the goal each step; the episode ends when the
    block leaves the rail (``|x| > 2``). It sets no time limit: the task file does.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    dt = 0.05  # s per step
    friction = 0.5  # 1/s: velocity lost per second, per m/s

    def __init__(self, goal_range: float = 1.0) -> None:
        self.goal_range = goal_range
        # |x| passes RAIL by one step at most; |v| stays below 1 N / friction = 2 m/s.
        high = np.array([RAIL + 0.5, 2.5, goal_range], dtype=np.float32)
        self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.x = self.v = self.goal = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.v, self.goal], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The block at rest at x = 0, the goal drawn in ``[-goal_range, goal_range]``."""
        super().reset(seed=seed)
        self.x, self.v = 0.0, 0.0
        self.goal = float(self.np_random.uniform(-self.goal_range, self.goal_range))
        return self._obs(), {"goal": self.goal}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Push with ``action[0]`` N for one step; the reward is minus the distance."""
        force = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        self.v += (force - self.friction * self.v) * self.dt
        self.x += self.v * self.dt
        distance = abs(self.x - self.goal)
        off_rail = abs(self.x) > RAIL
        return self._obs(), -distance, off_rail, False, {"distance": distance}
