"""The human-normalised score, as Eureka defines it."""

import pytest

from rewardsmith.agent.final_eval import hns


def test_hns_is_the_gain_over_sparse_in_units_of_the_native_gap() -> None:
    assert hns(100.0, 100.0, 0.0) == 1.0
    assert hns(150.0, 100.0, 0.0) == 1.5
    assert hns(0.0, 100.0, 0.0) == 0.0
    assert hns(-0.5, -0.1, -0.9) == pytest.approx(0.5)  # closeness: larger is better


def test_hns_keeps_its_sign_when_native_scores_below_sparse() -> None:
    # Locomotion: the sparse velocity signal beat the native reward; a synthesised
    # reward that beats both must not get a negative score.
    assert hns(130.0, 110.0, 120.0) == pytest.approx(1.0)
    assert hns(100.0, 110.0, 120.0) == pytest.approx(-2.0)


def test_hns_is_undefined_without_a_gap_or_a_term() -> None:
    assert hns(5.0, 3.0, 3.0) is None
    assert hns(5.0, None, 3.0) is None
    assert hns(None, 4.0, 3.0) is None
