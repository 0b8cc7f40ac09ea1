"""Successive halving: rung budgets and survivors."""

from __future__ import annotations

from rewardsmith.agent.halving import is_tie, plan_rungs, pruned_reason, survivors


def test_eight_candidates_eta_two_train_four_rungs_ending_at_the_budget() -> None:
    assert plan_rungs(800_000, 8, 2, 2048) == [100_352, 200_704, 401_408, 800_000]


def test_rungs_are_whole_rollouts_and_increase() -> None:
    rungs = plan_rungs(50_000, 4, 2, 1024)
    assert rungs[-1] == 50_000
    assert all(r % 1024 == 0 for r in rungs[:-1])
    assert rungs == sorted(set(rungs))


def test_rungs_shorter_than_two_rollouts_are_dropped() -> None:
    # 16 candidates would want rungs at 1/16 and 1/8 of the budget: under two rollouts.
    assert plan_rungs(10_000, 16, 2, 2048) == [4_096, 6_144, 10_000]
    assert plan_rungs(4_096, 8, 2, 2048) == [4_096]


def test_one_candidate_or_no_reduction_trains_the_whole_budget() -> None:
    assert plan_rungs(50_000, 1, 2, 1024) == [50_000]
    assert plan_rungs(50_000, 5, 1, 1024) == [50_000]


def test_three_candidates_eta_three_one_halving() -> None:
    assert plan_rungs(90_000, 3, 3, 1000) == [30_000, 90_000]


def test_survivors_keep_the_best_fraction_in_order_ties_to_the_earlier() -> None:
    assert survivors([1.0, 5.0, 3.0, 4.0], 2) == [1, 3]
    assert survivors([2.0, 2.0, 1.0], 2) == [0, 1]
    assert survivors([7.0], 3) == [0]
    assert survivors([1.0, 2.0, 3.0, 4.0, 5.0], 3) == [3, 4]


def test_ties_at_a_capped_fitness_go_to_the_faster_learner() -> None:
    # Three candidates balance all 1000 steps at the end of the rung; the one whose
    # trace got there sooner goes on, not simply the first.
    fitness = [1000.0, 1000.0, 1000.0, 800.0]
    trace_means = [690.0, 627.0, 850.0, 700.0]
    assert survivors(fitness, 2, trace_means) == [0, 2]
    assert survivors(fitness, 2) == [0, 1]


def test_a_pruned_candidate_tied_with_one_kept_is_told_so() -> None:
    # InvertedPendulum at smoke: both finalists balanced 1000 steps at the second rung.
    fitness, trace = [1000.0, 1000.0], [400.0, 650.0]
    assert survivors(fitness, 2, trace) == [1]
    assert is_tie(1000.0, [1000.0]) and is_tie(500.0, [500.0, 800.0])
    assert not is_tie(499.9, [500.0, 800.0])
    assert "tied with a candidate that went on, which got there sooner" in pruned_reason(
        1000.0, [1000.0], 2, 2
    )
    assert pruned_reason(96.3, [227.7, 1000.0], 2, 4) == (
        "its fitness 96.3 was not in the best 1/2 of the 4 candidates"
    )
