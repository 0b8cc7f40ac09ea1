"""A campaign's dry run: the grid and an estimate of its env steps and model calls.

Env steps count the search (every candidate's training, successive halving included), the
confirmation (the fittest rewards retrained on fresh seeds; counted at its most) and
the final evaluation (the best reward on each evaluation seed, plus the native and sparse
baselines, which are cached and so counted once per task, fitness, budget and seed).
Model calls count one proposal request per iteration (a lower bound: rejected candidates
may need repair requests) and, with ``llm_critic``, one review per candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rewardsmith.campaign.spec import CampaignSpec, Cell
from rewardsmith.config import SynthConfig
from rewardsmith.seeding import FINAL_EVAL_SEED_PATH, derive_seeds

PROPOSAL_ROUNDS = 3  # the loop's most proposal requests per iteration


@dataclass
class CellEstimate:
    """What one cell is expected to cost.

    Args:
        cell: The cell.
        search_steps: Env steps of the candidates' trainings.
        final_steps: Env steps of the best reward's final evaluation.
        llm_calls: Expected model requests (0 offline).
        llm_calls_max: Most model requests (every candidate rejected and repaired).
        estimated: ``False`` when the task's budget could not be read (a task file that
            cannot be loaded here); its steps are then 0.
        confirm_steps: Env steps of the confirmation retrainings, at most.
    """

    cell: Cell
    search_steps: int
    final_steps: int
    llm_calls: int
    llm_calls_max: int
    estimated: bool = True
    confirm_steps: int = 0

    @property
    def own_steps(self) -> int:
        """The cell's env steps apart from the shared baselines."""
        return self.search_steps + self.confirm_steps + self.final_steps


@dataclass
class CampaignEstimate:
    """The whole campaign's estimate."""

    cells: list[CellEstimate]
    baseline_steps: int

    @property
    def env_steps(self) -> int:
        """All env steps: search, final evaluations and (deduplicated) baselines."""
        own = sum(c.own_steps for c in self.cells)
        return own + self.baseline_steps

    @property
    def llm_calls(self) -> int:
        """Expected model requests."""
        return sum(c.llm_calls for c in self.cells)

    @property
    def llm_calls_max(self) -> int:
        """Most model requests."""
        return sum(c.llm_calls_max for c in self.cells)


def _task_preset(config: SynthConfig) -> tuple[Any, str] | None:
    """``(spec, fitness name)`` of the cell's task, or ``None`` when it cannot be loaded."""
    try:
        from rewardsmith.envs.registry import resolve_task

        spec = resolve_task(config.env, config.task_file)
        return spec, spec.get_fitness(config.fitness).name
    except Exception:  # an estimate is advice: a task that will not load here is shown as such
        return None


def search_shape(total: int, samples: int, config: SynthConfig, rollout: int) -> tuple[int, int]:
    """One iteration's search of ``samples`` candidates: ``(env steps, finalists)``.

    Finalists are the candidates that train for the whole budget (the last rung's).
    """
    if config.search != "halving" or samples <= 1:
        return total * samples, samples
    try:
        from rewardsmith.agent.halving import plan_rungs

        rungs = plan_rungs(total, samples, config.eta, rollout)
    except Exception:  # halving's planner changed or is absent: assume the full search
        return total * samples, samples
    steps, previous, alive = 0, 0, samples
    for rung in rungs:
        if previous:
            alive = max(1, math.ceil(alive / config.eta))
        steps += alive * (rung - previous)
        previous = rung
    return steps, alive


def confirm_steps(total: int, finalists_per_iteration: int, config: SynthConfig) -> int:
    """Env steps of the confirmation, at most (every finalist distinct)."""
    if config.confirm_seeds < 1 or config.confirm_top < 2:
        return 0
    top = min(config.confirm_top, config.iterations * finalists_per_iteration)
    return top * config.confirm_seeds * total if top >= 2 else 0


@dataclass
class RunCost:
    """One synthesis run's env steps, by part.

    Args:
        search: The candidates' trainings (successive halving included).
        confirm: The confirmation retrainings, at most.
        final: The best reward on each evaluation seed.
        baselines: The native and sparse baselines on those seeds, keyed by what decides
            them (trained once per key, and so shared between a campaign's cells).
    """

    search: int
    confirm: int
    final: int
    baselines: dict[tuple[str, str, str, int, str], int]

    @property
    def total(self) -> int:
        """Every env step of the run, baselines included."""
        return self.search + self.confirm + self.final + sum(self.baselines.values())


def run_cost(config: SynthConfig) -> RunCost | None:
    """The env steps one run of ``config`` costs; ``None`` when its task cannot be loaded."""
    found = _task_preset(config)
    if found is None:
        return None
    task, fitness = found
    preset = task.preset(config.budget_value)
    rollout = preset.n_envs * int(preset.ppo.get("n_steps", 2048))
    # PPO collects whole rollouts, so a budget trains to the next multiple of one.
    total = math.ceil(preset.total_timesteps / rollout) * rollout
    per_iteration, finalists = search_shape(total, config.n_samples, config, rollout)
    seeds = derive_seeds(config.seed, config.eval_seeds, FINAL_EVAL_SEED_PATH)
    modes = ("native", "sparse") if task.native_reward else ("sparse",)
    baselines = {
        (task.id, fitness, config.budget, seed, mode): total for mode in modes for seed in seeds
    }
    return RunCost(
        config.iterations * per_iteration,
        confirm_steps(total, finalists, config),
        total * len(seeds),
        baselines,
    )


def estimate(spec: CampaignSpec) -> CampaignEstimate:
    """Estimate every cell of ``spec`` and the shared baselines."""
    cells: list[CellEstimate] = []
    baselines: dict[tuple[str, str, str, int, str], int] = {}
    for cell in spec.cells:
        config = cell.config
        samples = config.n_samples
        if config.model:
            calls = config.iterations * (1 + (samples if config.llm_critic else 0))
            worst = config.iterations * (
                PROPOSAL_ROUNDS
                + samples * config.max_revisions
                + (samples * (1 + config.max_revisions) if config.llm_critic else 0)
            )
        else:
            calls = worst = 0
        cost = run_cost(config)
        if cost is None:
            cells.append(CellEstimate(cell, 0, 0, calls, worst, estimated=False))
            continue
        baselines.update(cost.baselines)
        cells.append(
            CellEstimate(cell, cost.search, cost.final, calls, worst, confirm_steps=cost.confirm)
        )
    return CampaignEstimate(cells, sum(baselines.values()))
