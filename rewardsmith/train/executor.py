"""Where worker jobs run: the loop hands jobs to an :class:`Executor` and gets outcomes back.

``LocalExecutor`` runs up to ``workers`` sandboxed worker processes on this machine;
``RayExecutor`` (``train/ray_executor.py``) runs each job as a Ray task, on an embedded
local Ray or a cluster. Both implement the same two methods, so the loop does not know
which one it has. :func:`make_executor` picks one from the run's config and adds the
result cache in front of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rewardsmith.sandbox.runner import Limits, terminate_all
from rewardsmith.train.jobs import JobOutcome, run_job

if TYPE_CHECKING:
    from rewardsmith.config import SynthConfig

logger = logging.getLogger(__name__)

#: Receives a running job and its latest progress (``{"steps", "fitness", "target"}``).
ProgressHook = Callable[["Job", dict[str, Any]], None]


@dataclass
class Job:
    """One unit of work for a worker.

    Args:
        key: Caller's name for it (e.g. ``"iter_01/cand_03"``), echoed back with the outcome.
        spec: The JSON job the worker runs.
        limits: Sandbox limits.
        keep_dir: Where its output files go.
        inputs: Files copied into the worker's folder, ``name -> path``.
    """

    key: str
    spec: dict[str, Any]
    limits: Limits
    keep_dir: Path | None = None
    inputs: dict[str, Path] = field(default_factory=dict)


class Executor(Protocol):
    """Runs jobs; yields ``(job, outcome)`` pairs as they finish, in any order.

    ``run`` may be called from several threads at once (a campaign runs several
    syntheses over one executor).
    """

    def run(
        self, jobs: list[Job], on_progress: ProgressHook | None = None
    ) -> Iterator[tuple[Job, JobOutcome]]:
        """Run every job and yield each one's outcome when it is done."""
        ...

    def close(self, kill: bool = False) -> None:
        """Release workers; with ``kill``, end running jobs."""
        ...


def default_workers() -> int:
    """One worker per core: each training uses one torch thread."""
    return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Run jobs as sandboxed child processes, ``workers`` at a time.

    Args:
        workers: Most jobs at once (default: one per core).
        retries: How often a job whose worker died (signal, crash) is tried again.
        on_start: Called with a job when it starts (for progress displays).
    """

    def __init__(
        self,
        workers: int | None = None,
        retries: int = 1,
        on_start: Callable[[Job], None] | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        self.retries = retries
        self.on_start = on_start
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="rs-job")
        self._closed = False

    def _run_one(self, job: Job, on_progress: ProgressHook | None) -> JobOutcome:
        if self.on_start is not None:
            self.on_start(job)
        progress = None if on_progress is None else (lambda p: on_progress(job, p))
        outcome = run_job(job.spec, job.limits, job.keep_dir, job.inputs, progress)
        tries = 0
        # A worker that wrote a result failed for a reason it reported (the reward broke);
        # one that died without a result may have been a passing fault, so it gets another go.
        while not outcome.ok and not outcome.result and tries < self.retries and not self._closed:
            tries += 1
            logger.warning("job %s died (%s); retrying", job.key, outcome.error)
            outcome = run_job(job.spec, job.limits, job.keep_dir, job.inputs, progress)
        if tries and not outcome.ok:
            outcome.error = f"{outcome.error} (after {tries + 1} tries)"
        return outcome

    def run(
        self, jobs: list[Job], on_progress: ProgressHook | None = None
    ) -> Iterator[tuple[Job, JobOutcome]]:
        """Run ``jobs`` concurrently and yield each outcome as it finishes."""
        futures: dict[Future[JobOutcome], Job] = {
            self._pool.submit(self._run_one, job, on_progress): job for job in jobs
        }
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self, kill: bool = False) -> None:
        """Stop accepting jobs; with ``kill``, end the running ones too (Ctrl-C)."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if kill:
            terminate_all()


def make_executor(config: SynthConfig, cache_root: Path | None = None) -> Executor:
    """The executor a run's config asks for, behind the result cache unless it is off.

    Args:
        config: ``executor``, ``workers``, ``ray_address``, ``cache`` and ``cache_dir``.
        cache_root: Cache folder when ``config.cache_dir`` is unset (default
            ``<out>/.cache``).
    """
    inner: Executor
    if config.executor == "ray":
        from rewardsmith.train.ray_executor import RayExecutor

        inner = RayExecutor(
            workers=config.workers, address=config.ray_address, gpu=config.device == "cuda"
        )
    else:
        inner = LocalExecutor(config.workers)
    if not config.cache:
        return inner
    from rewardsmith.train.result_cache import CachingExecutor, ResultCache

    default = cache_root or Path(config.out) / ".cache"
    root = Path(config.cache_dir) if config.cache_dir else default
    return CachingExecutor(inner, ResultCache(root / "results"))
