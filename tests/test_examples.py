"""The example task files under ``examples/`` load, and the custom-env one is learned."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env

from rewardsmith.envs.taskfile import load_task_file
from tests.helpers import REPO, only_run, run_cli

EXAMPLES = REPO / "examples"
SLIDER = EXAMPLES / "slider" / "slide_to_goal.toml"


def test_the_readme_task_file_is_the_example_file() -> None:
    """The README's task file is kept as an example, so the tests below check it too."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```toml\n(\[task\].*?)```", readme, re.DOTALL)
    assert block is not None
    assert block.group(1) == (EXAMPLES / "cheetah_flip.toml").read_text()


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.toml")), ids=lambda p: p.name)
def test_every_example_task_file_is_valid(path: Path, tmp_path: Path) -> None:
    # From another folder, as a user names a file: its modules are found beside it.
    result = run_cli(["tasks", "--task-file", str(path)], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "fitness" in result.stdout
    # MuJoCo's warnings (gymnasium's HalfCheetah model uses a deprecated attribute) go to
    # logging, not to the terminal and a MUJOCO_LOG.TXT in the user's folder.
    assert "deprecated" not in result.stderr
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()


def test_a_yaml_task_file_is_read_as_yaml_whatever_the_case_of_its_suffix(
    tmp_path: Path,
) -> None:
    import tomllib

    import yaml

    data = tomllib.loads((EXAMPLES / "cheetah_flip.toml").read_text())
    path = tmp_path / "flip.YAML"
    path.write_text(yaml.safe_dump(data))
    result = run_cli(["tasks", "--task-file", str(path)], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "CheetahFlip (HalfCheetah-v5): Flip over backwards." in result.stdout


def test_the_slider_env_passes_gymnasiums_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SLIDER.parent))
    from slider_env import Slider

    check_env(Slider(), skip_render_check=True)
    spec = load_task_file(SLIDER)
    assert {f.name for f in spec.fields} >= {"x", "v", "goal", "goal_distance", "block_speed"}
    assert spec.env_kwargs["max_episode_steps"] == 200
    sys.modules.pop("slider_env", None)


@pytest.mark.slow
def test_the_slider_example_is_learned(tmp_path: Path) -> None:
    """What examples/README.md promises: the block stops at the goal.

    The README's comparison with the env's own reward and the sparse signal comes from a
    run with the final evaluation; here the search's pick is checked, which saves CI the
    three evaluation trainings (two thirds of the run's steps).
    """
    args = ["synthesize", "--task-file", str(SLIDER), "--budget", "quick", "--iterations", "1"]
    args += ["--samples", "2", "--eval-seeds", "0", "--confirm-seeds", "0"]
    result = run_cli([*args, "--seed", "0", "--out", "runs"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = only_run(tmp_path / "runs")
    pick = json.loads((run / "best" / "report.json").read_text())["search"]
    assert not pick["pruned"] and pick["steps"] >= 60_000, pick
    spec = load_task_file(SLIDER)
    assert pick["fitness"] >= spec.get_fitness(None).success_threshold, pick
    # Within 5 cm at the end of every evaluation episode of its last checkpoint.
    results = json.loads((run / "iter_00" / "iteration.json").read_text())["results"]
    picked = next(r for r in results if r["candidate"]["id"] == pick["candidate"])
    assert picked["success_rate"] == 1.0, picked["success_rate"]
