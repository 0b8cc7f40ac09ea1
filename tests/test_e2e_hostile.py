"""Hostile candidates from a model inside a real synthesis run: contained, and the run goes on."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.helpers import fenced_answer, only_run, run_cli
from tests.llm_server import ScriptedLLMServer

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "sandbox" / "hostile"

GOOD = """
import numpy as np

def compute_reward(pole_angle):
    upright = np.exp(-(pole_angle / 0.1) ** 2)
    return 1.0 + upright, {"upright": upright}
"""


def test_loop_survives_static_dynamic_and_runtime_hostile_candidates(tmp_path: Path) -> None:
    secret = f"sk-canary-{secrets.token_hex(12)}"
    static = (HOSTILE / "import_os_toplevel.py").read_text()
    dynamic = (HOSTILE / "nan_reward.py").read_text()
    runtime = (HOSTILE / "nan_after_many_calls.py").read_text()
    # The first request asks for n=3; the two rejections are then repaired one at a time.
    script = [fenced_answer(static), fenced_answer(runtime), fenced_answer(GOOD)]
    script += [fenced_answer(dynamic), fenced_answer(GOOD.replace("0.1", "0.15"))]
    with ScriptedLLMServer(script) as server:
        result = run_cli(
            [
                "synthesize",
                "--env",
                "CartPole-v1",
                "--model",
                "openai/m",
                "--api-base",
                server.url,
                "--iterations",
                "1",
                "--samples",
                "3",
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
            env={"OPENAI_API_KEY": secret},
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = only_run(tmp_path / "runs")
    record = json.loads((run / "iter_00" / "iteration.json").read_text())
    statuses = [r["status"] for r in record["results"]]
    assert statuses.count("rejected") == 2 and statuses.count("failed") == 1
    assert statuses.count("ok") == 2
    failed = next(r for r in record["results"] if r["status"] == "failed")
    assert "not finite" in " ".join(failed["problems"])
    rejected = [r for r in record["results"] if r["status"] == "rejected"]
    assert any("os" in " ".join(r["problems"]) for r in rejected)
    # The canary: the key never reached any file of the run, nothing was written outside.
    for path in run.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".md", ".py", ".csv"}:
            assert secret not in path.read_text(errors="replace"), path
    assert not list(Path("/tmp").glob("rewardsmith_pwned*"))
