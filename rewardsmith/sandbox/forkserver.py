"""The parent's side of the fork server: start sandboxed children without a fresh interpreter.

:class:`ForkServer` starts :mod:`rewardsmith.sandbox.zygote` on first use (with the same
scrubbed environment its children get), hands it each job's command, folder, environment,
sandbox spec and output files, and waits for the exit status it reports. Where it cannot
serve a command (not Linux, a command other than ``python -m``/``python -c``, an
environment other than the server's, a server that failed to start) :meth:`spawn` returns
``None`` and the caller starts the command through the exec launcher as before, so the
server is purely a speed-up: the sandbox a job runs in is the same either way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

#: Variables that name the child's own folder; every other one must match the server's.
PER_JOB_VARS = frozenset({"HOME", "TMPDIR"})
#: Seconds to wait for the server to take a request (it may still be importing torch).
SPAWN_TIMEOUT = 300.0
#: Servers started per process before it gives up and uses the exec launcher only.
MAX_STARTS = 3
_MAX_MESSAGE = 1 << 16


def available() -> bool:
    """Whether this platform can fork sandboxed children (Linux: ``unshare``, ``prctl``)."""
    return sys.platform.startswith("linux")


def _shared(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in PER_JOB_VARS}


class ForkServer:
    """Forks sandboxed children from one process that has imported ``preload`` already.

    Thread-safe: every job thread of an executor spawns and waits through one server.

    Args:
        preload: Modules the server imports before serving (e.g. ``("torch",)``).
        make_folder: Gives the server's own working folder when it starts (it writes
            ``server.log`` there).
    """

    def __init__(self, preload: Sequence[str], make_folder: Callable[[], Path]) -> None:
        self.preload = tuple(preload)
        self.make_folder = make_folder
        self._reset()

    def _reset(self) -> None:
        # A process forked from the owner (multiprocessing's fork start method) shares its
        # socket, so it must not talk to the owner's server: it gets its own.
        inherited = getattr(self, "_sock", None)
        if inherited is not None:
            with contextlib.suppress(OSError):
                inherited.close()  # this process's copy of the owner's end
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._sock: socket.socket | None = None
        self._env: dict[str, str] | None = None
        self._ready = False
        self._starts = 0
        self._next_id = 0
        self._spawned: dict[int, dict[str, Any]] = {}
        self._exited: dict[int, int] = {}
        self._pids: set[int] = set()
        #: The server process's id while one runs (for diagnosis and tests).
        self.pid: int | None = None

    # Starting and the reader -----------------------------------------------------------

    def _start(self, env: Mapping[str, str]) -> bool:
        """Start the server process (lock held); ``False`` when none may be started."""
        if self._starts >= MAX_STARTS:
            return False
        self._starts += 1
        folder = self.make_folder()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        server_env = dict(env, HOME=str(folder), TMPDIR=str(folder))
        self._sock, self._env, self._ready = ours, _shared(env), False
        started = threading.Event()
        # The reader thread starts the process: PR_SET_PDEATHSIG is tied to the thread
        # that forked, and this one lives exactly as long as the server.
        threading.Thread(
            target=self._read,
            args=(ours, theirs, folder, server_env, started),
            name="rs-forkserver",
            daemon=True,
        ).start()
        started.wait()
        return True

    def _read(
        self,
        sock: socket.socket,
        theirs: socket.socket,
        folder: Path,
        env: dict[str, str],
        started: threading.Event,
    ) -> None:
        argv = [sys.executable, "-m", "rewardsmith.sandbox.zygote", str(theirs.fileno())]
        argv += [str(os.getpid()), *self.preload]
        proc: subprocess.Popen[bytes] | None = None
        try:
            with open(folder / "server.log", "wb") as log:
                proc = subprocess.Popen(
                    argv,
                    cwd=folder,
                    env=env,
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,  # the terminal's Ctrl-C is the parent's to handle
                )
            self.pid = proc.pid
        except OSError as exc:
            logger.warning("could not start the fork server: %s", exc)
        finally:
            theirs.close()
            started.set()
        if proc is None:
            self._mark_dead(sock)
            return
        try:
            while True:
                data = sock.recv(_MAX_MESSAGE)
                if not data:
                    break
                self._dispatch(json.loads(data))
        except (OSError, ValueError) as exc:
            logger.debug("fork server connection ended: %s", exc)
        self._mark_dead(sock)
        proc.wait()
        tail = (folder / "server.log").read_text(errors="replace").strip().splitlines()
        logger.debug("fork server exited with %s: %s", proc.returncode, tail[-1:] or "")

    def _dispatch(self, message: dict[str, Any]) -> None:
        with self._changed:
            op = message.get("op")
            if op == "ready":
                self._ready = True
            elif op == "spawned":
                self._spawned[int(message["id"])] = message
            elif op == "exited":
                self._exited[int(message["pid"])] = int(message["code"])
            elif op == "failed":
                logger.warning("the fork server could not start: %s", message.get("error"))
            self._changed.notify_all()

    def _mark_dead(self, sock: socket.socket) -> None:
        with self._changed:
            if self._sock is sock:
                self._sock = None
            if self._sock is None:
                # Its children died with it (PR_SET_PDEATHSIG): report them killed.
                for pid in self._pids:
                    self._exited.setdefault(pid, -signal.SIGKILL)
            self._changed.notify_all()
        with contextlib.suppress(OSError):
            sock.close()

    # What callers use -------------------------------------------------------------------

    def accepts(self, argv: Sequence[str]) -> bool:
        """Whether the server can run ``argv``: ``python -m MODULE ...``, ``python -c CODE ...``."""
        return (
            available() and len(argv) >= 3 and argv[0] == sys.executable and argv[1] in ("-m", "-c")
        )

    def spawn(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        spec: dict[str, Any],
        stdout: IO[bytes],
        stderr: IO[bytes],
        wait_for_server: bool = True,
    ) -> int | None:
        """Start ``argv`` in a forked sandboxed child; its pid, or ``None`` to run it otherwise.

        Args:
            argv: ``[sys.executable, "-m" | "-c", target, *args]``.
            cwd: The child's working folder.
            env: Its full environment (see :func:`~rewardsmith.sandbox.runner.scrubbed_env`).
            spec: What it enters (:func:`~rewardsmith.sandbox.limits.launch_spec`).
            stdout: Where its standard output goes.
            stderr: Where its standard error goes.
            wait_for_server: Wait while the server is still importing its modules. A job
                that needs few of them (``False``) is better started at once another way;
                the server starts all the same, for the jobs after it.

        """
        if not self.accepts(argv):
            return None
        if self._owner != os.getpid():
            self._reset()
        with self._changed:
            if self._sock is None and not self._start(env):
                return None
            if self._env != _shared(env) or self._sock is None:
                return None
            if not wait_for_server and not self._ready:
                return None
            self._next_id += 1
            request_id = self._next_id
            request = {
                "op": "spawn",
                "id": request_id,
                "argv": list(argv[1:]),
                "cwd": str(cwd),
                "env": dict(env),
                "spec": spec,
            }
            with open(os.devnull, "rb") as stdin:
                fds = [stdin.fileno(), stdout.fileno(), stderr.fileno()]
                try:
                    socket.send_fds(self._sock, [json.dumps(request).encode()], fds)
                except OSError as exc:
                    logger.debug("fork server unreachable: %s", exc)
                    return None
            sock = self._sock
            if not self._changed.wait_for(
                lambda: request_id in self._spawned or self._sock is not sock,
                timeout=SPAWN_TIMEOUT,
            ):
                logger.warning("the fork server did not answer in %g s", SPAWN_TIMEOUT)
                return None
            reply = self._spawned.pop(request_id, None)
            if reply is None or "pid" not in reply:
                return None
            pid = int(reply["pid"])
            self._pids.add(pid)
            return pid

    def wait(self, pid: int, timeout: float | None) -> int | None:
        """``pid``'s exit status (negative: the signal that ended it); ``None`` on timeout.

        The child stays unreaped until :meth:`release`, so its process group can still be
        killed safely after this returns.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: pid in self._exited, timeout=timeout):
                return None
            return self._exited[pid]

    def release(self, pid: int) -> None:
        """Let the server reap ``pid`` (call once, after :meth:`wait` gave its status)."""
        with self._changed:
            self._pids.discard(pid)
            self._exited.pop(pid, None)
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"op": "reap", "pid": pid}).encode())

    def close(self) -> None:
        """Stop the server; its running children are killed with it."""
        with self._changed:
            sock, self._sock = self._sock, None
            self._starts = MAX_STARTS  # a closed server stays closed
            self._changed.notify_all()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
