"""The one call rewardsmith makes to a language model, with retries, through litellm.

litellm speaks to any provider (``openai/...``, ``anthropic/...``, ``ollama/...``, or
any OpenAI-compatible server via ``api_base``). It is imported lazily: it is slow to
import and only the LLM designer and reviewer need it.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.errors import RunFailed

logger = logging.getLogger(__name__)

# Status codes worth another try: timeouts, conflicts, rate limits, server trouble.
_RETRY_STATUS = {408, 409, 425, 429}
# How providers word "n > 1 is not supported": 'n', `n`, n must be 1, n=2 ...
_N_PARAM = re.compile(r"['\"`]n['\"`]|\bn\s*(?:>|=|must|is|not)")


class LLMError(RunFailed):
    """A model call failed for good; the message is one line with the cause and the fix."""


@dataclass
class ChatResult:
    """The texts a model returned and what they cost.

    Args:
        texts: One text per usable choice (empty and truncated choices are left out).
        prompt_tokens: Prompt tokens over all calls made.
        completion_tokens: Completion tokens over all calls made.
        cost_usd: Cost as litellm prices it (0 for models it does not know).
        calls: HTTP requests made, retries included.
        notes: What went wrong along the way (retries, dropped choices).
    """

    texts: list[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    notes: list[str] = field(default_factory=list)


class ChatModel:
    """A chat model reached through litellm.

    Args:
        model: litellm model name, ``provider/model`` (e.g. ``"openai/gpt-4o-mini"``).
        api_base: Base URL of an OpenAI-compatible server, if not the provider's own.
        timeout: Seconds per request.
        max_retries: Retries after the first try, for transient failures.
        backoff_base: First retry delay in seconds; it doubles per retry, with jitter.
        backoff_max: Longest delay between retries, in seconds.
    """

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # Set once a provider shows it ignores or rejects n > 1.
        self._single_choice = False

    def complete(
        self, messages: list[dict[str, str]], n: int = 1, temperature: float = 1.0
    ) -> ChatResult:
        """Ask for ``n`` answers to ``messages``.

        Transient failures (rate limits, timeouts, connection errors, 5xx, empty or cut-off
        answers) are retried with exponential backoff; when the retries run out after some
        answers arrived, those are returned.

        Args:
            messages: Chat messages, ``{"role": ..., "content": ...}``.
            n: Answers wanted.
            temperature: Sampling temperature.

        Raises:
            LLMError: A non-transient failure (bad key, unknown model, bad request), or
                retries exhausted with no usable answer.
        """
        result = ChatResult(texts=[])
        failures = 0
        last_error = ""
        while len(result.texts) < n:
            want = n - len(result.texts)
            ask = 1 if self._single_choice else want
            try:
                response = self._call(messages, ask, temperature)
            except Exception as exc:  # litellm raises many types; _classify sorts them
                result.calls += 1
                kind = _classify(exc)
                if kind == "n_unsupported" and ask > 1 and not self._single_choice:
                    logger.info("%s rejected n=%d; asking one answer at a time", self.model, ask)
                    self._single_choice = True
                    continue
                last_error = _one_line(exc)
                if kind != "retry":
                    raise LLMError(self._message(result.calls, last_error, exc)) from exc
                failures += 1
                if failures > self.max_retries:
                    return self._give_up(result, last_error, exc)
                result.notes.append(f"retry after: {last_error}")
                self._sleep(failures)
                continue
            result.calls += 1
            self._account(result, response)
            choices = list(getattr(response, "choices", None) or [])
            good = [text for text in (_usable(c) for c in choices) if text is not None]
            result.texts.extend(good[:want])
            dropped = len(choices) - len(good)
            if dropped:
                reasons = sorted({_finish_reason(c) for c in choices if _usable(c) is None})
                last_error = f"{dropped} empty or truncated answer(s) (finish_reason {reasons})"
                result.notes.append(last_error)
            elif not choices:
                last_error = "the response held no answer"
            elif ask > 1 and len(choices) < ask:
                # The provider ignored n: ask for the rest one by one.
                self._single_choice = True
            if dropped or not good:
                failures += 1
                if failures > self.max_retries:
                    return self._give_up(result, last_error, None)
                if not good:
                    self._sleep(failures)
        return result

    def _call(self, messages: list[dict[str, str]], n: int, temperature: float) -> Any:
        # litellm fetches a price list from the internet at import unless told not to.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "timeout": self.timeout,
            "num_retries": 0,  # retried here, with our own classification
            "drop_params": True,  # providers without n or temperature: drop, don't fail
        }
        if n > 1:
            kwargs["n"] = n
        if self.api_base:
            kwargs["api_base"] = self.api_base
            # Self-hosted OpenAI-compatible servers rarely check keys, but the client insists
            # on one: use the provider's key when set, a placeholder otherwise.
            if self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = "not-needed"
        return litellm.completion(**kwargs)

    def _account(self, result: ChatResult, response: Any) -> None:
        usage = getattr(response, "usage", None)
        result.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        result.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        try:
            import litellm

            result.cost_usd += float(litellm.completion_cost(completion_response=response) or 0)
        except Exception:  # unknown models have no price; cost stays 0
            pass

    def _sleep(self, failures: int) -> None:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (failures - 1))
        time.sleep(delay * (0.5 + random.random() / 2))  # jitter spreads parallel clients

    def _give_up(self, result: ChatResult, last_error: str, exc: Exception | None) -> ChatResult:
        if result.texts:
            logger.warning(
                "%s: got %d answer(s) before giving up: %s",
                self.model,
                len(result.texts),
                last_error,
            )
            return result
        raise LLMError(self._message(result.calls, last_error, exc)) from exc

    def _message(self, calls: int, last_error: str, exc: Exception | None) -> str:
        where = f" at {self.api_base}" if self.api_base else ""
        return (
            f"LLM request to {self.model}{where} failed after {calls} attempt(s): "
            f"{last_error}. Fix: {_fix(exc)}"
        )


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if isinstance(status, int) else None


def _classify(exc: Exception) -> str:
    """``"retry"``, ``"n_unsupported"`` (maybe only n is the problem) or ``"fatal"``."""
    name = type(exc).__name__
    status = _status(exc)
    if name in {"Timeout", "APITimeoutError", "APIConnectionError", "RateLimitError"}:
        return "retry"
    if name in {"InternalServerError", "ServiceUnavailableError", "BadGatewayError"}:
        return "retry"
    if status is not None and (status in _RETRY_STATUS or status >= 500):
        return "retry"
    if name in {"UnsupportedParamsError", "BadRequestError"} and _N_PARAM.search(str(exc)):
        return "n_unsupported"
    if isinstance(exc, TimeoutError | ConnectionError):
        return "retry"
    return "fatal"


def _fix(exc: Exception | None) -> str:
    if exc is None:
        return (
            "the model gave no usable answer; try again, raise its token limit or use another model"
        )
    name = type(exc).__name__
    status = _status(exc)
    if name in {"AuthenticationError", "PermissionDeniedError"} or status in {401, 403}:
        return (
            "set the provider's API key (e.g. OPENAI_API_KEY or ANTHROPIC_API_KEY) "
            "or point api_base at a server that needs none"
        )
    if name == "NotFoundError" or status == 404:
        return "check the model name (litellm wants provider/model, e.g. openai/gpt-4o-mini)"
    if name == "ContextWindowExceededError":
        return "the prompt is too long for this model; use one with a larger context window"
    if name == "RateLimitError" or status == 429:
        return "wait and retry, ask for fewer candidates, or use a key with higher rate limits"
    if name in {"Timeout", "APITimeoutError"} or status == 408:
        return "raise the timeout or check that the model server responds"
    if _classify(exc) == "retry":
        return "check the network and api_base; the provider may be down"
    return "check the model name, api_base and the provider's documentation"


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line}"[:300]


def _finish_reason(choice: Any) -> str:
    return str(getattr(choice, "finish_reason", None) or "unknown")


def _usable(choice: Any) -> str | None:
    """The choice's text, or ``None`` when it is empty or was cut off."""
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str) or not content.strip():
        return None
    if _finish_reason(choice) == "length":
        return None
    return content
