"""The reward contract: how ``compute_reward`` is called and what it must return.

``compute_reward`` takes state fields by name, each a numpy array whose first axis is
the batch of ``n`` parallel envs (``action`` is ``(n, act_dim)`` for Box actions and
``(n,)`` ints for Discrete ones; ``prev_<field>`` is a field one step earlier). It
returns ``(reward, components)``: ``reward`` of shape ``(n,)`` and ``components`` a dict
of named terms, each of shape ``(n,)``. A component given as a plain number (a common
habit) is broadcast to ``(n,)``; a reward of shape ``(n, 1)`` or a scalar reward is
refused, because either usually hides a mistake about the batch axis. Every value must
be finite.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

ENTRY_POINT = "compute_reward"
#: Most named components a reward may return: each becomes a column in every report, so a
#: runaway dict (e.g. one key per element) must not reach result.json or critic.json.
MAX_COMPONENTS = 64
#: Longest component name, for the same reason.
MAX_COMPONENT_NAME = 100
#: A parameter ``prev_<field>`` receives ``<field>`` as it was one step earlier in the same
#: episode (after the reset, on an episode's first step). Potential-based shaping,
#: ``phi(state) - phi(prev_state)``, needs it: it pays for progress and sums to the same
#: total however long the agent dawdles, so hovering or circling earns nothing.
PREVIOUS_PREFIX = "prev_"
#: How error messages that list the available inputs mention the step back.
PREVIOUS_HINT = f"{PREVIOUS_PREFIX}<field> for a field one step back"


def previous_field(name: str) -> str | None:
    """The field a ``prev_<field>`` parameter reads one step back (``None``: another name)."""
    if name.startswith(PREVIOUS_PREFIX) and len(name) > len(PREVIOUS_PREFIX):
        return name[len(PREVIOUS_PREFIX) :]
    return None


def is_reward_input(name: str, inputs: Collection[str]) -> bool:
    """Whether ``compute_reward`` may take ``name``, given the task's ``inputs``.

    Args:
        name: A parameter name.
        inputs: The task's field names and ``action``.
    """
    if name in inputs:
        return True
    base = previous_field(name)
    return base is not None and base != "action" and base in inputs


def normalise_source(source: str) -> str:
    """The source with comments and formatting removed (unparsable source: stripped text).

    Two rewards with the same normalised source are the same reward: the loop trains them
    once and the result cache files them under one key.
    """
    try:
        return ast.unparse(ast.parse(source))
    except (SyntaxError, ValueError):
        return source.strip()


class RewardContractError(ValueError):
    """The reward broke the contract; the message is written for the reward's author.

    Args:
        message: What is wrong and how to fix it.
        rows: Batch rows (env indices) the problem was seen in, when it is about values.

    """

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


def reward_parameters(source: str) -> list[str]:
    """Names of ``compute_reward``'s parameters in ``source``, in order.

    Raises:
        RewardContractError: The source does not parse or has no top-level
            ``compute_reward``.

    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RewardContractError(
            f"the reward code does not parse (line {exc.lineno}: {exc.msg})"
        ) from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise RewardContractError(f"the reward code does not parse ({exc})") from exc
    for node in reversed(tree.body):  # the last definition is the one that counts
        if isinstance(node, ast.FunctionDef) and node.name == ENTRY_POINT:
            args = node.args
            return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    raise RewardContractError(f"the reward code defines no top-level function {ENTRY_POINT}()")


def _as_float_array(value: Any, what: str) -> np.ndarray:
    if np.iscomplexobj(value):
        # A cast to float would drop the imaginary part without a word.
        raise RewardContractError(
            f"{what} is complex, but it must be real numbers: complex values come from "
            "square roots or powers of negative numbers; guard them (np.maximum(x, 0)) or "
            "take np.abs(...) where the magnitude is meant"
        )
    try:
        # A copy: the result must not alias the input fields the caller keeps using.
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise RewardContractError(
            f"{what} must be numbers (a numpy array), but it is a {type(value).__name__} "
            f"that cannot be converted to float ({exc})"
        ) from exc


