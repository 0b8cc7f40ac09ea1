"""Deterministic evaluation of a policy on the task's fitness."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv


@dataclass
class Evaluation:
    """What deterministic episodes of a policy showed.

    Args:
        fitness: Task fitness per episode.
        returns: The training reward's return per episode (candidate, native or sparse).
        native_returns: The env's own return per episode.
        lengths: Episode lengths.
        ended_by: How episodes ended (``termination`` or ``time limit``).
        field_ranges: ``name -> [min, max]`` of each scalar field over all steps.
    """

    fitness: list[float] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    native_returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    ended_by: Counter[str] = field(default_factory=Counter)
    field_ranges: dict[str, list[float]] = field(default_factory=dict)
    _not_scalar: set[str] = field(default_factory=set, repr=False)

    def _track_fields(self, infos: list[dict[str, Any]]) -> None:
        # Runs for every env on every evaluation step: a field's shape is fixed, so it is
        # looked at once, and the rest is plain float comparisons.
        ranges, skip = self.field_ranges, self._not_scalar
        for info in infos:
            for name, value in info.get("fields", {}).items():
                if name in skip:
                    continue
                lo_hi = ranges.get(name)
                if lo_hi is None:
                    if np.ndim(value) != 0:
                        skip.add(name)
                        continue
                    v = float(value)
                    ranges[name] = [v, v]
                    continue
                v = float(value)
                if v < lo_hi[0]:
                    lo_hi[0] = v
                elif v > lo_hi[1]:
                    lo_hi[1] = v


def evaluate_policy(model: Any, venv: VecEnv, episodes: int, seed: int) -> Evaluation:
    """Run ``episodes`` deterministic episodes spread evenly over ``venv``'s envs.

    Each env runs a fixed share of episodes (as SB3's ``evaluate_policy`` does), so short
    episodes do not crowd out long ones and bias the mean.
    """
    n = venv.num_envs
    targets = np.array([(episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=int)
    running = np.zeros(n)
    result = Evaluation()
    venv.seed(seed)
    obs = venv.reset()
    while (counts < targets).any():
        actions, _ = model.predict(obs, deterministic=True)
        obs, rewards, dones, infos = venv.step(actions)
        running += rewards
        result._track_fields(infos)
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                stats = infos[i]["episode_stats"]
                result.fitness.append(float(stats["fitness"]))
                result.native_returns.append(float(stats["native_return"]))
                result.lengths.append(int(stats["length"]))
                result.ended_by[stats["ended_by"]] += 1
                result.returns.append(float(running[i]))
                counts[i] += 1
            running[i] = 0.0
    return result
