"""The dynamic check (``run_check``), end to end through a sandboxed worker."""

from pathlib import Path

import numpy as np
import pytest

from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.check import run_check
from rewardsmith.train.jobs import run_job

N = 64
PARAMS = ["x", "v", "action"]
LIMITS = Limits(cpu_seconds=20, wall_seconds=60)

GOOD = """\
import numpy as np

def compute_reward(x, v, action):
    energy = 0.1 * np.sum(action ** 2, axis=-1)
    return v - energy, {"speed": v, "energy": -energy}
"""


@pytest.fixture(scope="module")
def transitions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "transitions.npz"
    steps = np.arange(N, dtype=float)
    np.savez(
        path,
        x=np.linspace(-1.0, 1.0, N),
        v=np.sin(steps),
        action=np.cos(steps)[:, None],
        step_seconds=np.array(1e-4),
    )
    return path


def check(source: str, transitions: Path, **extra: object) -> dict:
    job = {
        "kind": "check",
        "source": source,
        "params": PARAMS,
        "transitions": "transitions.npz",
        "n_envs": 8,
        **extra,
    }
    outcome = run_job(job, LIMITS, inputs={"transitions.npz": transitions})
    assert outcome.ok, outcome.error
    return outcome.result


def test_good_reward_passes(transitions: Path) -> None:
    result = check(GOOD, transitions)
    assert result["problems"] == []
    assert result["components"] == ["speed", "energy"]
    assert result["calls"] == 8 and result["transitions"] == N
    assert 0 < result["per_call_seconds"] < 5e-4
    assert result["reward_stats"]["min"] < result["reward_stats"]["max"]
    assert set(result["component_stats"]["energy"]) == {"min", "mean", "max", "std"}
    assert result["files"] == []


def test_raising_reward_names_the_exception_and_line(transitions: Path) -> None:
    source = GOOD.replace("    energy =", '    lookup = {"a": 1}["b"]\n    energy =')
    problems = check(source, transitions)["problems"]
    assert problems == [
        'compute_reward raised KeyError: \'b\' at line 4 (`lookup = {"a": 1}["b"]`) on '
        "transitions 0-7 (in 5 of 5 batches tried)"
    ]


def test_nan_reward_names_the_inputs(transitions: Path) -> None:
    source = GOOD.replace("return v - energy", "return np.log(x) - energy")
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("the reward is not finite (nan) for 8 of 8 envs")
    assert "e.g. at transition 0: x=-1., v=0., action=[1.]" in problems[0]


def test_wrong_shape(transitions: Path) -> None:
    source = GOOD.replace("return v - energy", "return (v - energy)[:, None]")
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1 and "the reward has shape (8, 1), but it must be (8,)" in problems[0]


def test_constant_reward(transitions: Path) -> None:
    source = GOOD.replace("return v - energy", "return 0.0 * v + 1.0")
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1 and "the same value (1) on all 64 transitions" in problems[0]


def test_an_absurdly_large_reward_is_refused_with_its_size(transitions: Path) -> None:
    problems = check(GOOD.replace("return v - energy", "return 1e30 * v - energy"), transitions)[
        "problems"
    ]
    assert len(problems) == 1 and "the reward reaches 1e+30 in a step" in problems[0]
    assert "(the limit is 1e+09)" in problems[0]
    # A large but sane scale (HumanoidStandup's native pays hundreds a step) passes.
    assert (
        check(GOOD.replace("return v - energy", "return 500 * v - energy"), transitions)["problems"]
        == []
    )


def test_a_reward_that_keeps_state_between_calls_is_refused(transitions: Path) -> None:
    counting = "    CALLS.append(1)\n    v = v * len(CALLS)\n    return v - energy"
    source = GOOD.replace("def compute_reward", "CALLS = []\n\n\ndef compute_reward")
    source = source.replace("    return v - energy", counting)
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1, problems
    assert "when called again on the same values: it keeps state between calls" in problems[0]


def test_missing_components(transitions: Path) -> None:
    source = GOOD.replace('{"speed": v, "energy": -energy}', "{}")
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1 and "returns no components" in problems[0]


def test_too_slow_reward_states_the_numbers(transitions: Path) -> None:
    source = GOOD.replace(
        "    energy =",
        "    total = 0\n    for i in range(50000):\n        total += i\n    energy =",
    )
    result = check(source, transitions)
    assert len(result["problems"]) == 1
    problem = result["problems"][0]
    assert problem.startswith("the reward is too slow: one call for a batch of 8 envs takes")
    assert "8 env steps take 0.800 ms" in problem and "the limit is 0.500 ms" in problem
    assert result["per_call_seconds"] > 5e-4


def test_memory_hungry_reward_is_reported_not_fatal(transitions: Path) -> None:
    source = GOOD.replace("    energy =", "    big = np.ones(2**31)\n    energy =")
    problems = check(source, transitions)["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("compute_reward raised MemoryError: Unable to allocate 16.0 GiB")
    assert "at line 4 (`big = np.ones(2**31)`)" in problems[0]


def test_load_time_error_and_unknown_parameter(transitions: Path) -> None:
    # In-process: run_check only reads the npz, so the slow worker start is not needed here.
    broken = "import numpy as np\nSCALE = 1 / 0\n" + GOOD
    job = {"source": broken, "params": PARAMS, "transitions": str(transitions), "n_envs": 8}
    assert run_check(job)["problems"] == [
        "loading the reward code failed with ZeroDivisionError: division by zero at line 2 "
        "(`SCALE = 1 / 0`)"
    ]
    job["source"] = GOOD.replace("(x, v, action)", "(x, height)")
    assert run_check(job)["problems"] == [
        "compute_reward takes 'height', which this task does not provide; available: x, v, "
        "action, and prev_<field> for a field one step back"
    ]
    # Transitions recorded before prev_<field> existed: the field itself stands in.
    job["source"] = GOOD.replace("(x, v, action)", "(x, prev_v, v, action)")
    assert run_check(job)["problems"] == []


def test_changing_component_names_and_distinct_errors(transitions: Path) -> None:
    source = (
        "import numpy as np\n"
        "def compute_reward(x, v):\n"
        "    if x[0] > 0.5:\n"
        "        raise ValueError('late')\n"
        "    if x[0] > 0:\n"
        "        return v, {'b': v}\n"
        "    return v, {'a': v}\n"
    )
    job = {"source": source, "params": PARAMS, "transitions": str(transitions), "n_envs": 8}
    problems = run_check(job)["problems"]
    assert problems == [
        "compute_reward raised ValueError: late at line 4 (`raise ValueError('late')`) on "
        "transitions 48-55 (in 2 of 8 batches tried)",
        "the component names change between calls (['a'] vs ['b']); return the same keys every "
        "time (use 0.0 for a term that does not apply)",
    ]


def test_a_broken_output_structure_is_called_once(transitions: Path) -> None:
    """A runaway components dict is the same on every batch: no second call spends CPU on it."""
    source = (
        "import numpy as np\n"
        "def compute_reward(x, v):\n"
        "    return v, {f'term_{i}': v for i in range(1000)}\n"
    )
    job = {"source": source, "params": PARAMS, "transitions": str(transitions), "n_envs": 8}
    result = run_check(job)
    assert result["calls"] == 1
    [problem] = result["problems"]
    assert "returned 1000 components" in problem and "batches tried" not in problem
