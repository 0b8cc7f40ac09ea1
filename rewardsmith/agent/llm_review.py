"""An LLM reads a candidate before it trains and may veto it (Auto MC-Reward's reviewer).

Training is the expensive step, so a reward whose signs or targets are plainly wrong is
worth catching first. The review never blocks on its own failure: an answer that cannot
be parsed, or a model that cannot be reached, lets the candidate through with a note.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.agent.designer import DesignContext, task_prompt_values
from rewardsmith.agent.llm import ChatModel, LLMError
from rewardsmith.prompts import render

logger = logging.getLogger(__name__)

_JSON_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)
_VERDICT_WORD = re.compile(r'"?verdict"?\s*[:=]\s*"?(pass|fail)', re.IGNORECASE)


@dataclass
class ReviewVerdict:
    """The reviewer's decision on one candidate.

    Args:
        passed: Whether the candidate may train.
        reasons: One sentence per reason (or a note on why the review was skipped).
        suggested_fix: What to change, for the designer's revision ("" when none).
        raw: The model's answer, for the run folder.
        usage: ``prompt_tokens``, ``completion_tokens``, ``cost_usd``.
    """

    passed: bool
    reasons: list[str] = field(default_factory=list)
    suggested_fix: str = ""
    raw: str = ""
    usage: dict[str, float] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """The verdict as critic-style problems for :meth:`Designer.revise`."""
        found = [f"reviewer: {reason}" for reason in self.reasons]
        if self.suggested_fix:
            found.append(f"reviewer's suggested fix: {self.suggested_fix}")
        return found


class LLMReviewer:
    """Asks ``model`` whether a candidate can teach the task.

    Args:
        model: The chat model to ask.
        temperature: Sampling temperature (low: a review should be stable).
    """

    def __init__(self, model: ChatModel, temperature: float = 0.0) -> None:
        self.model = model
        self.temperature = temperature

    def __call__(self, ctx: DesignContext, candidate: RewardCandidate) -> tuple[bool, list[str]]:
        """``(passed, reasons)``: the shape the loop's ``reviewer`` hook expects."""
        verdict = self.review(ctx, candidate)
        reasons = list(verdict.reasons)
        if verdict.suggested_fix:
            reasons.append(f"suggested fix: {verdict.suggested_fix}")
        return verdict.passed, reasons

    def review(self, ctx: DesignContext, candidate: RewardCandidate) -> ReviewVerdict:
        """Review ``candidate`` for ``ctx``'s task; never raises for the model's failures."""
        prompt = render("review", code=candidate.source.strip(), **task_prompt_values(ctx))
        messages = [{"role": "user", "content": prompt}]
        try:
            result = self.model.complete(messages, n=1, temperature=self.temperature)
        except LLMError as exc:
            logger.warning("review of %s skipped: %s", candidate.id, exc)
            return ReviewVerdict(True, [f"review skipped: {exc}"])
        usage = {
            "prompt_tokens": float(result.prompt_tokens),
            "completion_tokens": float(result.completion_tokens),
            "cost_usd": result.cost_usd,
        }
        raw = result.texts[0] if result.texts else ""
        verdict = parse_verdict(raw)
        verdict.raw = raw
        verdict.usage = usage
        return verdict


def parse_verdict(text: str) -> ReviewVerdict:
    """Read ``{"verdict": ..., "reasons": [...], "fix": ...}`` from a model's answer.

    Accepts fenced JSON, JSON amid prose, single quotes or trailing commas; an answer
    with no readable verdict passes with a note, so a parser failure never blocks a
    candidate.
    """
    data = _find_json(text)
    if data is None:
        word = _VERDICT_WORD.search(text)
        if word is None:
            return ReviewVerdict(True, ["review unparsable; candidate let through"])
        data = {"verdict": word.group(1)}
    verdict = str(data.get("verdict", data.get("decision", ""))).strip().lower()
    if verdict not in {"pass", "fail"}:
        return ReviewVerdict(True, [f"review gave no pass/fail verdict ({verdict or 'none'!r})"])
    reasons = data.get("reasons", data.get("reason", []))
    if isinstance(reasons, str):
        reasons = [reasons]
    reasons = (
        [str(r).strip() for r in reasons if str(r).strip()] if isinstance(reasons, list) else []
    )
    fix = data.get("fix", data.get("suggested_fix", ""))
    return ReviewVerdict(verdict == "pass", reasons, str(fix or "").strip())


def _find_json(text: str) -> dict[str, Any] | None:
    candidates = [m.group(1) for m in _JSON_FENCE.finditer(text)]
    candidates += _braced(text)
    for chunk in candidates:
        for attempt in (chunk, _loosen(chunk)):
            try:
                data = json.loads(attempt)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return None


def _braced(text: str) -> list[str]:
    """Balanced ``{...}`` spans, outermost first, ignoring braces inside strings."""
    spans: list[str] = []
    depth, start, quote, escaped = 0, -1, "", False
    for i, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char == '"':
            quote = char
        elif char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def _loosen(chunk: str) -> str:
    # Models write Python dicts for JSON: single quotes, trailing commas, True/False.
    chunk = re.sub(r",\s*([}\]])", r"\1", chunk)
    if '"' not in chunk:
        chunk = chunk.replace("'", '"')
    return chunk.replace("True", "true").replace("False", "false")
