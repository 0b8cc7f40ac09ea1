"""Human feedback: a person's ranking of an iteration's policies, and what the next prompt learns.

A person watches every trained candidate's video and orders them (ICPL); they may mark
some unacceptable and write a sentence of free text (Text2Reward). The ranking is kept
as ``iter_NN/ranking.json``; once it exists the iteration's feedback is done. The next
prompt then carries, ICPL style, the best- and worst-ranked rewards with their traces, how
the preferred reward differs from the previous preferred one, a bounded history of
preferred rewards, and the person's words verbatim.
"""

from __future__ import annotations

import ast
import difflib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rewardsmith.agent.candidate import CandidateResult, IterationRecord
from rewardsmith.agent.reflection import fmt
from rewardsmith.envs.spec import FitnessMeasure
from rewardsmith.prompts import render
from rewardsmith.store import read_record, write_json

RANKING_FILE = "ranking.json"
MAX_TEXT_CHARS = 4000
HISTORY_LIMIT = 3  # preferred rewards of earlier iterations shown in the prompt
DIFF_LINES = 40


@dataclass
class Ranking:
    """One person's verdict on one iteration.

    Args:
        iteration: Iteration index.
        order: Candidate slots, best first; every candidate shown on the page appears once.
        unacceptable: Slots the person rejected outright.
        text: Free-text feedback, verbatim.
        seconds: How long the person took, from opening the page to submitting.
        submitted: Unix time of the submission.
        candidates: ``slot -> candidate id`` of the ranked candidates, so the ranking stays
            tied to the code it judged.
    """

    iteration: int
    order: list[int]
    unacceptable: list[int] = field(default_factory=list)
    text: str = ""
    seconds: float = 0.0
    submitted: float = 0.0
    candidates: dict[str, str] = field(default_factory=dict)

    @property
    def preferred(self) -> int | None:
        """The best-ranked acceptable slot (``None`` when the person accepted none)."""
        return next((s for s in self.order if s not in self.unacceptable), None)

    @property
    def worst(self) -> int | None:
        """The worst-ranked slot, when it is not also the preferred one."""
        if len(self.order) < 2:
            return None
        return self.order[-1]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``ranking.json``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ranking:
        """Inverse of :meth:`to_json`."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class RankingRequest:
    """What a ranker needs to ask a person about one iteration.

    Args:
        iter_dir: The iteration's folder (candidate folders with their videos inside).
        index: The iteration.
        results: Its candidates' results as JSON, in slot order.
        mode: ``human`` (fitness hidden) or ``both`` (fitness shown).
        description: The behaviour in words, shown above the videos.
        fitness_name: The fitness measure's name, shown with ``both``.
    """

    iter_dir: Path
    index: int
    results: list[dict[str, Any]]
    mode: str
    description: str
    fitness_name: str


class Ranker(Protocol):
    """Asks a person to rank an iteration and blocks until they have.

    The loop calls it only when no ranking is saved yet. ``announce`` receives where the
    person should go (a URL). Returns ``None`` when there is nothing to rank. A ranking
    saved meanwhile by another process (``rewardsmith rank``) must end the wait too.
    """

    def __call__(self, request: RankingRequest, announce: Callable[[str], None]) -> Ranking | None:
        """The person's ranking of ``request``'s iteration, or ``None`` if nothing to rank."""
        ...


def load_ranking(iter_dir: Path) -> Ranking | None:
    """The ranking saved in ``iter_dir``, or ``None`` when there is none yet."""
    path = iter_dir / RANKING_FILE
    if not path.is_file():
        return None
    return read_record(path, Ranking.from_json)


def save_ranking(iter_dir: Path, ranking: Ranking) -> Path:
    """Write ``ranking.json`` atomically and return its path."""
    path = iter_dir / RANKING_FILE
    write_json(path, ranking.to_json())
    return path


def parse_ranking(payload: Any, iteration: int, shown: dict[int, str]) -> Ranking:
    """Validate a submitted ranking against the candidates the page showed.

    Args:
        payload: The decoded JSON the page posted: ``order``, ``unacceptable``, ``text``,
            ``seconds``.
        iteration: The iteration it ranks.
        shown: ``slot -> candidate id`` of the candidates on the page.

    Raises:
        ValueError: One sentence saying what is wrong with the payload.
    """
    if not isinstance(payload, dict):
        raise ValueError("the ranking must be a JSON object")
    order = payload.get("order")
    if not isinstance(order, list) or not all(type(s) is int for s in order):
        raise ValueError("order must be a list of candidate numbers")
    if sorted(order) != sorted(shown):
        raise ValueError(
            f"order must list every candidate once: expected {sorted(shown)}, got {order}"
        )
    bad = payload.get("unacceptable", [])
    if not isinstance(bad, list) or not all(type(s) is int and s in shown for s in bad):
        raise ValueError("unacceptable must be a list of numbers of candidates on the page")
    text = payload.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text must be a string of at most {MAX_TEXT_CHARS} characters")
    seconds = payload.get("seconds", 0.0)
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError("seconds must be a non-negative number")
    return Ranking(
        iteration=iteration,
        order=list(order),
        unacceptable=sorted(set(bad)),
        text=text.strip(),
        seconds=round(float(seconds), 2),
        submitted=time.time(),
        candidates={str(s): shown[s] for s in order},
    )


def preferred_result(
    results: Sequence[CandidateResult], ranking: Ranking | None
) -> CandidateResult | None:
    """The person's preferred candidate (``results`` indexed by slot), if any."""
    if ranking is None or ranking.preferred is None:
        return None
    slot = ranking.preferred
    return results[slot] if 0 <= slot < len(results) else None


