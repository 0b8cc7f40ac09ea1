"""The seccomp filter sandboxed processes run under: system calls a worker never makes.

A worker imports numpy, torch, gymnasium and a simulator and trains; reward code may
import only numpy and math (``policy.py``). The filter is the layer under both: should
code get past the policy, these calls fail with ``EPERM`` all the same. It denies reading
or writing other processes (``ptrace``, ``process_vm_*``), leaving or reshaping the
sandbox (``unshare``, ``setns``, mounts, ``chroot``), kernel interfaces with a record of
escapes (``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring``, keyrings,
``open_by_handle_at``), and machine-wide changes (modules, ``kexec``, clocks, swap,
reboot, host names). Where the limits deny the network, it also denies opening IPv4, IPv6
and raw packet sockets: that holds where no network namespace can be made (a container
without user namespaces), which is where it matters.

The filter is built with libseccomp (``libseccomp.so.2``, present wherever ``apt`` is),
which resolves each name for this machine's architecture and kills a call made through
another architecture's table (``int 0x80`` on x86-64), the classic way round a deny list.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import socket
import sys

#: Denied with EPERM; names libseccomp does not know on this architecture are skipped.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
)

#: Socket families denied when a process's limits deny the network.
DENIED_SOCKET_FAMILIES = (
    int(socket.AF_INET),
    int(socket.AF_INET6),
    int(getattr(socket, "AF_PACKET", 17)),
)

_PR_GET_SECCOMP = 21


@functools.cache
def libseccomp() -> str | None:
    """The libseccomp the sandboxed process loads, or ``None`` where seccomp cannot be used.

    Needs Linux with seccomp filters in the kernel and libseccomp 2 (for
    ``seccomp_rule_add_array``).
    """
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("seccomp")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(lib, "seccomp_rule_add_array"):
        return None
    if libc.prctl(ctypes.c_int(_PR_GET_SECCOMP), 0, 0, 0, 0) < 0:
        return None
    return name


def filter_spec(network: bool) -> dict[str, object] | None:
    """What :func:`~rewardsmith.sandbox.enter.load_seccomp` builds the filter from.

    ``None``: no seccomp here.

    Args:
        network: The process may use the network (its socket families stay open).
    """
    library = libseccomp()
    if library is None:
        return None
    return {
        "library": library,
        "syscalls": list(DENIED_SYSCALLS),
        "socket_families": [] if network else list(DENIED_SOCKET_FAMILIES),
    }
