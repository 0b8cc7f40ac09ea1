"""The Ray executor on an embedded local Ray with 2 workers: real tasks, real failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.executor import Job
from rewardsmith.train.jobs import JobOutcome
from rewardsmith.train.ray_executor import RAY_TEMP_PREFIX, RayExecutor
from rewardsmith.train.scratch import ROOT_PREFIX

# One Ray test at a time under pytest-xdist: each starts its own cluster, and one checks
# that no embedded cluster is left in the temp folder.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

REWARD = """
import numpy as np

def compute_reward(pole_angle, action):
    up = 1.0 - np.abs(pole_angle)
    return up, {"up": up}
"""


def _job(key: str, folder: Path, seed: int, steps: int = 2_048) -> Job:
    spec = {
        "kind": "train",
        "task": "CartPole-v1",
        "budget": "20000",
        "seed": seed,
        "reward": {"mode": "candidate", "source": REWARD},
        "steps": steps,
    }
    return Job(key, spec, Limits.for_training(120), folder)


@pytest.fixture(scope="module")
def ray_executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayExecutor]:
    os.chdir(tmp_path_factory.mktemp("ray-cwd"))  # MuJoCo and Ray must leave the repo clean
    # What a driver killed with SIGKILL leaves: its Ray session folder, named after it.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = Path(tempfile.mkdtemp(prefix=f"{RAY_TEMP_PREFIX}{gone.pid}-"))
    (stale / "session_latest").mkdir()
    executor = RayExecutor(workers=2, retries=0)
    yield executor
    temp = executor._temp_dir
    assert temp is not None and temp.name.startswith(f"{RAY_TEMP_PREFIX}{os.getpid()}-")
    assert not stale.exists(), "starting Ray removes the folder a killed driver left"
    workers = set(executor._worker_pids)
    assert workers, "the jobs ran in Ray worker processes"
    executor.close()
    assert temp is not None and not temp.exists(), "the embedded Ray's temp folder is removed"
    # Ray ends its workers without their exit hooks; close() sweeps their scratch roots.
    left = [p for pid in workers for p in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}{pid}-*")]
    assert left == []


def test_jobs_run_as_ray_tasks_and_send_back_files_and_progress(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    jobs = [_job(f"cand_{i}", tmp_path / f"c{i}", seed=i, steps=4_096) for i in range(2)]
    progress: list[tuple[str, dict]] = []
    outcomes = {
        job.key: out
        for job, out in ray_executor.run(jobs, lambda job, p: progress.append((job.key, p)))
    }
    assert all(o.ok for o in outcomes.values()), [o.error for o in outcomes.values()]
    pids = {o.result["pid"] for o in outcomes.values()}
    assert len(pids) == 2
    for job in jobs:
        names = {p.name for p in outcomes[job.key].files}
        assert {"policy.zip", "metrics.csv"} <= names
        assert (job.keep_dir / "policy.zip").stat().st_size > 1000
    assert {key for key, _ in progress} == {"cand_0", "cand_1"}
    assert all(p["target"] == 4_096 for _, p in progress)


def _ray_worker_pid(name: str) -> int | None:
    """The Ray worker process whose title names the task (Ray sets ``ray::<name>``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmdline.startswith(f"ray::{name}"):
            return int(entry.name)
    return None


def test_a_worker_killed_by_a_signal_fails_only_its_own_job(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    victim = _job("victim", tmp_path / "victim", seed=5, steps=200_000)
    healthy = _job("healthy", tmp_path / "healthy", seed=6)
    outcomes: dict[str, JobOutcome] = {}
    runner = threading.Thread(
        target=lambda: outcomes.update(
            {job.key: out for job, out in ray_executor.run([victim, healthy])}
        )
    )
    runner.start()
    deadline = time.monotonic() + 60
    pid = None
    while pid is None and time.monotonic() < deadline:
        pid = _ray_worker_pid("victim")
        time.sleep(0.2)
    assert pid is not None, "the victim's Ray worker never started"
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert outcomes["healthy"].ok, outcomes["healthy"].error
    assert not outcomes["victim"].ok
    assert "died" in outcomes["victim"].error, outcomes["victim"].error


def test_a_gpu_run_where_ray_has_no_gpu_fails_at_once() -> None:
    # Each training asks Ray for a share of a GPU; with none, Ray queued them for ever.
    import torch

    from rewardsmith.errors import RunFailed

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    executor = RayExecutor(workers=1, gpu=True)
    with pytest.raises(RunFailed, match="--device cuda, but this machine has no GPU"):
        executor.start()
    assert executor._temp_dir is None and not executor._started
