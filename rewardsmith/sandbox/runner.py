"""Run a command in a sandboxed child process: private folder, scrubbed env, OS limits.

The child gets its own working folder (also its ``HOME`` and ``TMPDIR``), an environment
without credentials, rlimits on CPU, memory, file size (and processes when asked), a
new session so the whole process group can be killed, and, when ``network=False`` and
the OS allows it, a network namespace of its own and (Landlock) no right to create,
write or remove files outside its folder and ``/dev``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal as signals
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rewardsmith.sandbox import seccomp
from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.limits import (
    NO_NAMESPACE_MARKER,
    Limits,
    landlock_abi,
    launch_command,
    launch_spec,
    network_isolation,
    sandbox_capabilities,
)

__all__ = [
    "Limits",
    "SandboxResult",
    "run_sandboxed",
    "sandbox_capabilities",
    "scrubbed_env",
    "terminate_all",
]

logger = logging.getLogger(__name__)

TAIL_CHARS = 8000
#: Seconds to wait for a killed child's exit to be reported before calling it killed.
_KILLED_EXIT_WAIT = 30.0

_KEEP_VARS = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "MUJOCO_GL",
        "PYOPENGL_PLATFORM", "MUJOCO_EGL_DEVICE_ID", "EGL_PLATFORM", "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES",
    }
)  # fmt: skip
_KEEP_PREFIXES = ("LC_",)
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
# One BLAS/OpenMP thread per worker: parallel workers already fill the cores.
_FORCED_VARS = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
}
# The folder that holds the rewardsmith package, so the child imports this very copy.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

_warned_no_netns = False

# Process groups of the sandboxed children alive now, so an interrupted run can end them.
_live_groups: set[int] = set()
_live_lock = threading.Lock()


def terminate_all() -> int:
    """Kill every sandboxed child of this process now; return how many there were."""
    with _live_lock:
        groups = list(_live_groups)
    for pid in groups:
        _kill_group(pid)
    return len(groups)


def _is_secret(name: str) -> bool:
    upper = name.upper()
    return any(marker in upper for marker in _SECRET_MARKERS)


def scrubbed_env(
    workdir: Path,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Build the environment a sandboxed child sees.

    Only an allow-list of variables survives (``PATH``, locale, Python and rendering
    settings); anything whose name mentions a key, token, secret or password is dropped
    even from that list and from ``extra``. ``HOME`` and ``TMPDIR`` point at ``workdir``.

    Args:
        workdir: The child's private folder.
        base: Environment to filter (default: ``os.environ``).
        extra: Variables to add before filtering.

    """
    source = dict(os.environ if base is None else base)
    env = {
        name: value
        for name, value in source.items()
        if (name in _KEEP_VARS or name.startswith(_KEEP_PREFIXES)) and not _is_secret(name)
    }
    env.update({k: v for k, v in (extra or {}).items() if not _is_secret(k)})
    env.update(_FORCED_VARS)
    env["HOME"] = str(workdir)
    env["TMPDIR"] = str(workdir)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _PACKAGE_ROOT not in paths:
        paths.insert(0, _PACKAGE_ROOT)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


@dataclass
class SandboxResult:
    """How a sandboxed process ended.

    Args:
        returncode: Exit status (negative: killed by that signal).
        stdout_tail: The last characters of its stdout.
        stderr_tail: The last characters of its stderr.
        timed_out: It was killed at the wall-clock limit.
        signal: The signal that ended it, if any.
        limits: The limits it ran under (for :meth:`describe`).
        network_isolated: It ran in a private network namespace.
        elapsed_seconds: Wall time it ran.
        forked: It was forked by the fork server rather than started by the launcher.

    """

    returncode: int
    stdout_tail: str
    stderr_tail: str
    timed_out: bool
    signal: int | None
    limits: Limits | None = None
    network_isolated: bool = False
    elapsed_seconds: float = 0.0
    forked: bool = False

    @property
    def ok(self) -> bool:
        """It exited with status 0 within the time limit."""
        return self.returncode == 0 and not self.timed_out

    def _last_stderr_line(self) -> str:
        lines = [line.strip() for line in self.stderr_tail.splitlines() if line.strip()]
        return lines[-1][:300] if lines else "(no error output)"

    def describe(self) -> str:
        """One line saying how the process ended, naming the limit it hit if any."""
        limits = self.limits
        if self.timed_out:
            wall = f"{limits.wall_seconds:g} s" if limits and limits.wall_seconds else "?"
            return f"exceeded the wall-clock limit of {wall}"
        if self.signal is not None:
            return self._describe_signal(self.signal, limits)
        if self.returncode == 0:
            return "exited normally"
        last = self._last_stderr_line()
        if "MemoryError" in self.stderr_tail:
            memory = (
                f" (the limit is {limits.address_space_mb} MB of address space)"
                if limits and limits.address_space_mb
                else ""
            )
            return f"ran out of memory{memory}: {last}"
        if "File too large" in self.stderr_tail and limits and limits.file_size_mb:
            return f"tried to write a file larger than the limit of {limits.file_size_mb} MB"
        return f"exited with code {self.returncode}: {last}"

    @staticmethod
    def _describe_signal(sig: int, limits: Limits | None) -> str:
        cpu = limits.cpu_seconds if limits else None
        if sig == signals.SIGXCPU:
            return f"exceeded the CPU-time limit of {cpu} s" if cpu else "exceeded its CPU limit"
        if sig == signals.SIGXFSZ:
            size = f" of {limits.file_size_mb} MB" if limits and limits.file_size_mb else ""
            return f"tried to write a file larger than the limit{size}"
        if sig == signals.SIGKILL:
            detail = []
            if cpu:
                detail.append(f"CPU limit {cpu} s")
            if limits and limits.address_space_mb:
                detail.append(f"memory limit {limits.address_space_mb} MB")
            shown = f": {', '.join(detail)}" if detail else ""
            return f"killed by SIGKILL (out of memory or CPU limit?{shown})"
        try:
            name = signals.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}"


