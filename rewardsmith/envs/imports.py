"""The user's own modules named as ``module:name`` (env classes and ids, fitness functions).

A console script does not put the current folder on ``sys.path`` the way ``python -c``
does, and a worker process runs in a scratch folder of its own. So a module beside the
task file, or in the folder the user ran rewardsmith from, is found here by adding those
folders to the import path, and every worker job carries the same folders
(``import_paths``, see :func:`rewardsmith.envs.registry.task_job_fields`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

#: Job key that carries the folders a task's user modules were imported from.
IMPORT_PATHS_KEY = "import_paths"


def user_import_paths(*folders: str | Path) -> tuple[str, ...]:
    """The folders user modules are looked up in: ``folders``, then the current folder."""
    paths: list[str] = []
    for folder in (*folders, Path.cwd()):
        path = str(Path(folder).resolve())
        if path not in paths:
            paths.append(path)
    return tuple(paths)


def add_import_paths(paths: Iterable[str]) -> None:
    """Put each existing folder of ``paths`` on ``sys.path`` (first given, first searched)."""
    for path in reversed(list(paths)):
        if path not in sys.path and os.path.isdir(path):
            sys.path.insert(0, path)


def import_user_module(module: str, paths: Iterable[str]) -> ModuleType:
    """Import ``module`` with ``paths`` on the import path.

    Raises:
        ImportError: The module (or one it imports) is not found, with where it was looked
            for and how to fix it.
    """
    paths = list(paths)
    add_import_paths(paths)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{exc}; looked in {', '.join(paths)} and the installed packages: put {module}.py "
            "in one of those folders, install its package, or add its folder to PYTHONPATH"
        ) from None
