"""Fault injection: a run survives every ordinary fault without losing work.

The real CLI runs in a child process; LLM faults come from the scripted loopback server
(the real litellm client talks to it), worker and main-process deaths are real SIGKILLs.
Budgets are tiny (CartPole, 2000-4000 steps): these tests check bookkeeping, not learning.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests import llm_server
from tests.helpers import REPO, fenced_answer, only_run, run_cli, spawn_cli
from tests.llm_server import Error, Reply, ScriptedLLMServer

GOOD = """
import numpy as np

def compute_reward(pole_angle, action):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    return 1.0 + upright, {"upright": upright}
"""

OTHER = """
import numpy as np

def compute_reward(pole_angle, cart_position):
    up = np.exp(-(pole_angle / 0.2) ** 2)
    mid = 0.1 * np.exp(-cart_position ** 2)
    return 1.0 + up + mid, {"upright": up, "centre": mid}
"""

UNKNOWN_FIELD = """
import numpy as np

def compute_reward(pole_angle, pole_tip_height):
    return pole_tip_height - np.abs(pole_angle), {"height": pole_tip_height}
"""

FIXED = """
import numpy as np

def compute_reward(pole_angle, pole_angular_velocity):
    upright = np.exp(-(pole_angle / 0.15) ** 2)
    calm = 0.1 * np.exp(-pole_angular_velocity ** 2)
    return 1.0 + upright + calm, {"upright": upright, "calm": calm}