def _check_finite(values: np.ndarray, what: str) -> None:
    finite = np.isfinite(values)
    if finite.all():  # the per-step fast path: no mask arithmetic unless something is wrong
        return
    bad = ~finite
    if bad.any():
        rows = np.flatnonzero(bad).tolist()
        kinds = sorted({"nan" if np.isnan(v) else "inf" for v in values[bad]})
        raise RewardContractError(
            f"{what} is not finite ({'/'.join(kinds)}) for {len(rows)} of {len(values)} envs; "
            "guard divisions, logs and square roots (e.g. np.maximum(x, 1e-6), np.clip)",
            rows=rows,
        )


def _check_reward(reward: Any, n: int) -> np.ndarray:
    values = _as_float_array(reward, "the reward")
    if values.shape == (n,):
        _check_finite(values, "the reward")
        return values
    if values.ndim == 0:
        raise RewardContractError(
            f"the reward is a single number, but it must hold one value per env: shape ({n},). "
            "Did you reduce over the batch axis? Use axis=-1 in sums/norms, and write "
            "per-env conditions with np.where instead of if/else"
        )
    if values.shape == (n, 1):
        raise RewardContractError(
            f"the reward has shape {values.shape}, but it must be ({n},). Drop the last axis "
            "(e.g. reward[:, 0]), or use a field of shape (n,) instead of slicing with [:, None]"
        )
    raise RewardContractError(
        f"the reward has shape {values.shape}, but it must be ({n},): one value per env. "
        "Arguments have the batch as their first axis; reduce the other axes (axis=-1)"
    )


def _check_components(components: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(components, Mapping):
        raise RewardContractError(
            "the second returned value must be a dict of named reward terms, e.g. "
            f'{{"speed": speed, "energy": -energy}}, but it is a {type(components).__name__}'
        )
    if len(components) > MAX_COMPONENTS:
        raise RewardContractError(
            f"compute_reward returned {len(components)} components; at most {MAX_COMPONENTS} "
            "named terms are allowed. Return only the few terms that make up the reward"
        )
    checked: dict[str, np.ndarray] = {}
    for name, value in components.items():
        if not isinstance(name, str):
            raise RewardContractError(
                f"component names must be strings, but one is {repr(name)[:40]} "
                f"({type(name).__name__})"
            )
        if len(name) > MAX_COMPONENT_NAME:
            raise RewardContractError(
                f"a component name is {len(name)} characters long (it starts {name[:40]!r}); "
                f"use short names of at most {MAX_COMPONENT_NAME} characters"
            )
        what = f"component {name!r}"
        values = _as_float_array(value, what)
        if values.ndim == 0:
            values = np.full(n, float(values))
        elif values.shape != (n,):
            raise RewardContractError(
                f"{what} has shape {values.shape}, but it must be ({n},) (one value per env) "
                "or a single number"
            )
        _check_finite(values, what)
        checked[name] = values
    return checked


def call_reward(
    fn: Callable[..., Any],
    fields: Mapping[str, np.ndarray],
    action: np.ndarray,
    params: Sequence[str],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Call a reward function on one batch and check what it returns.

    Args:
        fn: The loaded ``compute_reward``.
        fields: Batched state fields, ``name -> (n, *shape)`` arrays.
        action: Batched actions, first axis ``n``.
        params: The parameters ``fn`` takes (see :func:`reward_parameters`); only these
            are passed, by name.

    Returns:
        ``(reward, components)`` as float64 arrays of shape ``(n,)`` (number components
        broadcast).

    Raises:
        RewardContractError: A parameter is not a field, or the output breaks the contract.
        Exception: Whatever ``fn`` itself raises, unchanged (its traceback points into the
            reward code).

    """
    n = len(action)
    kwargs: dict[str, Any] = {}
    for name in params:
        if name == "action":
            kwargs[name] = action
        elif name in fields:
            kwargs[name] = fields[name]
        else:
            known = ", ".join([*(f for f in fields if previous_field(f) is None), "action"])
            raise RewardContractError(
                f"compute_reward takes a parameter {name!r}, which is not a state field; "
                f"available: {known}, and {PREVIOUS_HINT}"
            )
    out = fn(**kwargs)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        if isinstance(out, (tuple, list)):
            got = f"a {type(out).__name__} of {len(out)} values"
        elif isinstance(out, np.ndarray):
            got = f"only an array of shape {out.shape}"
        else:
            got = f"a {type(out).__name__}"
        raise RewardContractError(
            f"compute_reward must return a pair (reward, components), but it returned {got}. "
            'End with e.g. `return total, {"speed": speed, "energy": -energy}`'
        )
    reward, components = out
    return _check_reward(reward, n), _check_components(components, n)
