"""OS limits for sandboxed processes: rlimits, a private network namespace, and detection.

The parent builds the limits and probes what the OS offers; the sandboxed process applies
them to itself (:mod:`rewardsmith.sandbox.enter`), either in a tiny launcher that then
becomes the sandboxed command (:func:`launch_command`) or in a child of the fork server.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
import math
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from rewardsmith.sandbox import enter, seccomp

logger = logging.getLogger(__name__)

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SYS_LANDLOCK_CREATE_RULESET = 444  # same number on every Linux architecture
_LANDLOCK_CREATE_RULESET_VERSION = 1


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed process.

    Args:
        cpu_seconds: CPU time (``RLIMIT_CPU``); the process gets SIGXCPU, then SIGKILL
            5 s later. ``None``: unlimited.
        address_space_mb: Virtual memory (``RLIMIT_AS``). A process that imports torch and
            SB3 and trains PPO on HalfCheetah peaked at 0.85 GB here (0.96 GB without the
            one-thread settings), and real training jobs also ran under 1536 MB, so 4096
            leaves a wide margin while stopping runaway allocations.
        file_size_mb: Largest file the process may write (``RLIMIT_FSIZE``).
        max_processes: ``RLIMIT_NPROC``. ``None`` by default: Linux counts every process
            and thread of the user system-wide (and ignores the limit for root), so a fixed
            number either breaks the worker on a busy desktop or binds nothing. The guard
            against fork bombs is that reward code cannot import ``os`` or ``subprocess``.
        wall_seconds: Wall-clock limit; the whole process group is killed after it.
        network: Allow network access. ``False`` puts the process in a new network
            namespace (no interfaces but a down loopback) where the OS allows it.

    """

    cpu_seconds: int | None
    address_space_mb: int | None = 4096
    file_size_mb: int | None = 256
    max_processes: int | None = None
    wall_seconds: float | None = None
    network: bool = False

    @classmethod
    def for_check(cls) -> Limits:
        """Limits for the critic's check: seconds of CPU, a minute of wall time."""
        return cls(cpu_seconds=20, wall_seconds=60.0)

    @classmethod
    def for_training(cls, budget_seconds: float) -> Limits:
        """Limits for a training worker expected to need ``budget_seconds`` on one core.

        CPU gets twice the budget plus a minute (imports, evaluation, video); wall time
        gets three times plus two minutes, since parallel workers share the cores.
        """
        return cls(
            cpu_seconds=math.ceil(2 * budget_seconds + 60),
            wall_seconds=3 * budget_seconds + 120,
        )


#: First line a sandboxed process writes to stderr when it could not enter the namespaces.
NO_NAMESPACE_MARKER = "rewardsmith sandbox: no network namespace"


def _rlimit_table(limits: Limits) -> list[tuple[int, int, int]]:
    """``(resource, soft, hard)`` triples.

    Hard equals soft, so the process cannot lift a limit again; except for CPU, where
    SIGXCPU at the soft limit says "CPU limit" clearly and SIGKILL follows 5 s later.
    """
    mb = 1024 * 1024
    table = [(resource.RLIMIT_CORE, 0, 0)]  # no core dumps of untrusted code
    if limits.cpu_seconds is not None:
        cpu = max(1, int(limits.cpu_seconds))
        table.append((resource.RLIMIT_CPU, cpu, cpu + 5))
    if limits.address_space_mb is not None:
        size = int(limits.address_space_mb) * mb
        table.append((resource.RLIMIT_AS, size, size))
    if limits.file_size_mb is not None:
        size = int(limits.file_size_mb) * mb
        table.append((resource.RLIMIT_FSIZE, size, size))
    if limits.max_processes is not None:
        count = int(limits.max_processes)
        table.append((resource.RLIMIT_NPROC, count, count))
    return table