"""


def _llm_args(url: str, *extra: str) -> list[str]:
    return [
        "synthesize",
        "--env",
        "CartPole-v1",
        "--model",
        "openai/test-model",
        "--api-base",
        url,
        "--budget",
        "2000",
        "--eval-seeds",
        "0",
        "--confirm-seeds",
        "0",
        "--iterations",
        "1",
        "--workers",
        "1",
        "--llm-backoff",
        "0.01",
        "--out",
        "runs",
        *extra,
    ]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _no_temp_files(run: Path) -> None:
    assert not list(run.rglob("*.tmp")), list(run.rglob("*.tmp"))
    for path in run.rglob("*.json"):
        json.loads(path.read_text())  # every JSON file is whole


@contextmanager
def _server_on_port(
    port: int, script: list[Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ScriptedLLMServer]:
    """A scripted server on a given port: the model server "comes back" where it was."""

    class Pinned(ThreadingHTTPServer):
        def __init__(self, address: Any, handler: Any) -> None:
            super().__init__(("127.0.0.1", port), handler)

    with monkeypatch.context() as patch:
        patch.setattr(llm_server, "ThreadingHTTPServer", Pinned)
        with ScriptedLLMServer(script) as server:
            yield server


# LLM faults --------------------------------------------------------------------------------


@pytest.mark.slow
def test_transient_llm_faults_are_retried_and_the_run_completes(tmp_path: Path) -> None:
    script = [
        Error(429, "rate limited, slow down"),
        Error(500, "internal server error"),
        Reply(fenced_answer(GOOD), delay=4.0),  # longer than --llm-timeout: a timeout
        Reply(""),  # empty answer
        Reply(fenced_answer(GOOD)[:60], finish_reason="length"),  # cut off by the token limit
        "I would shape the reward around the pole angle and keep it simple.",  # no code
        "I'm sorry, but I can't help with that.",  # a refusal
        fenced_answer(GOOD),
    ]
    with ScriptedLLMServer(script) as server:
        args = _llm_args(server.url, "--samples", "1", "--llm-timeout", "1.5")
        result = run_cli([*args, "--llm-retries", "5"], cwd=tmp_path, timeout=300)
        requests = list(server.requests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # One request per fault (no hidden client-side retries), then the good answer.
    assert len(requests) == len(script), len(requests)
    assert all(r["messages"] == requests[0]["messages"] for r in requests)
    it = only_run(tmp_path / "runs") / "iter_00"
    # Prose and refusal are kept as answers (the model did answer), then dropped for no code.
    assert "pole angle" in (it / "response_00.md").read_text()
    assert "can't help" in (it / "response_01.md").read_text()
    assert "compute_reward" in (it / "response_02.md").read_text()
    record = json.loads((it / "iteration.json").read_text())
    assert [r["status"] for r in record["results"]] == ["ok"]


@pytest.mark.slow
def test_llm_down_mid_design_stops_resumably_and_resume_asks_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder: dict[str, ScriptedLLMServer] = {}

    def go_down(request: dict[str, Any]) -> Error:
        # The server dies while answering the revision request: every retry is refused.
        inner = holder["server"]._server
        assert inner is not None
        inner.shutdown()
        inner.server_close()
        return Error(503, "going down")

    script = [fenced_answer(GOOD), fenced_answer(UNKNOWN_FIELD), go_down]
    with ScriptedLLMServer(script) as server:
        holder["server"] = server
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        args = _llm_args(server.url, "--samples", "2", "--max-revisions", "1")
        failed = run_cli([*args, "--llm-retries", "2"], cwd=tmp_path, timeout=300)
        first_requests = len(server.requests)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    run = only_run(tmp_path / "runs")
    lines = _error_lines(failed.stderr)
    assert len(lines) == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "failed after 3 attempt(s)" in lines[0]
    assert f"continue with: rewardsmith resume {run.relative_to(tmp_path)}" in lines[0]
    assert first_requests == 2
    # What the model answered and the critic judged is on disk; the design is not done.
    it = run / "iter_00"
    assert (it / "exchange_00.json").is_file() and not (it / "exchange_01.json").exists()
    assert json.loads((it / "cand_00" / "critic.json").read_text())["passed"]
    assert not json.loads((it / "cand_01" / "critic.json").read_text())["passed"]
    assert not (it / "candidates.json").exists()
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    verdict_mtime = (it / "cand_00" / "critic.json").stat().st_mtime_ns

    with _server_on_port(port, [fenced_answer(FIXED)], monkeypatch) as back:
        resumed = run_cli(["resume", str(run)], cwd=tmp_path, timeout=300)
        again = list(back.requests)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    # Only the unanswered revision is asked; it carries the critic's verdict.
    assert len(again) == 1
    assert "pole_tip_height" in again[0]["messages"][-1]["content"]
    assert (it / "cand_00" / "critic.json").stat().st_mtime_ns == verdict_mtime
    slots = json.loads((it / "candidates.json").read_text())
    assert [s["critic"]["passed"] for s in slots] == [True, False, True]
    record = json.loads((it / "iteration.json").read_text())
    assert [r["status"] for r in record["results"]] == ["ok", "rejected", "ok"]
    assert json.loads((run / "run.json").read_text())["usage"]["requests"] == 2


@pytest.mark.slow
def test_retries_exhausted_is_one_line_and_resume_completes(tmp_path: Path) -> None:
    with ScriptedLLMServer([]) as server:  # an empty script answers HTTP 500 to everything
        args = _llm_args(server.url, "--samples", "1", "--llm-retries", "2")
        failed = run_cli(args, cwd=tmp_path, timeout=300)
        assert len(server.requests) == 3
        assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
        lines = _error_lines(failed.stderr)
        assert len(lines) == 1 and "Traceback" not in failed.stderr, failed.stderr
        assert "failed after 3 attempt(s): InternalServerError" in lines[0], lines[0]
        assert "The run is kept; continue with: rewardsmith resume" in lines[0]
        run = only_run(tmp_path / "runs")
        assert "rewardsmith resume" in lines[0] and run.name in lines[0]
        assert (run / "transitions.npz").is_file()
        _no_temp_files(run)
        server.add(fenced_answer(GOOD))
        resumed = run_cli(["resume", str(run)], cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    record = json.loads((run / "iter_00" / "iteration.json").read_text())
    assert [r["status"] for r in record["results"]] == ["ok"]
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


class _ScriptedDesigner:
    """A designer answering from a list; an exception in the list is raised instead."""

    name = "scripted"

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []
        self.remembered: list[str] = []

    def _next(self, kind: str) -> Any:
        from rewardsmith.agent.candidate import RewardCandidate
        from rewardsmith.agent.designer import DesignBatch

        self.calls.append(kind)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return DesignBatch([RewardCandidate(a) for a in answer], f"# {kind}", list(answer))

    def propose(self, ctx: Any, history: Any, n: int) -> Any:
        return self._next(f"propose {n}")

    def revise(self, ctx: Any, candidate: Any, problems: list[str]) -> Any:
        return self._next("revise")

    def remember(self, candidates: list[Any]) -> None:
        self.remembered += [c.id for c in candidates]


class _CountingCritic:
    """Passes every candidate without ``pole_tip_height``; counts its checks."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def check(self, candidate: Any) -> Any:
        from rewardsmith.agent.critic import CriticReport

        self.checked.append(candidate.id)
        if "pole_tip_height" in candidate.source:
            return CriticReport(False, ["unknown field pole_tip_height"])
        return CriticReport(True)


