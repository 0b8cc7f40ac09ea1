"""The task registry: ``register`` a :class:`TaskSpec`, look it up by id."""

from __future__ import annotations

import difflib

from rewardsmith.envs.spec import TaskSpec
from rewardsmith.errors import UserError

_REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (ids are unique) and return it."""
    if spec.id in _REGISTRY:
        raise ValueError(f"task id {spec.id!r} is registered twice")
    _REGISTRY[spec.id] = spec
    return spec


def _load_builtins() -> None:
    # Imported for their register() side effect; kept lazy so `import rewardsmith` stays light.
    from rewardsmith.envs import classic, mujoco  # noqa: F401


def get_task(task_id: str) -> TaskSpec:
    """The registered task ``task_id``.

    Raises:
        UserError: Unknown id, with the closest known ids as a suggestion.
    """
    _load_builtins()
    if task_id in _REGISTRY:
        return _REGISTRY[task_id]
    close = difflib.get_close_matches(task_id, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UserError(
        f"unknown env {task_id!r}{hint} (run `rewardsmith tasks` to list the built-in tasks)"
    )


def all_tasks() -> list[TaskSpec]:
    """Every registered task, in registration order."""
    _load_builtins()
    return list(_REGISTRY.values())
