"""Run a campaign: every missing cell as a synthesis loop, all over one shared executor.

Cells run as concurrent :class:`~rewardsmith.agent.loop.SynthesisLoop` s on threads (at
most ``spec.parallel`` at once); their trainings go to one executor (Ray or local), so
independent syntheses share its workers. A cell that fails is recorded with its error
and the others go on. Running again with ``resume`` skips cells that are done and
resumes the rest from their run folders. Progress reaches the caller through
:class:`CampaignCallbacks`; nothing here prints.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.agent.loop import LoopCallbacks
from rewardsmith.campaign.manifest import Manifest
from rewardsmith.campaign.spec import CampaignSpec, Cell
from rewardsmith.config import SynthConfig
from rewardsmith.errors import UserError
from rewardsmith.store import RunStore
from rewardsmith.train.executor import Executor

logger = logging.getLogger(__name__)

#: ``(config, store, executor, callbacks) -> loop``; the loop's ``run()`` returns its report.
LoopFactory = Callable[[SynthConfig, RunStore, Executor, LoopCallbacks], Any]


@dataclass
class CampaignProgress:
    """A snapshot of the campaign: cells per state and what they used so far."""

    total: int
    done: int
    running: int
    failed: int
    pending: int
    env_steps: int
    tokens: float
    cost_usd: float


class CampaignCallbacks:
    """Hooks a display subscribes to; every method defaults to doing nothing."""

    def on_cell_start(self, cell_id: str) -> None:
        """A cell starts (or resumes)."""

    def on_cell_end(self, cell_id: str, entry: dict[str, Any]) -> None:
        """A cell finished or failed; ``entry`` is its manifest entry."""

    def on_progress(self, progress: CampaignProgress) -> None:
        """Something changed: a training finished or a cell changed state."""

    def on_ranking_needed(self, cell_id: str, index: int, url: str) -> None:
        """A cell waits for a person to rank iteration ``index``'s videos at ``url``."""


def default_loop(
    config: SynthConfig, store: RunStore, executor: Executor, callbacks: LoopCallbacks
) -> Any:
    """The synthesis loop of one cell, with the designer (and reviewer) its config asks for."""
    from rewardsmith.agent.loop import SynthesisLoop
    from rewardsmith.web.ranking import serve_ranking

    return SynthesisLoop.from_config(config, store, executor, callbacks, serve_ranking)


def make_campaign_executor(spec: CampaignSpec) -> Executor:
    """The one executor all cells share: Ray or local, as the campaign says."""
    from rewardsmith.train.executor import make_executor

    executor = make_executor(spec.shared_config(), cache_root=spec.folder / ".cache")
    start = getattr(executor, "start", None)
    if start is not None:
        start()  # Ray sets its signal handlers only when started from the main thread
    return executor


