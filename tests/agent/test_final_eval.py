"""The human-normalised score, as Eureka defines it, and the final evaluation's records."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.agent.final_eval import (
    FinalEvalPlan,
    baselines_told_apart,
    hns,
    hns_text,
    run_final_evaluation,
)
from rewardsmith.envs.registry import get_task
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import DamagedFile
from rewardsmith.train.executor import Job
from rewardsmith.train.jobs import JobOutcome


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


def test_baselines_are_told_apart_only_beyond_their_seeds_noise() -> None:
    # A fitness signal that is the env's own reward: the two arms differ by float noise.
    native = [-1.4012011, -1.1958783, -0.2015393]
    sparse = [-1.4012015, -1.1959240, -0.2015391]
    assert not baselines_told_apart(native, sparse)
    assert hns(-0.26, sum(native) / 3, sum(sparse) / 3) > 1e4  # what it used to print
    # Clearly apart, each arm spread over its seeds.
    assert baselines_told_apart([15.0, 18.0, 20.0, 10.0, 14.0], [7.0, 1.0, 14.0, 8.0, 6.0])
    # Overlapping spreads: apart on average, not by the seeds.
    assert not baselines_told_apart([10.0, 30.0, 20.0], [12.0, 28.0, 15.0])
    # One seed each shows no noise to measure a gap against (a HopHigh task file at smoke
    # printed HNS -1.000 from one seed of 1.251 against one of 1.324); no seeds, nothing.
    assert not baselines_told_apart([5.0], [3.0])
    assert not baselines_told_apart([5.0, 5.1], [3.0])
    assert baselines_told_apart([5.0, 5.1], [3.0, 3.1])
    assert not baselines_told_apart([], [3.0])


def test_hns_text_says_why_there_is_no_number() -> None:
    base = {"best": {"mean": 2.0}, "sparse": {"mean": 1.0, "std": 0.5}}
    assert hns_text({**base, "hns": 1.25, "native": {"mean": 1.8}}) == "1.250"
    assert "no native reward" in hns_text({**base, "hns": None, "native": None})
    untold = hns_text({**base, "hns": None, "native": {"mean": 1.1, "std": 0.4}})
    assert untold.startswith("undefined: the seeds do not tell the native (1.1 ± 0.4)")
    assert "sparse (1 ± 0.5)" in untold
    settled = {"mean": 1.0, "std": 0.0}
    same = hns_text({**base, "hns": None, "native": settled, "sparse": settled})
    assert same == "undefined (the native and sparse baselines both reach 1)"
    # Equal means over seeds that spread (HumanoidStandup at smoke: 0.15632 and 0.15636,
    # std 0.02) are noise, not a shared ceiling.
    alike = hns_text({**base, "hns": None, "native": {"mean": 1.0002, "std": 0.1}})
    assert alike.startswith("undefined: the seeds do not tell the native (1 ± 0.1)")
    one = {"mean": 1.251, "std": 0.0, "per_seed": [1.251]}
    single = hns_text({**base, "hns": None, "native": one, "sparse": {**one, "mean": 1.324}})
    assert single == (
        "undefined: one seed cannot tell the native (1.251) and sparse (1.324) baselines "
        "apart; evaluate on more (--eval-seeds 3)"
    )
    failed = {**base, "hns": None, "native": {"mean": 1.1}, "sparse": {"mean": None}}
    assert "sparse baseline did not train" in hns_text(failed)


class _Trainer:
    """An executor that 'trains' every job at once to a fitness that names its arm."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def run(self, jobs: list[Job], on_progress: object = None) -> Iterator[tuple[Job, JobOutcome]]:
        for job in jobs:
            self.keys.append(job.key)
            fitness = {"candidate": 3.0, "native": 2.0, "sparse": 1.0}[job.spec["reward"]["mode"]]
            result = {"fitness": fitness, "success_rate": 0.0, "fitness_trace": [], "steps": 10}
            yield job, JobOutcome(True, result)

    def close(self, kill: bool = False) -> None:
        return None


def test_a_damaged_cached_baseline_is_trained_again_and_a_damaged_run_record_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task = get_task("CartPole-v1")
    plan = FinalEvalPlan(
        task=task,
        measure=task.fitness[0],
        budget="smoke",
        seeds=[7, 8],
        cache_dir=tmp_path / "cache",
        best_dir=tmp_path / "best",
        limits=Limits.for_training(60),
    )
    best = RewardCandidate(source="def compute_reward(pole_angle):\n    return pole_angle, {}\n")
    first = _Trainer()
    run_final_evaluation(plan, best, first)
    assert len(first.keys) == 6
    cached = sorted(plan.cache_dir.glob("*__native__7.json"))
    assert len(cached) == 1
    cached[0].write_text('{"fitn')
    again = _Trainer()
    report = run_final_evaluation(plan, best, again)
    assert again.keys == ["native/7"]  # only the damaged entry trains again
    assert report["native"]["per_seed"] == [2.0, 2.0]
    assert "cached baseline" in caplog.text and "is damaged; training it again" in caplog.text
    (plan.best_dir / "seed_8" / "fitness.json").write_text("[]")
    with pytest.raises(DamagedFile, match=r"seed_8/fitness\.json' is damaged"):
        run_final_evaluation(plan, best, _Trainer())