def _verdicts(history: Sequence[IterationRecord]) -> list[tuple[str, bool]]:
    """``(candidate id, acceptable)`` in preference order, newest ranking first.

    A reward ranked in several iterations keeps only its newest verdict.
    """
    found: list[tuple[str, bool]] = []
    judged: set[str] = set()
    for record in reversed(history):
        if not record.ranking:
            continue
        ranking = Ranking.from_json(record.ranking)
        for slot in ranking.order:
            cid = ranking.candidates.get(str(slot))
            if cid is not None and cid not in judged:
                judged.add(cid)
                found.append((cid, slot not in ranking.unacceptable))
    return found


def preference_order(history: Sequence[IterationRecord]) -> dict[str, int]:
    """``candidate id -> place`` in the people's preference, lower is better.

    The latest ranked iteration comes first (its order is the freshest judgement), then
    earlier ranked ones; unacceptable rewards are left out. Empty when nobody ranked.
    """
    accepted = [cid for cid, ok in _verdicts(history) if ok]
    return {cid: place for place, cid in enumerate(accepted)}


def rejected_by_people(history: Sequence[IterationRecord]) -> set[str]:
    """Ids of candidates whose newest verdict from a person is "unacceptable"."""
    return {cid for cid, ok in _verdicts(history) if not ok}


# Structural diff ----------------------------------------------------------------------------


