"""Successive halving: how much budget each rung gets and who goes on.

All candidates of an iteration train for the first rung's share of the budget; the best
``1/eta`` continue from their checkpoint to the next rung, and so on, until the
survivors have trained for the whole budget. With ``n`` candidates and ``eta = 2`` the
iteration costs about ``(1 + log2(n) / 2)`` full trainings instead of ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def plan_rungs(total_steps: int, candidates: int, eta: int, rollout: int) -> list[int]:
    """Env-step targets of the rungs, ending at ``total_steps``.

    Args:
        total_steps: The full training budget of one candidate.
        candidates: How many candidates start at the first rung.
        eta: Reduction factor (the best ``1/eta`` go on).
        rollout: Env steps of one PPO rollout; a rung shorter than two rollouts teaches
            too little to rank by, so such rungs are dropped.

    Returns:
        Increasing step targets; a single ``[total_steps]`` when halving cannot help.
    """
    if candidates <= 1 or eta < 2:
        return [total_steps]
    halvings = math.ceil(math.log(candidates, eta) - 1e-9)
    rungs: list[int] = []
    for k in range(halvings, 0, -1):
        steps = total_steps // eta**k
        steps = math.ceil(steps / rollout) * rollout  # PPO learns whole rollouts
        if steps >= 2 * rollout and steps < total_steps and (not rungs or steps > rungs[-1]):
            rungs.append(steps)
    return [*rungs, total_steps]


def survivors(
    fitness: Sequence[float], eta: int, tiebreak: Sequence[float] | None = None
) -> list[int]:
    """Indices of the best ``ceil(n / eta)``, in their original order.

    Args:
        fitness: Each candidate's fitness at the end of the rung.
        eta: Reduction factor.
        tiebreak: Decides between equal fitness, higher first (the loop passes the mean
            of each candidate's fitness trace: with a capped fitness such as "steps
            balanced, of 1000" several candidates often tie at the cap, and the one that
            got there sooner is the better bet). Remaining ties go to the earlier index.
    """
    keep = max(1, math.ceil(len(fitness) / eta))
    second = tiebreak if tiebreak is not None else [0.0] * len(fitness)
    order = sorted(range(len(fitness)), key=lambda i: (-fitness[i], -second[i], i))
    return sorted(order[:keep])


def is_tie(fitness: float, kept: Sequence[float]) -> bool:
    """Whether a candidate stopped at a rung scored as high as one of ``kept`` that went on.

    Only the tiebreak (who got there sooner) set them apart, so the one stopped may be as
    good a reward as the one kept.
    """
    return fitness >= min(kept)


def pruned_reason(fitness: float, kept: Sequence[float], eta: int, candidates: int) -> str:
    """Why a candidate of fitness ``fitness`` stopped at a rung where ``kept`` went on.

    A tie with the last one kept (common where the fitness is capped) says so: "not in the
    best 1/2" reads as false when the candidate scored as high as one that went on.
    """
    if is_tie(fitness, kept):
        return (
            f"its fitness {fitness:.4g} tied with a candidate that went on, which got there "
            "sooner (a higher mean over its checkpoints)"
        )
    return f"its fitness {fitness:.4g} was not in the best 1/{eta} of the {candidates} candidates"
