"""A run waiting for a ranking survives interruption: resume comes back to the wait, and
``rewardsmith rank`` can give the ranking from another process."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO, default_sigint, only_run, run_cli

pytestmark = pytest.mark.slow

URL = re.compile(r"(http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/)")


class _Cli:
    """A CLI process whose output is read line by line while it runs."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rewardsmith.cli", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=default_sigint,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line)

    def url(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                match = URL.search(self.lines.get(timeout=0.5))
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.log)
                continue
            if match:
                return match.group(1)
        raise AssertionError("no URL printed:\n" + "".join(self.log))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def _rank(url: str, **extra: object) -> dict:
    with urllib.request.urlopen(url + "api/page", timeout=10) as answer:
        page = json.loads(answer.read())
    order = [c["slot"] for c in page["candidates"]][::-1]
    body = json.dumps({"order": order, **extra}).encode()
    request = urllib.request.Request(url + "api/ranking", body, {"Content-Type": "x"})
    urllib.request.urlopen(request, timeout=10).close()
    return page


def test_interrupted_wait_resumes_and_rank_gives_the_ranking(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "InvertedPendulum-v5", "--iterations", "1", "--samples", "2"]
    args += ["--budget", "1000", "--search", "full", "--no-cache", "--executor", "local"]
    args += ["--confirm-seeds", "0"]
    args += ["--eval-seeds", "0", "--feedback", "human", "--out", str(tmp_path / "runs")]
    first = _Cli(args, tmp_path)
    url = first.url()
    assert first.stop() == 130
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert not (run / "iter_00" / "iteration.json").exists()

    # Resuming comes back to the same wait, on a new page with a new token.
    again = _Cli(["resume", str(run)], tmp_path)
    second = again.url(timeout=60)
    assert second != url
    assert "training candidates" not in "".join(again.log)  # nothing was trained again
    assert again.stop() == 130

    # Another process gives the ranking; the page it serves is the one the run showed.
    ranker = _Cli(["rank", str(run), "--no-open"], tmp_path)
    page = _rank(ranker.url(timeout=60), text="slow but steady")
    assert ranker.proc.wait(timeout=30) == 0, "".join(ranker.log)
    assert "continue the run with: rewardsmith resume" in "".join(ranker.log)
    ranking = json.loads((run / "iter_00" / "ranking.json").read_text())
    preferred = ranking["order"][0]
    assert ranking["text"] == "slow but steady"
    assert len(page["candidates"]) == 2

    done = run_cli(["resume", str(run)], tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not URL.search(done.stdout)  # ranked already: no wait
    chosen = (run / "iter_00" / f"cand_{preferred:02d}" / "reward.py").read_text()
    assert (run / "best" / "reward.py").read_text() == chosen  # the person's pick wins
    record = json.loads((run / "iter_00" / "iteration.json").read_text())
    assert record["ranking"]["order"] == ranking["order"]

    nothing = run_cli(["rank", str(run), "--no-open"], tmp_path, timeout=60)
    assert nothing.returncode == 2 and "ranked already" in nothing.stderr
    missing = run_cli(["rank", str(run), "--iteration", "7", "--no-open"], tmp_path, timeout=60)
    assert missing.returncode == 2 and "--iteration 7 does not exist" in missing.stderr
    assert "it has iterations 1 (numbered from 1)" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_rank_records_missing_videos_of_a_run_with_automatic_feedback(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--iterations", "1", "--samples", "2"]
    args += ["--budget", "1000", "--search", "full", "--no-cache", "--executor", "local"]
    args += ["--confirm-seeds", "0"]
    args += ["--eval-seeds", "0", "--out", str(tmp_path / "runs")]
    made = run_cli(args, tmp_path, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    run = only_run(tmp_path / "runs")
    assert not list(run.glob("iter_00/cand_*/video.mp4"))  # auto feedback: no videos

    ranker = _Cli(["rank", str(run), "--no-open"], tmp_path)
    page = _rank(ranker.url(timeout=120))
    assert ranker.proc.wait(timeout=30) == 0, "".join(ranker.log)
    assert page["mode"] == "human" and all(c["video"] for c in page["candidates"])
    assert "recording" in "".join(ranker.log)
    for cand in page["candidates"]:
        assert (run / "iter_00" / f"cand_{cand['slot']:02d}" / "video.mp4").is_file()
    assert (run / "iter_00" / "ranking.json").is_file()
