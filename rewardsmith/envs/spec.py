"""What a task is: the env, the named state fields a reward may read, how success is measured.

A :class:`TaskSpec` is the only thing the rest of rewardsmith knows about an environment.
The designer sees field names, units and meanings and the fitness measure's name and
meaning; it never sees the fitness code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

#: Values of one env's state fields at one moment (floats or small arrays).
Fields = Mapping[str, Any]
#: Reads one (unwrapped) env's state after a reset or step: ``extract(env, obs, action)``.
Extractor = Callable[[Any, np.ndarray, Any], dict[str, Any]]
#: Per-step fitness term: ``step(prev_fields, fields, native_reward)``.
FitnessStep = Callable[[Fields, Fields, float], float]

BUDGET_NAMES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class StateField:
    """One named quantity a reward may read.

    Args:
        name: Python identifier used as a ``compute_reward`` parameter.
        shape: Per-env shape (``()`` for a scalar); the reward receives ``(n, *shape)``.
        unit: Physical unit, e.g. ``"m/s"``, or ``"-"`` when unitless.
        meaning: One sentence a designer can act on.
        tags: Machine-readable roles for the offline designer, e.g. ``"forward_velocity"``,
            ``"x_position"``, ``"height"``, ``"angle"``, ``"angular_velocity"``, ``"upright"``.
    """

    name: str
    shape: tuple[int, ...]
    unit: str
    meaning: str
    tags: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, name: str, unit: str, meaning: str, *tags: str, shape: tuple[int, ...] = ()
    ) -> StateField:
        """The compact form task modules declare fields in: tags as trailing arguments."""
        return cls(name, shape, unit, meaning, frozenset(tags))


@dataclass(frozen=True)
class FitnessMeasure:
    """The task's own measure of success for one behaviour.

    The per-step value is accumulated over an episode with ``aggregate``; the sparse
    baseline trains on the per-step value alone as its reward.

    Args:
        name: Identifier users pass to ``--fitness``.
        meaning: What it measures, shown to the designer.
        unit: Unit of the episode value.
        step: Per-step term, from the fields before and after the step and the env reward.
        aggregate: How per-step terms become the episode value.
        success_threshold: Episode value at or above which the behaviour counts as achieved;
            ``None`` where the task does not say what success is (a generic env that declares
            no ``reward_threshold``): success rates are then not reported, and a search
            cannot stop at success.
    """

    name: str
    meaning: str
    unit: str
    step: FitnessStep
    aggregate: Literal["sum", "mean", "last", "max"]
    success_threshold: float | None

    def reached(self, value: float | None) -> bool:
        """Whether an episode (or mean) value counts as success (never without a threshold)."""
        threshold = self.success_threshold
        return value is not None and threshold is not None and value >= threshold

    def success_rate(self, values: Sequence[float]) -> float | None:
        """Share of ``values`` that count as success; ``None`` without a threshold or values."""
        if self.success_threshold is None or not values:
            return None
        return sum(self.reached(v) for v in values) / len(values)

    def threshold_text(self) -> str:
        """The threshold with its unit, or a word saying there is none."""
        if self.success_threshold is None:
            return "none declared"
        return f"{self.success_threshold:g} {self.unit}"


@dataclass(frozen=True)
class PPOPreset:
    """A training budget with the PPO settings that go with it (RL-Zoo style).

    Args:
        total_timesteps: Env steps of training.
        n_envs: Parallel envs in one (single-process) vector env.
        ppo: Keyword arguments for ``stable_baselines3.PPO`` (``policy_kwargs`` as plain data).
        normalize: Wrap in ``VecNormalize`` (observations and rewards).
        eval_episodes: Deterministic episodes per fitness checkpoint.
        checkpoints: How many times fitness is measured during training.
        anneal: PPO settings (``learning_rate``, ``clip_range``) that fall linearly from
            their value in ``ppo`` to 0 over ``total_timesteps``, as RL-Zoo's ``lin_``
            values do; the others stay constant.
    """

    total_timesteps: int
    n_envs: int
    ppo: Mapping[str, Any]
    normalize: bool = False
    eval_episodes: int = 5
    checkpoints: int = 10
    anneal: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskSpec:
    """A built-in or user-declared task.

    Args:
        id: Registry id, usually the gymnasium id (``"HalfCheetah-v5"``).
        env_id: Gymnasium id passed to ``gymnasium.make``.
        description: Default behaviour in words.
        fields: State fields available to ``compute_reward`` (``action`` is always there too).
        extract: Reads the fields from one unwrapped env.
        fitness: Measures of success; the first is the default.
        presets: ``smoke`` / ``quick`` / ``full`` budgets.
        action_meaning: What the action vector does, for the designer.
        termination: When episodes end early, for the designer ("" when they never do).
        ends_early: Whether an episode can end before its time limit. A task whose episodes
            all have the same length is indifferent to a constant added to every step,
            so deduplication may treat shifted rewards as twins; where episodes can end
            early a constant is a survival bonus or penalty and changes the optimum.
            ``True`` is the safe default for an env nobody has declared.
        native_reward: Whether the env's own reward is a meaningful baseline.
        env_kwargs: Extra keyword arguments for ``gymnasium.make``.
        family: ``"classic"``, ``"mujoco"`` or ``"box2d"``.
    """

    id: str
    env_id: str
    description: str
    fields: tuple[StateField, ...]
    extract: Extractor
    fitness: tuple[FitnessMeasure, ...]
    presets: Mapping[str, PPOPreset]
    action_meaning: str
    termination: str = ""
    ends_early: bool = True
    native_reward: bool = True
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    family: str = "classic"

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names a reward may take as parameters, ``action`` included."""
        return (*(f.name for f in self.fields), "action")

    def get_fitness(self, name: str | None = None) -> FitnessMeasure:
        """The fitness measure called ``name`` (the default one when ``None``).

        Raises:
            KeyError: With the available names, when ``name`` is unknown.
        """
        if name is None:
            return self.fitness[0]
        for measure in self.fitness:
            if measure.name == name:
                return measure
        known = ", ".join(m.name for m in self.fitness)
        raise KeyError(f"task {self.id!r} has no fitness {name!r}; choose one of: {known}")

    def preset(self, budget: str | int) -> PPOPreset:
        """The preset for a named budget, or ``quick`` rescaled to ``budget`` env steps."""
        if isinstance(budget, int):
            return replace(self.presets["quick"], total_timesteps=budget)
        return self.presets[budget]