def launch_spec(
    limits: Limits,
    unshare_flags: int,
    landlock_abi: int = 0,
    seccomp_filter: dict[str, object] | None = None,
) -> dict[str, Any]:
    """What :func:`rewardsmith.sandbox.enter.enter_sandbox` applies, as JSON-able data.

    Args:
        limits: The rlimits to set.
        unshare_flags: ``unshare(2)`` flags (0: stay in the parent's namespaces). When they
            cannot be applied the process goes on without them, after writing a line that
            starts with :data:`NO_NAMESPACE_MARKER` to stderr.
        landlock_abi: The Landlock ABI version (see :func:`landlock_abi`); above 0, the
            process may create, write or remove files only under its working folder and
            ``/dev``. 0: no file-system restriction.
        seccomp_filter: :func:`~rewardsmith.sandbox.seccomp.filter_spec`'s rules, loaded
            last; ``None``: no system-call filter.

    """
    return {
        "rlimits": _rlimit_table(limits),
        "unshare": unshare_flags,
        "newuser": CLONE_NEWUSER,
        "marker": NO_NAMESPACE_MARKER,
        "parent": os.getpid(),
        "landlock_abi": int(landlock_abi),
        "seccomp": seccomp_filter,
    }


def launch_command(argv: list[str], spec: dict[str, Any]) -> list[str]:
    """Wrap ``argv`` so it starts inside the sandbox of ``spec`` (see :func:`launch_spec`).

    The wrapper is :mod:`rewardsmith.sandbox.enter` run as a script in isolated mode; it
    enters the sandbox and then becomes ``argv`` (same process).
    """
    return [sys.executable, "-I", "-S", enter.__file__, json.dumps(spec), *argv]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _probe_unshare(flags: int) -> str:
    """Try ``flags`` with the launcher in a throwaway child; "" on success, else why not."""
    no_limits = Limits(cpu_seconds=None, address_space_mb=None, file_size_mb=None)
    argv = launch_command([sys.executable, "-I", "-S", "-c", ""], launch_spec(no_limits, flags))
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    lines = proc.stderr.strip().splitlines()
    if proc.returncode == 0 and not lines:
        return ""
    if lines and lines[0].startswith(NO_NAMESPACE_MARKER):
        return lines[0][len(NO_NAMESPACE_MARKER) :].strip(" ()")
    return lines[-1] if lines else f"exit status {proc.returncode}"


@functools.cache
def network_isolation() -> tuple[int, str]:
    """How this machine can cut a child off the network: ``(unshare flags, description)``.

    Flags are 0 when no method works; the description then says why. Probed once per
    process with a throwaway child.
    """
    if _libc() is None:
        return 0, "unavailable: not Linux"
    # A user namespace first, for root too: without it a root child keeps CAP_SYS_PTRACE,
    # which lets it read /proc/<parent>/environ (API keys) through Landlock's ptrace guard.
    attempts = [(CLONE_NEWUSER | CLONE_NEWNET, "user + network namespace")]
    if os.geteuid() == 0:
        attempts.append((CLONE_NEWNET, "network namespace"))
    reasons = []
    for flags, name in attempts:
        reason = _probe_unshare(flags)
        if not reason:
            return flags, name
        reasons.append(f"{name}: {reason}")
    return 0, "unavailable: " + "; ".join(reasons)


@functools.cache
def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0: none); probed once per process."""
    libc = _libc()
    if libc is None:
        return 0
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(0, int(abi))


def sandbox_capabilities() -> dict[str, bool | str]:
    """Which sandbox layers this machine offers, for ``rewardsmith doctor``.

    Keys: ``platform``; ``rlimits`` (CPU, memory and file-size limits are enforced);
    ``process_limit`` (``RLIMIT_NPROC`` binds: false for root); ``network_isolation``
    and ``network_isolation_method``; ``landlock`` and ``landlock_abi`` (applied:
    sandboxed processes may write files only in their own folder and ``/dev``); ``seccomp``
    (applied: the system calls of :mod:`rewardsmith.sandbox.seccomp` fail).
    """
    flags, method = network_isolation()
    abi = landlock_abi()
    linux = sys.platform.startswith("linux")
    return {
        "platform": sys.platform,
        "rlimits": linux,
        "process_limit": linux and os.geteuid() != 0,
        "network_isolation": bool(flags),
        "network_isolation_method": method,
        "landlock": abi > 0,
        "landlock_abi": str(abi) if abi else "unavailable",
        "seccomp": seccomp.libseccomp() is not None,
    }
