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
