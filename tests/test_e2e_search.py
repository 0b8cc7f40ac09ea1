"""Economical search end to end on an embedded Ray with 2 workers.

One synthesis with four scripted candidates: an equivalent (scaled) twin trains zero
times, a crashing reward fails alone, successive halving continues
the survivor from its checkpoint, and a second identical run is answered from the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import fenced_answer, run_cli
from tests.llm_server import ScriptedLLMServer

# One Ray test at a time under pytest-xdist: each starts its own cluster, and one checks
# that no embedded cluster is left in the temp folder.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

UPRIGHT = """
import numpy as np

def compute_reward(pole_angle, action):
    up = 1.0 - np.abs(pole_angle) / 0.21
    return up, {"up": up}
"""
UPRIGHT_SCALED = """
import numpy as np

def compute_reward(pole_angle, action):
    up = 3.0 * (1.0 - np.abs(pole_angle) / 0.21)
    return up, {"up3": up}
"""
CENTRED = """
import numpy as np

def compute_reward(pole_angle, cart_position):
    up = np.exp(-(pole_angle / 0.1) ** 2)
    mid = 0.5 * np.exp(-cart_position ** 2)
    return up + mid, {"up": up, "mid": mid}
"""
CRASHES_IN_TRAINING = """
import numpy as np

CALLS = [0]

def compute_reward(pole_angle):
    CALLS[0] += 1
    up = 1.0 - np.abs(pole_angle)
    if CALLS[0] > 150:
        up = up * np.nan
    return up, {"up": up}
"""
# (Identical code never gets this far: the designer drops it; test_result_cache covers it.)
SCRIPT = [UPRIGHT, UPRIGHT_SCALED, CENTRED, CRASHES_IN_TRAINING]
BUDGET = 8_000


def _synthesize(tmp_path: Path, url: str) -> tuple[str, Path]:
    result = run_cli(
        [
            "synthesize",
            "--env",
            "CartPole-v1",
            "--model",
            "openai/test-model",
            "--api-base",
            url,
            "--iterations",
            "1",
            "--samples",
            "4",
            "--budget",
            str(BUDGET),
            "--eval-seeds",
            "0",
            "--confirm-seeds",
            "0",
            "--executor",
            "ray",
            "--workers",
            "2",
            "--out",
            "runs",
        ],
        cwd=tmp_path,
        env={"OPENAI_API_KEY": "sk-test-dummy"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))
    return result.stdout, runs[-1]


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_dedup_halving_crash_and_cache_on_ray(tmp_path: Path) -> None:
    with ScriptedLLMServer([fenced_answer(c) for c in SCRIPT] * 2) as server:
        stdout, run = _synthesize(tmp_path, server.url)
        it = run / "iter_00"
        fit = {i: _read(it / f"cand_{i:02d}" / "fitness.json") for i in range(4)}

        # The scaled twin never trained (no rung file, no policy): it shares cand 0's result.
        assert not (it / "cand_01" / "rung.json").exists()
        assert not (it / "cand_01" / "policy.zip").exists()
        notes = " ".join(fit[1]["problems"])
        assert "equivalent for learning to candidate 0" in notes, notes
        assert fit[1]["fitness"] == fit[0]["fitness"]
        assert "1 candidate(s) duplicate another" in stdout

        # The crash fails its candidate only.
        assert fit[3]["status"] == "failed"
        assert "finite" in " ".join(fit[3]["problems"])

        # Successive halving: of the two trainable leaders one is pruned at the first rung,
        # the other continues its own checkpoint (not from scratch) to the full budget.
        rungs = {i: _read(it / f"cand_{i:02d}" / "rung.json") for i in (0, 2)}
        survivor = next(i for i in (0, 2) if not fit[i]["pruned"])
        pruned = 2 if survivor == 0 else 0
        assert fit[pruned]["pruned"] and rungs[pruned]["rung"] == 0
        assert fit[pruned]["steps"] < BUDGET / 2
        assert rungs[survivor]["rung"] == 2 and fit[survivor]["steps"] >= BUDGET
        assert 0 < rungs[survivor]["resumed_from_steps"] < BUDGET
        assert rungs[survivor]["resumed_from_steps"] >= rungs[survivor]["steps"] / 2
        steps_trace = [
            float(line.split(",")[0])
            for line in (it / f"cand_{survivor:02d}" / "metrics.csv").read_text().splitlines()[1:]
        ]
        assert steps_trace == sorted(steps_trace) and steps_trace[0] < BUDGET / 4 + 512
        assert steps_trace[-1] >= BUDGET

        # The same synthesis again: every training comes from the cache.
        _, again = _synthesize(tmp_path, server.url)
    it2 = again / "iter_00"
    for i in (0, 2):
        rung = _read(it2 / f"cand_{i:02d}" / "rung.json")
        assert rung["cache_hit"], rung
        assert _read(it2 / f"cand_{i:02d}" / "fitness.json")["fitness"] == fit[i]["fitness"]
    assert not list(tmp_path.glob("**/MUJOCO_LOG.TXT"))