def _reward_parts(source: str) -> dict[str, set[str]]:
    """Parameters, component names and helper functions of a reward's source."""
    parts: dict[str, set[str]] = {"fields": set(), "components": set(), "helpers": set()}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return parts
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        if node.name != "compute_reward":
            parts["helpers"].add(node.name)
            continue
        parts["fields"] = {a.arg for a in node.args.args}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Dict):
                parts["components"] |= {
                    k.value
                    for k in sub.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
    return parts


def structural_diff(previous: str, current: str) -> str:
    """How ``current`` differs from ``previous``: fields, components, helpers, then the code.

    Offline and deterministic: the parts come from the AST, the code diff from ``difflib``
    on the normalised sources (comments and formatting removed).
    """
    old, new = _reward_parts(previous), _reward_parts(current)
    lines = []
    for kind in ("fields", "components", "helpers"):
        added = sorted(new[kind] - old[kind])
        removed = sorted(old[kind] - new[kind])
        if added:
            lines.append(f"- {kind} added: {', '.join(added)}")
        if removed:
            lines.append(f"- {kind} removed: {', '.join(removed)}")

    def normal(src: str) -> list[str]:
        try:
            return ast.unparse(ast.parse(src)).splitlines()
        except SyntaxError:
            return src.strip().splitlines()

    diff = list(
        difflib.unified_diff(normal(previous), normal(current), "previous", "preferred", n=1)
    )[2:]
    if not diff:
        return "The preferred reward is the same code as the previous preferred one."
    if len(diff) > DIFF_LINES:
        diff = [*diff[:DIFF_LINES], f"... ({len(diff) - DIFF_LINES} more diff lines)"]
    body = "\n".join(lines) if lines else "- same fields, components and helpers"
    return f"{body}\nCode changes (unified diff):\n```diff\n" + "\n".join(diff) + "\n```"


def diff_summary_messages(previous: str, current: str, diff: str) -> list[dict[str, str]]:
    """The chat messages of the optional model call that summarises the difference."""
    return [
        {
            "role": "user",
            "content": render("preference_diff", previous=previous, current=current, diff=diff),
        }
    ]


# Prompt context -----------------------------------------------------------------------------


def _trace(name: str, values: Sequence[float]) -> str:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return f"{name}: no values"
    shown = ", ".join(fmt(v) for v in values)
    return f"{name}: [{shown}], Max: {fmt(max(finite))}, Min: {fmt(min(finite))}"


def reward_trace(result: CandidateResult, measure: FitnessMeasure, show_fitness: bool) -> str:
    """The reward components (and, when shown, the task fitness) at each checkpoint."""
    lines = [_trace(f"component {name}", t) for name, t in result.component_trace.items()]
    lines.append(_trace("episode length", result.length_trace))
    if show_fitness:
        lines.append(_trace(f"task fitness ({measure.name})", result.fitness_trace))
    return "\n".join(lines)


def preferred_history(
    history: Sequence[IterationRecord], limit: int = HISTORY_LIMIT
) -> list[tuple[int, CandidateResult]]:
    """``(iteration, preferred result)`` of the latest ``limit`` ranked iterations, oldest first."""
    found: list[tuple[int, CandidateResult]] = []
    for record in history:
        if record.ranking and record.best is not None:
            found.append((record.index, record.best))
    return found[-limit:]


def human_feedback(
    results: Sequence[CandidateResult],
    ranking: Ranking,
    history: Sequence[IterationRecord],
    measure: FitnessMeasure,
    show_fitness: bool,
    difference: str,
) -> str:
    """The feedback text of the next prompt after a person ranked this iteration.

    Args:
        results: This iteration's results, indexed by slot.
        ranking: The person's ranking of them.
        history: Earlier finished iterations (for the preferred-reward history).
        measure: The run's fitness measure.
        show_fitness: Include fitness values (``--feedback both``).
        difference: How the preferred reward differs from the previous preferred one
            (model summary or structural diff; ``""`` when there is no previous one).
    """
    best = preferred_result(results, ranking)
    worst = results[ranking.worst] if ranking.worst is not None else None
    if worst is not None and best is not None and worst.candidate.id == best.candidate.id:
        worst = None
    places = []
    for place, slot in enumerate(ranking.order, 1):
        note = " (unacceptable)" if slot in ranking.unacceptable else ""
        fit = f", fitness {fmt(results[slot].fitness)}" if show_fitness else ""
        places.append(f"{place}. candidate {slot}{fit}{note}")
    earlier = [
        {"iteration": i + 1, "code": r.candidate.source.strip()}
        for i, r in preferred_history(history)
    ]
    return render(
        "human_feedback",
        places=places,
        best_slot=ranking.preferred,
        best_code=best.candidate.source.strip() if best else "",
        best_trace=reward_trace(best, measure, show_fitness) if best else "",
        worst_slot=ranking.worst if worst else None,
        worst_code=worst.candidate.source.strip() if worst else "",
        worst_trace=reward_trace(worst, measure, show_fitness) if worst else "",
        difference=difference.strip(),
        earlier=earlier,
        text=ranking.text,
        all_unacceptable=ranking.preferred is None,
    )
