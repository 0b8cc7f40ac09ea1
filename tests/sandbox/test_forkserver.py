"""The fork server: children sandboxed as launched ones are; nothing outlives the parent."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.runner import Limits, run_sandboxed
from tests.helpers import REPO, running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

QUICK = Limits(cpu_seconds=10, wall_seconds=30)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def server(tmp_path: Path) -> ForkServer:
    folder = tmp_path / "server"
    folder.mkdir()
    fork_server = ForkServer(("json",), lambda: folder)
    yield fork_server
    fork_server.close()


def test_a_child_has_no_way_back_to_the_server(server: ForkServer, tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import os
        fds = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                pass  # the listing's own descriptor, closed by now
        print("sockets", sorted(t for t in fds.values() if t.startswith("socket:")))
        print("fds", sorted(fds))
        try:
            open(f"/proc/{os.getppid()}/mem", "rb").read(1)
            print("server_memory", "read")
        except OSError as exc:
            print("server_memory", type(exc).__name__)
        """
    )
    result = run_sandboxed(python(code), tmp_path, QUICK, fork_server=server)
    assert result.ok and result.forked, result.describe() + result.stderr_tail
    lines = dict(line.split(" ", 1) for line in result.stdout_tail.splitlines())
    assert lines["sockets"] == "[]"  # neither the request socket nor the server's wake pipe
    assert lines["fds"] == "['0', '1', '2']"  # stdin, stdout and stderr; nothing inherited
    assert lines["server_memory"] != "read"


def test_children_run_side_by_side_and_each_gets_its_own_output(
    server: ForkServer, tmp_path: Path
) -> None:
    results: dict[int, object] = {}

    def one(i: int) -> None:
        folder = tmp_path / f"job{i}"
        folder.mkdir()
        code = f"import os, time; time.sleep(0.3); print({i}, os.getcwd())"
        results[i] = run_sandboxed(python(code), folder, QUICK, fork_server=server)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 20
    for i, result in results.items():
        assert result.ok and result.forked
        assert result.stdout_tail.split() == [str(i), str(tmp_path / f"job{i}")]


