"""Fitness measures shared by the built-in tasks: per-step terms over the state fields.

Every step function reads the fields before and after one step (and, for
``native_return`` only, the env's own reward). Parameters are bound with
``functools.partial`` so the measures stay picklable plain functions.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from rewardsmith.envs.spec import Fields, FitnessMeasure


def native_step(prev: Fields, fields: Fields, native: float) -> float:
    """The env's own reward."""
    return native


def one_step(prev: Fields, fields: Fields, native: float) -> float:
    """1 for every step the episode lasts."""
    return 1.0


def displacement_step(prev: Fields, fields: Fields, native: float, key: str, sign: float) -> float:
    """Signed change of the field ``key`` over the step."""
    return sign * (fields[key] - prev[key])


def speed_tracking_step(
    prev: Fields, fields: Fields, native: float, key: str, target: float, steps: int
) -> float:
    """``max(0, 1 - |v - target| / target) / steps``: sums to 1 for a whole episode on target.

    ``v`` is the finite-difference speed over the step (position change / time change),
    which averages the within-stride oscillation of a gait better than the torso's
    instantaneous velocity.
    """
    dt = fields["time"] - prev["time"]
    if dt <= 0:
        return 0.0
    speed = (fields[key] - prev[key]) / dt
    return max(0.0, 1.0 - abs(speed - target) / abs(target)) / steps


def native_return(meaning: str, threshold: float) -> FitnessMeasure:
    """The env's own episode return as a measure."""
    return FitnessMeasure(
        "native_return", "The env's own return: " + meaning, "reward", native_step, "sum", threshold
    )


def distance_measure(
    name: str, key: str, sign: float, meaning: str, threshold: float
) -> FitnessMeasure:
    """Net displacement of ``key`` (times ``sign``) over the episode, in metres."""
    step = partial(displacement_step, key=key, sign=sign)
    return FitnessMeasure(name, meaning, "m", step, "sum", threshold)


def speed_tracking(key: str, target: float, steps: int, threshold: float) -> FitnessMeasure:
    """How closely the speed along ``key`` holds ``target`` over a full episode."""
    step = partial(speed_tracking_step, key=key, target=target, steps=steps)
    return FitnessMeasure(
        f"speed_{target:g}",
        f"Mean over the full {steps}-step episode of max(0, 1 - |speed - {target:g}| / "
        f"{target:g}), with speed the torso's {key.split('_')[0]} displacement per second: 1 "
        "for an episode spent exactly at the target speed; steps after an early end count 0.",
        "-",
        step,
        "sum",
        threshold,
    )


def finite(value: float) -> float:
    """``value``, or 0 when it is not finite (a diverged simulation scores nothing)."""
    return value if math.isfinite(value) else 0.0


def all_finite(fields: Fields) -> bool:
    """Whether every field value is finite."""
    return all(bool(np.all(np.isfinite(v))) for v in fields.values())
