"""The fork server's own process: import the heavy modules once, fork a sandboxed child per job.

A training worker spends about four seconds importing torch, stable-baselines3 and
``torch._dynamo`` before its first PPO step, and a run starts hundreds of workers. This
process pays that once: it imports the modules named on its command line, then waits for
requests from its parent on a socket pair that no other process holds. For each request
it forks; the child locks itself into the sandbox (:func:`enter_sandbox`: rlimits,
namespaces, Landlock, seccomp, exactly as the exec launcher does) and runs ``python -m
MODULE ARGS`` or ``python -c CODE ARGS`` in the same process.

The parent side is :class:`~rewardsmith.sandbox.forkserver.ForkServer`. Messages are
JSON, one per datagram of a ``SOCK_SEQPACKET`` pair:

* parent -> server: ``{"op": "spawn", "id", "argv", "cwd", "env", "spec"}`` with the
  child's stdin, stdout and stderr attached as file descriptors; ``{"op": "reap", "pid"}``.
* server -> parent: ``{"op": "ready"}``; ``{"op": "spawned", "id", "pid"}`` (or
  ``"error"``); ``{"op": "exited", "pid", "code"}`` (negative: killed by that signal).

An exited child stays a zombie until the parent says ``reap``, so its process-group id
cannot be reused while the parent may still kill that group. The server is
single-threaded (``unshare`` of a user namespace needs a single-threaded caller, and
forking a process with threads can leave locks held in the child), ignores the
terminal's Ctrl-C (the parent decides what a Ctrl-C ends) and dies with its parent.

    python -m rewardsmith.sandbox.zygote FD PARENT_PID [MODULE ...]
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import importlib
import json
import os
import runpy
import select
import signal
import socket
import sys
import tempfile
import traceback
from typing import Any

from rewardsmith.sandbox.enter import die_with_parent, enter_sandbox

_PR_SET_NAME = 15
_PR_SET_DUMPABLE = 4
_MAX_MESSAGE = 1 << 20

#: ``sys.path[0]`` as ``python -m`` set it for the server (its start folder).
_start_folder: str | None = None


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.send(json.dumps(message).encode())


def _exit_code(value: object) -> int:
    """The status ``sys.exit(value)`` gives a process, as the interpreter computes it."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    sys.stderr.write(f"{value}\n")
    return 1


def _run_program(argv: list[str]) -> int:
    """Run ``-m MODULE ARGS`` or ``-c CODE ARGS`` here; its exit status."""
    flag, target, args = argv[0], argv[1], argv[2:]
    try:
        if flag == "-m":
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *args]
            code = compile(target, "<string>", "exec")
            exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _child(request: dict[str, Any], fds: list[int], closing: list[int], server: int) -> None:
    """In the forked child: become the job's process, enter the sandbox, run, exit.

    ``server`` is the server's pid, taken before the fork: should the server die before
    the child has asked to die with it, the check against it (not ``getppid()``, which
    would name the new reaper by then) ends the child.
    """
    code = 1
    try:
        for fd in closing:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_DUMPABLE, 1)  # the server is not; its children must be (uid_map)
        libc.prctl(_PR_SET_NAME, b"rs-sandboxed")
        os.setsid()  # its own process group, so the parent can kill all of it
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        cwd = request["cwd"]
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # computed again from the job's TMPDIR on first use
        if sys.path and sys.path[0] == _start_folder:
            sys.path[0] = cwd  # `python -m` puts the start folder first; the job's is cwd
        spec = dict(request["spec"], parent=server)
        enter_sandbox(spec)
        code = _run_program(request["argv"])
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _status(pid: int) -> int | None:
    """``pid``'s exit status if it has exited (left unreaped), else ``None``."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return -signal.SIGKILL
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


class Zygote:
    """The server loop: requests in, children forked, exits reported."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.running: set[int] = set()
        self.exited: set[int] = set()
        self.unwanted: set[int] = set()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)

    def serve(self) -> None:
        """Answer requests until the parent closes its end."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the pipe
        _send(self.sock, {"op": "ready"})
        while True:
            readable, _, _ = select.select([self.sock, self.wake_r], [], [], 1.0)
            if self.wake_r in readable:
                os.read(self.wake_r, 4096)
            if self.sock in readable and not self._handle():
                break
            self._report_exits()
        self._shutdown()

    def _handle(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, _MAX_MESSAGE, 3)
        except OSError:
            return False
        if not data:
            return False
        request = json.loads(data)
        if request["op"] == "reap":
            pid = int(request["pid"])
            if pid in self.exited:
                self.exited.discard(pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            elif pid in self.running:
                self.unwanted.add(pid)  # the parent stopped waiting: reap it when it ends
        elif request["op"] == "spawn":
            self._spawn(request, fds)
        return True

    def _spawn(self, request: dict[str, Any], fds: list[int]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        server = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            _send(self.sock, {"op": "spawned", "id": request["id"], "error": str(exc)})
            return
        if pid == 0:
            _child(request, fds, [self.sock.fileno(), self.wake_r, self.wake_w], server)
        for fd in fds:
            os.close(fd)
        self.running.add(pid)
        _send(self.sock, {"op": "spawned", "id": request["id"], "pid": pid})

    def _report_exits(self) -> None:
        for pid in list(self.running):
            code = _status(pid)
            if code is None:
                continue
            self.running.discard(pid)
            if pid in self.unwanted:
                self.unwanted.discard(pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            else:
                self.exited.add(pid)
                with contextlib.suppress(OSError):
                    _send(self.sock, {"op": "exited", "pid": pid, "code": code})

    def _shutdown(self) -> None:
        """The parent is gone: nothing may outlive it."""
        for pid in self.running | self.exited:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def main(argv: list[str]) -> int:
    """Serve on the socket ``argv[0]`` for the process ``argv[1]``, having imported ``argv[2:]``."""
    fd, parent, preload = int(argv[0]), int(argv[1]), argv[2:]
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Not dumpable: its sandboxed children, though they run as the same user, cannot
    # open its /proc/<pid>/mem; each child turns the flag back on for itself.
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0)
    global _start_folder
    _start_folder = sys.path[0] if sys.path else None
    sock = socket.socket(fileno=fd)
    try:
        for name in preload:
            importlib.import_module(name)
    except Exception as exc:
        _send(sock, {"op": "failed", "error": f"importing {name}: {exc}"[:500]})
        return 1
    Zygote(sock).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
