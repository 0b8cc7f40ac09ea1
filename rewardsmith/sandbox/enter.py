"""Enter the sandbox from inside the process that will run untrusted code.

:func:`enter_sandbox` is the one place where a sandboxed process locks itself in: it dies
with its parent, sets the rlimits, enters new namespaces, restricts file writes with
Landlock and loads the seccomp filter, in that order (each later layer would forbid the
calls of the earlier ones). Two kinds of process call it:

* the launcher, ``python -I -S enter.py SPEC ARGV...``, which then ``exec``s ``ARGV``
  (:func:`~rewardsmith.sandbox.limits.launch_command`);
* a child forked by the fork server (:mod:`rewardsmith.sandbox.zygote`), which then runs
  the job's module in the same process.

The file imports nothing but the standard library, so it runs in isolated mode (``-I
-S``) before the interpreter has seen the user's paths. The spec is built by
:func:`~rewardsmith.sandbox.limits.launch_spec`.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_RULE_PATH_BENEATH = 1
# write file, remove dir/file, make char/dir/reg/sock/fifo/block/sym
_LANDLOCK_WRITE_RIGHTS = 0b1111111110010
_LANDLOCK_REFER = 1 << 13  # ABI 2: rename/link across folders
_LANDLOCK_TRUNCATE = 1 << 14  # ABI 3
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1
_SCMP_CMP_EQ = 4


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("a", ctypes.c_uint64),
        ("b", ctypes.c_uint64),
    ]


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _checked(value: int) -> int:
    if value < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return value


def die_with_parent(parent: int) -> None:
    """Get SIGKILL when ``parent`` goes; exit at once if it is already gone.

    A killed CLI (or fork server) must not leave trainings running.
    """
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, 9)
    if os.getppid() != parent:
        os._exit(137)


def set_rlimits(rlimits: list[list[int]]) -> None:
    """Set each ``(resource, soft, hard)``, never above a hard cap set from outside."""
    for which, soft, hard in rlimits:
        _, cap = resource.getrlimit(which)
        if cap != resource.RLIM_INFINITY:
            soft, hard = min(soft, cap), min(hard, cap)
        resource.setrlimit(which, (soft, hard))


def enter_namespaces(flags: int, newuser: int, marker: str) -> None:
    """``unshare(flags)``; with a user namespace, map this user onto itself.

    On failure the process goes on in its parent's namespaces, after writing a line that
    starts with ``marker`` to stderr (the parent reads it to report the lost isolation).
    """
    if not flags:
        return
    uid, gid = os.geteuid(), os.getegid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _checked(libc.unshare(ctypes.c_int(flags)))
        if flags & newuser:
            for path, text in (
                ("/proc/self/setgroups", "deny"),
                ("/proc/self/uid_map", f"{uid} {uid} 1"),
                ("/proc/self/gid_map", f"{gid} {gid} 1"),
            ):
                with open(path, "w") as fh:
                    fh.write(text)
    except OSError as exc:
        _say(f"{marker} ({exc})")


def restrict_writes(abi: int) -> None:
    """Landlock: allow file writes only inside the working folder and ``/dev``.

    From here on (and across exec) files may only be created, written, renamed or
    removed there; reads stay as they are.
    """
    if not abi:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        rights = _LANDLOCK_WRITE_RIGHTS
        rights |= _LANDLOCK_REFER if abi >= 2 else 0
        rights |= _LANDLOCK_TRUNCATE if abi >= 3 else 0
        ruleset = _Ruleset(rights)
        fd = _checked(
            libc.syscall(
                _SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(ruleset), ctypes.sizeof(ruleset), 0
            ),
        )
        for folder in (os.getcwd(), "/dev"):
            pfd = os.open(folder, os.O_PATH | os.O_CLOEXEC)
            rule = _PathBeneath(rights, pfd)
            _checked(
                libc.syscall(
                    _SYS_LANDLOCK_ADD_RULE, fd, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                ),
            )
            os.close(pfd)
        _checked(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))  # Landlock needs it
        _checked(libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, fd, 0))
        os.close(fd)
    except OSError as exc:
        _say(f"rewardsmith sandbox: no landlock ({exc})")


def load_seccomp(rules: dict[str, Any] | None) -> None:
    """Build the filter of :func:`~rewardsmith.sandbox.seccomp.filter_spec` and load it.

    Last of the layers, so the unshare and Landlock calls above it still ran.
    """
    if not rules:
        return
    try:
        lib = ctypes.CDLL(rules["library"], use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        ctx = ctypes.c_void_p(lib.seccomp_init(ctypes.c_uint32(_SCMP_ACT_ALLOW)))
        if not ctx.value:
            raise OSError("seccomp_init failed")
        deny = ctypes.c_uint32(_SCMP_ACT_ERRNO_EPERM)

        def add(name: str, compare: tuple[_ArgCmp, ...] = ()) -> None:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                return  # no such call on this architecture
            array = (_ArgCmp * max(1, len(compare)))(*compare)
            rc = lib.seccomp_rule_add_array(ctx, deny, nr, len(compare), array)
            if rc < 0:
                raise OSError(-rc, f"{name}: {os.strerror(-rc)}")

        for name in rules["syscalls"]:
            add(name)
        for family in rules["socket_families"]:
            add("socket", (_ArgCmp(0, _SCMP_CMP_EQ, family, 0),))
        rc = lib.seccomp_load(ctx)
        lib.seccomp_release(ctx)
        if rc < 0:
            raise OSError(-rc, os.strerror(-rc))
    except OSError as exc:
        _say(f"rewardsmith sandbox: no seccomp ({exc})")


def enter_sandbox(spec: dict[str, Any]) -> None:
    """Apply every layer ``spec`` asks for to this process, in order."""
    die_with_parent(int(spec["parent"]))
    set_rlimits(spec["rlimits"])
    enter_namespaces(int(spec["unshare"]), int(spec["newuser"]), str(spec["marker"]))
    restrict_writes(int(spec["landlock_abi"]))
    load_seccomp(spec["seccomp"])


if __name__ == "__main__":
    # A separate single-threaded process, not subprocess's preexec_fn, which can deadlock
    # when the parent has threads (the job executor runs several jobs from a thread pool).
    enter_sandbox(json.loads(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
