"""ChatModel and LLMReviewer through the real litellm client against a loopback server."""

from __future__ import annotations

import pytest

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.llm import ChatModel, LLMError
from rewardsmith.agent.llm_review import LLMReviewer, parse_verdict
from tests.agent.designer_tasks import CHEETAH
from tests.llm_server import Error, Reply, ScriptedLLMServer

MESSAGES = [{"role": "user", "content": "write a reward"}]


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")


def _model(server: ScriptedLLMServer, **kwargs: float) -> ChatModel:
    settings = {"max_retries": 3, "backoff_base": 0.01, "timeout": 5.0, **kwargs}
    return ChatModel("openai/test-model", api_base=server.url, **settings)


def test_n_answers_in_one_request_with_usage() -> None:
    with ScriptedLLMServer(["first", "second"]) as server:
        result = _model(server).complete(MESSAGES, n=2, temperature=0.7)
    assert result.texts == ["first", "second"]
    assert (result.prompt_tokens, result.completion_tokens) == (10, 40)
    assert result.cost_usd == 0.0  # litellm does not know test-model's price
    [request] = server.requests
    assert request["n"] == 2 and request["temperature"] == 0.7
    assert request["model"] == "test-model"
    assert request["messages"] == MESSAGES


def test_known_model_is_priced() -> None:
    with ScriptedLLMServer(["answer"]) as server:
        model = ChatModel("openai/gpt-4o-mini", api_base=server.url, backoff_base=0.01)
        result = model.complete(MESSAGES)
    assert result.cost_usd > 0


def test_rate_limit_and_server_error_are_retried() -> None:
    with ScriptedLLMServer([(429, "slow down"), Error(500, "boom"), "finally"]) as server:
        result = _model(server).complete(MESSAGES)
    assert result.texts == ["finally"]
    assert len(server.requests) == 3 and result.calls == 3
    assert any("slow down" in note for note in result.notes)


def test_timeout_is_retried() -> None:
    with ScriptedLLMServer([Reply("too late", delay=1.5), "in time"]) as server:
        result = _model(server, timeout=0.3).complete(MESSAGES)
    assert result.texts == ["in time"]


def test_empty_and_truncated_answers_are_retried() -> None:
    script = [Reply(""), Reply("def compute_reward(", finish_reason="length"), "complete"]
    with ScriptedLLMServer(script) as server:
        result = _model(server).complete(MESSAGES)
    assert result.texts == ["complete"]
    assert len(server.requests) == 3


def test_clear_error_after_the_last_retry() -> None:
    with (
        ScriptedLLMServer(default=(503, "overloaded")) as server,
        pytest.raises(LLMError) as info,
    ):
        _model(server, max_retries=2).complete(MESSAGES)
    message = str(info.value)
    assert len(server.requests) == 3
    assert "\n" not in message
    assert "openai/test-model" in message and server.url in message
    assert "3 attempt" in message and "overloaded" in message and "Fix:" in message


def test_auth_error_is_not_retried_and_names_the_fix() -> None:
    with (
        ScriptedLLMServer([(401, "invalid api key")], default="never reached") as server,
        pytest.raises(LLMError, match="API key"),
    ):
        _model(server).complete(MESSAGES)
    assert len(server.requests) == 1


def test_provider_that_ignores_n_is_asked_one_at_a_time() -> None:
    with ScriptedLLMServer(["a", "b", "c"], max_choices=1) as server:
        result = _model(server).complete(MESSAGES, n=3)
    assert result.texts == ["a", "b", "c"]
    assert server.requests[0]["n"] == 3
    assert all(r.get("n", 1) == 1 for r in server.requests[1:])


def test_provider_that_rejects_n_is_asked_one_at_a_time() -> None:
    def answer(request: dict) -> Error | str:
        if request.get("n", 1) > 1:
            return Error(400, "Invalid value for 'n': only 1 is supported")
        return "single"

    with ScriptedLLMServer(default=answer) as server:
        result = _model(server).complete(MESSAGES, n=2)
    assert result.texts == ["single", "single"]
    assert len(server.requests) == 3


def test_partial_answers_survive_exhausted_retries() -> None:
    with ScriptedLLMServer(["only one"], default=(500, "down"), max_choices=1) as server:
        result = _model(server, max_retries=1).complete(MESSAGES, n=2)
    assert result.texts == ["only one"]


# ------------------------------------------------------------------------------ review


def test_parse_verdict_variants() -> None:
    fenced = 'Looks wrong.\n```json\n{"verdict": "fail", "reasons": ["sign"], "fix": "negate"}\n```'
    verdict = parse_verdict(fenced)
    assert (verdict.passed, verdict.reasons, verdict.suggested_fix) == (False, ["sign"], "negate")
    inline = 'My answer: {"verdict": "pass", "reasons": ["fine {really}"],} thanks'
    assert parse_verdict(inline).passed and parse_verdict(inline).reasons == ["fine {really}"]
    python_dict = "{'verdict': 'fail', 'reasons': 'too big', 'fix': ''}"
    assert parse_verdict(python_dict).reasons == ["too big"]
    assert parse_verdict("verdict: FAIL because the sign is wrong").passed is False


def test_unparsable_review_passes_with_a_note() -> None:
    for text in ("I am not sure.", '{"verdict": "maybe"}', ""):
        verdict = parse_verdict(text)
        assert verdict.passed and verdict.reasons


def test_reviewer_asks_with_the_task_and_code() -> None:
    ctx = DesignContext(CHEETAH, "run backwards", CHEETAH.fitness[0], seed=0)
    candidate = RewardCandidate("def compute_reward(x_velocity):\n    return x_velocity, {}\n")
    answer = '{"verdict": "fail", "reasons": ["rewards forward motion"], "fix": "use -x_velocity"}'
    with ScriptedLLMServer([answer]) as server:
        verdict = LLMReviewer(_model(server)).review(ctx, candidate)
    assert not verdict.passed
    assert verdict.problems() == [
        "reviewer: rewards forward motion",
        "reviewer's suggested fix: use -x_velocity",
    ]
    assert verdict.usage["completion_tokens"] == 20
    assert verdict.raw == answer
    prompt = server.requests[0]["messages"][0]["content"]
    assert "run backwards" in prompt and "return x_velocity" in prompt


def test_reviewer_is_the_loops_hook() -> None:
    ctx = DesignContext(CHEETAH, "run backwards", CHEETAH.fitness[0], seed=0)
    answer = '{"verdict": "fail", "reasons": ["wrong sign"], "fix": "negate x_velocity"}'
    with ScriptedLLMServer([answer]) as server:
        passed, reasons = LLMReviewer(_model(server))(ctx, RewardCandidate("x = 1\n"))
    assert (passed, reasons) == (False, ["wrong sign", "suggested fix: negate x_velocity"])


def test_reviewer_lets_candidates_through_when_the_model_is_down() -> None:
    ctx = DesignContext(CHEETAH, "run", CHEETAH.fitness[0], seed=0)
    with ScriptedLLMServer(default=(500, "down")) as server:
        verdict = LLMReviewer(_model(server, max_retries=1)).review(
            ctx, RewardCandidate("def compute_reward(x_velocity):\n    pass\n")
        )
    assert verdict.passed and "review skipped" in verdict.reasons[0]
