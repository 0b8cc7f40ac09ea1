"""Small TaskSpec fixtures with tags, for the designer tests (no simulator needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardsmith.envs.spec import FitnessMeasure, PPOPreset, StateField, TaskSpec


def _nothing(env: Any, obs: np.ndarray, action: Any) -> dict[str, Any]:
    return {}


def _one(prev: Any, fields: Any, native: float) -> float:
    return 1.0


def _secret_fitness_code(prev: Any, fields: Any, native: float) -> float:
    return float(fields["x"])


_PRESETS = {name: PPOPreset(1024, 1, {"n_steps": 1024}) for name in ("smoke", "quick", "full")}


def field(name: str, meaning: str, *tags: str, shape: tuple[int, ...] = ()) -> StateField:
    """A state field with tags."""
    return StateField(name, shape, "-", meaning, frozenset(tags))


CARTPOLE = TaskSpec(
    id="TestCartPole",
    env_id="CartPole-v1",
    description="Keep the pole balanced upright on the cart for the whole episode.",
    fields=(
        field("cart_position", "Cart x; +x is right.", "x_position"),
        field("cart_velocity", "Cart velocity.", "x_velocity"),
        field("pole_angle", "Pole angle; 0 is upright.", "angle"),
        field("pole_angular_velocity", "Pole angle rate.", "angular_velocity"),
        field("pole_upright", "cos(pole_angle).", "upright"),
        field("time", "Seconds.", "time"),
    ),
    extract=_nothing,
    fitness=(
        FitnessMeasure("balance_steps", "Steps the pole stays up.", "steps", _one, "sum", 475.0),
    ),
    presets=_PRESETS,
    action_meaning="Discrete: 0 pushes left, 1 pushes right; an integer array of shape (n,).",
    termination="The episode ends when |pole_angle| > 12 degrees (0.2095 rad) or "
    "|cart_position| > 2.4 m; it is cut off after 500 steps.",
)

PENDULUM = TaskSpec(
    id="TestInvertedPendulum",
    env_id="InvertedPendulum-v5",
    description="Keep the pole balanced upright on the cart for the whole episode.",
    fields=(
        field("cart_position", "Cart x on the rail, within [-1, 1].", "x_position"),
        field("cart_velocity", "Cart velocity.", "x_velocity"),
        field("pole_angle", "Pole angle; 0 is upright.", "angle"),
        field("pole_angular_velocity", "Pole angle rate.", "angular_velocity"),
    ),
    extract=_nothing,
    fitness=(
        FitnessMeasure("balance_steps", "Steps with the pole up.", "steps", _one, "sum", 950.0),
    ),
    presets=_PRESETS,
    action_meaning="Box(1): force on the cart in [-3, 3].",
    termination="The episode ends when |pole_angle| > 0.2 rad; it is cut off after 1000 steps.",
)

CHEETAH = TaskSpec(
    id="TestCheetah",
    env_id="HalfCheetah-v5",
    description="Run forward (+x) as fast as possible.",
    fields=(
        field("x_position", "Torso x.", "x_position"),
        field("x_velocity", "Torso velocity along x.", "x_velocity"),
        field("torso_height", "Torso height.", "height"),
        field("torso_angle", "Torso pitch.", "angle"),
        field("torso_angular_velocity", "Pitch rate.", "angular_velocity"),
        field("joint_angles", "Joint angles.", "joint_angles", shape=(6,)),
        field("joint_velocities", "Joint velocities.", "joint_velocities", shape=(6,)),
    ),
    extract=_nothing,
    fitness=(
        FitnessMeasure(
            "forward_distance", "Metres moved forward.", "m", _secret_fitness_code, "sum", 50.0
        ),
    ),
    presets=_PRESETS,
    action_meaning="Box(6): torques in [-1, 1].",
    termination="Episodes never end early; they are cut off after 1000 steps.",
    ends_early=False,
)

REACHER = TaskSpec(
    id="TestReacher",
    env_id="Reacher-v5",
    description="Move the fingertip to the target.",
    fields=(
        field("goal_distance", "Fingertip to target distance, in [0, 0.4].", "goal_distance"),
        field("joint_velocities", "Joint velocities.", "joint_velocities", shape=(2,)),
    ),
    extract=_nothing,
    fitness=(FitnessMeasure("reached", "1 when the target is reached.", "-", _one, "max", 1.0),),
    presets=_PRESETS,
    action_meaning="Box(2): joint torques.",
    termination="The episode ends when the fingertip reaches the goal.",
)

ALL_TASKS = (CARTPOLE, PENDULUM, CHEETAH, REACHER)


def random_batch(task: TaskSpec, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random field values for ``n`` envs, ``action`` included (ints for discrete tasks)."""
    batch = {f.name: rng.normal(size=(n, *f.shape)) for f in task.fields}
    batch |= {f"prev_{f.name}": rng.normal(size=(n, *f.shape)) for f in task.fields}
    if "discrete" in task.action_meaning.lower():
        batch["action"] = rng.integers(0, 2, size=n)
    else:
        batch["action"] = rng.uniform(-1, 1, size=(n, 3))
    return batch
