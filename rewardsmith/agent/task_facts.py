"""What the offline designer reads off a task: tagged fields, actions, how episodes end.

Everything here is read from the ``TaskSpec``'s own words and tags (field tags, the
action meaning, the termination text), so that a task file written by a user gets the
same treatment as a built-in task.
"""

from __future__ import annotations

import re

from rewardsmith.envs.spec import StateField, TaskSpec

# Tag aliases: the spec's docstring once used "forward_velocity" for "x_velocity".
_TAG_ALIASES = {"x_velocity": ("x_velocity", "forward_velocity")}
#: Every tag the offline designer's terms are built on (what task-file fields may carry).
DESIGN_TAGS = (
    "x_position", "x_velocity", "forward_velocity", "y_velocity", "height", "angle",
    "angular_velocity", "upright", "yaw_rate", "goal_distance", "reach_distance",
    "hand_height", "joint_velocities", "landed", "crash", "contact",
)  # fmt: skip
# "tip" only as a verb: Acrobot's goal and InvertedDoublePendulum's floor read "tip_height".
_FAILURE_WORDS = re.compile(
    r"\b(fall\w*|unhealthy|tip(?:s|ped|ping)?|crash\w*|leav\w*|exceed\w*|beyond)\b|>|\|"
)
_SUCCESS_WORDS = re.compile(r"\b(goal|reach\w*|success\w*|flag|arriv\w*|target)\b")
# "comes to rest (a landing)": episodes end both on success and on failure.
_LANDING = re.compile(r"\bcomes? to rest\b|\bat rest\b|\ba landing\b")
_NOOP = re.compile(r"\b(\d+)\s+(?:does nothing|is none|is a no-?op)\b")
_NEVER = re.compile(r"never (?:end|terminat)|no early|do(?:es)? not end early|n't end early")


def tagged(task: TaskSpec, tag: str, scalar: bool = True) -> StateField | None:
    """The first field carrying ``tag`` (scalar fields only unless ``scalar`` is false)."""
    if tag not in DESIGN_TAGS:
        raise ValueError(f"tag {tag!r} is not in DESIGN_TAGS; add it there")
    for alias in _TAG_ALIASES.get(tag, (tag,)):
        for f in task.fields:
            if alias in f.tags and (not f.shape) == scalar:
                return f
    return None


def is_discrete(task: TaskSpec) -> bool:
    """Whether the action is a discrete integer (no energy penalty makes sense then)."""
    return "discrete" in task.action_meaning.lower()


def noop_action(task: TaskSpec) -> int | None:
    """The discrete action that does nothing, as the action meaning states it.

    Read from phrases like "1 does nothing" or "1 is none"; ``None`` for continuous
    actions and for discrete ones where every action acts (CartPole pushes either way).
    """
    if not is_discrete(task):
        return None
    match = _NOOP.search(task.action_meaning)
    return int(match.group(1)) if match else None


def termination_kind(task: TaskSpec) -> str:
    """``"failure"``, ``"success"`` (at the goal), ``"mixed"`` (landing or crash) or ``"none"``."""
    text = task.termination.lower()
    if not task.ends_early or not text.strip() or _NEVER.search(text):
        return "none"
    if _LANDING.search(text):
        return "mixed"
    # ">=" is how goals are written ("position >= 0.45"); "|x| >" is how failures are.
    if _SUCCESS_WORDS.search(text) and not _FAILURE_WORDS.search(text.replace(">=", "")):
        return "success"
    return "failure"


def termination_bound(task: TaskSpec, name: str) -> float | None:
    """The ``|name| > b`` bound in the termination text, in radians for angles."""
    pattern = (
        r"\|" + re.escape(name) + r"\|\s*>=?\s*([\d.]+)\s*(deg\w*|°|rad\w*|m\b)?"
        r"(?:\s*\(\s*([\d.]+)\s*rad\w*\s*\))?"
    )
    match = re.search(pattern, task.termination)
    if not match:
        return None
    if match.group(3):
        return float(match.group(3))
    value = float(match.group(1))
    unit = match.group(2) or ""
    return value * 3.141592653589793 / 180.0 if unit.startswith(("deg", "°")) else value


def termination_floor(task: TaskSpec, name: str) -> float | None:
    """The lower bound the termination text puts on ``name``.

    ``name <= b`` gives ``b``; ``name outside (a, b)`` and ``name leaves [a, b]`` give ``a``.
    """
    field = re.escape(name)
    below = re.search(field + r"\s*<=?\s*([\d.]+)", task.termination)
    if below:
        return float(below.group(1))
    band = re.search(field + r"\s+(?:outside|leaves)\s*[(\[]\s*([\d.]+)\s*,", task.termination)
    return float(band.group(1)) if band else None


def field_halfwidth(f: StateField) -> float | None:
    """Half the width of a range stated in the field's meaning (``within [-1, 1]``)."""
    match = re.search(r"\[\s*([-+]?[\d.]+)\s*,\s*([-+]?[\d.]+)\s*\]", f.meaning)
    if not match:
        return None
    low, high = float(match.group(1)), float(match.group(2))
    return abs(high - low) / 2 or None


def episode_steps(task: TaskSpec, default: int = 1000) -> int:
    """The step limit the termination text states ("cut off after 1000 steps")."""
    match = re.search(r"after\s+([\d,]+)\s+steps", task.termination)
    return int(match.group(1).replace(",", "")) if match else default


def free_body(task: TaskSpec) -> bool:
    """Whether the body floats free in 3-D: an up-vector field, and no planar pitch angle.

    Ant and Humanoid carry ``upright`` (the torso's up-vector); the planar walkers and
    the pendulums carry an ``angle`` instead.
    """
    return tagged(task, "upright") is not None and tagged(task, "angle") is None
