"""Scratch folders for worker jobs that do not outlive a killed process.

Each job runs in a private temp folder that ``run_job`` removes when the job ends. A
process killed outright (``SIGKILL``, the OOM killer, Ray cancelling a task with
``force=True``, a run killed and later resumed) never reaches that cleanup, and its job
folders, checkpoints included, would pile up in the temp folder. So every job folder
lives under one root per process, named after the process id: the root goes at normal
exit, and the next process to make a root removes the roots of processes that are gone.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: Prefix of every process's root; the process id follows it.
ROOT_PREFIX = "rewardsmith-scratch-"

_lock = threading.Lock()
_root: Path | None = None
_root_pid = 0


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one owned by another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(parent: Path | None = None, prefix: str = ROOT_PREFIX) -> list[Path]:
    """Remove the folders ``<prefix><pid>-*``, in ``parent``, of this user's dead processes.

    Args:
        parent: Folder to look in (default: the system temp folder).
        prefix: Their names' prefix: scratch roots by default; the embedded Ray's session
            folders use this scheme too.

    Returns:
        The folders removed.
    """
    parent = Path(parent or tempfile.gettempdir())
    name = re.compile(rf"^{re.escape(prefix)}(\d+)-")
    removed: list[Path] = []
    for entry in parent.glob(f"{prefix}*"):
        match = name.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue  # removed by another process meanwhile
        if not is_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        logger.info("removed %d folder(s) left by killed processes", len(removed))
    return removed


def _remove_root(path: Path, pid: int) -> None:
    # A forked child inherits the atexit hook; only the process that made the root removes it.
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


def process_root() -> Path:
    """This process's scratch root, made on first use (after sweeping dead ones)."""
    global _root, _root_pid
    with _lock:
        pid = os.getpid()
        if _root is None or _root_pid != pid or not _root.is_dir():
            sweep_orphans()
            _root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{pid}-"))
            _root_pid = pid
            atexit.register(_remove_root, _root, pid)
        return _root


def sweep_when_gone(pids: set[int], wait: float = 3.0) -> list[Path]:
    """Wait (at most ``wait`` seconds) for ``pids`` to exit, then sweep dead roots.

    For processes that are ended without running their exit hooks on purpose, such as
    the workers of an embedded Ray that ``ray.shutdown()`` stops.
    """
    deadline = time.monotonic() + wait
    while any(is_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sweep_orphans()


def scratch_dir(prefix: str) -> Path:
    """A new private folder under this process's scratch root.

    Args:
        prefix: Start of the folder's name (e.g. ``"job-"``).
    """
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_root()))
