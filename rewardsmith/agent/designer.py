"""Designers write reward candidates: the LLM designer asks a model, the offline one searches.

Both return a :class:`DesignBatch`: the parsed candidates plus the conversation and raw
answers, which the run folder keeps as ``prompt.md`` and ``response_NN.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.llm import ChatModel, LLMError
from rewardsmith.agent.parsing import extract_code
from rewardsmith.envs.spec import FitnessMeasure, TaskSpec
from rewardsmith.prompts import render

logger = logging.getLogger(__name__)

OFFLINE_MODEL_NAMES = {"", "offline", "none"}


def uses_offline_designer(model: str | None) -> bool:
    """Whether ``model`` names no LLM, so the offline designer writes the rewards."""
    return model is None or model.strip().lower() in OFFLINE_MODEL_NAMES


@dataclass
class DesignContext:
    """What a designer knows about the run.

    Args:
        task: The task (fields, termination, action meaning).
        description: The behaviour the user asked for, in words.
        fitness: The measure the run optimises (the designer uses its name and meaning only).
        seed: The run's seed.
    """

    task: TaskSpec
    description: str
    fitness: FitnessMeasure
    seed: int


@dataclass
class DesignBatch:
    """Candidates from one designer call, with the conversation that produced them.

    Args:
        candidates: Parsed candidates, ``origin`` filled (designer, model, tokens, cost).
        prompt: The conversation as markdown (saved as ``prompt.md``).
        responses: Raw answer texts (saved as ``response_00.md``, ...); a candidate's
            ``origin["response_index"]`` is its answer's index in this list.
        usage: ``prompt_tokens``, ``completion_tokens``, ``cost_usd`` and ``dropped``
            (answers without usable code or duplicating an earlier candidate).
    """

    candidates: list[RewardCandidate]
    prompt: str
    responses: list[str]
    usage: dict[str, float] = field(default_factory=dict)


class Designer(Protocol):
    """Writes reward candidates."""

    name: str

    def propose(self, ctx: DesignContext, history: list[IterationRecord], n: int) -> DesignBatch:
        """Up to ``n`` new candidates, informed by the finished iterations in ``history``."""
        ...

    def revise(
        self, ctx: DesignContext, candidate: RewardCandidate, problems: list[str]
    ) -> DesignBatch:
        """A fixed version of a rejected ``candidate`` (at most one candidate)."""
        ...


_ENV_SOURCES: dict[str, str] = {}


def _env_source(task: Any) -> str:
    """The env's own step/observation code, for tasks without a built-in adapter.

    Built-in tasks describe every field; a generic env or a task file may leave meaning in
    the env's code, so the prompt carries it (pruned), the way Eureka shows its envs.
    """
    if task.family not in ("generic", "custom"):
        return ""
    if task.id not in _ENV_SOURCES:
        from rewardsmith.envs.generic import env_source

        _ENV_SOURCES[task.id] = env_source(task)
    return _ENV_SOURCES[task.id]


def task_prompt_values(ctx: DesignContext) -> dict[str, Any]:
    """Template values that describe the task (shared by the designer and the reviewer)."""
    task = ctx.task
    fields = [
        {
            "name": f.name,
            "shape": "scalar" if not f.shape else str(tuple(f.shape)),
            "unit": f.unit,
            "meaning": f.meaning,
        }
        for f in task.fields
    ]
    example = [*[f.name for f in task.fields if not f.shape][:2], "action"]
    return {
        "description": ctx.description.strip() or task.description,
        "env_id": task.env_id,
        "task_id": task.id,
        "fields": fields,
        "field_list": ", ".join(f"`{f.name}`" for f in task.fields),
        "action_meaning": task.action_meaning,
        "termination": task.termination,
        "fitness_name": ctx.fitness.name,
        "fitness_meaning": ctx.fitness.meaning,
        # "-" marks a unitless measure; "(unit: -)" would tell the model nothing.
        "fitness_unit": "" if ctx.fitness.unit.strip() in ("", "-") else ctx.fitness.unit,
        "example_params": ", ".join(example),
        "env_source": _env_source(task),
    }


def first_messages(ctx: DesignContext) -> list[dict[str, str]]:
    """The system prompt and the task: what a model designer reads before its first answer."""
    return [
        {"role": "system", "content": render("system")},
        {"role": "user", "content": render("initial_user", **task_prompt_values(ctx))},
    ]


def conversation_markdown(messages: list[dict[str, str]]) -> str:
    """The conversation as markdown, one section per message."""
    parts = [f"# Prompt ({len(messages)} messages)"]
    for i, message in enumerate(messages):
        parts.append(f"## {i}: {message['role']}\n\n{message['content'].strip()}")
    return "\n\n".join(parts) + "\n"


def fenced(source: str) -> str:
    """``source`` as a markdown python block."""
    return f"```python\n{source.strip()}\n```"


def _shown_parent(history: list[IterationRecord]) -> CandidateResult | None:
    """The answer the next prompt builds on: the best of the latest iteration that had one."""
    for record in reversed(history):
        best = record.best
        if best is not None:
            return best
    return None


class LLMDesigner:
    """Asks a chat model for reward code, Eureka style.

    The conversation stays bounded: system, task, and, after the first iteration, the best
    earlier answer with the latest reflection as the next user turn.

    Args:
        model: litellm model name, e.g. ``"openai/gpt-4o-mini"``.
        api_base: OpenAI-compatible server URL, if not the provider's.
        temperature: Sampling temperature.
        max_retries: Retries per request on transient failures.
        timeout: Seconds per request.
        max_rounds: Requests per :meth:`propose` when answers come back without code.
        backoff_base: First retry delay in seconds.
    """

    name = "llm"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        temperature: float = 1.0,
        max_retries: int = 5,
        timeout: float = 120.0,
        max_rounds: int = 3,
        backoff_base: float = 1.0,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.max_rounds = max_rounds
        self.chat = ChatModel(
            model, api_base, timeout=timeout, max_retries=max_retries, backoff_base=backoff_base
        )
        # Ids already handed out, so a model repeating itself does not train the same code twice.
        self._issued: set[str] = set()

    def remember(self, candidates: list[RewardCandidate]) -> None:
        """Count ``candidates`` as handed out, so a model repeating one is not trained twice.

        The loop calls it with the candidates it replays from the run folder on resume.
        """
        self._issued.update(c.id for c in candidates)

    def base_messages(self, ctx: DesignContext) -> list[dict[str, str]]:
        """System prompt and the task as the first user turn."""
        return first_messages(ctx)

    def propose(self, ctx: DesignContext, history: list[IterationRecord], n: int) -> DesignBatch:
        """``n`` candidates (fewer if the model keeps answering without code).

        Raises:
            LLMError: The model could not be reached (see :class:`ChatModel`).
        """
        messages = self.base_messages(ctx)
        parent = _shown_parent(history)
        if parent is not None:
            messages.append({"role": "assistant", "content": fenced(parent.candidate.source)})
            feedback = history[-1].feedback.strip() or "(no feedback was recorded)"
            messages.append({"role": "user", "content": render("feedback", feedback=feedback)})
        seen = {r.candidate.id for record in history for r in record.results}
        parent_id = parent.candidate.id if parent is not None else None
        return self._sample(messages, n, parent_id, seen)

    def revise(
        self, ctx: DesignContext, candidate: RewardCandidate, problems: list[str]
    ) -> DesignBatch:
        """A fixed version of ``candidate``, shown the critic's ``problems``.

        Raises:
            LLMError: The model could not be reached.
        """
        messages = self.base_messages(ctx)
        messages.append({"role": "assistant", "content": fenced(candidate.source)})
        messages.append({"role": "user", "content": render("execution_error", problems=problems)})
        return self._sample(messages, 1, candidate.id, {candidate.id})

    def _sample(
        self, messages: list[dict[str, str]], n: int, parent: str | None, seen: set[str]
    ) -> DesignBatch:
        candidates: list[RewardCandidate] = []
        responses: list[str] = []
        usage = {"prompt_tokens": 0.0, "completion_tokens": 0.0, "cost_usd": 0.0, "dropped": 0.0}
        seen = set(seen) | self._issued
        for round_ in range(self.max_rounds):
            want = n - len(candidates)
            if want <= 0:
                break
            try:
                result = self.chat.complete(messages, n=want, temperature=self.temperature)
            except LLMError:
                if round_ == 0:
                    raise
                logger.warning("giving up on the remaining %d candidate(s)", want, exc_info=True)
                break
            usage["prompt_tokens"] += result.prompt_tokens
            usage["completion_tokens"] += result.completion_tokens
            usage["cost_usd"] += result.cost_usd
            share = 1.0 / max(1, len(result.texts))
            for text in result.texts:
                index = len(responses)
                responses.append(text)
                sources = extract_code(text)
                # The last block is the model's final word when it revised itself in prose.
                candidate = RewardCandidate(sources[-1], parent=parent) if sources else None
                if candidate is None or candidate.id in seen:
                    usage["dropped"] += 1
                    why = "no compute_reward" if candidate is None else "a duplicate"
                    logger.info("response %d dropped: %s", index, why)
                    continue
                seen.add(candidate.id)
                self._issued.add(candidate.id)
                candidate.origin = {
                    "designer": self.name,
                    "model": self.model,
                    "response_index": index,
                    "temperature": self.temperature,
                    "prompt_tokens": result.prompt_tokens * share,
                    "completion_tokens": result.completion_tokens * share,
                    "cost_usd": result.cost_usd * share,
                }
                candidates.append(candidate)
        return DesignBatch(candidates[:n], conversation_markdown(messages), responses, usage)


def make_designer(
    model: str | None,
    api_base: str | None = None,
    temperature: float = 1.0,
    timeout: float = 120.0,
    max_retries: int = 5,
    backoff_base: float = 1.0,
) -> Designer:
    """The LLM designer for ``model``, or the offline one when there is no model.

    Args:
        model: litellm model name; ``None``, ``""`` or ``"offline"`` mean no model.
        api_base: OpenAI-compatible server URL.
        temperature: Sampling temperature for the LLM.
        timeout: Seconds per model request.
        max_retries: Retries of a failed model request.
        backoff_base: First retry delay in seconds.
    """
    if uses_offline_designer(model):
        from rewardsmith.agent.offline import OfflineDesigner

        return OfflineDesigner()
    return LLMDesigner(
        model,
        api_base=api_base,
        temperature=temperature,
        timeout=timeout,
        max_retries=max_retries,
        backoff_base=backoff_base,
    )
