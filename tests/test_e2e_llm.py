"""The LLM path end to end: the real litellm client against a scripted loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import fenced_answer, only_run, run_cli
from tests.llm_server import ScriptedLLMServer

pytestmark = pytest.mark.slow


GOOD = """
import numpy as np

def compute_reward(pole_angle, action):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    return 1.0 + upright, {"upright": upright}
"""

HELPER = """
import numpy as np

def centred(x, width):
    return np.exp(-(x / width) ** 2)

def compute_reward(pole_angle, cart_position):
    up = centred(pole_angle, 0.1)
    mid = 0.2 * centred(cart_position, 1.0)
    return 1.0 + up + mid, {"upright": up, "centre": mid}
"""

UNKNOWN_FIELD = """
import numpy as np

def compute_reward(pole_angle, pole_tip_height):
    return pole_tip_height - np.abs(pole_angle), {"height": pole_tip_height}
"""

RAISES = """
import numpy as np

def compute_reward(pole_angle):
    weights = np.ones(3)
    return weights[pole_angle.shape[0] + 7] * pole_angle, {"w": pole_angle}
"""

FIXED = """
import numpy as np

def compute_reward(pole_angle, pole_angular_velocity):
    upright = np.exp(-(pole_angle / 0.15) ** 2)
    calm = 0.1 * np.exp(-pole_angular_velocity ** 2)
    return 1.0 + upright + calm, {"upright": upright, "calm": calm}
"""


def test_llm_path_rejected_verdicts_reach_the_next_prompt(tmp_path: Path) -> None:
    script = [fenced_answer(c) for c in (GOOD, HELPER, UNKNOWN_FIELD, RAISES)]
    script += [fenced_answer(FIXED), fenced_answer(FIXED.replace("0.15", "0.2"))]
    with ScriptedLLMServer(script) as server:
        result = run_cli(
            [
                "synthesize",
                "--env",
                "CartPole-v1",
                "--task",
                "balance the pole",
                "--model",
                "openai/my-model",
                "--api-base",
                server.url,
                "--iterations",
                "1",
                "--samples",
                "4",
                "--budget",
                "3000",
                "--eval-seeds",
                "0",
                "--confirm-seeds",
                "0",
                "--out",
                "runs",
            ],
            cwd=tmp_path,
            env={"OPENAI_API_KEY": "sk-test-dummy"},
        )
        requests = list(server.requests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(requests) == 3, [r["messages"][-1]["content"][:200] for r in requests]
    first = requests[0]
    assert first["model"] == "my-model" and first.get("n") == 4
    assert first["messages"][0]["role"] == "system"
    assert "pole_angle" in first["messages"][1]["content"]  # the fields table
    # `tasks --prompt` shows a user this very request, word for word.
    shown = run_cli(
        ["tasks", "--describe", "CartPole-v1", "--prompt", "--task", "balance the pole"],
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    for message in first["messages"]:
        assert message["content"].strip() in shown.stdout, message["role"]
    # Each rejection goes back to the model with the critic's verdict.
    revise_1 = requests[1]["messages"][-1]["content"]
    assert "pole_tip_height" in revise_1
    revise_2 = requests[2]["messages"][-1]["content"]
    assert "IndexError" in revise_2
    run = only_run(tmp_path / "runs")
    it = run / "iter_00"
    slots = json.loads((it / "candidates.json").read_text())
    passed = [s for s in slots if s["critic"]["passed"]]
    rejected = [s for s in slots if not s["critic"]["passed"]]
    assert len(passed) == 4 and len(rejected) == 2
    helper_slot = next(s for s in slots if "def centred" in s["candidate"]["source"])
    assert helper_slot["critic"]["passed"]  # helper functions are kept
    record = json.loads((it / "iteration.json").read_text())
    assert sum(r["status"] == "ok" for r in record["results"]) == 4
    assert (it / "prompt.md").is_file() and (it / "response_00.md").is_file()
    origin = passed[0]["candidate"]["origin"]
    assert origin.get("model") == "openai/my-model"
    assert "rejected" in (it / "feedback.md").read_text()


def test_llm_critic_review_rejects_before_training(tmp_path: Path) -> None:
    fail = '{"verdict": "fail", "reasons": ["it pays for swinging the pole"], "fix": "damp it"}'
    script = [fenced_answer(GOOD), fail, fenced_answer(FIXED), '{"verdict": "pass", "reasons": []}']
    with ScriptedLLMServer(script) as server:
        result = run_cli(
            [
                "synthesize",
                "--env",
                "CartPole-v1",
                "--model",
                "openai/my-model",
                "--api-base",
                server.url,
                "--llm-critic",
                "--iterations",
                "1",
                "--samples",
                "1",
                "--budget",
                "2000",
                "--eval-seeds",
                "0",
                "--confirm-seeds",
                "0",
                "--out",
                "runs",
            ],
            cwd=tmp_path,
        )
        requests = list(server.requests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(requests) == 4
    assert "compute_reward" in requests[1]["messages"][-1]["content"]  # the review sees code
    assert "swinging the pole" in requests[2]["messages"][-1]["content"]
    run = only_run(tmp_path / "runs")
    slots = json.loads((run / "iter_00" / "candidates.json").read_text())
    assert [s["critic"]["passed"] for s in slots] == [False, True]
    assert any("LLM review" in p for p in slots[0]["critic"]["problems"])
    usage = json.loads((run / "run.json").read_text())["usage"]
    assert usage["prompt_tokens"] > 0 and usage["requests"] == 4  # 2 designs + 2 reviews


BLACKJACK = """
import numpy as np

def compute_reward(obs_0, prev_obs_0, action):
    # Blackjack's observation is a tuple; obs_0 is the player's sum.
    closer = -np.abs(np.stack([obs_0, prev_obs_0], axis=1) - 21.0).min(axis=1) / 21.0
    return closer, {"closer": closer}
"""


def test_llm_path_on_an_env_without_an_adapter_whose_observation_is_a_tuple(
    tmp_path: Path,
) -> None:
    """The prompt shows the env's own code and its tuple's elements as fields; the reward
    the model writes over them (with array methods) passes the critic and trains."""
    script = [fenced_answer(BLACKJACK), fenced_answer(BLACKJACK.replace("21.0", "20.0"))]
    with ScriptedLLMServer(script) as server:
        result = run_cli(
            ["synthesize", "--env", "Blackjack-v1", "--task", "get close to 21",
             "--model", "openai/my-model", "--api-base", server.url, "--iterations", "1",
             "--samples", "2", "--budget", "4096", "--eval-seeds", "0", "--confirm-seeds", "0",
             "--out", "runs"],
            cwd=tmp_path,
            env={"OPENAI_API_KEY": "sk-test-dummy"},
        )  # fmt: skip
        requests = list(server.requests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    prompt = requests[0]["messages"][1]["content"]
    assert "obs_0" in prompt and "Discrete(32)" in prompt  # the tuple's elements, named
    assert "def step(self, action)" in prompt  # the env's own source
    slots = json.loads((only_run(tmp_path / "runs") / "iter_00" / "candidates.json").read_text())
    assert [s["critic"]["passed"] for s in slots] == [True, True], slots
    assert (only_run(tmp_path / "runs") / "best" / "reward.py").is_file()
