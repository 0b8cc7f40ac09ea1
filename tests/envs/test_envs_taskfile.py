"""Task files: a valid file becomes a task the worker can rebuild; bad files fail clearly."""

import json
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from rewardsmith.envs.generic import env_source, generic_task
from rewardsmith.envs.registry import (
    get_task,
    register_from_job,
    resolve_task,
    task_job_fields,
)
from rewardsmith.envs.taskfile import load_task_file, load_task_text
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.errors import UserError
from tests.helpers import run_cli

GOOD = """\
[task]
id = "CheetahPitchTest"
env = "HalfCheetah-v5"
adapter = "HalfCheetah-v5"
description = "Flip over backwards."

[[fields]]
name = "nose_height"
expr = "geom_pos('head')[2]"
unit = "m"
meaning = "Height of the head geom"
tags = ["height"]

[[fields]]
name = "pitch_from_joint"
expr = "joint_qpos('rooty')"
unit = "rad"

[fitness]
name = "flip"
expr = "prev['pitch_from_joint'] - pitch_from_joint"
aggregate = "sum"
success_threshold = 6.28
meaning = "Radians rotated backwards."

[presets.smoke]
total_timesteps = 8192
ppo = { learning_rate = 1e-3 }
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


def test_a_valid_file_adds_fields_fitness_and_presets(tmp_path):
    path = tmp_path / "flip.toml"
    path.write_text(GOOD)
    spec = load_task_file(path)
    assert spec.id == "CheetahPitchTest" and get_task(spec.id) is spec
    names = [f.name for f in spec.fields]
    assert names[-2:] == ["nose_height", "pitch_from_joint"] and "x_velocity" in names
    assert spec.fitness[0].name == "flip" and spec.fitness[0].success_threshold == 6.28
    assert spec.preset("smoke").total_timesteps == 8192
    assert spec.preset("smoke").ppo["learning_rate"] == 1e-3
    env = make_task_env(spec, reward_mode="sparse")
    _, info = env.reset(seed=0)
    before = info["fields"]
    assert before["pitch_from_joint"] == before["torso_angle"]
    _, reward, *_, info = env.step(env.action_space.sample())
    after = info["fields"]
    assert reward == pytest.approx(before["pitch_from_joint"] - after["pitch_from_joint"])
    assert isinstance(after["nose_height"], float)
    env.close()


def test_the_worker_rebuilds_the_task_from_the_job(tmp_path):
    spec = load_task_text(GOOD.replace("CheetahPitchTest", "CheetahJobTest"), "job.toml")
    fields = task_job_fields(spec)
    job = json.loads(json.dumps({"kind": "train", "task": spec.id, **fields}))
    from rewardsmith.envs import registry

    registry._REGISTRY.pop(spec.id)  # as in a fresh worker process
    register_from_job(job)
    assert get_task(spec.id).fitness[0].name == "flip"
    assert task_job_fields(get_task("CartPole-v1")) == {}


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (('env = "HalfCheetah-v5"', 'env = "HalfCheeta-v5"'), 3, ["unknown env", "HalfCheetah-v5"]),
        (("geom_pos('head')", "geom_pos('haed')"), 9, ["unknown geom name 'haed'", "'head'"]),
        (("joint_qpos('rooty')", "joint_qpos('rooty'"), 16, ["malformed expression"]),
        (
            ("prev['pitch_from_joint']", "prev['pitch_from_joint'] + pich"),
            21,
            ["unknown name 'pich'"],
        ),
        (('aggregate = "sum"', 'aggregate = "median"'), 22, ["aggregate 'median'"]),
        (("tags = [", "tagz = ["), 12, ["unknown key 'tagz'", "'tags'"]),
        (('name = "nose_height"', 'name = "prev_nose"'), 8, ["starts with 'prev_'", "nose_before"]),
        (("success_threshold = 6.28", 'success_threshold = "high"'), 23, ["must be a number"]),
        (
            ("ppo = { learning_rate = 1e-3 }", 'ppo = { learning_rate = 1e-3 }\nanneal = "lr"'),
            26,
            ["anneal must be a list of setting names", '["learning_rate"]'],
        ),
        (
            (
                "ppo = { learning_rate = 1e-3 }",
                'ppo = { learning_rate = 1e-3 }\nanneal = ["gamma"]',
            ),
            26,
            ["anneals 'gamma'", "only learning_rate and clip_range"],
        ),
        # A built-in's id would replace it for the whole process and share its baselines.
        (
            ('id = "CheetahPitchTest"', 'id = "HalfCheetah-v5"'),
            2,
            ["'HalfCheetah-v5' is a built-in task's", 'id = "HalfCheetah-v5-custom"'],
        ),
    ],
)
def test_bad_files_fail_with_the_line_and_the_fix(change, line, words):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(UserError) as err:
        load_task_text(text, "bad.toml")
    message = str(err.value)
    assert message.startswith(f"bad.toml line {line}:"), message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_a_preset_may_anneal_its_learning_rate_and_clip_range(tmp_path):
    text = GOOD.replace(
        "ppo = { learning_rate = 1e-3 }",
        'ppo = { learning_rate = 1e-3 }\nanneal = ["learning_rate", "clip_range"]',
    )
    spec = load_task_text(text, "anneal.toml")
    assert spec.preset("smoke").anneal == ("learning_rate", "clip_range")
    assert spec.preset("quick").anneal == ()  # the adapter's
    quick = replace(spec.presets["quick"], anneal=("learning_rate",))
    spec = replace(spec, presets={**spec.presets, "quick": quick})
    assert spec.preset(12_345).anneal == ("learning_rate",)  # a step count rescales quick


def test_missing_fitness_and_missing_file():
    text = GOOD[: GOOD.index("[fitness]")]
    with pytest.raises(UserError, match=r"missing \[fitness\] table; add one"):
        load_task_text(text, "nofit.toml")
    with pytest.raises(UserError, match="does not exist"):
        load_task_file("nowhere.toml")
    with pytest.raises(UserError, match="malformed TOML"):
        load_task_text("[task\nenv = 1", "broken.toml")
    with pytest.raises(UserError, match="no task given"):
        resolve_task(None, None)
    # One line that says where, as for TOML (PyYAML's own message spans four).
    with pytest.raises(UserError) as err:
        load_task_text("task:\n  env: Hopper-v5\n  description: [oops\n", "broken.yaml")
    assert str(err.value) == (
        "broken.yaml line 4: malformed YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence)"
    )


def test_mujoco_names_on_another_env_are_refused_before_a_step():
    text = (
        '[task]\nid = "SwingTest"\nenv = "Pendulum-v1"\n[fitness]\nname = "f"\n'
        'expr = "data.qpos[0]"\naggregate = "sum"\nsuccess_threshold = 1\n'
    )
    with pytest.raises(UserError) as err:
        load_task_text(text, "swing.toml")
    assert str(err.value) == (
        "swing.toml line 6: 'data' needs a MuJoCo env; Pendulum-v1 is not one "
        "(read obs, info, action or env instead)"
    )
    with pytest.raises(UserError) as err:
        load_task_text(text.replace("data.qpos[0]", "obs[7]"), "swing.toml")
    assert str(err.value).endswith(
        "(it may read the fields, prev, native and the step's obs, info, action, env)"
    )


def test_a_folder_or_binary_file_named_as_a_task_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"task file '.*' is a folder; pass the path to a \.toml"):
        load_task_file(tmp_path)
    binary = tmp_path / "task.toml"
    binary.write_bytes(bytes(range(128, 256)))
    with pytest.raises(UserError, match=r"cannot be read \(not UTF-8 text\)"):
        load_task_file(binary)


def test_generic_task_from_observation_names_and_yaml():
    text = textwrap.dedent(
        """\
        task:
          id: PendulumNamedTest
          env: Pendulum-v1
          obs_names: [cos_theta, sin_theta, theta_dot]
        fitness:
          expr: "cos_theta"
          aggregate: mean
          success_threshold: 0.8
        """
    )
    spec = load_task_text(text, "pendulum.yaml")
    assert [f.name for f in spec.fields] == ["cos_theta", "sin_theta", "theta_dot", "time"]
    env = make_task_env(spec, reward_mode="sparse")
    obs, info = env.reset(seed=0)
    assert np.allclose([info["fields"][n] for n in ("cos_theta", "sin_theta", "theta_dot")], obs)
    env.close()


def test_any_gymnasium_env_gets_a_generic_task_with_its_source():
    spec = get_task("CliffWalking-v1")
    assert spec.family == "generic" and [f.name for f in spec.fields] == ["observation", "time"]
    assert "Discrete(4)" in spec.action_meaning
    spec = generic_task("Acrobot-v1", task_id="AcrobotGenericTest")
    source = env_source(spec)
    assert "def step(self, a)" in source and "#" not in source.split("\n", 1)[1]
    assert '"""' not in source


