"""Turn an iteration's training results into the feedback text of the next prompt.

Eureka-style: the best candidate's reward components and fitness at each checkpoint
(with max / mean / min), episode lengths, how episodes ended and the ranges the key
fields covered, then tips, and a plain warning when the reward looks hacked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.envs.spec import FitnessMeasure

FLAT_RELATIVE_RANGE = 0.05
DOMINANT_SHARE = 0.8


def select_best(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """The trained candidate with the highest final fitness (ties: the earliest).

    Candidates that trained for the whole budget come first: one that successive halving
    stopped early was measured after fewer steps, and its fitness is not comparable.
    """
    trained = [r for r in results if r.status == "ok" and r.fitness is not None]
    if not trained:
        return None
    return max(trained, key=lambda r: (not r.pruned, r.fitness, -results.index(r)))


def fmt(value: float | None) -> str:
    """A training statistic as the feedback text writes it ("nan" when missing)."""
    if value is None or not math.isfinite(value):
        return "nan"
    return f"{value:.3g}"


def _trace_line(name: str, trace: Sequence[float]) -> str:
    finite = [v for v in trace if v is not None and math.isfinite(v)]
    if not finite:
        return f"{name}: no values"
    values = ", ".join(fmt(v) for v in trace)
    return (
        f"{name}: [{values}], Max: {fmt(max(finite))}, Mean: {fmt(float(np.mean(finite)))}, "
        f"Min: {fmt(min(finite))}"
    )


def hacking_alert(result: CandidateResult) -> str | None:
    """A warning when the reward's own return rises while the task fitness does not follow.

    Returns:
        One sentence, or ``None`` when return and fitness move together.
    """
    ret, fit = result.return_trace, result.fitness_trace
    if len(ret) < 3 or len(fit) != len(ret):
        return None
    ret_gain = ret[-1] - ret[0]
    fit_gain = fit[-1] - fit[0]
    ret_scale = max(abs(v) for v in ret) or 1.0
    fit_scale = max(abs(v) for v in fit) or 1.0
    rising = ret_gain / ret_scale > 0.2
    fit_flat = fit_gain / fit_scale < 0.05
    corr = float(np.corrcoef(ret, fit)[0, 1]) if np.std(ret) > 0 and np.std(fit) > 0 else 0.0
    if rising and (fit_flat or corr < 0.3):
        return (
            f"REWARD HACKING SUSPECTED: the policy's return under this reward rose from "
            f"{fmt(ret[0])} to {fmt(ret[-1])} while the task fitness went from {fmt(fit[0])} "
            f"to {fmt(fit[-1])} (correlation {corr:.2f}): the policy found a way to collect "
            "reward without doing the task. Find the term it exploits and remove or bound it."
        )
    return None


def _tips(result: CandidateResult, measure: FitnessMeasure) -> list[str]:
    tips: list[str] = []
    means = {}
    for name, trace in result.component_trace.items():
        finite = [v for v in trace if math.isfinite(v)]
        if not finite:
            continue
        means[name] = abs(float(np.mean(finite)))
        span = max(finite) - min(finite)
        scale = max(abs(v) for v in finite) or 1.0
        if span == 0.0 and finite[0] < 0:
            tips.append(
                f"Component '{name}' is constant ({fmt(finite[0])} per step): a cost per step "
                "that pushes the policy to end episodes sooner. Keep it only if ending is the "
                "goal (landing, reaching a target), and keep it smaller than any failure penalty."
            )
        elif span == 0.0:
            tips.append(
                f"Component '{name}' is constant ({fmt(finite[0])} per step): it only pays "
                "for time alive. Keep it only if episodes end early on failure."
            )
        elif span / scale < FLAT_RELATIVE_RANGE:
            tips.append(
                f"Component '{name}' barely changed during training (range {fmt(span)}): "
                "the policy cannot optimise it. Rescale it (change its temperature or weight) "
                "or drop it."
            )
    total = sum(means.values())
    for name, value in means.items():
        if total > 0 and len(means) > 1 and value / total > DOMINANT_SHARE:
            tips.append(
                f"Component '{name}' makes up {value / total:.0%} of the reward's magnitude "
                "and drowns the others: scale it down or scale the others up."
            )
    threshold = measure.success_threshold
    # Without a threshold there is no scale that says what "close to zero" is.
    if (
        threshold is not None
        and result.fitness is not None
        and abs(result.fitness) < 0.05 * max(abs(threshold), 1e-9)
    ):
        tips.append(
            f"The task fitness is close to zero ({fmt(result.fitness)}): this reward does not "
            "lead to the behaviour at all. Rewrite it around the quantity the task asks for."
        )
    ended = result.ended_by
    # Terminations that were successes (a landing, a reached goal) are not failures.
    episodes = sum(ended.values())
    succeeded = round((result.success_rate or 0.0) * episodes)
    failed = ended.get("termination", 0) - succeeded
    if failed > ended.get("time limit", 0) + succeeded and result.length_trace:
        tips.append(
            f"Most evaluation episodes ended early by termination without success (mean "
            f"length {fmt(result.length_trace[-1])}). If staying alive matters, make the "
            "per-step reward positive while the body is healthy (an alive bonus) so ending "
            "early costs."
        )
    return tips


def describe_result(result: CandidateResult, measure: FitnessMeasure) -> str:
    """The Eureka-style statistics of one trained candidate."""
    lines = [
        "We trained a policy with this reward and tracked, at each checkpoint, the mean value "
        "of every reward component, the task fitness and the episode lengths:"
    ]
    for name, trace in result.component_trace.items():
        lines.append(_trace_line(name, trace))
    lines.append(_trace_line(f"task fitness ({measure.name})", result.fitness_trace))
    lines.append(_trace_line("episode length", result.length_trace))
    if result.ended_by:
        how = ", ".join(f"{n} by {cause}" for cause, n in result.ended_by.items())
        lines.append(f"Evaluation episodes ended: {how}.")
    if result.field_ranges:
        ranges = "; ".join(
            f"{name} in [{fmt(lo)}, {fmt(hi)}]" for name, (lo, hi) in result.field_ranges.items()
        )
        lines.append(f"Ranges the state fields covered in evaluation: {ranges}.")
    return "\n".join(lines)


def reflect(results: Sequence[CandidateResult], measure: FitnessMeasure) -> str:
    """The feedback text for the next iteration.

    Args:
        results: Every candidate of the iteration, in proposal order.
        measure: The fitness the run optimises.
    """
    best = select_best(results)
    parts: list[str] = []
    summary = []
    for i, r in enumerate(results):
        if r.status == "ok":
            summary.append(f"- candidate {i}: fitness {fmt(r.fitness)}")
        elif r.status == "rejected":
            summary.append(f"- candidate {i}: rejected by the critic: " + " ".join(r.problems))
        else:
            summary.append(f"- candidate {i}: training failed: " + " ".join(r.problems))
    parts.append("Results of the last iteration:\n" + "\n".join(summary))
    if best is None:
        parts.append(
            "No candidate trained successfully. Write a simpler reward that follows the "
            "contract exactly: numpy only, arrays with the batch as first axis, return "
            "(reward, components)."
        )
        return "\n\n".join(parts) + "\n"
    parts.append(f"The best candidate reached a task fitness of {fmt(best.fitness)}.")
    parts.append(describe_result(best, measure))
    alert = hacking_alert(best)
    if alert:
        parts.append(alert)
    tips = _tips(best, measure)
    if tips:
        parts.append("Tips:\n" + "\n".join(f"- {t}" for t in tips))
    parts.append(
        "Please analyse this feedback and write a new, improved reward function. Keep what "
        "works, fix what does not, and say in one or two sentences what you changed and why."
    )
    return "\n\n".join(parts) + "\n"
