"""The user's own env modules: ``module:Class`` and ``module:Name-v0`` beside a task file or
in the folder rewardsmith runs from, and fitness expressions over the step itself."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rewardsmith.envs.generic import DEFAULT_EPISODE_STEPS
from rewardsmith.envs.imports import IMPORT_PATHS_KEY, user_import_paths
from rewardsmith.envs.registry import get_task, register_from_job, task_job_fields
from rewardsmith.envs.taskfile import load_task_file, load_task_text
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.errors import UserError
from tests.envs.test_envs_taskfile import GOOD
from tests.helpers import REPO, run_cli

# A one-dimensional walker: the action moves x; the env's reward is -|x - 1|.
MODULE = """\
import gymnasium as gym
import numpy as np


class {cls}(gym.Env):
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x, 0.0], dtype=np.float32), {{}}

    def step(self, action):
        push = float(np.clip(action[0], -1.0, 1.0))
        self.x += 0.1 * push
        obs = np.array([self.x, push], dtype=np.float32)
        return obs, -abs(self.x - 1.0), False, False, {{"x": self.x}}


gym.register("{cls}-v0", entry_point="{module}:{cls}", max_episode_steps=50)
"""

TASK = """\
[task]
id = "{task_id}"
env = "{module}:{cls}"
description = "Walk to x = 1 and stay there."
max_episode_steps = 50

