"""Confirmation: the search's fittest rewards retrained on fresh seeds before choosing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.confirm import ConfirmPlan, Finalist, confirm, shortlist, why_chosen
from rewardsmith.agent.loop import LoopCallbacks
from rewardsmith.envs.registry import resolve_task
from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.executor import Job, LocalExecutor

# Pays for every step upright: PPO learns to balance.
GOOD = """
import numpy as np

def compute_reward(pole_angle):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    return 1.0 + upright, {"upright": upright}
"""

# Charges for every step alive: PPO learns to drop the pole at once.
BAD = """
def compute_reward(pole_angle):
    return -1.0 - 0.0 * pole_angle, {"alive": -1.0}
"""


def _result(
    source: str, fitness: float, *, pruned: bool = False, trace: float = 0.0
) -> CandidateResult:
    return CandidateResult(
        RewardCandidate(source),
        "ok",
        fitness=fitness,
        fitness_trace=[trace, fitness],
        return_trace=[trace, fitness],
        steps=1000,
        pruned=pruned,
    )


def _reward(k: int) -> str:
    return f"def compute_reward(pole_angle):\n    return {k}.0 + 0.0 * pole_angle, {{}}\n"


def test_shortlist_keeps_the_fittest_distinct_full_budget_rewards() -> None:
    a, b, c, d = (_result(_reward(k), f) for k, f in ((1, 50.0), (2, 90.0), (3, 70.0), (4, 95.0)))
    d.pruned = True  # measured after fewer steps: not comparable
    failed = CandidateResult(RewardCandidate(_reward(5)), "failed", problems=["crashed"])
    again = _result(_reward(2), 91.0)  # the same code proposed again in a later iteration
    twin = _result(_reward(6), 70.0)  # inherited candidate c's result without training
    twin.fitness_trace, twin.return_trace = c.fitness_trace, c.return_trace
    history = [
        IterationRecord(0, [a, b, c, d, failed], None, ""),
        IterationRecord(1, [again, twin], None, ""),
    ]
    picked = shortlist(history, 3)
    assert [(r.candidate.id, i) for r, i in picked] == [
        (b.candidate.id, 0),
        (c.candidate.id, 0),
        (a.candidate.id, 0),
    ]
    assert len(shortlist(history, 10)) == 3
    assert shortlist([IterationRecord(0, [d, failed], None, "")], 3) == []


def test_places_left_go_to_rewards_halving_stopped_at_a_tie_most_trained_first() -> None:
    # InvertedPendulum, one iteration: the finalist kept at the last rung collapsed to 227
    # at the full budget; the one stopped beside it had balanced all 1000 steps too.
    kept = _result(_reward(1), 227.0)
    late_tie = _result(_reward(2), 1000.0, pruned=True)
    early_tie = _result(_reward(3), 1000.0, pruned=True)
    early_tie.steps = 500  # stopped at the first rung, late_tie at the second (1000 steps)
    early_tie.fitness_trace = early_tie.return_trace = [1000.0]
    beaten = _result(_reward(4), 96.0, pruned=True)  # below every one that went on
    late_tie.tied = early_tie.tied = True
    history = [IterationRecord(0, [kept, early_tie, late_tie, beaten], None, "")]
    picked = [r for r, _ in shortlist(history, 3)]
    assert picked == [kept, late_tie, early_tie]  # the search's pick stays first
    assert [r for r, _ in shortlist(history, 2)] == [kept, late_tie]
    # Full-budget rewards come first and keep their places.
    other = _result(_reward(5), 400.0)
    history.append(IterationRecord(1, [other], None, ""))
    assert [r for r, _ in shortlist(history, 2)] == [other, kept]
    # With no full-budget reward there is no search pick to confirm against.
    assert shortlist([IterationRecord(0, [late_tie, early_tie], None, "")], 3) == []


def test_on_equal_fresh_seeds_a_full_budget_reward_ranks_before_one_stopped_at_a_tie() -> None:
    kept = Finalist(_result(_reward(1), 227.0), 0, [1000.0], [600.0])
    stopped = Finalist(_result(_reward(2), 1000.0, pruned=True), 0, [1000.0], [600.0])
    stopped.result.tied = True
    assert sorted([stopped, kept], key=lambda f: f.rank_key(), reverse=True) == [kept, stopped]
    row = stopped.to_json()
    assert row["search_pruned"] is True and row["search_steps"] == 1000


def test_a_reward_that_failed_a_fresh_seed_ranks_last_and_ties_go_to_the_faster_learner() -> None:
    steady = Finalist(_result(_reward(1), 500.0), 0, [500.0, 500.0], [300.0, 320.0])
    quick = Finalist(_result(_reward(2), 500.0), 0, [500.0, 500.0], [450.0, 410.0])
    broken = Finalist(_result(_reward(3), 500.0), 0, [500.0], [480.0], failed=1)
    ranked = sorted([broken, steady, quick], key=lambda f: f.rank_key(), reverse=True)
    assert ranked == [quick, steady, broken]
    assert Finalist(_result(_reward(4), 1.0), 0, [], []).mean is None
    # The report says which of the three reasons put a reward ahead of the search's pick.
    tie = why_chosen(quick, steady)
    assert tie == "the same mean fitness on the fresh seeds (500), reached sooner"
    assert why_chosen(steady, broken) == "the search's pick failed to train on 1 fresh seed(s)"
    worse = Finalist(_result(_reward(5), 500.0), 0, [200.0, 300.0], [100.0, 120.0])
    assert why_chosen(quick, worse) == "a higher mean fitness on the fresh seeds (500 against 250)"
    assert why_chosen(quick, quick) == ""


@pytest.mark.slow
def test_confirmation_overturns_a_lucky_search_pick_and_resumes_from_disk(tmp_path: Path) -> None:
    # The search "measured" the reward that punishes staying alive at 500 (a lucky seed,
    # as it were) and the balancing reward at 60; fresh seeds tell the truth.
    lucky, honest = _result(BAD, 500.0), _result(GOOD, 60.0)
    finalists = shortlist([IterationRecord(0, [honest, lucky], None, "")], 3)
    assert finalists[0][0] is lucky
    task = resolve_task("CartPole-v1", None)
    plan = ConfirmPlan(
        task=task,
        measure=task.get_fitness(None),
        budget="8000",
        seeds=[11, 12],
        root=tmp_path / "confirm",
        limits=Limits.for_training(120.0),
    )
    executor = LocalExecutor(workers=2)
    try:
        chosen, report = confirm(plan, finalists, executor, LoopCallbacks())
    finally:
        executor.close()
    assert chosen is honest
    assert report["changed"] and report["search_pick"] == lucky.candidate.id
    assert report["reason"].startswith("a higher mean fitness on the fresh seeds")
    assert report["chosen"] == honest.candidate.id
    rows = {row["id"]: row for row in report["candidates"]}
    assert len(rows[honest.candidate.id]["fitness"]) == 2
    assert rows[honest.candidate.id]["mean"] > rows[lucky.candidate.id]["mean"]
    assert rows[lucky.candidate.id]["search_fitness"] == 500.0
    assert json.loads((plan.root / "confirm.json").read_text()) == report
    for result in (lucky, honest):
        for seed in plan.seeds:
            assert (plan.root / result.candidate.id / f"seed_{seed}" / "fitness.json").is_file()

    class Refusing:
        """An executor for a run whose confirmation already finished: nothing may train."""

        def run(self, jobs: list[Job], on_progress: object = None) -> list[object]:
            raise AssertionError(f"retrained {[job.key for job in jobs]}")

        def close(self, kill: bool = False) -> None:
            pass

    again, report_again = confirm(plan, finalists, Refusing(), LoopCallbacks())  # type: ignore[arg-type]
    assert again is honest and report_again == report
