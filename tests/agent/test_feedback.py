"""Human feedback: rankings on disk, the ICPL prompt context, and the human round's wiring."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from rewardsmith.agent.candidate import CandidateResult, IterationRecord, RewardCandidate
from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.feedback import (
    Ranking,
    human_feedback,
    load_ranking,
    parse_ranking,
    preference_order,
    rejected_by_people,
    save_ranking,
    structural_diff,
)
from rewardsmith.agent.human_round import ranked_best, run_human_round
from rewardsmith.agent.llm import ChatResult, LLMError
from rewardsmith.agent.offline import OfflineDesigner
from rewardsmith.store import RunStore
from rewardsmith.web.ranking import serve_ranking
from tests.agent.designer_tasks import CARTPOLE

OLD = """
import numpy as np

def compute_reward(pole_angle, action):
    upright = np.exp(-(pole_angle / 0.2) ** 2)
    return upright, {"upright": upright}
"""
NEW = """
import numpy as np

def centred(x):
    return np.exp(-x ** 2)

def compute_reward(pole_angle, cart_position):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    middle = 0.5 * centred(cart_position)
    return upright + middle, {"upright": upright, "middle": middle}
"""
THIRD = NEW.replace("0.5 *", "0.25 *")


def _result(source: str, fitness: float, status: str = "ok") -> CandidateResult:
    return CandidateResult(
        RewardCandidate(source),
        status,  # type: ignore[arg-type]
        fitness=fitness,
        fitness_trace=[fitness / 2, fitness],
        component_trace={"upright": [0.25, 0.75]},
        length_trace=[20.0, 40.0],
    )


def _ranking(results: list[CandidateResult], order: list[int], **kw: object) -> Ranking:
    shown = {i: r.candidate.id for i, r in enumerate(results)}
    return parse_ranking({"order": order, **kw}, 0, shown)


# Rankings ----------------------------------------------------------------------------------


def test_a_ranking_round_trips_through_ranking_json(tmp_path: Path) -> None:
    assert load_ranking(tmp_path) is None
    ranking = Ranking(2, [1, 0], [0], "too jerky", 12.5, 1.0, {"1": "a", "0": "b"})
    save_ranking(tmp_path, ranking)
    assert load_ranking(tmp_path) == ranking
    assert json.loads((tmp_path / "ranking.json").read_text())["text"] == "too jerky"


def test_preferred_skips_unacceptable_candidates() -> None:
    assert Ranking(0, [2, 0, 1], unacceptable=[2]).preferred == 0
    assert Ranking(0, [2, 0, 1], unacceptable=[0, 1, 2]).preferred is None
    assert Ranking(0, [2, 0, 1]).worst == 1
    assert Ranking(0, [2]).worst is None


def test_parse_ranking_ties_the_order_to_the_candidates_shown() -> None:
    ranking = parse_ranking(
        {"order": [3, 1], "unacceptable": [1, 1], "text": "  hops  ", "seconds": 3.14159},
        4,
        {1: "id1", 3: "id3"},
    )
    assert ranking.iteration == 4 and ranking.order == [3, 1] and ranking.unacceptable == [1]
    assert ranking.text == "hops" and ranking.seconds == 3.14
    assert ranking.candidates == {"3": "id3", "1": "id1"} and ranking.submitted > 0
    with pytest.raises(ValueError, match="every candidate once"):
        parse_ranking({"order": [3]}, 4, {1: "id1", 3: "id3"})
    with pytest.raises(ValueError, match="at most 4000"):
        parse_ranking({"order": [3, 1], "text": "x" * 4001}, 4, {1: "id1", 3: "id3"})
    with pytest.raises(ValueError, match="order must be a list"):
        parse_ranking({"order": [True, 1]}, 4, {1: "id1", 3: "id3"})


# Structural diff -----------------------------------------------------------------------------


def test_structural_diff_names_fields_components_helpers_and_code() -> None:
    diff = structural_diff(OLD, NEW)
    assert "- fields added: cart_position" in diff
    assert "- fields removed: action" in diff
    assert "- components added: middle" in diff
    assert "- helpers added: centred" in diff
    assert "-    upright = np.exp(-(pole_angle / 0.2) ** 2)" in diff
    assert "+    upright = np.exp(-(pole_angle / 0.1) ** 2)" in diff
    same = structural_diff(OLD, OLD.replace("upright, {", "upright,  {") + "\n# a comment\n")
    assert same.startswith("The preferred reward is the same code")


# The prompt context ----------------------------------------------------------------------------


def test_human_feedback_carries_order_traces_history_and_the_words_verbatim() -> None:
    results = [_result(OLD, 9.0), _result(NEW, 1.0), _result(THIRD, 5.0)]
    text = 'it hops but drags its left foot; "never" {{ braces }}'
    ranking = _ranking(results, [1, 2, 0], unacceptable=[0], text=text)
    earlier = IterationRecord(0, [_result(OLD, 3.0)], RewardCandidate(OLD).id, "", {"order": [0]})
    body = human_feedback(results, ranking, [earlier], CARTPOLE.fitness[0], False, "it changed")
    assert "1. candidate 1\n2. candidate 2\n3. candidate 0 (unacceptable)" in body
    assert "Preferred reward: candidate 1" in body
    assert "component upright: [0.25, 0.75]" in body
    assert "Worst-ranked reward (candidate 0)" in body and OLD.strip() in body
    assert "it changed" in body
    assert "Iteration 1:" in body  # the bounded history of preferred rewards
    assert text in body
    assert "fitness" not in body  # the ranking is the person's own
    both = human_feedback(results, ranking, [], CARTPOLE.fitness[0], True, "")
    assert "1. candidate 1, fitness 1" in both and "task fitness" in both
    assert "Iteration 1:" not in both and "differs from the previous" not in both


def test_when_nothing_is_acceptable_the_prompt_says_so() -> None:
    results = [_result(OLD, 1.0), _result(NEW, 2.0)]
    ranking = _ranking(results, [1, 0], unacceptable=[0, 1])
    body = human_feedback(results, ranking, [], CARTPOLE.fitness[0], False, "")
    assert "every candidate unacceptable" in body


def _record(index: int, results: list[CandidateResult], ranking: Ranking | None) -> IterationRecord:
    best = results[ranking.preferred] if ranking and ranking.preferred is not None else None
    return IterationRecord(
        index,
        results,
        best.candidate.id if best else None,
        "",
        ranking.to_json() if ranking else None,
    )


def test_preference_order_puts_the_latest_judgement_first() -> None:
    first = [_result(OLD, 1.0), _result(NEW, 2.0)]
    second = [_result(THIRD, 3.0), _result(OLD + "\n", 0.0)]
    history = [
        _record(0, first, _ranking(first, [1, 0])),
        _record(1, second, _ranking(second, [0, 1], unacceptable=[1])),
    ]
    places = preference_order(history)
    assert places == {second[0].candidate.id: 0, first[1].candidate.id: 1}
    assert rejected_by_people(history) == {second[1].candidate.id}
    assert ranked_best(history) is second[0]
    assert preference_order([_record(0, first, None)]) == {}


def test_the_offline_designer_breeds_from_the_preferred_not_the_fittest() -> None:
    ctx = DesignContext(CARTPOLE, CARTPOLE.description, CARTPOLE.fitness[0], 0)
    designer = OfflineDesigner()
    first = designer.propose(ctx, [], 3).candidates
    results = [
        CandidateResult(c, "ok", fitness=f, component_trace={}, length_trace=[500.0])
        for c, f in zip(first, [100.0, 5.0, 50.0], strict=True)
    ]
    fittest_parent = {
        c.parent for c in OfflineDesigner().propose(ctx, [_record(0, results, None)], 4).candidates
    }
    assert first[0].id in fittest_parent
    ranking = _ranking(results, [1, 2, 0], unacceptable=[0])
    children = OfflineDesigner().propose(ctx, [_record(0, results, ranking)], 4).candidates
    parents = {c.parent for c in children}
    assert first[1].id in parents
    assert first[0].id not in parents  # unacceptable: never bred from


# The human round's wiring -----------------------------------------------------------------------


class _Callbacks:
    def __init__(self, answer: dict | None = None) -> None:
        self.messages: list[str] = []
        self.urls: list[str] = []
        self.answer = answer

    def on_message(self, text: str) -> None:
        self.messages.append(text)

    def on_ranking_needed(self, index: int, url: str) -> None:
        self.urls.append(url)
        if self.answer is not None:
            body = json.dumps(self.answer).encode()

            def post() -> None:
                request = urllib.request.Request(
                    url + "api/ranking", body, {"Content-Type": "application/json"}
                )
                urllib.request.urlopen(request, timeout=10).close()

            threading.Thread(target=post).start()


class _Chat:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[list[dict]] = []

    def complete(self, messages: list[dict], n: int = 1, temperature: float = 1.0) -> ChatResult:
        self.calls.append(messages)
        if self.fail:
            raise LLMError("the model is down")
        return ChatResult(["It now keeps the cart centred."], 40, 10, 0.001)


def _loop(tmp_path: Path, feedback: str, callbacks: _Callbacks, chat: _Chat | None = None):
    store = RunStore.create(tmp_path, "run")
    store.write_run({"usage": {}})
    usage: list[dict] = []
    config = SimpleNamespace(feedback=feedback, record_videos=False, seed=0)
    return SimpleNamespace(
        config=config,
        store=store,
        task=CARTPOLE,
        measure=CARTPOLE.fitness[0],
        executor=None,
        callbacks=callbacks,
        ctx=SimpleNamespace(description="balance it"),
        designer=SimpleNamespace(chat=chat) if chat else SimpleNamespace(),
        _add_usage=usage.append,
        usage=usage,
        ranker=serve_ranking,
    )


def test_auto_feedback_leaves_selection_to_fitness(tmp_path: Path) -> None:
    loop = _loop(tmp_path, "auto", _Callbacks())
    assert run_human_round(loop, 0, [_result(OLD, 1.0)], []) is None  # type: ignore[arg-type]
    assert not (loop.store.iter_dir(0) / "ranking_page.json").exists()


def test_the_round_serves_the_page_waits_and_uses_the_ranking(tmp_path: Path) -> None:
    results = [_result(OLD, 9.0), _result(NEW, 1.0), _result(THIRD, 2.0, status="failed")]
    callbacks = _Callbacks({"order": [1, 0], "text": "keep it centred", "seconds": 4})
    loop = _loop(tmp_path, "human", callbacks)
    outcome = run_human_round(loop, 0, results, [])  # type: ignore[arg-type]
    assert outcome is not None and len(callbacks.urls) == 1
    assert outcome.best is results[1]  # the person's choice, not the fittest
    assert "keep it centred" in outcome.feedback
    saved = load_ranking(loop.store.iter_dir(0))
    assert saved is not None and saved.order == [1, 0]
    page = json.loads((loop.store.iter_dir(0) / "ranking_page.json").read_text())
    assert [c["slot"] for c in page["candidates"]] == [0, 1]
    # Resumed after the ranking was saved: no page, no wait, the same outcome.
    again = run_human_round(loop, 0, results, [])  # type: ignore[arg-type]
    assert again is not None and again.best is results[1] and len(callbacks.urls) == 1


@pytest.mark.parametrize("fail", [False, True])
def test_a_new_preference_is_summarised_by_the_model_or_diffed(tmp_path: Path, fail: bool) -> None:
    chat = _Chat(fail=fail)
    loop = _loop(tmp_path, "both", _Callbacks(), chat)
    old = [_result(OLD, 1.0)]
    history = [_record(0, old, _ranking(old, [0]))]
    results = [_result(NEW, 2.0), _result(THIRD, 3.0)]
    save_ranking(loop.store.iter_dir(1), _ranking(results, [0, 1]))
    outcome = run_human_round(loop, 1, results, history)  # type: ignore[arg-type]
    assert outcome is not None and len(chat.calls) == 1
    assert OLD.strip() in chat.calls[0][0]["content"] and NEW.strip() in chat.calls[0][0]["content"]
    if fail:
        assert "- fields added: cart_position" in outcome.feedback and loop.usage == []
    else:
        assert "It now keeps the cart centred." in outcome.feedback
        assert loop.usage[0]["prompt_tokens"] == 40
    assert "Results of the last iteration" in outcome.feedback  # both: fitness reflection too
