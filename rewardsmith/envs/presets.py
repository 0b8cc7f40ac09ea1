"""Shared helpers for the built-in tasks' training presets (RL-Zoo style PPO settings).

The presets are plain data so a run can save them in ``run.json``: no callables, no
schedule strings, ``policy_kwargs`` as a dict of builtins. A setting that falls to 0 during
training is named in ``PPOPreset.anneal`` and keeps its starting value in ``ppo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewardsmith.envs.spec import BUDGET_NAMES, PPOPreset

# Keys every built-in preset states explicitly, so a report shows the whole PPO setup.
_REQUIRED_PPO_KEYS = (
    "n_steps",
    "batch_size",
    "n_epochs",
    "gamma",
    "gae_lambda",
    "learning_rate",
    "clip_range",
    "ent_coef",
    "policy_kwargs",
)
_PLAIN = (bool, int, float, str, type(None))


def ppo_kwargs(base: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """PPO keyword arguments: ``base`` updated with ``overrides``, checked to be plain data.

    Args:
        base: Settings to start from (copied, never modified).
        **overrides: Settings that replace or add to ``base``.

    Raises:
        ValueError: A required key is missing or a value is not plain data.

    """
    kwargs = {**(base or {}), **overrides}
    missing = [key for key in _REQUIRED_PPO_KEYS if key not in kwargs]
    if missing:
        raise ValueError(f"PPO settings lack {', '.join(missing)}")
    for key, value in kwargs.items():
        _check_plain(key, value)
    if "learning_rate" in kwargs:
        kwargs["learning_rate"] = float(kwargs["learning_rate"])
    return kwargs


def _check_plain(key: str, value: Any) -> None:
    # Schedules and activation classes would not survive run.json, and the worker
    # rebuilds PPO from this data; so only builtins are allowed.
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_plain(key, item)
        return
    if isinstance(value, Mapping):
        for item in value.values():
            _check_plain(key, item)
        return
    raise ValueError(f"PPO setting {key!r} must be plain data, not {type(value).__name__}")


def budget_presets(**presets: PPOPreset) -> dict[str, PPOPreset]:
    """Check and order the ``smoke`` / ``quick`` / ``full`` presets of one task.

    Raises:
        ValueError: A budget is missing, an unknown one is given, or one trains for less
            than one rollout.

    """
    if set(presets) != set(BUDGET_NAMES):
        raise ValueError(
            f"presets must be exactly {', '.join(BUDGET_NAMES)}; got {sorted(presets)}"
        )
    for name, preset in presets.items():
        rollout = preset.n_envs * int(preset.ppo["n_steps"])
        if preset.total_timesteps < rollout:
            raise ValueError(f"preset {name!r} trains for less than one rollout ({rollout} steps)")
        _check_anneal(name, preset)
    return {name: presets[name] for name in BUDGET_NAMES}


#: PPO settings a preset may anneal: the two RL-Zoo gives ``lin_`` schedules.
ANNEALABLE = ("learning_rate", "clip_range")


def _check_anneal(name: str, preset: PPOPreset) -> None:
    for setting in preset.anneal:
        if setting not in ANNEALABLE:
            raise ValueError(
                f"preset {name!r} anneals {setting!r}; only {' and '.join(ANNEALABLE)} can "
                "fall to 0 during training"
            )
        if not isinstance(preset.ppo.get(setting), int | float):
            raise ValueError(
                f"preset {name!r} anneals {setting!r}, which its ppo settings give no "
                "number for; set one to start from"
            )


#: RL-Zoo's published PPO results (benchmark.md: mean episode return of its trained agent,
#: training steps), for the v3/v2 versions of these envs; the built-in tasks' ``full``
#: presets use the zoo's settings, and their ``native_return`` success thresholds sit at
#: or below these numbers so that ``full`` training with the native reward reaches them.
RL_ZOO_PPO = {
    "Acrobot-v1": (-73.5, 1_000_000),
    "Ant-v5": (1327.2, 1_000_000),
    "BipedalWalker-v3": (213.3, 5_000_000),
    "CartPole-v1": (500.0, 100_000),
    "HalfCheetah-v5": (5819.1, 1_000_000),
    "Hopper-v5": (2410.4, 1_000_000),
    "LunarLander-v3": (242.1, 1_000_000),
    "LunarLanderContinuous-v3": (270.9, 1_000_000),
    "MountainCar-v0": (-110.4, 1_000_000),
    "MountainCarContinuous-v0": (88.3, 20_000),
    "Pendulum-v1": (-172.2, 100_000),
    "Swimmer-v5": (281.6, 1_000_000),
    "Walker2d-v5": (3478.8, 1_000_000),
}
