"""Run worker jobs as Ray tasks: an embedded local Ray by default, or a cluster.

Each job (a training, a final-evaluation seed, a video) is one Ray task asking for one
CPU; the task runs the same sandboxed worker process as :class:`LocalExecutor` and sends
the job's output files back as bytes, so it works the same on a remote node, whose disk
the driver cannot see. Progress (``progress.json`` of the running worker) travels back
through a Ray queue.

The embedded Ray is started lazily on the first job (so a resumed run with nothing left
to train never starts it), without a dashboard or token auth, with its session files in
a private temp folder that :meth:`RayExecutor.close` removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardsmith.errors import RunFailed
from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.executor import Job, ProgressHook, default_workers
from rewardsmith.train.jobs import JobOutcome, run_job
from rewardsmith.train.scratch import scratch_dir, sweep_orphans, sweep_when_gone

logger = logging.getLogger(__name__)

#: Seconds the driver waits for a finished task before it looks at progress again.
WAIT_SECONDS = 0.5
#: Prefix of the embedded Ray's temp folder; the driver's process id follows it.
RAY_TEMP_PREFIX = "rs-ray-"


def ray_address_problem(address: str, timeout: float = 5.0) -> str:
    """Why the Ray cluster at ``address`` cannot be joined ("" when its port answers).

    ``ray.init`` retries an address that does not answer for ever, printing a warning a
    minute; a plain TCP connect says the same in seconds, before a run folder exists.
    """
    if address == "auto":
        # Where `ray start` leaves the address of this machine's cluster.
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        try:
            address = current.read_text().strip()
        except OSError:
            return (
                "--ray-address auto, but no Ray cluster runs on this machine; start one "
                "with `ray start --head`, or give its address (host:port)"
            )
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, "10001" if client else "6379"
    if not host or not port.isdigit():
        return (
            f"--ray-address {address!r} is not host:port, ray://host:port or auto "
            "(e.g. 10.0.0.5:6379)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        return (
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it "
            "with `ray start --head`, or fix --ray-address (or RAY_ADDRESS)"
        )
    return ""


def _ray_job(
    spec: dict[str, Any],
    limits: Limits,
    inputs: dict[str, bytes],
    token: str,
    queue: Any,
) -> dict[str, Any]:
    """Body of the Ray task: one sandboxed worker job, files in and out as bytes."""
    folder = scratch_dir("ray-")
    try:
        paths: dict[str, Path] = {}
        for name, blob in inputs.items():
            paths[name] = folder / "in" / name
            paths[name].parent.mkdir(exist_ok=True)
            paths[name].write_bytes(blob)

        def progress(data: dict[str, Any]) -> None:
            with contextlib.suppress(Exception):  # progress is a nicety; never fail on it
                queue.put_nowait((token, data))

        keep = folder / "out"
        outcome = run_job(spec, limits, keep, paths, progress if queue is not None else None)
        return {
            "ok": outcome.ok,
            "result": outcome.result,
            "error": outcome.error,
            "stderr_tail": outcome.stderr_tail,
            "ray_pid": os.getpid(),  # the driver sweeps this worker's scratch root at close
            "files": {p.name: p.read_bytes() for p in outcome.files},
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _describe_ray_error(exc: BaseException) -> str:
    """One readable line for a Ray-level failure (the task's process died or was killed)."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if "OutOfMemory" in name:
        return f"the Ray worker was killed for using too much memory ({name})"
    if "WorkerCrashed" in name or "died" in text.lower():
        return f"the Ray worker running this job died ({name}): {text[:200]}"
    if "Cancelled" in name:
        return "the job was cancelled"
    return f"{name}: {text[:300]}"


@contextlib.contextmanager
def _host_sigterm_handler_kept() -> Iterator[None]:
    """Put the application's own SIGTERM handler back after ``ray.init``, which replaces it.

    Ray's driver answers SIGTERM with a stack dump and an exit; an application that set a
    handler (the CLI: mark the run interrupted, print how to resume) keeps it. Where none
    was set, Ray's stays: its exit shuts the local cluster down.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread; ray.init sets none here
        return
    handler = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if callable(handler):
            signal.signal(signal.SIGTERM, handler)


class RayExecutor:
    """Run jobs as Ray tasks with ``num_cpus=1`` each.

    Args:
        workers: Most jobs at once (default: one per core of the embedded Ray, or no cap
            beyond the cluster's own CPUs when joining one).
        address: A Ray cluster to join (``ray://...`` or ``host:port``); ``None`` reads
            ``RAY_ADDRESS`` and otherwise starts an embedded local Ray.
        retries: How often a job whose worker died without a result runs again.
        gpu: Whether jobs will ask for GPUs; starting fails at once where there are none.
    """

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        retries: int = 1,
        gpu: bool = False,
    ) -> None:
        self.workers = workers
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.retries = retries
        self.gpu = gpu
        self._lock = threading.Lock()
        self._started = False
        self._owns_ray = False
        self._temp_dir: Path | None = None
        self._closed = False
        self._inflight: dict[Any, Job] = {}
        self._worker_pids: set[int] = set()
        self._watchers: dict[str, tuple[Job, ProgressHook]] = {}
        self._slots: threading.BoundedSemaphore | None = None
        self._remote: Any = None
        self._queue: Any = None

    # Start-up and shut-down ---------------------------------------------------------------
    def start(self) -> None:
        """Start (or join) Ray now rather than on the first job; idempotent."""
        with self._lock:
            if self._started:
                return
            import ray
            from ray.util.queue import Queue

            if ray.is_initialized():
                logger.info("using the Ray session already running in this process")
            elif self.address:
                problem = ray_address_problem(self.address)
                if problem:
                    raise RunFailed(problem)
                try:
                    with _host_sigterm_handler_kept():
                        ray.init(
                            address=self.address,
                            log_to_driver=False,
                            logging_level=logging.WARNING,
                        )
                except ConnectionError as exc:  # an OSError: not the run folder's fault
                    raise RunFailed(
                        f"cannot join the Ray cluster at {self.address}: {exc}".splitlines()[0]
                    ) from None
                self._owns_ray = True
                if self.workers:
                    self._slots = threading.BoundedSemaphore(self.workers)
            else:
                # Token auth protects a shared cluster; an embedded one listens only here.
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                # Named after this process, so the next run removes what a killed one
                # (SIGKILL, the OOM killer) left: Ray's logs and sockets, a few 100 kB.
                sweep_orphans(prefix=RAY_TEMP_PREFIX)
                self._temp_dir = Path(tempfile.mkdtemp(prefix=f"{RAY_TEMP_PREFIX}{os.getpid()}-"))
                with _host_sigterm_handler_kept():
                    ray.init(
                        num_cpus=self.workers or default_workers(),
                        include_dashboard=False,
                        _temp_dir=str(self._temp_dir),
                        log_to_driver=False,
                        logging_level=logging.WARNING,
                    )
                self._owns_ray = True
            if self.gpu and not ray.cluster_resources().get("GPU", 0):
                # Jobs asking for a GPU share would wait for one for ever.
                where = f"the Ray cluster at {self.address}" if self.address else "this machine"
                if self._owns_ray:
                    ray.shutdown()
                    self._owns_ray = False
                if self._temp_dir is not None:
                    shutil.rmtree(self._temp_dir, ignore_errors=True)
                    self._temp_dir = None
                raise RunFailed(
                    f"--device cuda, but {where} has no GPU; drop --device, or join a "
                    "cluster with GPU nodes"
                )
            self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
            self._queue = Queue(actor_options={"num_cpus": 0})
            self._started = True

    def close(self, kill: bool = False) -> None:
        """Stop; with ``kill``, cancel running tasks (their workers die with them)."""
        with self._lock:
            self._closed = True
            if not self._started:
                return
            import ray

            if kill:
                for ref in list(self._inflight):
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
            self._inflight.clear()
            if self._owns_ray:
                with contextlib.suppress(Exception):
                    ray.shutdown()
            self._started = False
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
                self._temp_dir = None
                # Ray ends its workers without their exit hooks: their scratch roots stay
                # unless swept here (a cluster's nodes sweep theirs on their next job).
                sweep_when_gone(self._worker_pids)
            self._worker_pids.clear()

    # Running ------------------------------------------------------------------------------
    def _submit(self, job: Job, on_progress: ProgressHook | None) -> tuple[Any, str]:
        if self._slots is not None:
            self._slots.acquire()
        token = uuid.uuid4().hex
        if on_progress is not None:
            self._watchers[token] = (job, on_progress)
        inputs = {name: Path(path).read_bytes() for name, path in job.inputs.items()}
        options: dict[str, Any] = {"name": job.key}
        if job.spec.get("num_gpus"):
            options["num_gpus"] = job.spec["num_gpus"]
        ref = self._remote.options(**options).remote(
            job.spec, job.limits, inputs, token, self._queue if on_progress else None
        )
        with self._lock:
            self._inflight[ref] = job
        return ref, token

    def _release(self, ref: Any, token: str) -> None:
        with self._lock:
            self._inflight.pop(ref, None)
        self._watchers.pop(token, None)
        if self._slots is not None:
            self._slots.release()

    def _drain_progress(self) -> None:
        try:
            size = self._queue.qsize()
            items = self._queue.get_nowait_batch(size) if size else []
        except Exception:  # the queue is gone while shutting down
            return
        for token, data in items:
            watcher = self._watchers.get(token)
            if watcher is not None:
                job, hook = watcher
                with contextlib.suppress(Exception):
                    hook(job, data)

    def _collect(self, ref: Any, job: Job) -> JobOutcome:
        import ray

        try:
            data = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            return JobOutcome(False, {}, f"{type(cause).__name__}: {cause}"[:400])
        except ray.exceptions.RayError as exc:
            return JobOutcome(False, {}, _describe_ray_error(exc))
        if isinstance(data.get("ray_pid"), int):
            self._worker_pids.add(data["ray_pid"])
        files: list[Path] = []
        if job.keep_dir is not None and data["files"]:
            job.keep_dir.mkdir(parents=True, exist_ok=True)
            for name, blob in data["files"].items():
                target = job.keep_dir / name
                tmp = target.with_name(f".{name}.tmp")
                tmp.write_bytes(blob)
                tmp.replace(target)
                files.append(target)
        return JobOutcome(data["ok"], data["result"], data["error"], files, data["stderr_tail"])

    def run(
        self, jobs: list[Job], on_progress: ProgressHook | None = None
    ) -> Iterator[tuple[Job, JobOutcome]]:
        """Submit ``jobs`` and yield each outcome as its task finishes."""
        if not jobs:
            return
        if self._closed:
            raise RuntimeError("this executor is closed")
        self.start()
        import ray

        waiting = list(jobs)
        tries: dict[int, int] = {}
        pending: dict[Any, tuple[Job, str]] = {}
        try:
            while waiting or pending:
                while waiting and (self._slots is None or len(pending) < (self.workers or 1)):
                    job = waiting.pop(0)
                    ref, token = self._submit(job, on_progress)
                    pending[ref] = (job, token)
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_SECONDS)
                if on_progress is not None:
                    self._drain_progress()
                for ref in ready:
                    job, token = pending.pop(ref)
                    self._release(ref, token)
                    outcome = self._collect(ref, job)
                    count = tries.get(id(job), 0)
                    # Died without a word (signal, OOM, lost node): perhaps a passing fault.
                    died = not outcome.ok and not outcome.result
                    if died and count < self.retries and not self._closed:
                        tries[id(job)] = count + 1
                        logger.warning("job %s died (%s); retrying", job.key, outcome.error)
                        waiting.append(job)
                        continue
                    if count and not outcome.ok:
                        outcome.error = f"{outcome.error} (after {count + 1} tries)"
                    yield job, outcome
        finally:
            for ref, (_, token) in pending.items():
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
                self._release(ref, token)
