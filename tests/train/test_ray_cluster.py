"""Joining a Ray cluster that was started on its own, as a user who outgrew one machine does."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rewardsmith.train.ray_executor import ray_address_problem
from tests.helpers import run_cli

# One Ray test at a time under pytest-xdist: each starts its own cluster, and one checks
# that no embedded cluster is left in the temp folder.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _cluster() -> Iterator[tuple[str, Path]]:
    """A one-node cluster from ``ray start --head --block``: its address and temp folder."""
    port = _free_port()
    # Short and under /tmp: Ray's socket paths must fit in 107 characters.
    temp = Path(tempfile.mkdtemp(prefix="rs-head-"))
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [
            str(ray) if ray.exists() else "ray",
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its raylet and workers go with it at the end
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while ray_address_problem(address, timeout=1.0) and time.monotonic() < deadline:
            assert head.poll() is None, "ray start --head exited"
            time.sleep(0.5)
        assert ray_address_problem(address) == ""
        yield address, temp
    finally:
        # The whole session at once: `ray start --block` takes half a minute to stop on
        # SIGTERM, and its GCS, raylet and workers all live in this process group.
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_run_trains_on_the_cluster_at_ray_address(tmp_path: Path) -> None:
    with _cluster() as (address, temp):
        _synthesize_on(address, temp, tmp_path)
    deadline = time.monotonic() + 10
    while _ray_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ray_processes() == [], "stopping the cluster leaves no Ray process behind"


def _synthesize_on(address: str, temp: Path, tmp_path: Path) -> None:
    # Another run on this machine (a user's, a second test session) may hold its own.
    embedded_before = set(Path(tempfile.gettempdir()).glob("rs-ray-*"))
    result = run_cli(
        [
            "synthesize",
            "--env",
            "CartPole-v1",
            "--budget",
            "4096",  # where it trains is the question, not what it learns
            "--iterations",
            "1",
            "--samples",
            "1",
            "--executor",
            "ray",
            "--ray-address",
            address,
            "--no-videos",
            "--eval-seeds",
            "0",
            "--confirm-top",
            "0",
            "--no-cache",
            "--out",
            str(tmp_path / "runs"),
        ],
        cwd=tmp_path,
        env={"RAY_AUTH_MODE": "disabled"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "best reward:" in result.stdout
    # The trainings ran in the cluster's workers, not in an embedded Ray of the run's own.
    workers = list(temp.glob("session_*/logs/worker-*.out"))
    assert workers, sorted(p.name for p in temp.glob("session_*/logs/*"))[:20]
    embedded = set(Path(tempfile.gettempdir()).glob("rs-ray-*")) - embedded_before
    assert not embedded, "no embedded Ray started"


def _ray_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and ("gcs_server" in cmdline or "raylet" in cmdline):
            found.append(cmdline[:80])
    return found