def open_manifest(spec: CampaignSpec, resume: bool) -> Manifest:
    """The campaign's manifest: a new one, or (``resume``) the one on disk.

    Raises:
        UserError: A new campaign whose folder exists, or a resume of one that does not.
    """
    folder = spec.folder
    if resume:
        manifest = Manifest.open(folder)
    else:
        if folder.exists() and any(folder.iterdir()):
            raise UserError(
                f"campaign folder {str(folder)!r} already exists; finish it with "
                "`rewardsmith campaign --resume`, or change name/out in the campaign file"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot create campaign folder {str(folder)!r} ({exc.strerror}); "
                "change out in the campaign file"
            ) from exc
        manifest = Manifest.create(folder, spec.name, spec.data)
    for cell in spec.cells:
        manifest.add_cell(
            cell.id,
            {
                "task": cell.task.label,
                "env": cell.config.env,
                "task_file": cell.config.task_file,
                "designer": cell.designer.name,
                "model": cell.config.model,
                "seed": cell.seed,
                "run": cell.id,
            },
        )
    manifest.save()
    return manifest


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from rewardsmith import __version__

    found = {"rewardsmith": __version__, "python": sys.version.split()[0]}
    for name in ("gymnasium", "stable-baselines3", "torch", "numpy", "litellm", "ray"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


class _CellCallbacks(LoopCallbacks):
    """Forwards a cell's loop events to the campaign's running totals."""

    def __init__(self, runner: CampaignRunner, cell_id: str) -> None:
        self.runner = runner
        self.cell_id = cell_id

    def on_training_progress(
        self, key: str, steps: int, target: int, fitness: float | None
    ) -> None:
        self.runner._live_step(self.cell_id, key, steps)

    def on_training_done(self, key: str, result: Any) -> None:
        self.runner._job_done(self.cell_id, key, int(getattr(result, "steps", 0) or 0))

    def on_iteration_end(self, record: Any) -> None:
        self.runner._refresh_usage(self.cell_id)

    def on_ranking_needed(self, index: int, url: str) -> None:
        self.runner.callbacks.on_ranking_needed(self.cell_id, index, url)


class CampaignRunner:
    """Runs the cells of a campaign that are not done yet.

    Args:
        spec: The validated campaign.
        manifest: Its manifest (from :func:`open_manifest`).
        executor: The executor every cell shares.
        callbacks: Progress hooks.
        loop_factory: Builds a cell's loop (tests pass a fake one).
    """

    def __init__(
        self,
        spec: CampaignSpec,
        manifest: Manifest,
        executor: Executor,
        callbacks: CampaignCallbacks | None = None,
        loop_factory: LoopFactory = default_loop,
    ) -> None:
        self.spec = spec
        self.manifest = manifest
        self.executor = executor
        self.callbacks = callbacks or CampaignCallbacks()
        self.loop_factory = loop_factory
        self._lock = threading.Lock()
        self._steps: dict[str, int] = {}
        self._live: dict[tuple[str, str], int] = {}
        self._usage: dict[str, tuple[float, float]] = {}
        self._stopping = threading.Event()
        for cell_id, entry in manifest.cells.items():
            self._steps[cell_id] = int(entry.get("env_steps", 0) or 0)
            self._usage[cell_id] = (
                float(entry.get("tokens", 0) or 0),
                float(entry.get("cost_usd", 0) or 0),
            )

    # Progress ---------------------------------------------------------------------------
    def progress(self) -> CampaignProgress:
        """Cells per state and the totals so far."""
        counts = self.manifest.counts()
        with self._lock:
            steps = sum(self._steps.values()) + sum(self._live.values())
            tokens = sum(t for t, _ in self._usage.values())
            cost = sum(c for _, c in self._usage.values())
        return CampaignProgress(
            total=counts["total"],
            done=counts["done"],
            running=counts["running"],
            failed=counts["failed"],
            pending=counts["pending"] + counts["interrupted"],
            env_steps=steps,
            tokens=tokens,
            cost_usd=cost,
        )

    def _notify(self) -> None:
        self.callbacks.on_progress(self.progress())

    def _live_step(self, cell_id: str, key: str, steps: int) -> None:
        with self._lock:
            self._live[(cell_id, key)] = steps
        self._notify()

    def _job_done(self, cell_id: str, key: str, steps: int) -> None:
        with self._lock:
            self._live.pop((cell_id, key), None)
            self._steps[cell_id] = self._steps.get(cell_id, 0) + steps
        self._refresh_usage(cell_id)

    def _refresh_usage(self, cell_id: str) -> None:
        usage = _read_usage(self.spec.folder / cell_id)
        with self._lock:
            self._usage[cell_id] = usage
        self._notify()

    # Cells ------------------------------------------------------------------------------
    def _store(self, cell: Cell) -> RunStore:
        root = self.spec.folder / cell.id
        if (root / "run.json").is_file():
            store = RunStore.open(root)
            store.sweep_temp()
            return store
        from rewardsmith.agent.offline import DESIGN_NOTES_KEY, design_notes
        from rewardsmith.envs.registry import resolve_task

        task = resolve_task(cell.config.env, cell.config.task_file)
        notes = design_notes(cell.config.model, task, cell.config.task)
        store = RunStore.create(self.spec.folder, cell.id)
        store.write_run(
            {
                "config": cell.config.to_json(),
                "task": task.id,
                "description": cell.config.task or task.description,
                "versions": _versions(),
                "status": "created",
                "campaign": {"name": self.spec.name, "cell": cell.id},
                **({DESIGN_NOTES_KEY: notes} if notes else {}),
            }
        )
        return store

    def _finished_entry(self, store: RunStore, report: dict[str, Any]) -> dict[str, Any]:
        from rewardsmith.report.data import load_run

        best = report.get("best") or {}
        fitness = best.get("mean")
        if fitness is None:
            fitness = (report.get("search") or {}).get("fitness")
        tokens, cost = _read_usage(store.root)
        return {
            "status": "done",
            "error": "",
            "best_fitness": fitness,
            "hns": report.get("hns"),
            "env_steps": load_run(store.root).env_steps(),
            "tokens": tokens,
            "cost_usd": cost,
            "finished": time.time(),
        }

    def _run_cell(self, cell: Cell) -> None:
        if self._stopping.is_set():
            return
        self.manifest.update_cell(cell.id, status="running", started=time.time(), error="")
        self.callbacks.on_cell_start(cell.id)
        self._notify()
        try:
            store = self._store(cell)
            with self._lock:
                self._steps[cell.id] = 0  # recounted from the run folder when the cell ends
            loop = self.loop_factory(
                cell.config, store, self.executor, _CellCallbacks(self, cell.id)
            )
            report = loop.run()
            entry = self._finished_entry(store, report)
        except Exception as exc:  # one broken cell must not stop the others
            if self._stopping.is_set():
                entry = {"status": "interrupted", "error": ""}
            else:
                text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                logger.warning("cell %s failed: %s", cell.id, text)
                entry = {"status": "failed", "error": text[:500], "finished": time.time()}
        with self._lock:
            self._live = {k: v for k, v in self._live.items() if k[0] != cell.id}
            if "env_steps" in entry:
                self._steps[cell.id] = entry["env_steps"]
            if "tokens" in entry:
                self._usage[cell.id] = (entry["tokens"], entry["cost_usd"])
        saved = self.manifest.update_cell(cell.id, **entry)
        self.callbacks.on_cell_end(cell.id, saved)
        self._notify()

    def pending(self) -> list[Cell]:
        """Cells not done yet, in grid order."""
        return [c for c in self.spec.cells if self.manifest.cells[c.id]["status"] != "done"]

    def run(self) -> dict[str, int]:
        """Run every cell that is not done; return the cells per state afterwards."""
        todo = self.pending()
        self.manifest.set(status="running", started=time.time())
        self._notify()
        pool = ThreadPoolExecutor(max_workers=self.spec.parallel, thread_name_prefix="rs-cell")
        futures: set[Future[None]] = {pool.submit(self._run_cell, cell) for cell in todo}
        try:
            # Short waits keep the calling thread responsive to Ctrl-C.
            while futures:
                finished, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
        except BaseException:
            # Ctrl-C (or a bug) in the waiting thread: stop the cells before leaving, so
            # shutting the pool down does not wait for their trainings to end.
            self.interrupt()
            raise
        finally:
            pool.shutdown(wait=not self._stopping.is_set(), cancel_futures=True)
        counts = self.manifest.counts()
        status = "finished" if counts["done"] == counts["total"] else "incomplete"
        if self._stopping.is_set():
            status = "interrupted"
        self.manifest.set(status=status, finished=time.time())
        return counts

    def interrupt(self) -> None:
        """Stop: no new cells start, running trainings are killed, running cells are marked.

        Called from the thread that caught Ctrl-C; the cells' run folders stay resumable.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.executor.close(kill=True)
        for cell_id, entry in list(self.manifest.cells.items()):
            if entry.get("status") == "running":
                self.manifest.update_cell(cell_id, status="interrupted")
                run = self.spec.folder / cell_id
                if (run / "run.json").is_file():
                    try:
                        RunStore.open(run).update_run(status="interrupted")
                    except (UserError, OSError):
                        continue
        self.manifest.set(status="interrupted")


def _read_usage(root: Path) -> tuple[float, float]:
    """``(tokens, cost)`` of a run folder's model usage so far."""
    try:
        usage = RunStore(root).read_run().get("usage") or {}
    except (OSError, ValueError):
        return 0.0, 0.0
    tokens = float(usage.get("prompt_tokens", 0)) + float(usage.get("completion_tokens", 0))
    return tokens, float(usage.get("cost_usd", 0.0))
