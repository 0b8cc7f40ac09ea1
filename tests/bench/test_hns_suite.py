"""The HNS suite's statistics: what it prints must not overstate what the seeds show."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rewardsmith.agent.final_eval import baselines_told_apart
from tests.helpers import TrainedOutcome, load_bench


@pytest.fixture(scope="module")
def suite() -> ModuleType:
    return load_bench("hns_suite")


def row(best: list[float], native: list[float] | None, sparse: list[float]) -> dict:
    scores = {"best": best, "sparse": sparse}
    if native is not None:
        scores["native"] = native
    return {"task": "T-v0", "fitness": "f", "threshold": 10.0, "scores": scores, "minutes": 1.0}


def test_difference_interval_brackets_the_difference_of_means(suite: ModuleType) -> None:
    rng = np.random.default_rng(0)
    scores = {"a": [5.0, 6.0, 7.0], "b": [1.0, 2.0, 3.0], "c": [2.0, 2.0], "d": [1.0, 1.0]}
    draws = suite.resampled_means(scores, rng)
    point, low, high = suite.difference_interval("a", "b", scores, draws)
    assert point == pytest.approx(4.0)
    assert 2.0 <= low <= point <= high <= 6.0
    # Constant arms: no spread to resample.
    assert suite.difference_interval("c", "d", scores, draws) == (1.0, 1.0, 1.0)


def test_every_interval_reads_the_same_draws(suite: ModuleType) -> None:
    """Each arm's interval and the differences' come from one set of resampled means
    (drawn from the task's own stream), so a rerun prints the same numbers.
    """
    raw = row([30.0, 31.0, 32.0], [10.0, 14.0, 12.0], [1.0, 2.0, 3.0])
    found = suite.summarise(raw)
    draws = suite.resampled_means(raw["scores"], np.random.default_rng(list(b"T-v0")))
    assert found["best"] == suite.interval(31.0, draws["best"])
    assert found["vs_native"] == suite.interval(19.0, draws["best"] - draws["native"])
    assert found == suite.summarise(raw)


def test_hns_is_flagged_when_native_and_sparse_overlap(suite: ModuleType) -> None:
    # Native and sparse drawn from the same spread: HNS divides by noise.
    found = suite.summarise(row([30.0, 31.0, 32.0], [10.0, 14.0, 12.0], [11.0, 13.0, 12.5]))
    assert found["hns_told_apart"] is False
    assert "not told apart" in suite._hns_text(found)
    assert found["vs_native"][1] > 0  # best is still clearly above native


def test_hns_is_plain_when_native_and_sparse_differ(suite: ModuleType) -> None:
    raw = row([20.0, 21.0, 22.0], [30.0, 31.0, 29.0], [1.0, 2.0, 0.0])
    found = suite.summarise(raw)
    assert found["hns_told_apart"] is True
    assert "not told apart" not in suite._hns_text(found)
    assert found["hns"][0] == pytest.approx((21.0 - 1.0) / 29.0)
    assert "best - native: -9 [" in suite.table(raw)


def test_told_apart_is_the_packages_rule(suite: ModuleType) -> None:
    """The suite flags HNS exactly where a synthesis report would: means a hair apart
    with no spread have an interval that excludes 0, yet are the same score.
    """
    native, sparse = [5.0, 5.0, 5.0], [5.000001, 5.000001, 5.000001]
    found = suite.summarise(row([6.0, 6.0, 6.0], native, sparse))
    assert found["hns_told_apart"] is baselines_told_apart(native, sparse) is False
    assert "not told apart" in suite._hns_text(found)
    for native, sparse in (([15.0, 18.0, 20.0, 10.0, 14.0], [7.0, 1.0, 14.0, 8.0, 6.0]),
                           ([10.0, 30.0, 20.0], [12.0, 28.0, 15.0])):  # fmt: skip
        found = suite.summarise(row([1.0, 2.0, 3.0], native, sparse))
        assert found["hns_told_apart"] is baselines_told_apart(native, sparse)


def test_novel_tasks_compare_with_sparse_only(suite: ModuleType) -> None:
    found = suite.summarise(row([3.0, 4.0], None, [1.0, 1.0]))
    assert found["vs_native"] is None and found["hns"] is None
    assert found["vs_sparse"][0] == pytest.approx(2.5)
    line = suite.summary([row([3.0, 4.0], None, [1.0, 1.0])]).splitlines()[-1]
    assert "| n/a | 2.5 [" in line


def test_a_saved_training_is_reused_only_for_the_same_job(
    suite: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[dict] = []

    def fake_run_job(job: dict, limits: object) -> TrainedOutcome:
        trained.append(job)
        return TrainedOutcome(float(len(trained)))

    monkeypatch.setattr(suite, "run_job", fake_run_job)
    native = {"mode": "native"}
    assert suite.train("CartPole-v1", native, "smoke", 10_000, tmp_path, "native")["fitness"] == 1.0
    saved = tmp_path / "native-10000.json"
    assert saved.exists() and not list(tmp_path.glob("*.part"))
    # Same job: read back, no training.
    assert suite.train("CartPole-v1", native, "smoke", 10_000, tmp_path, "native")["fitness"] == 1.0
    assert len(trained) == 1
    # Another budget is another job: trained again, and the record replaced.
    assert suite.train("CartPole-v1", native, "quick", 10_000, tmp_path, "native")["fitness"] == 2.0
    assert len(trained) == 2
    assert suite.train("CartPole-v1", native, "smoke", 10_000, tmp_path, "native")["fitness"] == 3.0
    # A changed reward source is another job too.
    first = {"mode": "candidate", "source": "a"}
    suite.train("CartPole-v1", first, "smoke", 10_000, tmp_path, "best")
    suite.train(
        "CartPole-v1", {"mode": "candidate", "source": "b"}, "smoke", 10_000, tmp_path, "best"
    )
    assert len(trained) == 5


def test_a_record_lacking_what_is_needed_is_trained_again(
    suite: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suite, "run_job", lambda job, limits: TrainedOutcome(7.0))
    native = {"mode": "native"}
    record = suite.train("CartPole-v1", native, "smoke", 10_000, tmp_path, "native")
    assert (record["fitness"], record["native_return"]) == (7.0, 70.0)
    # A record saved before native_return was kept: still good for the fitness alone.
    saved = tmp_path / "native-10000.json"
    old = {k: v for k, v in record.items() if k != "native_return"}
    saved.write_text(suite.json.dumps({**old, "fitness": 3.0}))
    assert suite.train("CartPole-v1", native, "smoke", 10_000, tmp_path, "native")["fitness"] == 3.0
    again = suite.train(
        "CartPole-v1", native, "smoke", 10_000, tmp_path, "native", need=("native_return",)
    )
    assert again["native_return"] == 70.0
    assert "native_return" in suite.json.loads(saved.read_text())


def test_arms_train_every_seed_and_skip_what_is_saved(
    suite: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[tuple[str, int]] = []

    def fake_run_job(job: dict, limits: object) -> TrainedOutcome:
        trained.append((job["reward"]["mode"], job["seed"]))
        bonus = 100 if job["reward"]["mode"] == "native" else 0
        return TrainedOutcome(job["seed"] - 10_000 + bonus)

    monkeypatch.setattr(suite, "run_job", fake_run_job)
    args = suite.argparse.Namespace(seeds=3, workers=2, budget="smoke")
    arms = suite.baseline_arms("InvertedPendulum-v5")
    assert set(arms) == {"native", "sparse"}
    assert set(suite.baseline_arms("InvertedPendulumHoldX-v5")) == {"sparse"}
    # Baselines trained elsewhere (here: beforehand) are picked up by the whole suite.
    suite.train_arms("InvertedPendulum-v5", arms, args, tmp_path)
    assert len(trained) == 6
    everything = {"best": {"mode": "candidate", "source": "r"}, **arms}
    scores = suite.train_arms("InvertedPendulum-v5", everything, args, tmp_path)
    assert scores == {
        "best": [0.0, 1.0, 2.0],
        "sparse": [0.0, 1.0, 2.0],
        "native": [100.0, 101.0, 102.0],
    }
    assert sorted(trained[6:]) == [
        ("candidate", 10_000),
        ("candidate", 10_001),
        ("candidate", 10_002),
    ]


def test_a_finished_synthesis_is_found_and_an_unfinished_one_is_not(
    suite: ModuleType, tmp_path: Path
) -> None:
    assert suite.finished_synthesis(tmp_path) is None
    unfinished = tmp_path / "run-a" / "best"
    unfinished.mkdir(parents=True)
    (unfinished / "reward.py").write_text("A")
    assert suite.finished_synthesis(tmp_path) is None
    (unfinished / "report.json").write_text('{"search": 1}')
    assert suite.finished_synthesis(tmp_path) == ("A", {"search": 1})


def test_a_synthesis_stopped_part_way_is_resumed(suite: ModuleType, tmp_path: Path) -> None:
    args = suite.argparse.Namespace(
        budget="quick", iterations=3, samples=4, workers=2, confirm_top=3, confirm_seeds=2
    )
    assert suite.synthesis_command("Hopper-v5", args, tmp_path)[3] == "synthesize"
    stopped = tmp_path / "20261128-052429-Hopper-v5-61f4"
    stopped.mkdir()
    (stopped / "run.json").write_text("{}")
    assert suite.synthesis_command("Hopper-v5", args, tmp_path)[3:] == ["resume", str(stopped)]
    (stopped / "best").mkdir()
    (stopped / "best" / "report.json").write_text("{}")
    assert suite.unfinished_synthesis(tmp_path) is None
    assert suite.synthesis_command("Hopper-v5", args, tmp_path)[3] == "synthesize"


def test_a_finished_task_is_skipped_only_at_the_same_settings(suite: ModuleType) -> None:
    saved = {**row([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 0.0]), "budget": "quick"}
    same = suite.argparse.Namespace(budget="quick", seeds=3)
    assert suite.same_settings(saved, same)
    # More seeds asked for: the 3-seed row must not be printed as the answer.
    assert not suite.same_settings(saved, suite.argparse.Namespace(budget="quick", seeds=5))
    assert not suite.same_settings(saved, suite.argparse.Namespace(budget="full", seeds=3))


def test_a_rerun_with_more_seeds_replaces_the_row(
    suite: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {**row([1.0], [4.0], [0.0]), "task": "Hopper-v5", "budget": "quick"}
    other = {**row([1.0], [4.0], [0.0]), "task": "Ant-v5", "budget": "quick"}
    (tmp_path / "results.json").write_text(suite.json.dumps([old, other]))
    new = {**row([1.0, 2.0], [4.0, 5.0], [0.0, 1.0]), "task": "Hopper-v5", "budget": "quick"}
    ran: list[str] = []

    def fake_run_task(task_id: str, args: object) -> dict:
        ran.append(task_id)
        return new

    monkeypatch.setattr(suite, "run_task", fake_run_task)
    argv = ["hns_suite.py", "--tasks", "Hopper-v5", "--budget", "quick", "--seeds", "2"]
    monkeypatch.setattr(suite.sys, "argv", [*argv, "--out", str(tmp_path)])
    suite.main()
    assert ran == ["Hopper-v5"]
    rows = suite.json.loads((tmp_path / "results.json").read_text())
    assert [r["task"] for r in rows] == ["Ant-v5", "Hopper-v5"]
    assert rows[1]["scores"]["best"] == [1.0, 2.0]
