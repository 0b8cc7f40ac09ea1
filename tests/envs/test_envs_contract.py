"""Every built-in task works as a gymnasium env with a synthesised reward, and its field
extractor keeps the export contract (only ``np``, ``math`` and ``fieldlib`` as globals)."""

import inspect
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

from rewardsmith.agent.designer import DesignContext
from rewardsmith.agent.offline import OfflineDesigner
from rewardsmith.envs import all_tasks, fieldlib
from rewardsmith.envs.wrapper import make_task_env

BUILTINS = [s for s in all_tasks() if s.family in ("classic", "mujoco", "box2d")]
ALLOWED_GLOBALS = {"np": np, "math": math, "fl": fieldlib}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the cwd


class SynthRewardEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """One task env whose reward is a synthesised ``compute_reward`` on its fields."""

    def __init__(self, env, source: str) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, source=source)
        super().__init__(env)
        namespace: dict = {}
        exec(compile(source, "<reward>", "exec"), namespace)  # our own generated code
        self._reward = namespace["compute_reward"]
        self._params = list(inspect.signature(self._reward).parameters)

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        batch = {k: np.asarray(v, dtype=np.float64)[None] for k, v in info["fields"].items()}
        batch |= {
            f"prev_{k}": np.asarray(v, dtype=np.float64)[None]
            for k, v in info["prev_fields"].items()
        }
        batch["action"] = np.asarray(action)[None]
        reward, components = self._reward(**{p: batch[p] for p in self._params})
        assert np.shape(reward) == (1,) and all(np.shape(c) == (1,) for c in components.values())
        return obs, float(reward[0]), terminated, truncated, info


def _sample_source(spec) -> str:
    ctx = DesignContext(spec, spec.description, spec.fitness[0], 0)
    return OfflineDesigner().propose(ctx, [], n=1).candidates[0].source


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.id)
def test_check_env_passes_with_a_synthesised_reward(spec):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = SynthRewardEnv(make_task_env(spec, reward_mode="candidate"), _sample_source(spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # render-mode and float-precision notices
        check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=False)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert math.isfinite(reward)
    env.close()


def _global_names(func) -> set[str]:
    code = func.__code__
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= set(const.co_names)
    return names


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.id)
def test_extractors_keep_the_export_contract(spec):
    extract = spec.extract
    assert inspect.isfunction(extract) and extract.__qualname__ == extract.__name__
    referenced = inspect.getclosurevars(extract)
    assert not referenced.nonlocals
    assert set(referenced.globals) <= set(ALLOWED_GLOBALS), referenced.globals.keys()
    for name, value in referenced.globals.items():
        assert value is ALLOWED_GLOBALS[name]
    # The source alone, with np/math/fieldlib, rebuilds a working extractor.
    namespace = dict(ALLOWED_GLOBALS)
    # Annotations stay strings, as in the package's modules.
    source = "from __future__ import annotations\n" + inspect.getsource(extract)
    exec(compile(source, "<export>", "exec"), namespace)
    env = gym.make(spec.env_id, **dict(spec.env_kwargs))
    obs, _ = env.reset(seed=0)
    copy = namespace[extract.__name__](env.unwrapped, obs, None)
    env.reset(seed=0)
    original = extract(env.unwrapped, obs, None)
    assert copy.keys() == original.keys()
    for key, value in original.items():
        assert np.allclose(copy[key], value), key
    env.close()


def test_fieldlib_depends_only_on_numpy_and_math():
    source = inspect.getsource(fieldlib)
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == [
        "from __future__ import annotations",
        "import math",
        "from typing import Any",
        "import numpy as np",
    ]


def test_free_root_orientation():
    # A quarter turn about z: yaw pi/2, level, up-vector straight up, yaw rate = local z rate.
    q = [math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]
    qpos = np.array([1.0, 2.0, 0.5, *q, 0.1])
    qvel = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.7, 0.2])
    root = fieldlib.free_root(qpos, qvel)
    assert root["yaw"] == pytest.approx(math.pi / 2)
    assert root["pitch"] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(root["up_vector"], [0, 0, 1])
    assert root["yaw_rate"] == pytest.approx(0.7)
    # Pitched 90 degrees nose-down about y: the up vector points along +x.
    q = [math.cos(math.pi / 4), 0.0, math.sin(math.pi / 4), 0.0]
    root = fieldlib.free_root(np.array([0, 0, 0, *q, 0.0]), np.zeros(7))
    assert np.allclose(root["up_vector"], [1, 0, 0])
    assert root["torso_upright"] == pytest.approx(0.0, abs=1e-12)
