"""One end-to-end training per family: an offline candidate trained by the sandboxed worker."""

import pytest

from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.offline import OfflineDesigner
from rewardsmith.envs.registry import get_task, task_job_fields
from rewardsmith.envs.taskfile import load_task_text

TASK_FILE = """\
[task]
id = "PendulumFileTrainTest"
env = "Pendulum-v1"
adapter = "Pendulum-v1"

[[fields]]
name = "speed"
expr = "abs(obs[2])"
unit = "rad/s"
meaning = "Absolute angular velocity"

[fitness]
name = "calm"
expr = "1.0 if speed < 1.0 else 0.0"
aggregate = "mean"
success_threshold = 0.5
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


def _user_module_task(tmp_path):
    from rewardsmith.envs.taskfile import load_task_file
    from tests.envs.test_envs_user_modules import write_user_task

    # The module sits beside the task file, away from the worker's own folder.
    return load_task_file(write_user_task(tmp_path / "mine", "umod_train", "TrainWalk"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "task_id",
    ["CartPoleHoldX-v1", "HalfCheetahBackward-v5", "LunarLanderLeft-v3", "file", "user module"],
)
def test_a_smoke_candidate_trains_end_to_end(task_id, tmp_path):
    from rewardsmith.sandbox.runner import Limits
    from rewardsmith.train.jobs import run_job

    if task_id == "user module":
        spec = _user_module_task(tmp_path)
    else:
        spec = load_task_text(TASK_FILE, "calm.toml") if task_id == "file" else get_task(task_id)
    ctx = DesignContext(spec, spec.description, spec.fitness[0], 0)
    candidate = OfflineDesigner().propose(ctx, [], n=1).candidates[0]
    preset = spec.preset("smoke")
    steps = 2 * preset.n_envs * int(preset.ppo["n_steps"])  # two updates: wiring, not skill
    job = {
        "kind": "train",
        "task": spec.id,
        **task_job_fields(spec),
        "fitness": spec.fitness[0].name,
        "budget": "smoke",
        "steps": steps,
        "seed": 0,
        "reward": {"mode": "candidate", "source": candidate.source},
        "save_policy": False,
    }
    outcome = run_job(job, Limits.for_training(300.0), keep_dir=tmp_path / "out")
    assert outcome.ok, outcome.error + outcome.stderr_tail
    result = outcome.result
    assert result["steps"] >= steps
    assert result["fitness"] is not None
    assert set(result["component_trace"]) == {
        t["name"] for t in candidate.origin["genome"]["terms"]
    }
