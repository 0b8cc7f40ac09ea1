"""Run one worker job (probe, check, train) in a sandboxed child process.

The parent never executes candidate code: it writes ``job.json`` into a private temp
folder, starts ``python -m rewardsmith.train.worker job.json`` there under the sandbox's
limits, and reads back ``result.json`` plus whatever files the job produced.

The worker is forked from this process's fork server (:data:`WORKER_PRELOAD` imported
once, see :mod:`rewardsmith.sandbox.zygote`) where the platform allows, and started as a
fresh interpreter otherwise; either way it runs in the same sandbox.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.runner import Limits, run_sandboxed
from rewardsmith.train.scratch import scratch_dir

logger = logging.getLogger(__name__)

#: Seconds between two looks at a running worker's ``progress.json``.
PROGRESS_POLL_SECONDS = 0.5
#: Receives a running job's latest ``progress.json`` (e.g. ``{"steps": 4096, "fitness": 3.1}``).
ProgressFn = Callable[[dict[str, Any]], None]

#: What the fork server imports before forking workers: a worker spends about four
#: seconds on these when it starts from scratch (``torch._dynamo`` is imported by torch's
#: optimizers on their first step).
WORKER_PRELOAD = (
    "numpy",
    "torch",
    "torch._dynamo",
    "gymnasium",
    "stable_baselines3",
    "rewardsmith.train.worker",
    "rewardsmith.train.ppo",
    "rewardsmith.train.check",
    "rewardsmith.train.probe",
    "rewardsmith.train.tensorboard",
)

#: Job kinds that import torch: worth waiting for the fork server's imports.
HEAVY_KINDS = frozenset({"train", "render"})

#: The one fork server of this process, started by its first job.
worker_server = ForkServer(WORKER_PRELOAD, lambda: scratch_dir("forkserver-"))


def _watch_progress(workdir: Path, report: ProgressFn, stop: threading.Event) -> None:
    """Hand each new ``progress.json`` the worker writes to ``report`` until ``stop``."""
    path = workdir / "progress.json"
    last = ""
    while not stop.wait(PROGRESS_POLL_SECONDS):
        try:
            text = path.read_text()
            if text != last:
                last = text
                report(json.loads(text))
        except (OSError, ValueError):
            continue  # not written yet, or replaced while being read
        except Exception:  # a display callback must never break a training
            logger.exception("progress callback failed")


@dataclass
class JobOutcome:
    """What a worker job left behind.

    Args:
        ok: The worker wrote a result and exited 0.
        result: The worker's ``result.json`` (empty when it wrote none).
        error: One line saying why the job failed (empty when ``ok``).
        files: Files the job produced, already moved to ``keep_dir``.
        stderr_tail: The end of the worker's stderr, for diagnosis.
    """

    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    files: list[Path] = field(default_factory=list)
    stderr_tail: str = ""


def run_job(
    job: dict[str, Any],
    limits: Limits,
    keep_dir: Path | None = None,
    inputs: dict[str, Path] | None = None,
    progress: ProgressFn | None = None,
) -> JobOutcome:
    """Run ``job`` in a fresh sandboxed worker process and collect its outputs.

    Args:
        job: JSON-serialisable job; ``job["kind"]`` picks the worker function.
        limits: Sandbox limits for the worker.
        keep_dir: Where the job's output files are moved (``None``: discarded).
        inputs: Files copied into the worker's folder first, ``name -> source path``;
            the job refers to them by ``name``.
        progress: Called from a helper thread with each new ``progress.json`` the
            worker writes while it runs.
    """
    workdir = scratch_dir("job-")
    try:
        for name, src in (inputs or {}).items():
            shutil.copyfile(src, workdir / name)
        (workdir / "job.json").write_text(json.dumps(job))
        stop = threading.Event()
        if progress is not None:
            threading.Thread(
                target=_watch_progress, args=(workdir, progress, stop), daemon=True
            ).start()
        try:
            proc = run_sandboxed(
                [sys.executable, "-m", "rewardsmith.train.worker", "job.json"],
                workdir,
                limits,
                fork_server=worker_server,
                # Probes and checks need no torch: while the server still imports it
                # (a run's first seconds), they start on their own rather than wait.
                wait_for_fork_server=job.get("kind") in HEAVY_KINDS,
            )
        finally:
            stop.set()
        result_path = workdir / "result.json"
        result = json.loads(result_path.read_text()) if result_path.exists() else {}
        files: list[Path] = []
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for name in result.get("files", []):
                src = workdir / name
                if src.is_file():
                    dst = keep_dir / name
                    shutil.move(str(src), dst)
                    files.append(dst)
        if proc.ok and result and not result.get("error"):
            return JobOutcome(True, result, "", files, proc.stderr_tail)
        error = result.get("error") or proc.describe()
        return JobOutcome(False, result, error, files, proc.stderr_tail)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
