"""Model strings are checked before a run: unknown providers and missing keys, one line."""

import pytest

from rewardsmith.agent.model_check import check_model
from rewardsmith.errors import UserError


def test_an_empty_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    with pytest.raises(UserError, match="needs OPENAI_API_KEY in the environment"):
        check_model("openai/gpt-4o-mini")
    import os

    assert os.environ["OPENAI_API_KEY"] == "  "  # put back as it was
    check_model("openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1")  # self-hosted: no key
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    check_model("openai/gpt-4o-mini")


def test_an_unknown_provider_names_the_form_to_use() -> None:
    with pytest.raises(UserError, match="write it as provider/model"):
        check_model("no-such-provider/some-model-xyz")
