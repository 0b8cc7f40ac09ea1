"""Reward candidates and the records of how they fared."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rewardsmith.train.contract import normalise_source

__all__ = ["CandidateResult", "IterationRecord", "RewardCandidate", "normalise_source"]


def candidate_id(source: str) -> str:
    """A short stable id: the hash of the normalised code."""
    return hashlib.sha256(normalise_source(source).encode()).hexdigest()[:12]


@dataclass
class RewardCandidate:
    """Reward source code plus where it came from.

    Args:
        source: Python source defining ``compute_reward`` (helpers allowed).
        parent: Id of the candidate it was derived from, if any.
        origin: Designer name, model, prompt file, tokens, cost, notes.
        id: Hash of the normalised code (computed when empty).
    """

    source: str
    parent: str | None = None
    origin: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = candidate_id(self.source)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run folder."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RewardCandidate:
        """Inverse of :meth:`to_json`."""
        return cls(**data)


Status = Literal["ok", "rejected", "failed"]


@dataclass
class CandidateResult:
    """What happened to one candidate in one iteration.

    Args:
        candidate: The candidate.
        status: ``ok`` (trained), ``rejected`` (by the critic) or ``failed`` (training broke).
        problems: Critic verdicts or the failure reason, each readable on its own.
        fitness: Final task fitness (mean over the final evaluation episodes).
        fitness_trace: Fitness at each checkpoint.
        return_trace: The candidate's own mean episode return at each checkpoint.
        component_trace: Mean of each reward component per checkpoint.
        length_trace: Mean episode length at each checkpoint.
        ended_by: How evaluation episodes ended, e.g. ``{"termination": 3, "time limit": 2}``.
        field_ranges: ``name -> [min, max]`` of scalar fields seen in evaluation.
        steps: Env steps trained.
        success_rate: Fraction of final evaluation episodes at or above the threshold.
        pruned: Successive halving stopped it before the full budget.
        tied: Halving stopped it at a tie: its fitness at that rung equalled the lowest of
            those that went on (common where the fitness is capped). The confirmation may
            retrain it for the whole budget, since the one kept in its place can still
            collapse later.
    """

    candidate: RewardCandidate
    status: Status
    problems: list[str] = field(default_factory=list)
    fitness: float | None = None
    fitness_trace: list[float] = field(default_factory=list)
    return_trace: list[float] = field(default_factory=list)
    component_trace: dict[str, list[float]] = field(default_factory=dict)
    length_trace: list[float] = field(default_factory=list)
    ended_by: dict[str, int] = field(default_factory=dict)
    field_ranges: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    success_rate: float | None = None
    pruned: bool = False
    tied: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run folder."""
        data = asdict(self)
        data["candidate"] = self.candidate.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CandidateResult:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["candidate"] = RewardCandidate.from_json(data["candidate"])
        return cls(**data)


@dataclass
class IterationRecord:
    """One finished iteration: every candidate's result and the feedback it produced.

    Args:
        index: Iteration number, from 0.
        results: One per candidate, in proposal order.
        best_id: Id of the best trained candidate (``None`` when none trained).
        feedback: The reflection text the next prompt carries.
        ranking: A person's ranking of the iteration (``ranking.json``'s content), when
            feedback came from a human; ``best_id`` is then their preferred candidate.
    """

    index: int
    results: list[CandidateResult]
    best_id: str | None
    feedback: str
    ranking: dict[str, Any] | None = None

    @property
    def best(self) -> CandidateResult | None:
        """The best trained candidate's result."""
        for result in self.results:
            if result.candidate.id == self.best_id:
                return result
        return None
