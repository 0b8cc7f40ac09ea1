"""The critic: reject broken reward code early, with verdicts the designer can act on.

Two stages, cheapest first: the static policy (no process is started when it fails),
then a dynamic check in a sandboxed worker that calls the reward on recorded
transitions of random play, exactly as training will.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.envs.spec import TaskSpec
from rewardsmith.sandbox.policy import check_source
from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.jobs import JobOutcome, run_job

logger = logging.getLogger(__name__)

_TRANSITIONS_NAME = "transitions.npz"


@dataclass
class CriticReport:
    """The critic's verdict on one candidate.

    Args:
        passed: The candidate may be trained.
        problems: Every problem found, each readable on its own.
        static_ok: The static policy found nothing (``False``: no process was started).
        dynamic: The dynamic check's report (components, per-call time, reward stats...).

    """

    passed: bool
    problems: list[str] = field(default_factory=list)
    static_ok: bool = True
    dynamic: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``critic.json``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CriticReport:
        """Inverse of :meth:`to_json`."""
        return cls(
            passed=bool(data["passed"]),
            problems=list(data.get("problems", [])),
            static_ok=bool(data.get("static_ok", True)),
            dynamic=dict(data.get("dynamic", {})),
        )

    def verdict_text(self) -> str:
        """Render the verdict for the next prompt: a sentence, then one bullet per problem."""
        if self.passed:
            return f"The critic accepted this reward{self._summary()}."
        lines = ["The critic rejected this reward:"]
        lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)

    def _summary(self) -> str:
        parts = []
        names = self.dynamic.get("components") or []
        if names:
            parts.append(f"components: {', '.join(names)}")
        stats = self.dynamic.get("reward_stats") or {}
        if stats:
            parts.append(
                f"reward on random play from {stats['min']:.4g} to {stats['max']:.4g} "
                f"(mean {stats['mean']:.4g})"
            )
        per_call = self.dynamic.get("per_call_seconds")
        if per_call is not None:
            parts.append(f"{per_call * 1e3:.3f} ms per call")
        return f" ({'; '.join(parts)})" if parts else ""


class Critic:
    """Checks candidates for one task against recorded transitions.

    Args:
        task: The task; its field names are the parameters a reward may take.
        transitions: An ``.npz`` of random-play transitions (one array per field, plus
            ``action`` and a scalar ``step_seconds``), e.g. from the probe job.
        n_envs: Batch size per reward call, as in training.
        limits: Sandbox limits for the check worker (default: :meth:`Limits.for_check`).

    """

    def __init__(
        self,
        task: TaskSpec,
        transitions: Path,
        n_envs: int = 8,
        limits: Limits | None = None,
    ) -> None:
        self.task = task
        self.transitions = Path(transitions)
        self.n_envs = n_envs
        self.limits = limits or Limits.for_check()

    def check(self, candidate: RewardCandidate) -> CriticReport:
        """Judge ``candidate``: the static policy, then (if that passes) the dynamic check."""
        params = list(self.task.field_names)
        problems = check_source(candidate.source, params)
        if problems:
            logger.info("candidate %s failed the static policy (%d)", candidate.id, len(problems))
            return CriticReport(passed=False, problems=problems, static_ok=False)
        job = {
            "kind": "check",
            "source": candidate.source,
            "params": params,
            "transitions": _TRANSITIONS_NAME,
            "n_envs": self.n_envs,
        }
        outcome = run_job(job, self.limits, inputs={_TRANSITIONS_NAME: self.transitions})
        if not outcome.ok:
            return CriticReport(
                passed=False,
                problems=[self._failure_problem(outcome)],
                static_ok=True,
                dynamic=dict(outcome.result),
            )
        dynamic = dict(outcome.result)
        problems = list(dynamic.get("problems", []))
        logger.info("candidate %s: %d problem(s) in the dynamic check", candidate.id, len(problems))
        return CriticReport(passed=not problems, problems=problems, static_ok=True, dynamic=dynamic)

    def _failure_problem(self, outcome: JobOutcome) -> str:
        """Turn a dead or failed check worker into a problem the designer can act on."""
        error = outcome.error
        if outcome.result.get("error"):
            # run_check catches the candidate's own errors, so this is the checker failing.
            logger.error("the reward check failed: %s\n%s", error, outcome.stderr_tail)
            return (
                f"the reward could not be checked (the checker failed: {error}); this may not "
                "be the reward's fault, but it cannot be trained unchecked"
            )
        limits = self.limits
        if "CPU-time limit" in error:
            return (
                f"running the reward on the check's random transitions used more than "
                f"{limits.cpu_seconds} s of CPU, so it was stopped. Make it fast: no Python "
                "loops over envs or elements, no huge intermediate arrays, plain numpy "
                "operations on the whole batch"
            )
        if "wall-clock limit" in error:
            return (
                f"running the reward on the check's random transitions took longer than "
                f"{limits.wall_seconds:g} s, so it was stopped. Make it fast: vectorise it with "
                "numpy and remove loops that may not end"
            )
        if "memory" in error or "SIGKILL" in error:
            return (
                f"the reward ran out of memory (the check allows {limits.address_space_mb} MB) "
                f"and was stopped ({error}). Do not build arrays much larger than the batch"
            )
        return f"the process checking the reward died: {error}"
