"""Check a litellm model string before a run starts, so a typo costs one line, not a run."""

from __future__ import annotations

import os

from rewardsmith.errors import UserError

_SECRET_ENDINGS = ("_KEY", "_TOKEN", "_SECRET")


def check_model(model: str, api_base: str | None = None) -> None:
    """Refuse a model string litellm cannot route, or a provider whose key is missing.

    With ``api_base`` (a self-hosted OpenAI-compatible server) no key is required.

    Raises:
        UserError: Unknown provider, or the provider's API key is not in the environment.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    try:
        _, provider, _, _ = litellm.get_llm_provider(model, api_base=api_base)
    except Exception:
        raise UserError(
            f"unknown model {model!r}: litellm cannot tell its provider; write it as "
            "provider/model, e.g. openai/gpt-4o, anthropic/claude-sonnet-4-5 or "
            "ollama/llama3 (with --api-base for a self-hosted server)"
        ) from None
    if api_base:
        return
    # litellm counts an empty variable as a key; the provider will not. Hide empty ones
    # while asking (this runs once, before any thread starts).
    empty = {k: v for k, v in os.environ.items() if k.endswith(_SECRET_ENDINGS) and not v.strip()}
    for name in empty:
        del os.environ[name]
    try:
        status = litellm.validate_environment(model)
    finally:
        os.environ.update(empty)
    if not status.get("keys_in_environment", True):
        missing = ", ".join(status.get("missing_keys", [])) or "its API key"
        raise UserError(
            f"model {model!r} ({provider}) needs {missing} in the environment; export it, "
            "or pass --api-base for a self-hosted OpenAI-compatible server"
        )
