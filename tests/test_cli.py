"""The CLI as a user meets it: help, tasks, check, doctor (bad input: test_bad_input.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO, run_cli


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rewardsmith.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'synthesize' in r.output\n"
        "heavy = [m for m in ('torch', 'ray', 'litellm', 'stable_baselines3', 'mujoco', "
        "'gymnasium') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_tasks_lists_every_builtin(tmp_path: Path) -> None:
    result = run_cli(["tasks"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for task in (
        "CartPole-v1",
        "Pendulum-v1",
        "MountainCarContinuous-v0",
        "InvertedPendulum-v5",
        "HalfCheetah-v5",
        "Hopper-v5",
    ):
        assert task in result.stdout


def test_tasks_describe_shows_fields_and_fitness(tmp_path: Path) -> None:
    result = run_cli(["tasks", "--describe", "CartPole-v1"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pole_angle" in result.stdout and "balance_steps" in result.stdout


GOOD = """
import numpy as np

def _upright(angle):
    return np.exp(-(angle / 0.1) ** 2)

def compute_reward(pole_angle, cart_position):
    up = _upright(pole_angle)
    centre = 0.1 * np.exp(-cart_position ** 2)
    return 1.0 + up + centre, {"upright": up, "centre": centre}
"""

BAD = """
import os

def compute_reward(pole_angle, cart_speed):
    return pole_angle / 0.0, {}
"""


def test_check_good_bad_and_not_a_reward_file(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "notes.txt").write_text("just some notes\n")
    good = run_cli(["check", "--env", "CartPole-v1", "good.py"], cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "passed" in good.stdout
    bad = run_cli(["check", "--env", "CartPole-v1", "bad.py"], cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    out = " ".join(bad.stdout.split())
    assert "rejected" in out
    assert "os" in out and "cart_speed" in out  # every problem, not only the first
    notes = run_cli(["check", "--env", "CartPole-v1", "notes.txt"], cwd=tmp_path)
    assert notes.returncode == 2 and "not a reward file" in notes.stderr
    folder = run_cli(["check", "--env", "CartPole-v1", "."], cwd=tmp_path)
    assert folder.returncode == 2 and "is not a file" in folder.stderr
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


METHODS = """
import numpy as np

def compute_reward(x_velocity, action):
    cost = 0.1 * np.square(np.asarray(action)).sum(axis=1)
    return x_velocity - cost, {"run": x_velocity, "cost": -cost}
"""


def test_check_passes_a_reward_that_calls_array_methods(tmp_path: Path) -> None:
    # ``a.sum(axis=1)`` is how most people write an action cost; the critic refused it.
    (tmp_path / "methods.py").write_text(METHODS)
    result = run_cli(["check", "--env", "HalfCheetah-v5", "methods.py"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_doctor_reports_the_sandbox_layers(tmp_path: Path) -> None:
    result = run_cli(["doctor"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    for row in ("scrubbed environment", "rlimits", "no network", "Landlock", "MUJOCO_GL"):
        assert row in out


def test_library_warnings_read_as_the_clis_own_lines_and_name_their_module_with_v() -> None:
    script = (
        "import logging, sys\n"
        "from rewardsmith.cli.core import _setup_logging\n"
        "_setup_logging(False)\n"  # what main() does first
        "_setup_logging(sys.argv[1] == 'verbose')\n"
        "logging.getLogger('rewardsmith.agent.transitions').warning('pole_angle %s', 'moved')\n"
        "logging.getLogger('rewardsmith.agent.loop').info('details')\n"
    )
    plain, verbose = (
        subprocess.run(
            [sys.executable, "-c", script, mode], capture_output=True, text=True, cwd=REPO
        )
        for mode in ("plain", "verbose")
    )
    assert plain.stderr == "warning: pole_angle moved\n"
    assert verbose.stderr.splitlines() == [
        "WARNING rewardsmith.agent.transitions: pole_angle moved",
        "INFO rewardsmith.agent.loop: details",
    ]


def test_an_older_version_of_a_builtin_env_warns_in_the_clis_own_lines(tmp_path: Path) -> None:
    """gymnasium's DeprecationWarning (colour codes, its source line) becomes one line too."""
    result = run_cli(["tasks", "--describe", "HalfCheetah-v4"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: The environment HalfCheetah-v4 is out of date. You should consider "
        "upgrading to version `v5`.",
        "warning: HalfCheetah-v4 has no adapter: its fields are its observation vector; the "
        "built-in HalfCheetah-v5 reads the state from the simulator, with its own fitness "
        "and presets (--env HalfCheetah-v5)",
    ]


def test_a_description_the_offline_designer_cannot_read_is_said_before_the_run(
    tmp_path: Path,
) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--task", "Do a backflip.", "--budget", "1000"]
    args += ["--iterations", "1", "--samples", "1", "--eval-seeds", "0", "--confirm-seeds", "0"]
    result = run_cli([*args, "--out", "runs"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    text = " ".join(result.stdout.split())
    assert "warning: the offline designer reads no objective in 'Do a backflip.'" in text
    assert "so it designs for CartPole-v1's own: 'Keep the pole balanced" in text
    # What the run costs, said before it starts (whole rollouts: 1000 trains 1,024).
    assert "at most 1,024 env steps: search 1,024, confirmation 0, final evaluation" in text
    # The run keeps the note: `show` says it again, above the results.
    (run,) = (tmp_path / "runs").glob("*CartPole*")
    shown = run_cli(["show", str(run)], cwd=tmp_path, env={"COLUMNS": "300"})
    assert shown.returncode == 0, shown.stderr
    assert "the offline designer reads no objective in 'Do a backflip.'" in shown.stdout
    # A description it reads gets no such line (asked directly: a second run costs 5 s).
    from rewardsmith.agent.offline import offline_reading_note
    from rewardsmith.envs.registry import get_task

    assert offline_reading_note(get_task("CartPole-v1"), "Balance the pole near x = 1.") == ""
