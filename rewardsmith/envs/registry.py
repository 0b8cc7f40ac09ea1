"""The task registry: ``register`` a :class:`TaskSpec`, look it up by id.

Besides the built-in tasks, the registry holds tasks declared in a task file (whose
text travels with every worker job, see :func:`task_job_fields`) and tasks made on
demand for any gymnasium env without an adapter (``envs.generic``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rewardsmith.envs.spec import TaskSpec
from rewardsmith.errors import UserError

logger = logging.getLogger(__name__)

_REGISTRY: dict[str, TaskSpec] = {}
# Task-file tasks: id -> (file text, file name), so a worker process can rebuild them.
_SOURCES: dict[str, tuple[str, str]] = {}
# Tasks that import the user's modules: id -> the folders they are looked up in.
_IMPORT_PATHS: dict[str, tuple[str, ...]] = {}
#: Job key that carries a task file's text to the worker.
TASK_FILE_KEY = "task_file"


def register(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry (ids are unique) and return it."""
    if spec.id in _REGISTRY:
        raise ValueError(f"task id {spec.id!r} is registered twice")
    _REGISTRY[spec.id] = spec
    return spec


def register_source(
    spec: TaskSpec, text: str, name: str, import_paths: tuple[str, ...] = ()
) -> TaskSpec:
    """Register (or replace) a task declared in a task file, remembering the file's text.

    Args:
        spec: The task built from the file.
        text: The file's text (sent to worker processes with each job).
        name: The file's name, for messages (its suffix picks TOML or YAML).
        import_paths: Folders the file's ``module:name`` references are imported from
            (sent with each job too).
    """
    _REGISTRY[spec.id] = spec
    _SOURCES[spec.id] = (text, name)
    _IMPORT_PATHS[spec.id] = tuple(import_paths)
    return spec


def is_reserved(task_id: str) -> bool:
    """Whether a task file may not take ``task_id``.

    A task file may replace its own earlier version or a generic task made on demand for
    an env; a built-in (or API-registered) task's id is taken: a file under that id would
    replace it for everything else in the process and share its cached baselines.
    """
    _load_builtins()
    spec = _REGISTRY.get(task_id)
    return spec is not None and task_id not in _SOURCES and spec.family != "generic"


_BUILTIN_MODULES = ("classic", "classic_discrete", "mujoco", "box2d")


def _load_builtins() -> None:
    # Imported for their register() side effect, in listing order; kept lazy so
    # `import rewardsmith` stays light.
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(f"rewardsmith.envs.{module}")


#: A YAML task file's name ends with one of these; any other task file is TOML.
YAML_SUFFIXES = (".yaml", ".yml")
#: What a task file's name ends with (a mistake to catch where a task id is expected).
TASK_FILE_SUFFIXES = (".toml", *YAML_SUFFIXES)


def _builtin_version(env_id: str) -> str | None:
    """A built-in task on another version of ``env_id``'s env (HalfCheetah-v5 for -v4)."""
    name = env_id.rsplit("-v", 1)[0]
    for task_id, spec in _REGISTRY.items():
        # The env's own task (HalfCheetah-v5), not a novel behaviour on it.
        own = task_id == spec.env_id and spec.family != "generic"
        if own and spec.env_id != env_id and spec.env_id.rsplit("-v", 1)[0] == name:
            return task_id
    return None


def get_task(task_id: str) -> TaskSpec:
    """The registered task ``task_id``; any other gymnasium id gets a generic task.

    Raises:
        UserError: Unknown id, with the closest known ids as a suggestion.
    """
    _load_builtins()
    if task_id in _REGISTRY:
        return _REGISTRY[task_id]
    from rewardsmith.envs.generic import (
        generic_task,
        gymnasium_ids,
        makeable_id,
        unknown_env_hint,
    )
    from rewardsmith.envs.imports import user_import_paths

    paths = user_import_paths() if ":" in task_id else ()
    env_id = makeable_id(task_id, paths)
    if env_id is not None:
        spec = register(generic_task(env_id, task_id=task_id))
        if paths:
            _IMPORT_PATHS[spec.id] = paths
        builtin = _builtin_version(env_id)
        if builtin is not None:
            logger.warning(
                "%s has no adapter: its fields are its observation vector; the built-in %s "
                "reads the state from the simulator, with its own fitness and presets "
                "(--env %s)",
                task_id,
                builtin,
                builtin,
            )
        return spec
    if task_id.lower().endswith(TASK_FILE_SUFFIXES):
        raise UserError(
            f"unknown env {task_id!r}: that is a task file's name; pass it with "
            f"--task-file {task_id}"
        )
    known = [*_REGISTRY, *(i for i in gymnasium_ids() if i not in _REGISTRY)]
    raise UserError(
        f"unknown env {task_id!r}{unknown_env_hint(task_id, known)} (run `rewardsmith tasks` "
        "to list the built-in tasks, or declare it in a task file with --task-file)"
    )


def resolve_task(
    env: str | None, task_file: str | None = None, import_paths: Sequence[str] | None = None
) -> TaskSpec:
    """The task a run names: a task file's (read, validated, registered) or ``env``'s.

    Args:
        env: A task id.
        task_file: A task file, which wins over ``env``.
        import_paths: Folders the file's modules are imported from (default: its own
            folder and the current one); a run passes those it started with, since it
            reads its own copy of the file.

    Raises:
        UserError: Neither is given, or the id / file is wrong.
    """
    if task_file:
        from rewardsmith.envs.taskfile import load_task_file

        return load_task_file(task_file, import_paths)
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
    task carries its file's text, because the worker is a separate process, and a task
    that imports the user's own modules carries the folders they were found in.
    """
    from rewardsmith.envs.imports import IMPORT_PATHS_KEY

    fields: dict[str, Any] = {}
    if _IMPORT_PATHS.get(task.id):
        fields[IMPORT_PATHS_KEY] = list(_IMPORT_PATHS[task.id])
    if task.id in _SOURCES:
        text, name = _SOURCES[task.id]
        fields[TASK_FILE_KEY] = {"text": text, "name": name}
    return fields


def register_from_job(job: dict[str, Any]) -> None:
    """Worker side of :func:`task_job_fields`: user modules made importable, task file read.

    The job's ``import_paths`` go on ``sys.path``, and its task-file task, if any, is
    registered.
    """
    from rewardsmith.envs.imports import IMPORT_PATHS_KEY, add_import_paths

    paths = tuple(job.get(IMPORT_PATHS_KEY) or ())
    add_import_paths(paths)
    source = job.get(TASK_FILE_KEY)
    if not source:
        return
    from rewardsmith.envs.taskfile import load_task_text

    load_task_text(source["text"], source.get("name", "task.toml"), paths)