[fitness]
name = "near_one"
expr = "1.0 if abs(obs[0] - 1.0) < 0.2 and info['x'] > 0 else 0.0"
aggregate = "mean"
success_threshold = 0.5
"""


def _write_module(folder: Path, module: str, cls: str) -> None:
    (folder / f"{module}.py").write_text(MODULE.format(module=module, cls=cls))


def write_user_task(folder: Path, module: str, cls: str) -> Path:
    """``folder`` (made) holding ``module.py`` and ``walk.toml``, whose task is ``cls``Task."""
    folder.mkdir()
    _write_module(folder, module, cls)
    path = folder / "walk.toml"
    path.write_text(TASK.format(task_id=f"{cls}Task", module=module, cls=cls))
    return path


def test_a_module_beside_the_task_file_is_found_from_another_folder(tmp_path, monkeypatch):
    path = write_user_task(tmp_path / "mytask", "umod_beside", "BesideWalk")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load_task_file(path)
    assert spec.id == "BesideWalkTask"
    # The fitness reads the step's obs and info, which are not fields of this task.
    env = make_task_env(spec, reward_mode="sparse")
    env.reset(seed=0)
    rewards = [env.step([1.0])[1] for _ in range(11)]
    env.close()
    assert rewards[0] == 0.0 and rewards[-1] == 1.0  # x = 0.1, then x = 1.1
    fields = task_job_fields(spec)
    assert fields[IMPORT_PATHS_KEY][0] == str(path.parent.resolve())
    # Only an expression that names the step is handed it (a per-step cost otherwise).
    assert spec.fitness[0].step.takes_step
    over_fields = load_task_text(GOOD.replace("CheetahPitchTest", "CheetahStepTest"), "s.toml")
    assert not over_fields.fitness[0].step.takes_step


def test_time_limits_and_an_unimportable_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_module(tmp_path, "umod_limits", "LimitWalk")
    text = TASK.format(task_id="LimitWalkTask", module="umod_limits", cls="LimitWalk")
    # Evaluation plays whole episodes: an env with no limit of its own gets the default.
    spec = load_task_text(text.replace("max_episode_steps = 50\n", ""), "walk.toml")
    assert spec.env_kwargs == {"max_episode_steps": DEFAULT_EPISODE_STEPS}
    env = make_task_env(spec)
    assert env.spec.max_episode_steps == DEFAULT_EPISODE_STEPS
    env.close()
    assert load_task_text(text, "walk.toml").env_kwargs == {"max_episode_steps": 50}
    assert "cut off after 1000 steps" in get_task("CliffWalking-v1").termination
    with pytest.raises(UserError, match="line 5: max_episode_steps must be a whole number"):
        load_task_text(text.replace("= 50", "= 0.5"), "walk.toml")
    with pytest.raises(UserError) as err:
        load_task_text(text.replace("umod_limits:", "umod_nowhere:"), "walk.toml")
    message = str(err.value)
    # The same wording as ``--env``'s, at the line of ``env``.
    assert message.startswith(
        "walk.toml line 3: env 'umod_nowhere:LimitWalk': cannot import module 'umod_nowhere'"
    )
    assert str(tmp_path.resolve()) in message and "PYTHONPATH" in message
    assert "\n" not in message
    # A module that imports but registers no such id.
    with pytest.raises(UserError, match=r"line 3: .*registered no id 'Nope-v0'"):
        load_task_text(text.replace("umod_limits:LimitWalk", "umod_limits:Nope-v0"), "walk.toml")
    # Something in the module that is neither an env class nor a function.
    with pytest.raises(UserError, match=r"line 3: .*'np' is not a gymnasium env class"):
        load_task_text(text.replace("umod_limits:LimitWalk", "umod_limits:np"), "walk.toml")


def test_module_id_for_env_like_gymnasium_make(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_module(tmp_path, "umod_ids", "IdWalk")
    spec = get_task("umod_ids:IdWalk-v0")
    assert [f.name for f in spec.fields] == ["observation", "time"]
    assert task_job_fields(spec) == {IMPORT_PATHS_KEY: list(user_import_paths())}
    with pytest.raises(UserError, match="cannot import module 'umod_absent'"):
        get_task("umod_absent:IdWalk-v0")
    # Suggestions come from gymnasium's registry too, not only the built-in tasks.
    with pytest.raises(UserError, match="did you mean Taxi-v4"):
        get_task("Taxi-v3")


def test_env_class_for_env_like_a_task_file(tmp_path, monkeypatch):
    # ``--env my_envs:MyRobot`` names the class, as ``env = "my_envs:MyRobot"`` does.
    monkeypatch.chdir(tmp_path)
    _write_module(tmp_path, "umod_cls", "ClassWalk")
    spec = get_task("umod_cls:ClassWalk")
    assert spec.id == "umod_cls:ClassWalk" and spec.env_id == "rewardsmith/ClassWalk-v0"
    assert [f.name for f in spec.fields] == ["observation", "time"]
    assert "Maximise the return of umod_cls:ClassWalk" in spec.description
    env = make_task_env(spec, reward_mode="native")
    env.reset(seed=0)
    assert env.step([1.0])[1] == pytest.approx(-0.9)
    env.close()
    with pytest.raises(UserError) as err:
        get_task("umod_cls:Nothing")
    message = str(err.value)
    assert message.startswith("env 'umod_cls:Nothing': importing 'umod_cls' registered no id")
    assert "(module:EnvClass)" in message
    assert _in_a_worker(spec, "env_id", tmp_path) == "rewardsmith/ClassWalk-v0"


def test_a_function_that_returns_the_env_is_an_entry_point(tmp_path, monkeypatch):
    # gymnasium's entry points may be functions; ``--env`` and a task file both take one.
    monkeypatch.chdir(tmp_path)
    _write_module(tmp_path, "umod_fn", "FnWalk")
    with (tmp_path / "umod_fn.py").open("a") as module:
        module.write("\n\ndef make_walker(**kwargs):\n    return FnWalk()\n")
    spec = get_task("umod_fn:make_walker")
    assert spec.env_id == "rewardsmith/make_walker-v0"
    env = make_task_env(spec, reward_mode="native")
    env.reset(seed=0)
    assert env.step([1.0])[1] == pytest.approx(-0.9)
    env.close()
    text = TASK.format(task_id="FnWalkTask", module="umod_fn", cls="make_walker")
    assert load_task_text(text, "walk.toml").env_id == "rewardsmith/make_walker-v0"


def _in_a_worker(spec, attribute: str, tmp_path) -> str:
    """``get_task(spec.id).<attribute>`` in a fresh process in another folder, as a
    sandboxed worker sees the task: through its job alone."""
    job = json.loads(json.dumps({"task": spec.id, **task_job_fields(spec)}))
    code = textwrap.dedent(
        f"""
        import json
        from rewardsmith.envs.registry import get_task, register_from_job
        register_from_job(json.loads({json.dumps(json.dumps(job))}))
        print(get_task({spec.id!r}).{attribute})
        """
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=scratch,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_worker_process_finds_the_module_through_the_job(tmp_path, monkeypatch):
    path = write_user_task(tmp_path / "mytask", "umod_worker", "WorkerWalk")
    monkeypatch.chdir(tmp_path)
    spec = load_task_file(path)
    assert _in_a_worker(spec, "fitness[0].name", tmp_path) == "near_one"
    register_from_job({})  # nothing to do for a job without user modules


def test_cli_messages_keep_their_brackets(tmp_path):
    # The CLI prints with rich: "[fitness]" must not be read as markup and vanish.
    path = tmp_path / "nofit.toml"
    path.write_text('[task]\nenv = "CartPole-v1"\n')
    result = run_cli(["tasks", "--task-file", str(path)], cwd=tmp_path)
    assert result.returncode == 2
    assert "missing [fitness] table" in result.stderr


def test_describe_a_module_id_from_the_cli(tmp_path):
    _write_module(tmp_path, "umod_cli", "CliWalk")
    result = run_cli(["tasks", "--describe", "umod_cli:CliWalk-v0"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "observation" in result.stdout and "self.x += 0.1 * push" in result.stdout
    # Registered without a reward_threshold: no success is made up for it.
    assert "none declared" in result.stdout


def test_an_id_of_a_package_not_imported_names_the_package_not_a_lookalike():
    # "did you mean Ant-v5?" for ALE/Pong-v5 sends the user the wrong way.
    with pytest.raises(UserError) as err:
        get_task("ALE/Pong-v5")
    message = str(err.value)
    assert "ALE/* ids are registered by ale-py when imported" in message
    assert "ale_py:ALE/Pong-v5" in message
    assert "did you mean" not in message
    with pytest.raises(UserError, match="no installed package has registered ids under Foo/"):
        get_task("Foo/Bar-v0")
    text = TASK.format(task_id="PongTask", module="ale_py", cls="x").replace(
        'env = "ale_py:x"', 'env = "MiniGrid-Empty-5x5-v0"'
    )
    with pytest.raises(UserError, match=r"line 3: unknown env .*minigrid:MiniGrid-Empty-5x5-v0"):
        load_task_text(text, "pong.toml")


def test_a_fitness_or_env_that_fails_on_a_real_step_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_module(tmp_path, "umod_fail", "FailWalk")
    with (tmp_path / "umod_fail.py").open("a") as module:
        module.write(
            "\n\ndef broken_fitness(fields, prev, native, **step):\n"
            "    return fields['nope']\n\n\n"
            "class Crashing(FailWalk):\n"
            "    def step(self, action):\n"
            "        raise RuntimeError('motor driver lost')\n"
        )
    text = TASK.format(task_id="FailTask", module="umod_fail", cls="FailWalk")
    by_function = text.replace(
        "expr = \"1.0 if abs(obs[0] - 1.0) < 0.2 and info['x'] > 0 else 0.0\"",
        'function = "umod_fail:broken_fitness"',
    )
    with pytest.raises(UserError) as err:
        load_task_text(by_function, "walk.toml")
    assert str(err.value).startswith(
        "walk.toml line 9: fitness 'umod_fail:broken_fitness' failed on a real step: "
        "KeyError: 'nope'"
    )
    by_expr = text.replace("abs(obs[0] - 1.0)", "1 / 0").replace("FailTask", "FailExprTask")
    with pytest.raises(UserError, match=r"line 9: fitness .* ZeroDivisionError"):
        load_task_text(by_expr, "walk.toml")
    crashing = text.replace("umod_fail:FailWalk", "umod_fail:Crashing").replace(
        "FailTask", "CrashTask"
    )
    with pytest.raises(UserError, match=r"the env's step failed .*motor driver lost"):
        load_task_text(crashing, "walk.toml")