def test_an_env_that_cannot_be_made_here_is_one_line_with_the_fix(tmp_path):
    import importlib.util

    with pytest.raises(UserError) as err:
        get_task("Hopper-v3")  # registered by gymnasium, needs mujoco-py
    message = str(err.value)
    assert message.startswith("env 'Hopper-v3' cannot be made here: The mujoco v2 and v3")
    assert message.endswith("; use Hopper-v5") and "\n" not in message
    if importlib.util.find_spec("jax") is None:
        with pytest.raises(UserError, match=r"install the package that provides 'jax'$"):
            get_task("phys2d/CartPole-v1")
    kwargs = 'description = "Flip over backwards."\nenv_kwargs = {wobble = 1}\n'
    text = GOOD.replace('description = "Flip over backwards."\n', kwargs)
    assert text != GOOD
    for name, body in (("adapted.toml", text), ("plain.toml", text.replace("adapter", "#"))):
        with pytest.raises(UserError) as err:
            load_task_text(body.replace("CheetahPitchTest", f"Kwargs{len(name)}Test"), name)
        message = str(err.value)
        line = body.splitlines().index("env_kwargs = {wobble = 1}") + 1
        assert message.startswith(f"{name} line {line}: env 'HalfCheetah-v5' cannot be made here")
        assert "unexpected keyword argument 'wobble'" in message
        assert message.endswith("; remove or rename that keyword in env_kwargs")
    result = run_cli(["tasks", "--describe", "Hopper-v3"], cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "use Hopper-v5" in result.stderr


METHODS_TASK = """\
[task]
id = "PendulumMethodsTest"
env = "Pendulum-v1"
obs_names = ["c", "s", "w"]

[[fields]]
name = "trig_total"
expr = "obs[:2].sum()"

[fitness]
expr = "abs(obs).max() - obs.mean()"
aggregate = "mean"
success_threshold = 1
"""


def test_expressions_may_call_array_methods_in_a_fresh_process(tmp_path):
    # ``obs[:2].sum()`` made numpy import a helper through the expression's builtins, which
    # have no ``__import__``: "KeyError: '__import__'" in any process that had not yet
    # called the method elsewhere (the CLI's, a worker's).
    (tmp_path / "methods.toml").write_text(METHODS_TASK)
    result = run_cli(["tasks", "--task-file", "methods.toml"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trig_total" in result.stdout


def test_ends_early_is_inherited_declared_and_checked_on_a_rollout():
    spec = load_task_text(GOOD.replace("CheetahPitchTest", "CheetahEndsTest"), "ends.toml")
    assert spec.ends_early is False  # HalfCheetah's episodes all last 1000 steps
    hopper = (
        GOOD.replace("CheetahPitchTest", "HopperEndsTest")
        .replace('env = "HalfCheetah-v5"', 'env = "Hopper-v5"')
        .replace('adapter = "HalfCheetah-v5"', 'adapter = "Hopper-v5"')
        .replace("geom_pos('head')", "geom_pos('torso_geom')")
    )
    assert load_task_text(hopper, "hop.toml").ends_early is True
    claimed = hopper.replace('adapter = "Hopper-v5"', 'adapter = "Hopper-v5"\nends_early = false')
    with pytest.raises(UserError) as err:
        load_task_text(claimed.replace("HopperEndsTest", "HopperClaimTest"), "claim.toml")
    assert str(err.value).startswith("claim.toml line 5: ends_early = false, but a random")
    assert "set ends_early = true" in str(err.value)
    adapter = 'adapter = "HalfCheetah-v5"'
    flagged = GOOD.replace(adapter, adapter + '\nnative_reward = "no"')
    with pytest.raises(UserError, match="line 5: native_reward must be true or false, got 'no'"):
        load_task_text(flagged, "flag.toml")


def test_every_builtin_declares_ends_early_as_its_termination_text_says():
    from rewardsmith.envs.registry import all_tasks

    for spec in all_tasks():
        assert spec.ends_early == ("never end" not in spec.termination), spec.id


def test_a_builtin_env_gets_its_own_adapter_unless_the_file_changes_the_env():
    # A file on Hopper-v5 means Hopper's named fields and tuned presets, not the raw
    # observation and generic presets, unless it asks for the env otherwise.
    plain = GOOD.replace('adapter = "HalfCheetah-v5"\n', "").replace("Test", "DefaultTest")
    spec = load_task_text(plain, "plain.toml")
    names = [f.name for f in spec.fields]
    assert "x_velocity" in names and "observation" not in names and "nose_height" in names
    assert spec.presets["full"] == get_task("HalfCheetah-v5").presets["full"]
    off = plain.replace('env = "HalfCheetah-v5"', 'env = "HalfCheetah-v5"\nadapter = false')
    raw = load_task_text(off.replace("DefaultTest", "NoAdapterTest"), "off.toml")
    assert "observation" in [f.name for f in raw.fields]
    assert "x_velocity" not in [f.name for f in raw.fields]
    changed = plain.replace(
        'env = "HalfCheetah-v5"', 'env = "HalfCheetah-v5"\nenv_kwargs = { reset_noise_scale = 0.2 }'
    )
    kwargs_spec = load_task_text(changed.replace("DefaultTest", "KwargsTest"), "kw.toml")
    assert "observation" in [f.name for f in kwargs_spec.fields]
    wrong = plain.replace('env = "HalfCheetah-v5"', 'env = "HalfCheetah-v5"\nadapter = 3')
    with pytest.raises(UserError, match="line 4: adapter must be a built-in task id or false"):
        load_task_text(wrong.replace("DefaultTest", "WrongTest"), "wrong.toml")


def test_a_field_the_adapter_already_has_says_how_to_keep_it():
    clash = GOOD.replace('name = "nose_height"', 'name = "x_velocity"').replace(
        "CheetahPitchTest", "CheetahClashTest"
    )
    with pytest.raises(UserError) as err:
        load_task_text(clash, "clash.toml")
    message = str(err.value)
    assert message.startswith("clash.toml line 8: field 'x_velocity' is already a field of")
    assert "adapter = false" in message
