"""The presets check: native-reward trainings per task, against thresholds and RL-Zoo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import REPO, TrainedOutcome, load_bench

CHECK = REPO / "bench" / "presets_check.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    return load_bench("presets_check")


def test_each_seed_trains_the_native_reward_once(
    check: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[dict] = []

    def fake_run_job(job: dict, limits: object) -> TrainedOutcome:
        jobs.append(job)
        return TrainedOutcome(500.0 - (job["seed"] - 10_000), 490.0)

    monkeypatch.setattr(sys.modules[check.train.__module__], "run_job", fake_run_job)
    args = check.argparse.Namespace(seeds=3, workers=2, budget="full", out=str(tmp_path))
    row = check.check_task("CartPole-v1", args)
    assert sorted(j["seed"] for j in jobs) == [10_000, 10_001, 10_002]
    assert {j["reward"]["mode"] for j in jobs} == {"native"}
    assert {j["budget"] for j in jobs} == {"full"}
    assert row["scores"] == [500.0, 499.0, 498.0]
    assert row["native_returns"] == [490.0] * 3
    assert (row["zoo_return"], row["zoo_steps"]) == (500.0, 100_000)
    # A rerun trains nothing: every seed is saved under <out>/<task>/trainings.
    assert check.check_task("CartPole-v1", args)["scores"] == row["scores"]
    assert len(jobs) == 3


def _row(scores: list[float], zoo: float | None = 500.0) -> dict:
    return {
        "task": "T-v0", "fitness": "f", "threshold": 10.0, "budget": "full", "steps": 100_000,
        "scores": scores, "native_returns": [s * 2 for s in scores], "minutes": 1.0,
        "zoo_return": zoo, "zoo_steps": 100_000 if zoo is not None else None,
    }  # fmt: skip


def test_verdict_counts_the_seeds_at_the_threshold(check: ModuleType) -> None:
    assert check.verdict(_row([10.0, 11.0, 12.0, 13.0, 9.0])) == "solves"
    assert check.verdict(_row([10.0, 11.0, 2.0, 3.0, 9.0])) == "solves on some seeds"
    assert check.verdict(_row([1.0, 2.0, 3.0])) == "does not solve"


def test_table_shows_the_zoo_number_or_says_there_is_none(check: ModuleType) -> None:
    text = check.table([_row([10.0, 12.0]), _row([1.0, 2.0], zoo=None)])
    first, second = text.splitlines()[2:]
    assert "f: 11 [10, 12] (10)" in first and "| 1.00 |" in first
    assert "22 [20, 24]" in first and "500 (0.1M)" in first and first.endswith("| solves |")
    assert "not published" in second and second.endswith("| does not solve |")


def test_a_task_without_a_native_reward_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(CHECK), "--tasks", "CartPoleHoldX-v1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "CartPoleHoldX-v1 has no native reward" in done.stderr
    assert not (tmp_path / "results.json").exists()
