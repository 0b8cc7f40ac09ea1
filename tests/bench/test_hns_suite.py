"""The HNS suite's statistics: what it prints must not overstate what the seeds show."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SUITE = Path(__file__).resolve().parents[2] / "bench" / "hns_suite.py"


@pytest.fixture(scope="module")
def suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hns_suite", SUITE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hns_suite"] = module
    spec.loader.exec_module(module)
    return module


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


def test_novel_tasks_compare_with_sparse_only(suite: ModuleType) -> None:
    found = suite.summarise(row([3.0, 4.0], None, [1.0, 1.0]))
    assert found["vs_native"] is None and found["hns"] is None
    assert found["vs_sparse"][0] == pytest.approx(2.5)
    line = suite.summary([row([3.0, 4.0], None, [1.0, 1.0])]).splitlines()[-1]
    assert "| n/a | 2.5 [" in line
