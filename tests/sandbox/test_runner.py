"""The sandboxed runner: limits are enforced, the env is scrubbed, the network is cut."""

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rewardsmith.sandbox import runner as runner_module
from rewardsmith.sandbox import seccomp
from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.limits import NO_NAMESPACE_MARKER, network_isolation
from rewardsmith.sandbox.runner import (
    Limits,
    SandboxResult,
    run_sandboxed,
    sandbox_capabilities,
    scrubbed_env,
)
from tests.helpers import running

QUICK = Limits(cpu_seconds=10, wall_seconds=30)


@pytest.fixture(params=["launched", "forked"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ForkServer | None]:
    """Each sandbox test runs both ways: a fresh interpreter, and a fork server's child."""
    if request.param == "launched":
        yield None
        return
    folder = tmp_path / "server"
    folder.mkdir()
    fork_server = ForkServer((), lambda: folder)
    yield fork_server
    fork_server.close()


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_env_is_scrubbed_and_cwd_is_private(
    server: ForkServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-should-not-leak")
    monkeypatch.setenv("HF_TOKEN", "hf-should-not-leak")
    monkeypatch.setenv("LC_SECRET_THING", "nope")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    code = "import json, os; print(json.dumps({'cwd': os.getcwd(), 'env': dict(os.environ)}))"
    result = run_sandboxed(python(code), tmp_path, QUICK, fork_server=server)
    assert result.ok, result.describe()
    assert result.forked == (server is not None)
    seen = json.loads(result.stdout_tail)
    env = seen["env"]
    assert Path(seen["cwd"]) == tmp_path
    assert not [k for k in env if "KEY" in k or "TOKEN" in k or "SECRET" in k]
    assert "sk-should-not-leak" not in result.stdout_tail
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["LC_ALL"] == "C.UTF-8"
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"


def test_scrubbed_env_drops_secrets_from_extra_too(tmp_path: Path) -> None:
    env = scrubbed_env(
        tmp_path,
        base={"PATH": "/bin", "SSH_AUTH_SOCK": "x"},
        extra={"MY_PASSWORD": "p", "MUJOCO_GL": "egl"},
    )
    assert env["PATH"] == "/bin" and env["MUJOCO_GL"] == "egl"
    assert "MY_PASSWORD" not in env and "SSH_AUTH_SOCK" not in env
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(__file__).resolve().parents[2])


def test_memory_limit_stops_an_8_gb_allocation(server: ForkServer | None, tmp_path: Path) -> None:
    result = run_sandboxed(
        python("b = bytearray(8 * 1024**3)"), tmp_path, QUICK, fork_server=server
    )
    assert not result.ok
    assert "ran out of memory" in result.describe()
    assert "4096 MB" in result.describe()


def test_cpu_limit_stops_an_infinite_loop(server: ForkServer | None, tmp_path: Path) -> None:
    result = run_sandboxed(
        python("while True: pass"), tmp_path, Limits(cpu_seconds=1), fork_server=server
    )
    assert result.signal == signal.SIGXCPU and not result.timed_out
    assert result.describe() == "exceeded the CPU-time limit of 1 s"


def test_wall_limit_stops_a_sleeper_and_its_children(
    server: ForkServer | None, tmp_path: Path
) -> None:
    code = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = run_sandboxed(
        python(code), tmp_path, Limits(cpu_seconds=10, wall_seconds=1.0), fork_server=server
    )
    assert time.monotonic() - started < 5
    assert result.timed_out and not result.ok
    assert result.describe() == "exceeded the wall-clock limit of 1 s"
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(100):
        if not running(child):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the sandboxed process's child survived the group kill")


def test_file_size_limit(server: ForkServer | None, tmp_path: Path) -> None:
    code = "open('big', 'wb').write(b'0' * (3 * 1024 * 1024))"
    result = run_sandboxed(
        python(code), tmp_path, Limits(cpu_seconds=10, file_size_mb=1), fork_server=server
    )
    assert not result.ok
    assert "larger than the limit of 1 MB" in result.describe()


def test_exit_code_and_last_stderr_line(server: ForkServer | None, tmp_path: Path) -> None:
    code = "import sys; print('noise', file=sys.stderr); sys.exit('boom: the last line')"
    result = run_sandboxed(python(code), tmp_path, QUICK, fork_server=server)
    assert result.returncode == 1 and result.forked == (server is not None)
    assert result.describe() == "exited with code 1: boom: the last line"
    assert result.stderr_tail.startswith("noise")


def test_describe_without_a_process() -> None:
    killed = SandboxResult(-9, "", "", False, signal.SIGKILL, limits=Limits(cpu_seconds=5))
    assert killed.describe().startswith("killed by SIGKILL (out of memory or CPU limit?")
    assert "CPU limit 5 s" in killed.describe() and "memory limit 4096 MB" in killed.describe()
    crashed = SandboxResult(3, "", "Traceback\nValueError: bad\n", False, None)
    assert crashed.describe() == "exited with code 3: ValueError: bad"
    assert SandboxResult(0, "", "", False, None).ok
    assert not SandboxResult(0, "", "", True, None).ok


def _serve_once(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
        conn.close()
    except OSError:
        pass


CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
    "except OSError as exc:\n"
    "    sys.exit(f'no connection: {{exc}}')\n"
    "print('connected')\n"
)


@pytest.mark.skipif(
    not network_isolation()[0], reason=f"no network namespace here ({network_isolation()[1]})"
)
def test_network_namespace_cuts_off_localhost(server: ForkServer | None, tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(2)
        listener.settimeout(10)
        port = listener.getsockname()[1]
        threading.Thread(target=_serve_once, args=(listener,), daemon=True).start()
        cut = run_sandboxed(python(CONNECT.format(port=port)), tmp_path, QUICK, fork_server=server)
        assert cut.network_isolated
        assert cut.returncode == 1 and "no connection" in cut.describe()
        # The same code with network allowed connects: the test itself can fail.
        allowed = Limits(cpu_seconds=10, wall_seconds=30, network=True)
        opened = run_sandboxed(
            python(CONNECT.format(port=port)), tmp_path, allowed, fork_server=server
        )
        assert opened.ok and "connected" in opened.stdout_tail and not opened.network_isolated


def test_capabilities_and_presets() -> None:
    caps = sandbox_capabilities()
    assert {"rlimits", "network_isolation", "landlock", "seccomp", "process_limit"} <= set(caps)
    assert all(isinstance(v, (bool, str)) for v in caps.values())
    check = Limits.for_check()
    assert check.cpu_seconds == 20 and check.wall_seconds == 60 and not check.network
    train = Limits.for_training(100)
    assert train.cpu_seconds == 260 and train.wall_seconds == 420


def test_runs_without_isolation_when_the_namespace_fails(
    server: ForkServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # unshare(2) rejects this flag with EINVAL: the launcher must go on and say so.
    monkeypatch.setattr(runner_module, "network_isolation", lambda: (0x1, "bogus"))
    result = run_sandboxed(python("print('still ran')"), tmp_path, QUICK, fork_server=server)
    assert result.ok and "still ran" in result.stdout_tail
    assert not result.network_isolated
    assert result.stderr_tail.startswith(NO_NAMESPACE_MARKER)


ESCAPES = r"""
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
def attempt(name, call):
    try:
        call()
        print(name, "ran")
    except OSError as exc:
        print(name, "errno", exc.errno)
def checked(result):
    if result != 0:
        raise OSError(ctypes.get_errno(), "failed")
attempt("unshare", lambda: checked(libc.unshare(0x00020000)))  # a mount namespace
attempt("ptrace", lambda: checked(libc.ptrace(0, 0, 0, 0)))  # PTRACE_TRACEME
attempt("ipv4", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
"""


def _attempts(result: SandboxResult) -> dict[str, str]:
    assert result.ok, result.describe() + result.stderr_tail
    return dict(line.split(" ", 1) for line in result.stdout_tail.splitlines() if line)


@pytest.mark.skipif(seccomp.libseccomp() is None, reason="no libseccomp / seccomp here")
def test_seccomp_denies_what_a_worker_never_does(
    server: ForkServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    denied = _attempts(run_sandboxed(python(ESCAPES), tmp_path, QUICK, fork_server=server))
    assert denied == {"unshare": "errno 1", "ptrace": "errno 1", "ipv4": "errno 1", "unix": "ran"}
    # Where the limits allow the network, its sockets open; the rest stays denied.
    networked = Limits(cpu_seconds=10, wall_seconds=30, network=True)
    assert (
        _attempts(run_sandboxed(python(ESCAPES), tmp_path, networked, fork_server=server))["ipv4"]
        == "ran"
    )
    # The same code without the filter: the filter, not the namespaces, denied them.
    monkeypatch.setattr(runner_module.seccomp, "filter_spec", lambda network: None)
    free = _attempts(run_sandboxed(python(ESCAPES), tmp_path, QUICK, fork_server=server))
    assert free == {"unshare": "ran", "ptrace": "ran", "ipv4": "ran", "unix": "ran"}


def test_the_command_still_runs_when_the_filter_cannot_be_loaded(
    server: ForkServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = {"library": "libno-such-seccomp.so.2", "syscalls": ["ptrace"], "socket_families": []}
    monkeypatch.setattr(runner_module.seccomp, "filter_spec", lambda network: rules)
    result = run_sandboxed(python("print('still ran')"), tmp_path, QUICK, fork_server=server)
    assert result.ok and "still ran" in result.stdout_tail
    assert "rewardsmith sandbox: no seccomp" in result.stderr_tail
