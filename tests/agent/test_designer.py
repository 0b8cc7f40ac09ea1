"""LLMDesigner through the real litellm client against a scripted server; make_designer."""

from __future__ import annotations

import pytest

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.designer import DesignContext, LLMDesigner, make_designer
from rewardsmith.agent.llm import LLMError
from rewardsmith.agent.offline import OfflineDesigner
from tests.agent.designer_tasks import CHEETAH
from tests.llm_server import ScriptedLLMServer


def _answer(scale: float) -> str:
    return (
        "The cheetah must run backwards, so I reward negative velocity.\n\n"
        "```python\nimport numpy as np\n\n\n"
        "def compute_reward(x_velocity, action):\n"
        f"    speed = -{scale} * x_velocity\n"
        "    energy = -0.1 * np.sum(action ** 2, axis=-1)\n"
        '    return speed + energy, {"speed": speed, "energy": energy}\n```\n'
    )


@pytest.fixture
def ctx() -> DesignContext:
    return DesignContext(CHEETAH, "run backwards", CHEETAH.fitness[0], seed=3)


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")


def _designer(server: ScriptedLLMServer) -> LLMDesigner:
    return LLMDesigner(
        "openai/test-model", api_base=server.url, temperature=0.5, max_retries=2, backoff_base=0.01
    )


def _history(best: RewardCandidate, other: RewardCandidate, feedback: str) -> list[IterationRecord]:
    results = [
        CandidateResult(other, "ok", fitness=1.0),
        CandidateResult(best, "ok", fitness=9.0),
    ]
    return [IterationRecord(0, results, best.id, feedback)]


def test_make_designer_picks_by_model() -> None:
    assert isinstance(make_designer(None), OfflineDesigner)
    assert isinstance(make_designer("offline"), OfflineDesigner)
    designer = make_designer("openai/gpt-4o-mini", api_base="http://x/v1", temperature=0.3)
    assert isinstance(designer, LLMDesigner)
    assert designer.model == "openai/gpt-4o-mini" and designer.temperature == 0.3
    assert designer.chat.api_base == "http://x/v1"


def test_first_proposal_asks_n_samples_with_system_and_task(ctx: DesignContext) -> None:
    with ScriptedLLMServer([_answer(1.0), _answer(2.0)]) as server:
        batch = _designer(server).propose(ctx, [], n=2)
    [request] = server.requests
    assert request["n"] == 2 and request["temperature"] == 0.5
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert "run backwards" in request["messages"][1]["content"]
    assert len(batch.candidates) == 2
    assert batch.candidates[0].id != batch.candidates[1].id
    assert "-1.0 * x_velocity" in batch.candidates[0].source
    assert "```" not in batch.candidates[0].source
    assert batch.responses == [_answer(1.0), _answer(2.0)]
    origin = batch.candidates[1].origin
    assert origin["designer"] == "llm" and origin["model"] == "openai/test-model"
    assert origin["response_index"] == 1
    assert origin["completion_tokens"] == 20.0  # 40 completion tokens shared by 2 answers
    assert batch.usage["prompt_tokens"] == 10 and batch.usage["dropped"] == 0
    assert "## 0: system" in batch.prompt and "## 1: user" in batch.prompt


def test_next_iteration_shows_the_best_answer_and_feedback_verbatim(ctx: DesignContext) -> None:
    best = RewardCandidate("def compute_reward(x_velocity):\n    return -x_velocity, {}\n")
    other = RewardCandidate("def compute_reward(x_velocity):\n    return x_velocity, {}\n")
    feedback = "speed: [0.1, 0.5, 0.9], Max: 0.9\nThe cheetah flipped over twice."
    with ScriptedLLMServer([_answer(3.0)]) as server:
        batch = _designer(server).propose(ctx, _history(best, other, feedback), n=1)
    messages = server.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "return -x_velocity" in messages[2]["content"]
    assert feedback in messages[3]["content"]
    assert batch.candidates[0].parent == best.id


def test_answers_without_code_are_dropped_and_asked_again(ctx: DesignContext) -> None:
    script = ["I would rather explain in words.", _answer(1.0), _answer(1.0), _answer(2.0)]
    with ScriptedLLMServer(script) as server:
        batch = _designer(server).propose(ctx, [], n=2)
    assert len(batch.candidates) == 2
    assert batch.usage["dropped"] == 2  # one without code, one duplicate
    assert [r.get("n", 1) for r in server.requests] == [2, 1, 1]
    assert len(batch.responses) == 4
    assert [c.origin["response_index"] for c in batch.candidates] == [1, 3]


def test_model_that_never_writes_code_gives_an_empty_batch(ctx: DesignContext) -> None:
    with ScriptedLLMServer(default="Sorry, no code today.") as server:
        batch = _designer(server).propose(ctx, [], n=2)
    assert batch.candidates == [] and batch.usage["dropped"] >= 2
    assert len(server.requests) == 3  # max_rounds


def test_revise_sends_the_rejected_code_and_every_problem(ctx: DesignContext) -> None:
    rejected = RewardCandidate("def compute_reward(x_velocity):\n    return foo, {}\n")
    problems = ["name 'foo' is not defined", "components must be a dict of (n,) arrays"]
    with ScriptedLLMServer([_answer(1.5)]) as server:
        batch = _designer(server).revise(ctx, rejected, problems)
    messages = server.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "return foo" in messages[2]["content"]
    for problem in problems:
        assert problem in messages[3]["content"]
    [fixed] = batch.candidates
    assert fixed.parent == rejected.id and "-1.5 * x_velocity" in fixed.source


def test_unreachable_model_raises_llm_error(ctx: DesignContext) -> None:
    with ScriptedLLMServer(default=(500, "down")) as server, pytest.raises(LLMError, match="down"):
        _designer(server).propose(ctx, [], n=1)
