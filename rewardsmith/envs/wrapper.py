"""A gymnasium wrapper that reads the task's state fields and measures its fitness.

Fields are read from the simulator after every reset and step and passed on in
``info["fields"]``; the reward VecEnv wrapper stacks them across envs and calls the
candidate reward once per vector step. At the end of an episode ``info["episode"]``
holds the episode's fitness, native return, length and how it ended.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rewardsmith.envs.spec import FitnessMeasure, TaskSpec

RewardMode = Literal["native", "sparse", "candidate"]


class TaskWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Expose ``spec``'s state fields and accumulate ``measure`` per episode.

    Args:
        env: The env made from ``spec.env_id``.
        spec: The task.
        measure: Which fitness to accumulate.
        reward_mode: ``"native"`` keeps the env reward, ``"sparse"`` replaces it with the
            fitness step, ``"candidate"`` keeps it (the VecEnv wrapper replaces it later).
    """

    def __init__(
        self, env: gym.Env, spec: TaskSpec, measure: FitnessMeasure, reward_mode: RewardMode
    ) -> None:
        # Recorded so gymnasium can re-create the wrapped env from its spec (check_env does).
        gym.utils.RecordConstructorArgs.__init__(
            self, spec=spec, measure=measure, reward_mode=reward_mode
        )
        super().__init__(env)
        self.spec_ = spec
        self.measure = measure
        self.reward_mode = reward_mode
        self._fields: dict[str, Any] = {}
        self._terms: list[float] = []
        self._native_return = 0.0

    def _read(self, obs: np.ndarray, action: Any, info: dict[str, Any]) -> dict[str, Any]:
        extract = self.spec_.extract
        # Task-file extractors may read the step's info dict; built-in ones never do.
        if getattr(extract, "takes_info", False):
            return extract(self.env.unwrapped, obs, action, info=info)
        return extract(self.env.unwrapped, obs, action)

    def _fitness_step(
        self,
        previous: dict[str, Any],
        fields: dict[str, Any],
        native: float,
        obs: Any,
        action: Any,
        info: dict[str, Any],
    ) -> float:
        step = self.measure.step
        # Task-file fitness expressions may read the step itself; built-in ones never do.
        if getattr(step, "takes_step", False):
            return step(
                previous, fields, native, env=self.env.unwrapped, obs=obs, action=action, info=info
            )
        return step(previous, fields, native)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the episode accumulators."""
        obs, info = self.env.reset(**kwargs)
        self._fields = self._read(obs, None, info)
        self._terms = []
        self._native_return = 0.0
        info["fields"] = self._fields
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step, read the fields, add the fitness term; report the episode at its end."""
        obs, native, terminated, truncated, info = self.env.step(action)
        fields = self._read(obs, action, info)
        previous = self._fields
        term = float(self._fitness_step(previous, fields, float(native), obs, action, info))
        self._fields = fields
        self._terms.append(term)
        self._native_return += float(native)
        info["fields"] = fields
        info["prev_fields"] = previous  # for rewards that take prev_<field>
        info["fitness_step"] = term
        if terminated or truncated:
            info["episode_stats"] = {
                "fitness": aggregate(self._terms, self.measure.aggregate),
                "native_return": self._native_return,
                "length": len(self._terms),
                "ended_by": "termination" if terminated else "time limit",
            }
        reward = term if self.reward_mode == "sparse" else float(native)
        return obs, reward, terminated, truncated, info


def aggregate(terms: list[float], how: str) -> float:
    """Reduce per-step fitness terms to an episode value."""
    if not terms:
        return 0.0
    if how == "sum":
        return float(np.sum(terms))
    if how == "mean":
        return float(np.mean(terms))
    if how == "last":
        return float(terms[-1])
    if how == "max":
        return float(np.max(terms))
    raise ValueError(f"unknown aggregate {how!r}; use sum, mean, last or max")


def make_task_env(
    spec: TaskSpec,
    fitness: str | None = None,
    reward_mode: RewardMode = "candidate",
    render_mode: str | None = None,
) -> TaskWrapper:
    """Make ``spec``'s env wrapped in :class:`TaskWrapper`."""
    kwargs = dict(spec.env_kwargs)
    if render_mode is not None:
        # Only when asked: a user's env class need not take render_mode at all.
        kwargs["render_mode"] = render_mode
    env = gym.make(spec.env_id, **kwargs)
    return TaskWrapper(env, spec, spec.get_fitness(fitness), reward_mode)