def test_design_phase_resumes_from_the_answers_on_disk(tmp_path: Path) -> None:
    from rewardsmith.agent.llm import LLMError
    from rewardsmith.agent.loop import SynthesisLoop
    from rewardsmith.config import SynthConfig
    from rewardsmith.store import RunStore

    config = SynthConfig(env="CartPole-v1", samples=2, budget="2000", max_revisions=1)
    store = RunStore.create(tmp_path, "run")
    store.write_run({"config": config.to_json()})
    down = LLMError("LLM request failed after 3 attempt(s)")
    first = _ScriptedDesigner([[GOOD, UNKNOWN_FIELD], down])
    critic = _CountingCritic()
    loop = SynthesisLoop(config, store, first, executor=None)  # type: ignore[arg-type]
    with pytest.raises(LLMError):
        loop._design(0, [], critic)  # type: ignore[arg-type]
    assert first.calls == ["propose 2", "revise"]
    assert len(critic.checked) == 2
    assert not (store.iter_dir(0) / "candidates.json").exists()

    second = _ScriptedDesigner([[FIXED]])
    loop = SynthesisLoop(config, store, second, executor=None)  # type: ignore[arg-type]
    slots = loop._design(0, [], critic)  # type: ignore[arg-type]
    # Only the unanswered revision is asked; judged candidates are not checked again.
    assert second.calls == ["revise"]
    assert len(critic.checked) == 3
    assert [s.report.passed for s in slots] == [True, False, True]
    assert len(second.remembered) == 2  # replayed candidates count as handed out
    assert (store.iter_dir(0) / "candidates.json").exists()
    responses = sorted(p.name for p in store.iter_dir(0).glob("response_*.md"))
    assert responses == ["response_00.md", "response_01.md", "response_02.md"]


# Worker and main-process deaths -------------------------------------------------------------


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(10):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
    return False


