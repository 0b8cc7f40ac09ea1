"""The task registry: ``register`` a :class:`TaskSpec`, look it up by id.

Besides the built-in tasks, the registry holds tasks declared in a task file (whose
text travels with every worker job, see :func:`task_job_fields`) and tasks made on
demand for any gymnasium env without an adapter (``envs.generic``).
"""

from __future__ import annotations

import difflib
from typing import Any

from rewardsmith.envs.spec import TaskSpec
from rewardsmith.errors import UserError

_REGISTRY: dict[str, TaskSpec] = {}
# Task-file tasks: id -> (file text, file name), so a worker process can rebuild them.
_SOURCES: dict[str, tuple[str, str]] = {}
#: Job key that carries a task file's text to the worker.
TASK_FILE_KEY = "task_file"


def register(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (ids are unique) and return it."""
    if spec.id in _REGISTRY:
        raise ValueError(f"task id {spec.id!r} is registered twice")
    _REGISTRY[spec.id] = spec
    return spec


def register_source(spec: TaskSpec, text: str, name: str) -> TaskSpec:
    """Register (or replace) a task declared in a task file, remembering the file's text.

    Args:
        spec: The task built from the file.
        text: The file's text (sent to worker processes with each job).
        name: The file's name, for messages (its suffix picks TOML or YAML).
    """
    _REGISTRY[spec.id] = spec
    _SOURCES[spec.id] = (text, name)
    return spec


_BUILTIN_MODULES = ("classic", "classic_discrete", "mujoco", "box2d")


def _load_builtins() -> None:
    # Imported for their register() side effect, in listing order; kept lazy so
    # `import rewardsmith` stays light.
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(f"rewardsmith.envs.{module}")


def get_task(task_id: str) -> TaskSpec:
    """The registered task ``task_id``; any other gymnasium id gets a generic task.

    Raises:
        UserError: Unknown id, with the closest known ids as a suggestion.
    """
    _load_builtins()
    if task_id in _REGISTRY:
        return _REGISTRY[task_id]
    from rewardsmith.envs.generic import generic_task, is_gymnasium_id

    if is_gymnasium_id(task_id):
        return register(generic_task(task_id))
    close = difflib.get_close_matches(task_id, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UserError(
        f"unknown env {task_id!r}{hint} (run `rewardsmith tasks` to list the built-in tasks, "
        "or declare it in a task file with --task-file)"
    )


def resolve_task(env: str | None, task_file: str | None = None) -> TaskSpec:
    """The task a run names: a task file's (read, validated, registered) or ``env``'s.

    Raises:
        UserError: Neither is given, or the id / file is wrong.
    """
    if task_file:
        from rewardsmith.envs.taskfile import load_task_file

        return load_task_file(task_file)
    if not env:
        raise UserError("no task given; pass --env ID or --task-file FILE")
    return get_task(env)


def all_tasks() -> list[TaskSpec]:
    """Every registered task, in registration order."""
    _load_builtins()
    return list(_REGISTRY.values())


def task_job_fields(task: TaskSpec) -> dict[str, Any]:
    """Keys to spread into a worker job so the worker can rebuild ``task``.

    Built-in and generic tasks need nothing (the worker finds them by id); a task-file
    task carries its file's text, because the worker is a separate process.
    """
    if task.id not in _SOURCES:
        return {}
    text, name = _SOURCES[task.id]
    return {TASK_FILE_KEY: {"text": text, "name": name}}


def register_from_job(job: dict[str, Any]) -> None:
    """Worker side of :func:`task_job_fields`: register the job's task-file task, if any."""
    source = job.get(TASK_FILE_KEY)
    if not source:
        return
    from rewardsmith.envs.taskfile import load_task_text

    load_task_text(source["text"], source.get("name", "task.toml"))
