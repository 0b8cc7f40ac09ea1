"""Expressions in task files: parsed, checked for unknown names, compiled once.

A field expression reads ``obs``, ``info``, ``action``, ``env`` (the unwrapped env) and,
for MuJoCo envs, ``data`` / ``model`` plus helpers that look bodies, joints, sites and
geoms up by name (``body_pos("torso")``, ``joint_qpos("rootz")``...). A fitness
expression reads the fields by name, ``prev`` (the fields before the step) and
``native`` (the env's reward). ``np`` and ``math`` are always there.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from types import CodeType
from typing import Any

import numpy as np

from rewardsmith.sandbox.loader import prime_numpy

FIELD_NAMES = frozenset({"obs", "info", "action", "env", "data", "model"})
#: Helper name -> (MuJoCo object kind, what it returns).
HELPERS = {
    "body_pos": ("body", "world position (3,) of the body"),
    "body_quat": ("body", "world orientation quaternion (4,) of the body"),
    "body_com": ("body", "centre of mass (3,) of the body's subtree"),
    "joint_qpos": ("joint", "position coordinate(s) of the joint"),
    "joint_qvel": ("joint", "velocity coordinate(s) of the joint"),
    "site_pos": ("site", "world position (3,) of the site"),
    "geom_pos": ("geom", "world position (3,) of the geom"),
}
_FORBIDDEN = (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Starred)


class ExprError(ValueError):
    """A problem with one expression, phrased for the user."""


def compile_expr(source: str, allowed: Iterable[str]) -> CodeType:
    """Parse and check ``source`` (one Python expression) and compile it.

    Raises:
        ExprError: Malformed, uses a construct not allowed, or names an unknown variable.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"malformed expression {source.strip()!r}: {exc.msg}") from None
    known = set(allowed) | {"np", "math"} | set(_BUILTINS)
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN):
            raise ExprError(f"{type(node).__name__} is not allowed in {source.strip()!r}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise ExprError(f"dunder attribute {node.attr!r} is not allowed")
        if isinstance(node, ast.Name) and node.id not in known:
            available = ", ".join(sorted(known - set(_BUILTINS)))
            raise ExprError(
                f"unknown name {node.id!r} in {source.strip()!r}; available: {available}"
            )
    # Array methods in an expression (``obs[:3].sum()``) import numpy helpers on first use
    # through these builtins, which have no ``__import__``: numpy gets them now instead.
    prime_numpy()
    return compile(tree, "<task file>", "eval")


def helper_calls(source: str) -> list[tuple[str, str]]:
    """``(helper, name)`` for every ``helper("name")`` call with a literal name."""
    calls = []
    for node in ast.walk(ast.parse(source.strip(), mode="eval")):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in HELPERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            calls.append((node.func.id, node.args[0].value))
    return calls


#: Names an expression reads only a MuJoCo env provides.
MUJOCO_NAMES = frozenset({"data", "model"})


def names_read(source: str) -> set[str]:
    """Every bare name ``source`` reads (``data`` in ``data.qpos[0]``)."""
    tree = ast.parse(source.strip(), mode="eval")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def mujoco_names(model: Any, kind: str) -> list[str]:
    """Names of the model's objects of ``kind`` (body, joint, site, geom)."""
    count = {"body": model.nbody, "joint": model.njnt, "site": model.nsite, "geom": model.ngeom}
    getter = getattr(model, kind)
    names = []
    for index in range(count[kind]):
        name = getter(index).name
        if name:
            names.append(name)
    return names


def mujoco_helpers(env: Any) -> dict[str, Any]:
    """The name-lookup helpers bound to ``env``'s MuJoCo data (empty for other envs)."""
    data = getattr(env, "data", None)
    model = getattr(env, "model", None)
    if data is None or model is None or not hasattr(data, "body"):
        return {}

    def body_pos(name: str) -> np.ndarray:
        return np.array(data.body(name).xpos, dtype=np.float64)

    def body_quat(name: str) -> np.ndarray:
        return np.array(data.body(name).xquat, dtype=np.float64)

    def body_com(name: str) -> np.ndarray:
        return np.array(data.body(name).subtree_com, dtype=np.float64)

    def joint_qpos(name: str) -> Any:
        value = np.array(data.joint(name).qpos, dtype=np.float64)
        return float(value[0]) if value.size == 1 else value

    def joint_qvel(name: str) -> Any:
        value = np.array(data.joint(name).qvel, dtype=np.float64)
        return float(value[0]) if value.size == 1 else value

    def site_pos(name: str) -> np.ndarray:
        return np.array(data.site(name).xpos, dtype=np.float64)

    def geom_pos(name: str) -> np.ndarray:
        return np.array(data.geom(name).xpos, dtype=np.float64)

    return {
        "data": data,
        "model": model,
        "body_pos": body_pos,
        "body_quat": body_quat,
        "body_com": body_com,
        "joint_qpos": joint_qpos,
        "joint_qvel": joint_qvel,
        "site_pos": site_pos,
        "geom_pos": geom_pos,
    }


def evaluate(code: CodeType, names: dict[str, Any]) -> Any:
    """Evaluate compiled ``code`` with ``names`` (plus ``np`` and ``math``)."""
    scope = {"np": np, "math": math, **names}
    return eval(code, {"__builtins__": _BUILTINS}, scope)


_BUILTINS = {"abs": abs, "min": min, "max": max, "float": float, "int": int, "len": len, "sum": sum}
