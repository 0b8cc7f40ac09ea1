"""The critic: static rejections start no process; runtime failures become readable verdicts."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rewardsmith.agent import critic as critic_module
from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.agent.critic import Critic, CriticReport
from rewardsmith.envs.spec import FitnessMeasure, StateField, TaskSpec
from rewardsmith.sandbox.runner import Limits

TASK = TaskSpec(
    id="Toy-v0",
    env_id="Toy-v0",
    description="move right",
    fields=(
        StateField("x", (), "m", "position of the cart"),
        StateField("v", (), "m/s", "velocity of the cart"),
    ),
    extract=lambda env, obs, action: {},
    fitness=(FitnessMeasure("progress", "distance moved", "m", lambda a, b, r: 0.0, "sum", 1.0),),
    presets={},
    action_meaning="force on the cart",
)

GOOD = """\
import numpy as np

def compute_reward(x, v, action):
    effort = 0.01 * np.sum(action ** 2, axis=-1)
    return v - effort, {"speed": v, "effort": -effort}
"""


@pytest.fixture(scope="module")
def transitions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("critic") / "transitions.npz"
    steps = np.arange(32, dtype=float)
    np.savez(
        path,
        x=np.linspace(-1, 1, 32),
        v=np.cos(steps),
        prev_x=np.linspace(-1, 1, 32) - 0.05 * np.cos(steps),  # as the probe records them
        prev_v=np.cos(steps - 1),
        action=np.sin(steps)[:, None],
        step_seconds=np.array(1e-3),
    )
    return path


PROGRESS = """\
import numpy as np

def compute_reward(x, prev_x):
    moved = x - prev_x
    return moved, {"moved": moved}
"""


def test_a_reward_may_read_fields_one_step_back(transitions: Path) -> None:
    report = Critic(TASK, transitions).check(RewardCandidate(PROGRESS))
    assert report.passed, report.problems
    moved = 0.05 * np.cos(np.arange(32.0))
    assert report.dynamic["reward_stats"]["mean"] == pytest.approx(moved.mean())
    for bad, why in [("prev_speed", "`prev_speed` is not a state field"),
                     ("prev_action", "`prev_action` is not a state field")]:  # fmt: skip
        source = PROGRESS.replace("prev_x", bad)
        report = Critic(TASK, transitions).check(RewardCandidate(source))
        assert not report.passed and not report.static_ok
        assert why in report.problems[0] and "prev_<field>" in report.problems[0]


def test_unknown_field_is_rejected_statically_without_a_process(
    transitions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: Any, **kwargs: Any) -> None:
        pytest.fail("the critic started a worker for code the static policy rejects")

    monkeypatch.setattr(critic_module, "run_job", no_process)
    source = GOOD.replace("(x, v, action)", "(x, velocity, action)").replace(" v,", " velocity,")
    source = source.replace("return v ", "return velocity ")
    candidate = RewardCandidate(source)
    report = Critic(TASK, transitions).check(candidate)
    assert not report.passed and not report.static_ok and report.dynamic == {}
    assert report.problems == [
        "line 3: compute_reward parameter `velocity` is not a state field of this task. "
        "Fix: use only these names as parameters: x, v, action, and prev_<field> for a field "
        "one step back"
    ]
    assert report.verdict_text() == ("The critic rejected this reward:\n- " + report.problems[0])


def test_runtime_error_is_rejected_with_its_line(transitions: Path) -> None:
    source = GOOD.replace("    return", "    scale = v[100]\n    return")
    report = Critic(TASK, transitions).check(RewardCandidate(source))
    assert not report.passed and report.static_ok
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.startswith("compute_reward raised IndexError: index 100 is out of bounds")
    assert "at line 5 (`scale = v[100]`)" in problem
    assert report.verdict_text().startswith("The critic rejected this reward:\n- compute_reward")


def test_good_reward_passes_and_round_trips(transitions: Path) -> None:
    report = Critic(TASK, transitions, n_envs=4).check(RewardCandidate(GOOD))
    assert report.passed, report.problems
    assert report.dynamic["components"] == ["speed", "effort"]
    assert report.dynamic["calls"] == 8
    assert report.verdict_text().startswith("The critic accepted this reward (components: speed")
    assert CriticReport.from_json(report.to_json()) == report


def test_worker_killed_by_the_cpu_limit_becomes_a_problem(transitions: Path) -> None:
    source = GOOD.replace("    return", "    while True:\n        pass\n    return")
    limits = Limits(cpu_seconds=1, wall_seconds=30)
    report = Critic(TASK, transitions, limits=limits).check(RewardCandidate(source))
    assert not report.passed
    assert report.problems == [
        "running the reward on the check's random transitions used more than 1 s of CPU, so it "
        "was stopped. Make it fast: no Python loops over envs or elements, no huge intermediate "
        "arrays, plain numpy operations on the whole batch"
    ]


def test_a_failing_checker_is_not_blamed_on_the_reward(tmp_path: Path) -> None:
    missing = tmp_path / "transitions.npz"
    missing.write_bytes(b"not an npz file")
    report = Critic(TASK, missing).check(RewardCandidate(GOOD))
    assert not report.passed
    assert report.problems[0].startswith("the reward could not be checked (the checker failed:")
    assert "may not be the reward's fault" in report.problems[0]
