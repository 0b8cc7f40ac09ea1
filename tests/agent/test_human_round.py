"""Video jobs follow the run's config: length and MuJoCo shadows."""

from pathlib import Path

from rewardsmith.agent.human_round import VideoPlan, render_job
from rewardsmith.store import RunStore


def test_render_jobs_carry_the_configured_length_and_shadows(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "run")
    short = render_job(VideoPlan(store, "CartPole-v1", "balance_steps", 0), 0, 1)
    assert short.spec["seconds"] == 5.0 and short.spec["shadows"] is False
    long = render_job(
        VideoPlan(store, "CartPole-v1", "balance_steps", 0, seconds=20.0, shadows=True), 0, 1
    )
    assert long.spec["seconds"] == 20.0
    assert long.spec["shadows"] is True and long.spec["reflections"] is True
    assert long.limits.wall_seconds > short.limits.wall_seconds  # longer videos, more time
    assert long.spec["seed"] == short.spec["seed"]  # same policy rollout either way


def test_a_loop_asking_for_people_without_a_ranker_fails_before_training(tmp_path: Path) -> None:
    import pytest

    from rewardsmith.agent.loop import SynthesisLoop
    from rewardsmith.config import SynthConfig
    from rewardsmith.errors import UserError

    store = RunStore.create(tmp_path, "run")
    config = SynthConfig(env="CartPole-v1", feedback="human")
    with pytest.raises(UserError, match="--feedback human needs a ranking page"):
        SynthesisLoop(config, store, designer=None, executor=None)  # type: ignore[arg-type]
    auto = SynthesisLoop(SynthConfig(env="CartPole-v1"), store, None, None)  # type: ignore[arg-type]
    assert auto.ranker is None
