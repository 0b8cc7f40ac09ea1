"""Job scratch folders: removed at exit, and swept after their process was killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rewardsmith.train.scratch import ROOT_PREFIX, sweep_orphans

MAKE_JOB_FOLDER = """
import os, signal, sys
from rewardsmith.train.scratch import scratch_dir
job = scratch_dir("job-")
(job / "policy.zip").write_bytes(b"x" * 1000)
print(job, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "wait":
    sys.stdin.read()
"""


def _child(mode: str, temp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", MAKE_JOB_FOLDER, mode],
        env=dict(os.environ, TMPDIR=str(temp)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_process_that_exits_leaves_no_scratch_folder(tmp_path: Path) -> None:
    child = _child("exit", tmp_path)
    job = Path(child.communicate()[0].strip())
    assert child.returncode == 0
    assert job.parent.parent == tmp_path and job.parent.name.startswith(ROOT_PREFIX)
    assert not job.parent.exists()


def test_a_killed_process_s_folders_are_swept_and_a_live_one_s_kept(tmp_path: Path) -> None:
    live = _child("wait", tmp_path)
    assert live.stdout is not None
    live_job = Path(live.stdout.readline().strip())
    try:
        killed = _child("kill", tmp_path)
        dead_job = Path(killed.communicate()[0].strip())
        assert killed.returncode == -9
        assert (dead_job / "policy.zip").exists(), "SIGKILL skips every cleanup"
        removed = sweep_orphans(tmp_path)
        assert removed == [dead_job.parent]
        assert not dead_job.parent.exists()
        assert (live_job / "policy.zip").exists()
        # Folders that are not scratch roots are none of its business.
        other = tmp_path / f"{ROOT_PREFIX}notapid"
        other.mkdir()
        assert sweep_orphans(tmp_path) == [] and other.exists()
    finally:
        live.communicate("")
    assert not live_job.parent.exists()


def test_the_next_process_sweeps_what_a_killed_one_left(tmp_path: Path) -> None:
    killed = _child("kill", tmp_path)
    dead_job = Path(killed.communicate()[0].strip())
    assert dead_job.exists()
    _child("exit", tmp_path).communicate()
    assert list(tmp_path.iterdir()) == []
