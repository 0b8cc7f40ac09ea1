"""`rewardsmith tasks` for the new tasks, task files and generic envs."""

from pathlib import Path

import pytest

from tests.envs.test_envs_taskfile import GOOD
from tests.helpers import run_cli


def test_describe_a_novel_task_and_a_task_file(tmp_path: Path) -> None:
    result = run_cli(["tasks", "--describe", "AntTurn-v5"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for word in ("yaw_rate", "foot_contact_forces", "turn_in_place", "up_vector"):
        assert word in result.stdout
    path = tmp_path / "flip.toml"
    path.write_text(GOOD)
    result = run_cli(["tasks", "--task-file", str(path)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nose_height" in result.stdout and "flip" in result.stdout
    assert "def step" in result.stdout  # the env source the prompt carries


def test_a_bad_task_file_is_one_line_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("geom_pos('head')", "geom_pos('haed')"))
    result = run_cli(["tasks", "--task-file", str(path)], cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.toml line 9: unknown geom name 'haed'" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_a_reward_against_a_task_file(tmp_path: Path) -> None:
    path = tmp_path / "flip.toml"
    path.write_text(GOOD.replace("CheetahPitchTest", "CheetahCheckTest"))
    good = tmp_path / "reward.py"
    good.write_text(
        "import numpy as np\n\n"
        "def compute_reward(nose_height, pitch_from_joint, action):\n"
        "    spin = -pitch_from_joint\n"
        "    lift = np.clip(nose_height, 0.0, 1.0)\n"
        "    total = spin + 0.1 * lift - 0.01 * np.sum(action**2, axis=-1)\n"
        "    return total, {'spin': spin, 'lift': 0.1 * lift}\n"
    )
    result = run_cli(["check", str(good), "--task-file", str(path)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "spin" in result.stdout
    # A name the task file does not declare is the critic's verdict, not a traceback.
    bad = tmp_path / "bad.py"
    bad.write_text(good.read_text().replace("nose_height", "nose_hieght"))
    result = run_cli(["check", str(bad), "--task-file", str(path)], cwd=tmp_path)
    assert result.returncode == 1 and "rejected" in result.stdout
    assert "nose_hieght" in result.stdout and "Traceback" not in result.stderr
    result = run_cli(["check", str(good)], cwd=tmp_path)
    assert result.returncode == 2 and "pass --env ID or --task-file FILE" in result.stderr


def test_prompt_shows_the_first_design_request_unwrapped(tmp_path: Path) -> None:
    args = ["tasks", "--describe", "Hopper-v5", "--prompt", "--task", "hop backwards"]
    result = run_cli([*args, "--fitness", "backward_distance"], cwd=tmp_path, env={"COLUMNS": "60"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# Prompt (2 messages)") and "## 0: system" in out and "## 1: user" in out
    assert "## Task\n\nhop backwards\n" in out
    assert "scored by `backward_distance`" in out
    # Table rows stay whole at any terminal width: the text is what the model reads.
    assert "| `torso_height` | scalar | m | Height of the torso centre" in out
    assert "the episode ends below 0.7 m). |" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt"], "add --describe ID or --task-file FILE"),
        (["--describe", "Hopper-v5", "--task", "hop"], "change the prompt only; add --prompt"),
        (["--describe", "Hopper-v5", "--prompt", "--task", "  "], "--task is empty"),
        (["--describe", "Hopper-v5", "--prompt", "--fitness", "nope"], "has no fitness 'nope'"),
        (["--describe", "my_task.toml"], "a task file's name; pass it with --task-file my_task"),
    ],
)
def test_prompt_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(["tasks", *args], cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
