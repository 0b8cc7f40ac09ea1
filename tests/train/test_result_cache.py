"""The result cache: keys follow what decides a training, hits restore files, no retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith.sandbox.runner import Limits
from rewardsmith.train import result_cache
from rewardsmith.train.executor import Job, LocalExecutor
from rewardsmith.train.result_cache import (
    CachingExecutor,
    ResultCache,
    job_key,
    library_versions,
    source_digest,
)

REWARD = """
import numpy as np

def compute_reward(pole_angle, action):
    up = 1.0 - np.abs(pole_angle)
    return up, {"up": up}
"""
SAME_REWARD_REFORMATTED = """
import numpy as np
# the same reward, written differently
def compute_reward(pole_angle, action):
    up = 1.0 - np.abs( pole_angle )   # upright bonus
    return up, {"up": up}
"""


def _job(folder: Path, source: str = REWARD, seed: int = 1, steps: int = 1_024) -> Job:
    spec = {
        "kind": "train",
        "task": "CartPole-v1",
        "budget": "2000",
        "seed": seed,
        "reward": {"mode": "candidate", "source": source},
        "steps": steps,
    }
    return Job("cand", spec, Limits.for_training(120), folder)


def test_key_ignores_formatting_but_not_seed_budget_inputs(tmp_path: Path) -> None:
    base = job_key(_job(tmp_path))
    assert base == job_key(_job(tmp_path, SAME_REWARD_REFORMATTED))
    assert base != job_key(_job(tmp_path, seed=2))
    assert base != job_key(_job(tmp_path, steps=2_048))
    assert base != job_key(_job(tmp_path, REWARD.replace("1.0 -", "2.0 -")))
    checkpoint = tmp_path / "policy.zip"
    checkpoint.write_bytes(b"one")
    with_input = _job(tmp_path)
    with_input.inputs = {"policy.zip": checkpoint}
    first = job_key(with_input)
    checkpoint.write_bytes(b"two")
    assert first != job_key(with_input) != base
    probe = Job("p", {"kind": "probe", "task": "CartPole-v1"}, Limits.for_training(9))
    assert job_key(probe) is None


@pytest.mark.slow
def test_second_request_is_answered_from_the_cache_with_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cache = ResultCache(tmp_path / "cache")
    executor = CachingExecutor(LocalExecutor(1), cache)
    try:
        [(_, first)] = list(executor.run([_job(tmp_path / "a")]))
        assert first.ok, first.error
        assert "cache_hit" not in first.result and executor.hits == 0
        # Same work under another name and formatting: no training, same numbers and files.
        [(_, again)] = list(executor.run([_job(tmp_path / "b", SAME_REWARD_REFORMATTED)]))
    finally:
        executor.close()
    assert executor.hits == 1 and again.result["cache_hit"]
    assert again.result["fitness_trace"] == first.result["fitness_trace"]
    assert "pid" in again.result and again.result["pid"] == first.result["pid"]
    assert sorted(p.name for p in again.files) == sorted(p.name for p in first.files)
    for name in ("policy.zip", "metrics.csv"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes()


def test_the_source_digest_follows_the_training_code_a_version_number_misses(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    (package / "envs").mkdir(parents=True)
    (package / "envs" / "fields.py").write_text("UPRIGHT = 1.0\n")
    (package / "seeding.py").write_text("SEED = 0\n")
    (package / "cli.py").write_text("print('hello')\n")
    parts = ("envs", "train", "seeding.py")  # train/ is missing here: skipped, not an error
    first = source_digest(package, parts)
    assert first == source_digest(package, parts)
    (package / "cli.py").write_text("print('changed')\n")  # not training code
    assert source_digest(package, parts) == first
    (package / "envs" / "fields.py").write_text("UPRIGHT = -1.0\n")  # a field's fix
    fixed = source_digest(package, parts)
    assert fixed != first
    (package / "envs" / "fields.py").rename(package / "envs" / "moved.py")
    assert source_digest(package, parts) != fixed
    assert library_versions()["rewardsmith-source"] == source_digest(
        Path(result_cache.__file__).resolve().parents[1]
    )
