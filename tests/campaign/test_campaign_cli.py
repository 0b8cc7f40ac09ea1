"""`rewardsmith campaign` end to end: plan, run a real two-cell grid, resume, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

WIDE = {"COLUMNS": "300"}  # rich wraps at the terminal width; keep lines whole

CAMPAIGN = """
name = "mini"
out = "out"
executor = "local"
workers = 2
seeds = [0, 1]
designers = ["offline"]

[defaults]
iterations = 1
samples = 1
budget = 2000
eval_seeds = 0
cache = false

[[tasks]]
env = "CartPole-v1"
"""


def test_plan_prints_the_grid_and_an_estimate(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CAMPAIGN)
    proc = run_cli(["campaign", "c.toml", "--plan"], cwd=tmp_path, env=WIDE)
    assert proc.returncode == 0, proc.stderr
    assert "CartPole-v1__offline__seed0" in proc.stdout
    assert "CartPole-v1__offline__seed1" in proc.stdout
    assert "estimate: 4,096 env steps" in proc.stdout  # whole rollouts of 2,048
    assert "0 LLM calls" in proc.stdout
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_plan_fits_a_narrow_terminal_without_cutting_ids_or_numbers(tmp_path: Path) -> None:
    text = CAMPAIGN.replace('env = "CartPole-v1"', 'env = "InvertedDoublePendulum-v5"')
    (tmp_path / "c.toml").write_text(text.replace("budget = 2000", "budget = 1234567"))
    proc = run_cli(["campaign", "c.toml", "--plan"], cwd=tmp_path, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    assert "1,234,944" in proc.stdout  # a number never wraps (whole rollouts of 1,024)
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    cells = "".join(
        line.split("│")[1].strip() for line in proc.stdout.splitlines() if line.startswith("│")
    )
    assert "InvertedDoublePendulum-v5__offline__seed0" in cells  # folded, not cut


def test_plan_warns_about_a_missing_key_and_running_refuses(tmp_path: Path) -> None:
    text = CAMPAIGN.replace('designers = ["offline"]', 'designers = ["offline", "gpt-4o-mini"]')
    (tmp_path / "c.toml").write_text(text)
    keyless = {**WIDE, "OPENAI_API_KEY": ""}
    proc = run_cli(["campaign", "c.toml", "--plan"], cwd=tmp_path, env=keyless)
    assert proc.returncode == 0, proc.stderr
    assert "CartPole-v1__gpt-4o-mini__seed1" in proc.stdout
    assert "before running: designer gpt-4o-mini:" in proc.stdout
    assert "OPENAI_API_KEY" in proc.stdout
    proc = run_cli(["campaign", "c.toml"], cwd=tmp_path, env=keyless)
    assert proc.returncode == 2 and "designer gpt-4o-mini:" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_plan_says_which_description_the_offline_designer_cannot_read(tmp_path: Path) -> None:
    text = CAMPAIGN + '\n[[tasks]]\nenv = "Pendulum-v1"\ntask = "Do a backflip."\n'
    (tmp_path / "c.toml").write_text(text)
    proc = run_cli(["campaign", "c.toml", "--plan"], cwd=tmp_path, env=WIDE)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, proc.stdout  # once for the task, not per seed; none for CartPole
    assert (
        "task Pendulum-v1: the offline designer reads no objective in 'Do a backflip.'"
        in (lines[0])
    )


def test_bad_campaign_file_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CAMPAIGN.replace("iterations = 1", "iterations = 0"))
    proc = run_cli(["campaign", "c.toml"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "cell CartPole-v1__offline__seed0: --iterations must be between 1 and 100" in (
        proc.stderr.replace("\n", " ")
    )
    assert "Traceback" not in proc.stderr
    proc = run_cli(["campaign", str(tmp_path)], cwd=tmp_path)
    assert proc.returncode == 2 and "--resume" in proc.stderr


@pytest.mark.slow
def test_campaign_runs_every_cell_then_resume_finishes_only_the_missing(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CAMPAIGN)
    proc = run_cli(["campaign", "c.toml"], cwd=tmp_path, env=WIDE, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "out" / "mini"
    manifest = json.loads((folder / "campaign.json").read_text())
    assert manifest["status"] == "finished"
    cells = manifest["cells"]
    assert sorted(cells) == ["CartPole-v1__offline__seed0", "CartPole-v1__offline__seed1"]
    for cell_id, entry in cells.items():
        assert entry["status"] == "done", entry
        assert entry["env_steps"] >= 2000
        run = json.loads((folder / cell_id / "run.json").read_text())
        assert run["status"] == "finished" and run["config"]["seed"] == entry["seed"]
    assert "cells: 2/2 done" in proc.stdout
    html = (folder / "report.html").read_text()
    assert "CartPole-v1" in html and "offline" in html

    # Pretend seed 1 failed: --resume reruns it alone and leaves seed 0 untouched.
    kept = (folder / "CartPole-v1__offline__seed0" / "run.json").stat().st_mtime_ns
    cells["CartPole-v1__offline__seed1"]["status"] = "failed"
    (folder / "campaign.json").write_text(json.dumps(manifest))
    proc = run_cli(["campaign", "--resume", str(folder)], cwd=tmp_path, env=WIDE, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 2 cells to run" in proc.stdout
    assert (folder / "CartPole-v1__offline__seed0" / "run.json").stat().st_mtime_ns == kept
    again = json.loads((folder / "campaign.json").read_text())
    assert all(c["status"] == "done" for c in again["cells"].values())