def _training_workers(cli_pid: int) -> dict[int, str]:
    """Training workers under ``cli_pid``: pid -> the reward source they train."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # A worker forked by the fork server keeps the server's command line: what
            # marks a worker is the job in its working folder.
            job = json.loads((entry / "cwd" / "job.json").read_text())
        except (OSError, ValueError):
            continue
        if job.get("kind") == "train" and _descends_from(int(entry.name), cli_pid):
            found[int(entry.name)] = job["reward"].get("source", job["reward"]["mode"])
    return found


class _WorkerKiller(threading.Thread):
    """SIGKILLs the first ``count`` training workers of a CLI once each has run a while."""

    def __init__(self, cli_pid: int, count: int, after: float) -> None:
        super().__init__(daemon=True)
        self.cli_pid, self.count, self.after = cli_pid, count, after
        self.killed: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        first_seen: dict[int, float] = {}
        while not self.stop.is_set() and len(self.killed) < self.count:
            now = time.monotonic()
            for pid, source in _training_workers(self.cli_pid).items():
                first_seen.setdefault(pid, now)
                if now - first_seen[pid] >= self.after and len(self.killed) < self.count:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    self.killed.append(source)
                    first_seen[pid] = float("inf")
            time.sleep(0.05)


@pytest.mark.slow
def test_killed_workers_are_retried_once_then_marked_failed(tmp_path: Path) -> None:
    # --search full: every candidate trains whole, so the kills land where the test expects.
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "4000", "--eval-seeds", "0"]
    args += ["--search", "full", "--confirm-seeds", "0"]
    args += ["--samples", "2", "--iterations", "1", "--workers", "1", "--out", "runs"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", *args],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Candidate 0: killed, retried, killed again. Candidate 1: killed once, then trains.
    killer = _WorkerKiller(proc.pid, count=3, after=2.0)
    killer.start()
    try:
        out, err = proc.communicate(timeout=400)
    finally:
        killer.stop.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert len(killer.killed) == 3
    it = only_run(tmp_path / "runs") / "iter_00"
    first = (it / "cand_00" / "reward.py").read_text()
    second = (it / "cand_01" / "reward.py").read_text()
    assert killer.killed == [first, first, second]
    record = json.loads((it / "iteration.json").read_text())
    failed, ok = record["results"]
    assert failed["status"] == "failed" and ok["status"] == "ok"
    reason = " ".join(failed["problems"])
    assert "SIGKILL" in reason and "after 2 tries" in reason, reason
    assert "SIGKILL" in out  # the user sees why


@pytest.mark.slow
def test_sigkill_during_design_resumes_without_asking_again(tmp_path: Path) -> None:
    asked_to_revise = threading.Event()

    def stall(request: dict[str, Any]) -> Reply:
        asked_to_revise.set()
        return Reply(fenced_answer(FIXED), delay=60.0)  # the CLI is killed while it waits

    with ScriptedLLMServer([fenced_answer(UNKNOWN_FIELD), stall]) as server:
        args = _llm_args(server.url, "--samples", "1", "--max-revisions", "1")
        proc = spawn_cli(args, tmp_path)
        try:
            assert asked_to_revise.wait(timeout=240), "the revision was never asked"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        run = only_run(tmp_path / "runs")
        it = run / "iter_00"
        assert (it / "exchange_00.json").is_file() and not (it / "candidates.json").exists()
        # A write the kill cut short: never taken for the real file.
        (it / "cand_01").mkdir(exist_ok=True)
        (it / "cand_01" / ".critic.json.x1y2.tmp").write_text('{"passed": tr')
        server.add(fenced_answer(FIXED))
        resumed = run_cli(["resume", str(run)], cwd=tmp_path, timeout=300)
        requests = list(server.requests)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert len(requests) == 3  # the first answer was not asked for again
    assert "pole_tip_height" in requests[2]["messages"][-1]["content"]
    slots = json.loads((it / "candidates.json").read_text())
    assert [s["critic"]["passed"] for s in slots] == [False, True]
    _no_temp_files(run)


@pytest.mark.slow
def test_sigkill_during_training_and_final_evaluation_resumes_exactly(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "2000", "--eval-seeds", "1"]
    args += ["--search", "full", "--confirm-seeds", "0"]
    args += ["--samples", "2", "--iterations", "1", "--workers", "1", "--out", "runs"]
    proc = spawn_cli(args, tmp_path)
    runs = tmp_path / "runs"
    try:
        done = _wait_for(
            lambda: next(iter(runs.glob("*/iter_00/cand_00/fitness.json")), None),
            "the first candidate's training",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run = done.parents[2]
    it = run / "iter_00"
    first = (done.stat().st_mtime_ns, done.read_text())
    assert not (it / "cand_01" / "fitness.json").exists()
    # A result file half written when the kill came: resume must train cand_01 itself.
    (it / "cand_01" / ".fitness.json.k9z.tmp").write_text('{"status": "ok", "fitness": 5')

    proc = spawn_cli(["resume", str(run)], tmp_path)
    try:
        best = _wait_for(
            lambda: next(iter(run.glob("best/seed_*/fitness.json")), None),
            "the final evaluation's first training",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (run / "best" / "report.json").exists()
    second = (it / "cand_01" / "fitness.json").stat().st_mtime_ns
    best_before = (best.stat().st_mtime_ns, best.read_text())

    final = run_cli(["resume", str(run)], cwd=tmp_path, timeout=300)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    # Nothing finished was trained again.
    assert (done.stat().st_mtime_ns, done.read_text()) == first
    assert (it / "cand_01" / "fitness.json").stat().st_mtime_ns == second
    assert (best.stat().st_mtime_ns, best.read_text()) == best_before
    report = json.loads((run / "best" / "report.json").read_text())
    assert report["missing"] == [] and report["sparse"]["mean"] is not None
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    _no_temp_files(run)


@pytest.mark.slow
def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path: Path) -> None:
    """``timeout``, ``kill`` and batch schedulers send SIGTERM: Ray's driver answered it
    with a C++ stack dump; now the run is marked interrupted and says how to resume."""
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "2000", "--search", "full"]
    args += ["--samples", "2", "--iterations", "2", "--workers", "1", "--out", "runs"]
    err = tmp_path / "stderr.txt"
    with err.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rewardsmith.cli", *args],
            cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            first = "*/iter_00/cand_00/fitness.json"
            _wait_for(
                lambda: next(iter((tmp_path / "runs").glob(first)), None),
                "the first candidate's training",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
    text = err.read_text()
    assert code == 130, text[-3000:]
    assert "SIGTERM received" not in text and "logging.cc" not in text, text[-3000:]
    run = only_run(tmp_path / "runs")
    assert "interrupted; continue with: rewardsmith resume" in " ".join(text.split())
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"


# The output folder ------------------------------------------------------------------------


def _refused_before_work(tmp_path: Path, out: str, pattern: str) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "2000", "--out", out]
    result = run_cli(args, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert pattern in lines[0] and "--out" in lines[0], lines[0]
    assert "collecting" not in result.stdout  # no work started


def test_output_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    _refused_before_work(tmp_path, "a-file/runs", "Not a directory")


def test_output_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("x")
    _refused_before_work(tmp_path, "runs", "cannot write to output folder 'runs'")


def test_unwritable_output_folder_is_refused(tmp_path: Path) -> None:
    # Permission bits do not stop root; /proc refuses new folders to everyone.
    _refused_before_work(tmp_path, "/proc/rewardsmith-runs", "cannot write to output folder")


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"\0" * 65536)
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, if this machine lets the tests mount one."""
    mount = tmp_path / "tiny"
    _mount_tmpfs(mount, "1m")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_nearly_full_disk_is_refused_before_work(tmp_path: Path, tiny_disk: Path) -> None:
    _refused_before_work(tmp_path, str(tiny_disk / "runs"), "KiB free")
    assert not any((tiny_disk / "runs").iterdir())