def test_an_environment_unlike_the_servers_is_launched_instead(
    server: ForkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_sandboxed(python("print('a')"), tmp_path, QUICK, fork_server=server)
    monkeypatch.setenv("LC_ALL", "C.UTF-8-other")
    code = "import os; print(os.environ['LC_ALL'])"
    second = run_sandboxed(python(code), tmp_path, QUICK, fork_server=server)
    assert first.forked and not second.forked
    assert second.ok and second.stdout_tail.strip() == "C.UTF-8-other"
    # A command the server cannot run (not python -m / -c) is launched too.
    third = run_sandboxed(["/bin/echo", "hi"], tmp_path, QUICK, fork_server=server)
    assert third.ok and not third.forked and third.stdout_tail.strip() == "hi"


def test_a_server_that_cannot_start_leaves_commands_to_the_launcher(tmp_path: Path) -> None:
    folder = tmp_path / "server"
    folder.mkdir()
    broken = ForkServer(("rewardsmith_no_such_module",), lambda: folder)
    for _ in range(2):
        result = run_sandboxed(python("print('ran')"), tmp_path, QUICK, fork_server=broken)
        assert result.ok and not result.forked and result.stdout_tail.strip() == "ran"
    assert "rewardsmith_no_such_module" in (folder / "server.log").read_text() or broken.pid


def test_the_server_ignores_ctrl_c_and_close_ends_its_children(
    server: ForkServer, tmp_path: Path
) -> None:
    assert run_sandboxed(python("pass"), tmp_path, QUICK, fork_server=server).forked
    assert server.pid is not None
    os.kill(server.pid, signal.SIGINT)  # the terminal's Ctrl-C is the parent's to handle
    time.sleep(0.2)
    assert run_sandboxed(python("pass"), tmp_path, QUICK, fork_server=server).forked
    outcome: dict[str, object] = {}
    sleeper = threading.Thread(
        target=lambda: outcome.update(
            result=run_sandboxed(
                python("import time; time.sleep(60)"), tmp_path, QUICK, fork_server=server
            )
        )
    )
    started = time.monotonic()
    sleeper.start()
    time.sleep(1.0)
    server.close()
    sleeper.join(timeout=20)
    assert not sleeper.is_alive() and time.monotonic() - started < 20
    result = outcome["result"]
    assert not result.ok and result.signal == signal.SIGKILL  # type: ignore[attr-defined]
    assert _gone(server.pid)
    # A closed server forks nothing more; commands still run.
    after = run_sandboxed(python("print('ran')"), tmp_path, QUICK, fork_server=server)
    assert after.ok and not after.forked


PARENT = """
import sys, threading, time
from pathlib import Path
from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.runner import Limits, run_sandboxed
folder = Path(sys.argv[1])
server = ForkServer(("json",), lambda: folder)
code = "import os, time; open('child.pid', 'w').write(str(os.getpid())); time.sleep(120)"
threading.Thread(
    target=run_sandboxed,
    args=([sys.executable, "-c", code], folder, Limits(cpu_seconds=200)),
    kwargs={"fork_server": server},
    daemon=True,
).start()
while not (folder / "child.pid").exists():
    time.sleep(0.05)
print(server.pid, flush=True)
time.sleep(120)
"""


def test_a_killed_parent_takes_the_server_and_its_children_along(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        line = parent.stdout.readline()  # type: ignore[union-attr]
        server_pid = int(line)
        child_pid = int((tmp_path / "child.pid").read_text())
        assert not _gone(server_pid, 0.1) and not _gone(child_pid, 0.1)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait()
        assert _gone(server_pid) and _gone(child_pid)
    finally:
        parent.kill()


def test_a_light_job_does_not_wait_for_a_server_still_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "rs_slow_import.py").write_text("import time\ntime.sleep(3)\n")
    monkeypatch.setenv("PYTHONPATH", f"{modules}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    folder = tmp_path / "server"
    folder.mkdir()
    server = ForkServer(("rs_slow_import",), lambda: folder)
    try:
        started = time.monotonic()
        light = run_sandboxed(
            python("print('light')"),
            tmp_path,
            QUICK,
            fork_server=server,
            wait_for_fork_server=False,
        )
        assert light.ok and not light.forked and time.monotonic() - started < 2.5
        assert server.pid is not None  # the light job started the server for the ones after it
        heavy = run_sandboxed(python("print('heavy')"), tmp_path, QUICK, fork_server=server)
        assert heavy.ok and heavy.forked and time.monotonic() - started >= 3
        later = run_sandboxed(
            python("print('later')"),
            tmp_path,
            QUICK,
            fork_server=server,
            wait_for_fork_server=False,
        )
        assert later.ok and later.forked
    finally:
        server.close()


def _in_forked_process(server: ForkServer, folder: Path, answers: "multiprocessing.Queue") -> None:
    result = run_sandboxed(python("print('child')"), folder, QUICK, fork_server=server)
    answers.put((result.ok, result.forked, result.stdout_tail.strip(), server.pid))
    server.close()


def test_a_process_forked_from_the_owner_gets_a_server_of_its_own(
    server: ForkServer, tmp_path: Path
) -> None:
    assert run_sandboxed(python("pass"), tmp_path, QUICK, fork_server=server).forked
    owners = server.pid
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    process = context.Process(target=_in_forked_process, args=(server, tmp_path, answers))
    process.start()
    ok, forked, out, pid = answers.get(timeout=60)
    process.join(timeout=30)
    assert ok and forked and out == "child"
    assert pid != owners  # not the owner's server, whose socket it must not share
    # The owner's server still answers the owner.
    again = run_sandboxed(python("print('owner')"), tmp_path, QUICK, fork_server=server)
    assert again.forked and again.stdout_tail.strip() == "owner" and server.pid == owners
