"""End to end with the offline designer: the loop completes and the best reward solves the task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import only_run, run_cli

pytestmark = pytest.mark.slow


# CartPole goes through two iterations (the second built on the first's feedback) and the
# confirmation; the MuJoCo task through one iteration. Neither runs the final evaluation,
# which trains the same way on every env: the shared tiny run (tests/report) has one, and
# here it would cost CI three more trainings a run.
@pytest.mark.parametrize(
    ("env", "threshold", "iterations", "samples"),
    [("CartPole-v1", 475.0, 2, 4), ("InvertedPendulum-v5", None, 1, 2)],
)
def test_offline_smoke_run_reaches_the_success_threshold(
    tmp_path: Path, env: str, threshold: float | None, iterations: int, samples: int
) -> None:
    args = ["synthesize", "--env", env, "--budget", "smoke", "--iterations", str(iterations)]
    args += ["--samples", str(samples), "--eval-seeds", "0", "--confirm-seeds", "1"]
    args += ["--confirm-top", "2"]
    result = run_cli([*args, "--seed", "1", "--out", "runs"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "offline designer" in result.stdout
    said = " ".join(result.stdout.split())
    assert f"{iterations} iteration{'s' if iterations > 1 else ''} x {samples} candidates" in said
    assert "baselines on" not in said
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert not (run / f"iter_{iterations:02d}").exists()
    for index in range(iterations):
        it = run / f"iter_{index:02d}"
        for name in (
            "prompt.md",
            "response_00.md",
            "candidates.json",
            "feedback.md",
            "iteration.json",
        ):
            assert (it / name).is_file(), it / name
        record = json.loads((it / "iteration.json").read_text())
        trained = [r for r in record["results"] if r["status"] == "ok"]
        assert len(trained) == samples
        cand = it / "cand_00"
        for name in ("reward.py", "critic.json", "metrics.csv", "fitness.json", "policy.zip"):
            assert (cand / name).is_file(), cand / name
    report = json.loads((run / "best" / "report.json").read_text())
    assert (run / "best" / "reward.py").read_text().startswith(("import", "def", "\n", "#"))
    limit = threshold if threshold is not None else report["success_threshold"]
    results = [r for i in range(iterations) for r in _results(run, i)]
    tied = {r["candidate"]["id"] for r in results if r["tied"]}
    assert all(r["pruned"] for r in results if r["tied"])
    if iterations == 1 and not tied:
        # One iteration of successive halving trains one finalist for the whole budget:
        # nothing to confirm it against, so the search's pick stands.
        assert "confirmation" not in report
        assert report["search"]["fitness"] >= limit, report["search"]
    else:
        # Rewards that halving stopped at a tie with one that went on are retrained too
        # (at most confirm-top 2 in all, the full-budget ones first; twins count once).
        confirmed = {row["id"] for row in report["confirmation"]["candidates"]}
        assert len(confirmed) == 2 or not tied or tied & confirmed, (tied, confirmed)
        if report["search"]["pruned"]:  # the confirmation took a tied one: the run says so
            assert "successive halving had stopped it at a tie" in said
        _check_confirmation(run, report, limit)
        assert "confirmation:" in result.stdout
    assert "best" not in report and "native" not in report
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    shown = run_cli(["show", str(run)], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    # Numbered from 1, as synthesize counted them ("iteration 1/2").
    assert f"iteration {iterations}" in shown.stdout and "fitness" in shown.stdout
    assert f"iteration {iterations + 1}" not in shown.stdout


def _results(run: Path, index: int) -> list[dict]:
    return json.loads((run / f"iter_{index:02d}" / "iteration.json").read_text())["results"]


def _check_confirmation(run: Path, report: dict, limit: float) -> None:
    # Before choosing, the fittest finalists were retrained on a fresh seed each, and
    # the chosen reward is the one that held up there (not necessarily the search's pick:
    # at this budget a one-seed 500 on CartPole can be followed by 186 and 385).
    confirmation = report["confirmation"]
    assert len(confirmation["seeds"]) == 1 and len(confirmation["candidates"]) >= 2
    assert confirmation["chosen"] == report["search"]["candidate"]
    rows = confirmation["candidates"]
    for row in rows:
        assert len(row["fitness"]) == 1 and row["failed"] == 0, row
        assert len(list((run / "confirm" / row["id"]).glob("seed_*/fitness.json"))) == 1
    assert rows[0]["id"] == confirmation["chosen"]
    assert rows[0]["mean"] == max(row["mean"] for row in rows)
    assert rows[0]["mean"] >= limit, confirmation


def test_first_success_stops_training_and_the_search_at_the_threshold(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "30000", "--iterations", "3"]
    args += ["--samples", "2", "--first-success", "--eval-seeds", "0", "--confirm-seeds", "0"]
    result = run_cli([*args, "--seed", "1", "--out", "runs"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "stopping the search (--first-success)" in " ".join(result.stdout.split())
    run = only_run(tmp_path / "runs")
    # The search ends with the iteration in which a reward reached the threshold.
    iterations = sorted(run.glob("iter_*"))
    assert 1 <= len(iterations) < 3, iterations
    records = [json.loads((it / "iteration.json").read_text())["results"] for it in iterations]
    assert all(r["fitness"] < 475 for earlier in records[:-1] for r in earlier)
    solved = [r for r in records[-1] if r["status"] == "ok" and r["fitness"] >= 475]
    assert solved, records[-1]
    # Its training stopped at the first checkpoint past the threshold: the rest of the
    # budget is not spent.
    for r in solved:
        assert r["steps"] < 30_000, r["steps"]
        assert all(f < 475 for f in r["fitness_trace"][:-1]), r["fitness_trace"]