def test_full_disk_is_refused_before_work(tmp_path: Path, tiny_disk: Path) -> None:
    _fill(tiny_disk)
    _refused_before_work(tmp_path, str(tiny_disk / "runs"), "No space left on device")


@pytest.mark.slow
def test_disk_full_mid_run_stops_cleanly_and_resume_completes(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "24m")  # passes the free-space check at the start
    try:
        filled = threading.Event()

        def answer_once_full(request: dict[str, Any]) -> str:
            assert filled.wait(timeout=120)
            return fenced_answer(GOOD)

        with ScriptedLLMServer([answer_once_full]) as server:
            args = _llm_args(server.url, "--samples", "1")
            args[args.index("--out") + 1] = str(disk / "runs")
            proc = subprocess.Popen(
                [sys.executable, "-m", "rewardsmith.cli", *args],
                cwd=tmp_path,
                env=dict(os.environ, PYTHONPATH=str(REPO)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                _wait_for(lambda: server.requests, "the first model request")
                filler = _fill(disk)  # the disk fills while the model thinks
                filled.set()
                out, err = proc.communicate(timeout=120)
            finally:
                filled.set()
                if proc.poll() is None:
                    proc.kill()
            assert proc.returncode == 1, out[-3000:] + err[-3000:]
            lines = _error_lines(err)
            assert len(lines) == 1 and "Traceback" not in err, err
            assert "No space left on device" in lines[0] and "rewardsmith resume" in lines[0]
            run = next((disk / "runs").iterdir())
            _no_temp_files(run)  # no half-written file was left behind
            filler.unlink()
            server.add(fenced_answer(GOOD))
            resumed = run_cli(["resume", str(run)], cwd=tmp_path, timeout=300)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        record = json.loads((run / "iter_00" / "iteration.json").read_text())
        assert [r["status"] for r in record["results"]] == ["ok"]
        _no_temp_files(run)
    finally:
        subprocess.run(["umount", str(disk)], check=False)
