"""Campaign files: the grid, overrides, and every mistake caught before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith.campaign.plan import estimate
from rewardsmith.campaign.spec import load_campaign, parse_campaign
from rewardsmith.errors import UserError

TASK_FILE = """
[task]
id = "PoleRight"
env = "CartPole-v1"
adapter = "CartPole-v1"
description = "Balance the pole right of the centre."

[fitness]
name = "right_steps"
expr = "1.0 if cart_position > 0.2 else 0.0"
aggregate = "sum"
success_threshold = 300.0
meaning = "Steps with the cart right of x = 0.2."
"""


def _parse(tmp_path: Path, **data: object) -> object:
    base = {"executor": "local", "tasks": ["CartPole-v1"], "defaults": {"budget": "smoke"}}
    base.update(data)
    return parse_campaign(base, "c.toml", tmp_path)


def test_grid_crosses_tasks_designers_and_seeds_with_overrides(tmp_path: Path) -> None:
    task_file = tmp_path / "tasks" / "right.toml"
    task_file.parent.mkdir()
    task_file.write_text(TASK_FILE)
    (tmp_path / "c.toml").write_text(
        """
name = "study"
executor = "local"
workers = 3
seeds = 2
designers = ["offline", {name = "gpt", model = "openai/gpt-4o-mini", temperature = 0.5}]
tasks = ["CartPole-v1", {env = "Pendulum-v1", iterations = 4}, "tasks/right.toml"]
[defaults]
iterations = 2
samples = 3
budget = "smoke"
"""
    )
    spec = load_campaign(tmp_path / "c.toml")
    assert len(spec.cells) == 3 * 2 * 2
    assert spec.folder == tmp_path / "campaigns" / "study"
    assert spec.parallel == 3
    by_id = {c.id: c for c in spec.cells}
    cell = by_id["Pendulum-v1__gpt__seed1"]
    assert (cell.config.env, cell.config.iterations, cell.config.samples) == ("Pendulum-v1", 4, 3)
    assert (cell.config.model, cell.config.temperature, cell.config.seed) == (
        "openai/gpt-4o-mini",
        0.5,
        1,
    )
    assert cell.config.executor == "local" and cell.config.workers == 3
    assert cell.config.out == str(spec.folder)
    offline = by_id["CartPole-v1__offline__seed0"].config
    assert offline.model is None and offline.iterations == 2
    # A task path ending .toml is a task file, resolved against the campaign file.
    from_file = by_id["right__offline__seed0"].config
    assert from_file.task_file == str(task_file.resolve()) and from_file.env == ""
    # The saved data rebuilds the same grid without the original file (for --resume).
    again = parse_campaign(spec.data, "campaign.json", Path("/"))
    assert [c.id for c in again.cells] == [c.id for c in spec.cells]
    assert again.folder == spec.folder


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"iterations": 3}, "unknown key(s) iterations"),
        ({"defaults": {"iteratons": 3}}, "unknown option(s) iteratons"),
        ({"defaults": {"seed": 3}}, "seed are set by the grid"),
        ({"defaults": {"iterations": "five"}}, "iterations = 'five' should be of type int"),
        ({"defaults": {"budget": "huge"}}, "cell CartPole-v1__offline__seed0: --budget 'huge'"),
        ({"tasks": ["CartPol-v1"]}, "unknown env 'CartPol-v1'"),
        ({"tasks": ["missing.toml"]}, "task file 'missing.toml' not found"),
        ({"tasks": ["bad.toml"]}, "bad.toml"),
        ({"tasks": [{"env": "CartPole-v1", "file": "x.toml"}]}, "exactly one of env"),
        ({"tasks": []}, "tasks must be a non-empty list"),
        ({"tasks": ["CartPole-v1", "CartPole-v1"]}, "appear twice"),
        ({"tasks": [{"env": "CartPole-v1", "fitness": "nope"}]}, "has no fitness 'nope'"),
        ({"designers": []}, "designers must be a non-empty list"),
        ({"designers": [{"model": "m", "colour": 1}]}, "unknown option(s) colour"),
        ({"designers": ["offline", "offline"]}, "appear twice"),
        ({"seeds": [1, 1]}, "repeat a value"),
        ({"seeds": "3"}, "seeds must be a count or a list"),
        ({"executor": "slurm"}, "executor must be ray or local"),
        ({"workers": 0}, "workers must be a whole number"),
        ({"name": "a b"}, "may hold only letters"),
        ({"defaults": {"llm_critic": True}}, "--llm-critic needs a model"),
        (
            {"tasks": ["Blackjack-v1"], "defaults": {"first_success": True}},
            "cell Blackjack-v1__offline__seed0: --first-success stops at the success threshold, "
            "and Blackjack-v1's fitness",
        ),
    ],
)
def test_mistakes_are_refused_with_where_and_how(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(UserError) as caught:
        _parse(tmp_path, **data)
    assert message in str(caught.value)
    assert str(caught.value).startswith("c.toml")


def test_unreadable_campaign_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read campaign file"):
        load_campaign(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("tasks = [")
    with pytest.raises(UserError, match="not valid TOML"):
        load_campaign(bad)


def test_estimate_counts_search_final_evaluation_and_shared_baselines(tmp_path: Path) -> None:
    spec = _parse(
        tmp_path,
        designers=["offline", {"name": "m", "model": "openai/x", "llm_critic": True}],
        seeds=[0, 1],
        defaults={
            "budget": "smoke",
            "iterations": 2,
            "samples": 3,
            "eval_seeds": 2,
            "search": "full",
            "max_revisions": 1,
        },
    )
    found = estimate(spec)
    total = 51_200  # CartPole-v1's smoke budget
    cell = found.cells[0]
    assert cell.search_steps == 2 * 3 * total
    assert cell.final_steps == 2 * total
    # Baselines (native + sparse) depend on the seed, not the designer: 2 seeds x 2 modes x 2.
    assert found.baseline_steps == 2 * 2 * 2 * total
    # Confirmation: the 3 fittest of 6 full-budget finalists, 2 fresh seeds each (default).
    assert cell.confirm_steps == 3 * 2 * total
    assert found.env_steps == 4 * (6 + 6 + 2) * total + found.baseline_steps
    offline, model = found.cells[0], found.cells[2]
    assert (offline.llm_calls, offline.llm_calls_max) == (0, 0)
    assert model.llm_calls == 2 * (1 + 3)  # a proposal and three reviews per iteration
    assert model.llm_calls_max > model.llm_calls


def test_a_budget_is_counted_in_whole_rollouts_as_ppo_trains_it() -> None:
    from rewardsmith.campaign.plan import run_cost
    from rewardsmith.config import SynthConfig

    config = SynthConfig(env="CartPole-v1", budget="1000", iterations=1, samples=1)
    config.eval_seeds, config.confirm_seeds = 2, 0
    cost = run_cost(config)
    assert cost is not None
    assert (cost.search, cost.confirm, cost.final) == (1024, 0, 2 * 1024)
    assert sum(cost.baselines.values()) == 2 * 2 * 1024  # native and sparse, 2 seeds
    assert cost.total == 1024 * 7
    assert run_cost(SynthConfig(env="NoSuchEnv-v0")) is None


def test_halving_estimate_is_below_the_full_search(tmp_path: Path) -> None:
    full = _parse(tmp_path, defaults={"budget": "smoke", "samples": 8, "search": "full"})
    halving = _parse(tmp_path, defaults={"budget": "smoke", "samples": 8, "search": "halving"})
    assert estimate(halving).cells[0].search_steps < estimate(full).cells[0].search_steps


def test_confirmation_estimate_follows_halvings_finalists_and_can_be_off(tmp_path: Path) -> None:
    total = 51_200
    # 4 candidates, eta 2: 4 -> 2 -> 1 train the whole budget, so 1 finalist per
    # iteration; with one iteration nothing is left to confirm.
    one = _parse(tmp_path, defaults={"budget": "smoke", "samples": 4, "iterations": 1})
    assert estimate(one).cells[0].confirm_steps == 0
    three = _parse(tmp_path, defaults={"budget": "smoke", "samples": 4, "iterations": 3})
    assert estimate(three).cells[0].confirm_steps == 3 * 2 * total
    off = _parse(
        tmp_path,
        defaults={"budget": "smoke", "samples": 4, "iterations": 3, "confirm_seeds": 0},
    )
    assert estimate(off).cells[0].confirm_steps == 0
