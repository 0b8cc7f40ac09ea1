"""The campaign runner: shared executor, isolated failures, resume, progress (fake loops)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rewardsmith.campaign.manifest import Manifest
from rewardsmith.campaign.runner import CampaignCallbacks, CampaignRunner, open_manifest
from rewardsmith.campaign.spec import parse_campaign
from rewardsmith.errors import RunFailed, UserError
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import write_json
from rewardsmith.train import executor as executor_module
from rewardsmith.train.executor import Job, LocalExecutor
from rewardsmith.train.jobs import JobOutcome


def _spec(tmp_path: Path, seeds: int = 3) -> Any:
    data = {
        "executor": "local",
        "name": "c",
        "out": str(tmp_path),
        "parallel": 3,
        "seeds": seeds,
        "designers": ["offline"],
        "tasks": ["CartPole-v1"],
        "defaults": {"budget": "smoke", "iterations": 1},
    }
    return parse_campaign(data, "c.toml", tmp_path)


class FakeLoop:
    """Stands in for a SynthesisLoop: reports progress, writes a report, may fail."""

    running = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, config: Any, store: Any, executor: Any, callbacks: Any, fail: set) -> None:
        self.config, self.store, self.executor, self.callbacks = config, store, executor, callbacks
        self.fail = fail

    def run(self) -> dict[str, Any]:
        with FakeLoop.lock:
            FakeLoop.running += 1
            FakeLoop.most = max(FakeLoop.most, FakeLoop.running)
        try:
            time.sleep(0.2)
            if self.config.seed == 2:
                self.callbacks.on_ranking_needed(0, "http://127.0.0.1:1/token/")
            self.callbacks.on_training_done("iter_00/cand_00", type("R", (), {"steps": 100})())
            if self.config.seed in self.fail:
                raise RunFailed(f"no candidate trained for seed {self.config.seed}\nmore")
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "cost_usd": 0.01}
            self.store.update_run(status="finished", usage=usage)
            report = {"search": {"fitness": 7.0}, "best": {"mean": 9.0 + self.config.seed}}
            write_json(self.store.root / "best" / "report.json", report)
            return report
        finally:
            with FakeLoop.lock:
                FakeLoop.running -= 1


class Recorder(CampaignCallbacks):
    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []
        self.last: Any = None
        self.rankings: list[tuple[str, int, str]] = []

    def on_ranking_needed(self, cell_id: str, index: int, url: str) -> None:
        self.rankings.append((cell_id, index, url))

    def on_cell_end(self, cell_id: str, entry: dict[str, Any]) -> None:
        self.ended.append((cell_id, entry["status"]))

    def on_progress(self, progress: Any) -> None:
        self.last = progress


def _runner(spec: Any, manifest: Manifest, fail: set, seen: list) -> tuple[CampaignRunner, Any]:
    executor = object()
    recorder = Recorder()

    def factory(config: Any, store: Any, shared: Any, callbacks: Any) -> FakeLoop:
        seen.append((config.seed, shared))
        return FakeLoop(config, store, shared, callbacks, fail)

    return CampaignRunner(spec, manifest, executor, recorder, factory), recorder  # type: ignore[arg-type]


def test_cells_share_one_executor_and_a_failure_stops_no_other(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    manifest = open_manifest(spec, resume=False)
    seen: list = []
    runner, recorder = _runner(spec, manifest, {1}, seen)
    counts = runner.run()
    assert counts["done"] == 2 and counts["failed"] == 1
    assert len({id(shared) for _, shared in seen}) == 1 and seen[0][1] is runner.executor
    assert FakeLoop.most >= 2  # cells ran at the same time
    saved = Manifest.open(spec.folder)
    failed = saved.cells["CartPole-v1__offline__seed1"]
    assert failed["status"] == "failed"
    assert failed["error"] == "no candidate trained for seed 1"
    done = saved.cells["CartPole-v1__offline__seed2"]
    assert done["status"] == "done" and done["best_fitness"] == 11.0
    assert done["tokens"] == 15 and done["cost_usd"] == 0.01
    assert saved.data["status"] == "incomplete"
    assert sorted(recorder.ended) == [
        ("CartPole-v1__offline__seed0", "done"),
        ("CartPole-v1__offline__seed1", "failed"),
        ("CartPole-v1__offline__seed2", "done"),
    ]
    # A cell waiting for a person says which cell and where, through the campaign's hooks.
    assert recorder.rankings == [("CartPole-v1__offline__seed2", 0, "http://127.0.0.1:1/token/")]
    last = recorder.last
    assert (last.done, last.failed, last.running, last.total) == (2, 1, 0, 3)
    assert last.tokens == 30 and last.env_steps >= 100
    # Each cell got a run folder with the run.json a synthesis writes.
    run = spec.folder / "CartPole-v1__offline__seed0" / "run.json"
    assert '"campaign"' in run.read_text() and '"config"' in run.read_text()


def test_resume_runs_only_what_is_missing(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    seen: list = []
    runner, _ = _runner(spec, open_manifest(spec, resume=False), {1}, seen)
    runner.run()
    finished = (spec.folder / "CartPole-v1__offline__seed0" / "run.json").stat().st_mtime_ns
    with pytest.raises(UserError, match="already exists"):
        open_manifest(spec, resume=False)
    seen.clear()
    runner, _ = _runner(spec, open_manifest(spec, resume=True), set(), seen)
    counts = runner.run()
    assert [seed for seed, _ in seen] == [1]
    assert counts["done"] == 3
    assert Manifest.open(spec.folder).data["status"] == "finished"
    after = (spec.folder / "CartPole-v1__offline__seed0" / "run.json").stat().st_mtime_ns
    assert after == finished


def test_resume_of_a_missing_campaign_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a campaign folder"):
        open_manifest(_spec(tmp_path), resume=True)


def test_local_executor_serves_several_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    active, most = [0], [0]
    lock = threading.Lock()

    def fake_run_job(spec: dict, *args: Any, **kwargs: Any) -> JobOutcome:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return JobOutcome(True, {"n": spec["n"]})

    monkeypatch.setattr(executor_module, "run_job", fake_run_job)
    shared = LocalExecutor(workers=3)
    got: dict[str, list[int]] = {}

    def caller(name: str) -> None:
        jobs = [Job(f"{name}/{i}", {"n": i}, Limits.for_training(10.0)) for i in range(5)]
        got[name] = sorted(outcome.result["n"] for _, outcome in shared.run(jobs))

    threads = [threading.Thread(target=caller, args=(f"cell{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    shared.close()
    assert got == {f"cell{i}": [0, 1, 2, 3, 4] for i in range(3)}
    assert most[0] <= 3  # the workers are shared, not multiplied per caller


class ClosableExecutor:
    def __init__(self) -> None:
        self.closed: list[bool] = []

    def close(self, kill: bool = False) -> None:
        self.closed.append(kill)


def test_interrupt_kills_trainings_and_leaves_running_cells_resumable(tmp_path: Path) -> None:
    spec = _spec(tmp_path, seeds=2)
    manifest = open_manifest(spec, resume=False)
    started = threading.Event()
    release = threading.Event()

    class SlowLoop:
        def __init__(self, config: Any, store: Any, executor: Any, callbacks: Any) -> None:
            self.store = store

        def run(self) -> dict[str, Any]:
            started.set()
            release.wait(5)
            raise RunFailed("the trainings were killed")

    shared = ClosableExecutor()
    runner = CampaignRunner(spec, manifest, shared, None, SlowLoop)  # type: ignore[arg-type]
    thread = threading.Thread(target=runner.run)
    thread.start()
    assert started.wait(5)
    time.sleep(0.2)
    runner.interrupt()
    release.set()
    thread.join(10)
    assert shared.closed[0] is True
    saved = Manifest.open(spec.folder)
    assert {c["status"] for c in saved.cells.values()} == {"interrupted"}
    assert saved.data["status"] == "interrupted"
    run = spec.folder / "CartPole-v1__offline__seed0" / "run.json"
    assert '"status": "interrupted"' in run.read_text()