def _tail(handle: IO[bytes]) -> str:
    handle.flush()
    size = handle.seek(0, os.SEEK_END)
    # Read a few bytes more than needed so a cut multi-byte character costs at most one char.
    handle.seek(max(0, size - 4 * TAIL_CHARS))
    return handle.read().decode("utf-8", errors="replace")[-TAIL_CHARS:]


def _wait_unreaped(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait until ``proc`` exits without reaping it; ``False`` when ``timeout`` passed first."""
    if not hasattr(os, "waitid"):  # e.g. macOS: reaping at once is the best on offer
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.001
    while True:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is not None:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _namespace_failed(handle: IO[bytes]) -> bool:
    """Whether the process said (first line of stderr) it ran without a namespace."""
    handle.seek(0)
    return handle.read(len(NO_NAMESPACE_MARKER)).decode("utf-8", "replace") == NO_NAMESPACE_MARKER


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signals.SIGKILL)


@contextlib.contextmanager
def _live_group(pid: int) -> Iterator[None]:
    """Count ``pid``'s process group as live while the caller waits; kill the group after.

    The child is still unreaped when the group is killed (the launcher's by
    :func:`_wait_unreaped`, a forked one by the server until it is released), so the kill
    cannot hit a reused group id.
    """
    with _live_lock:
        _live_groups.add(pid)
    try:
        yield
    finally:
        _kill_group(pid)
        with _live_lock:
            _live_groups.discard(pid)


def _run_launched(
    argv: list[str],
    workdir: Path,
    env: dict[str, str],
    spec: dict[str, Any],
    out: IO[bytes],
    err: IO[bytes],
    wall_seconds: float | None,
) -> tuple[int, bool]:
    """Start ``argv`` through the exec launcher and wait; ``(returncode, timed_out)``."""
    proc = subprocess.Popen(
        launch_command(argv, spec),
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        start_new_session=True,  # its own process group, so all of it can be killed
    )
    try:
        with _live_group(proc.pid):
            timed_out = not _wait_unreaped(proc, wall_seconds)
    finally:
        proc.wait()
    return proc.returncode, timed_out


def _run_forked(server: ForkServer, pid: int, wall_seconds: float | None) -> tuple[int, bool]:
    """Wait for the fork server's child ``pid``; ``(returncode, timed_out)``."""
    with _live_group(pid):
        code = server.wait(pid, wall_seconds)
    timed_out = code is None
    if code is None:
        code = server.wait(pid, _KILLED_EXIT_WAIT)
    server.release(pid)
    return (-signals.SIGKILL if code is None else code), timed_out


def run_sandboxed(
    argv: list[str],
    workdir: Path,
    limits: Limits,
    extra_env: Mapping[str, str] | None = None,
    fork_server: ForkServer | None = None,
    wait_for_fork_server: bool = True,
) -> SandboxResult:
    """Run ``argv`` in ``workdir`` under ``limits`` and wait for it.

    Output goes to temporary files (not pipes), so a chatty child can neither block nor
    fill the parent's memory; only the tails are kept. On the wall-clock limit, and in
    any case once the child exits, its whole process group is killed.

    Args:
        argv: Command and arguments.
        workdir: The child's private working folder (also its ``HOME`` and ``TMPDIR``).
        limits: CPU, memory, file-size, process, wall-clock and network limits.
        extra_env: Variables to add to the scrubbed environment (secrets still dropped).
        fork_server: Start ``argv`` as a child forked by this server where it can (same
            sandbox, no fresh interpreter); ``None``: always through the exec launcher.
        wait_for_fork_server: Wait for a server that is still starting; ``False``: launch
            this one instead (see :meth:`ForkServer.spawn`).

    Returns:
        The exit status, output tails and which limit, if any, ended the process.

    """
    global _warned_no_netns
    flags = 0
    if not limits.network:
        flags, method = network_isolation()
        if not flags and not _warned_no_netns:
            _warned_no_netns = True
            logger.warning("sandboxed processes keep network access (%s)", method)
    env = scrubbed_env(workdir, extra=extra_env)
    spec = launch_spec(limits, flags, landlock_abi(), seccomp.filter_spec(limits.network))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        pid = None
        if fork_server is not None:
            pid = fork_server.spawn(argv, workdir, env, spec, out, err, wait_for_fork_server)
        if pid is None:
            code, timed_out = _run_launched(argv, workdir, env, spec, out, err, limits.wall_seconds)
        else:
            code, timed_out = _run_forked(fork_server, pid, limits.wall_seconds)
        elapsed = time.monotonic() - start
        isolated = bool(flags) and not _namespace_failed(err)
        if flags and not isolated:
            logger.warning("could not create a network namespace; the process had network access")
        signal = -code if code < 0 else None
        if timed_out:
            signal = None  # we sent the SIGKILL; the cause is the wall-clock limit
        result = SandboxResult(
            returncode=code,
            stdout_tail=_tail(out),
            stderr_tail=_tail(err),
            timed_out=timed_out,
            signal=signal,
            limits=limits,
            network_isolated=isolated,
            elapsed_seconds=elapsed,
            forked=pid is not None,
        )
    how = "forked" if pid is not None else "launched"
    logger.debug("sandboxed %s (%s): %s in %.1f s", argv[:3], how, result.describe(), elapsed)
    return result
