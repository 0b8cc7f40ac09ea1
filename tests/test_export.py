"""`rewardsmith export`: a standalone reward module that trains outside rewardsmith."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from rewardsmith.envs.registry import all_tasks, get_task
from rewardsmith.export import ExportError, extractor_source
from tests.helpers import run_cli
from tests.report.tiny_run import tiny_run

# Makes rewardsmith (and, where asked, SB3/torch) unimportable, then runs the given code.
BLOCKER = """
import sys
BLOCKED = set(sys.argv[1].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Blocker())
sys.path.insert(0, sys.argv[2])
exec(sys.argv[3])
"""


def _outside(code: str, folder: Path, blocked: str = "rewardsmith", timeout: float = 300) -> dict:
    """Run ``code`` in a fresh isolated interpreter without rewardsmith; return its JSON."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER, blocked, str(folder), code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# The tests of the exported tiny run share one pytest-xdist worker with the report's,
# which builds the tiny run once for them all.
TINY = pytest.mark.xdist_group("tiny_run")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tiny_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("export") / "my_reward.py"
    proc = run_cli(["export", str(run), "-o", str(out)], cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    return out


@pytest.mark.slow
@TINY
def test_exported_module_needs_only_numpy_and_gymnasium(exported: Path) -> None:
    code = """
import json, sys, gymnasium as gym, my_reward as m
env = m.SynthesizedReward(gym.make(m.ENV_ID, **m.ENV_KWARGS))
obs, info = env.reset(seed=3)
total = 0.0
for _ in range(20):
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    total += reward
    if terminated or truncated:
        break
heavy = [n for n in ("rewardsmith", "stable_baselines3", "torch") if n in sys.modules]
star = {}
exec("from my_reward import *", star)
print(json.dumps({"total": total, "components": sorted(info["reward_components"]),
                  "heavy": heavy, "doc": m.__doc__, "fitness": m.FITNESS,
                  "star": sorted(k for k in star if k != "__builtins__")}))
"""
    seen = _outside(code, exported.parent, "rewardsmith,stable_baselines3,torch")
    assert seen["heavy"] == []
    assert seen["total"] > 0 and seen["components"]
    assert "Source run:" in seen["doc"] and "balance_steps" in seen["doc"]
    # Its usage imports it by the name it was written under, so it can be pasted.
    assert "from my_reward import ENV_ID, ENV_KWARGS, SynthesizedReward" in seen["doc"]
    assert seen["fitness"]["measure"] == "balance_steps"
    # A star import gives the documented names, not the field extractor's helpers.
    assert "SynthesizedReward" in seen["star"] and "compute_reward" in seen["star"]
    assert not {"gather", "fl", "np", "gym"} & set(seen["star"])


@pytest.mark.slow
@TINY
def test_exported_reward_matches_rewardsmith_on_the_same_states(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gymnasium as gym

    from rewardsmith.envs.wrapper import make_task_env
    from rewardsmith.sandbox.loader import load_reward
    from rewardsmith.train.contract import call_reward, reward_parameters

    monkeypatch.syspath_prepend(str(exported.parent))
    module = __import__(exported.stem)
    spec = get_task("CartPole-v1")
    source = (tiny_reward_dir(exported) / "reward.py").read_text()
    fn, params = load_reward(source), reward_parameters(source)
    ours = make_task_env(spec)
    theirs = module.SynthesizedReward(gym.make("CartPole-v1"))
    ours.reset(seed=5)
    theirs.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(30):
        action = int(rng.integers(2))
        _, _, done, trunc, info = ours.step(action)
        _, reward, done2, trunc2, info2 = theirs.step(action)
        batch = {k: np.asarray([v], dtype=np.float64) for k, v in info["fields"].items()}
        expected, _ = call_reward(fn, batch, np.asarray([action]), params)
        assert info2["fields"] == info["fields"]
        assert reward == pytest.approx(float(expected[0]))
        assert (done, trunc) == (done2, trunc2)
        if done or trunc:
            break


def tiny_reward_dir(exported: Path) -> Path:
    doc = exported.read_text().split("Source run: ", 1)[1]
    return Path(doc.split(" (designed", 1)[0]) / "best"


@pytest.mark.slow
@TINY
def test_an_exported_reward_reads_fields_one_step_back(exported: Path) -> None:
    """The module's wrappers give ``prev_<field>`` as training did, one env or a batch."""
    text = exported.read_text()
    head, rest = text.split(" the reward, as trained\n", 1)
    _, tail = rest.split("\n# ---", 1)
    progress = (
        "def compute_reward(cart_position, prev_cart_position):\n"
        "    moved = cart_position - prev_cart_position\n"
        '    return moved, {"moved": moved}\n'
    )
    text = f"{head} the reward, as trained\n\n{progress}\n\n# ---{tail}"
    text = re.sub(
        r"^REWARD_PARAMETERS = .*$",
        "REWARD_PARAMETERS = ('cart_position', 'prev_cart_position')",
        text,
        flags=re.MULTILINE,
    )
    (exported.parent / "progress_reward.py").write_text(text)
    code = """
import json, gymnasium as gym, numpy as np, progress_reward as m
assert m.REWARD_PARAMETERS == ("cart_position", "prev_cart_position"), m.REWARD_PARAMETERS
env = m.SynthesizedReward(gym.make(m.ENV_ID))
obs, info = env.reset(seed=3)
errors, before = [], info["fields"]["cart_position"]
for _ in range(30):
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    errors.append(abs(reward - (info["fields"]["cart_position"] - before)))
    before = info["fields"]["cart_position"]
venv = m.make_sb3_vec_env(n_envs=2, seed=0)
venv.reset()
for _ in range(30):
    _, rewards, dones, infos = venv.step(np.array([0, 1]))
    for r, i in zip(rewards, infos):
        errors.append(abs(r - (i["fields"]["cart_position"] - i["prev_fields"]["cart_position"])))
        errors.append(float(i["prev_fields"]["cart_position"] == i["fields"]["cart_position"]))
print(json.dumps({"worst": float(max(errors))}))
"""
    assert _outside(code, exported.parent)["worst"] < 1e-6


@pytest.mark.slow
@TINY
def test_training_on_the_exported_file_alone_reaches_the_reported_fitness(
    exported: Path,
) -> None:
    code = """
import json, gymnasium as gym, numpy as np, my_reward as m
from stable_baselines3 import PPO
import torch
torch.set_num_threads(1)
seed = m.TRAINING["seeds"][0]
model = PPO(m.TRAINING["policy"], m.make_sb3_vec_env(seed=seed), seed=seed, device="cpu",
            **m.ppo_settings())
model.learn(m.TRAINING["total_timesteps"])
env = m.SynthesizedReward(gym.make(m.ENV_ID, **m.ENV_KWARGS))
lengths = []
for episode in range(10):
    obs, _ = env.reset(seed=1000 + episode)
    steps, done = 0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        steps += 1
        done = terminated or truncated
    lengths.append(steps)
print(json.dumps({"fitness": float(np.mean(lengths)), "reported": m.FITNESS["reached"],
                  "std": m.FITNESS["std"]}))
"""
    seen = _outside(code, exported.parent)
    # CartPole's fitness is the episode length; noise: other evaluation episodes, and PPO
    # across machines. A fifth of the reported value (or 3 std) is well outside it.
    tolerance = max(0.2 * seen["reported"], 3 * (seen["std"] or 0.0))
    assert seen["fitness"] >= seen["reported"] - tolerance, seen


def test_every_built_in_extractor_exports_and_reads_the_same_fields(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import gymnasium as gym

    monkeypatch.chdir(tmp_path)  # MuJoCo writes its log into the cwd
    # Tasks other tests registered from task files (expression extractors) are not built in.
    for spec in [t for t in all_tasks() if t.family not in ("custom", "generic")]:
        source, name = extractor_source(spec.extract)
        namespace: dict = {"__name__": f"exported_{name}"}
        exec(compile(source, f"<{spec.id}>", "exec"), namespace)
        standalone = namespace[name]
        assert not any(
            isinstance(v, types.ModuleType) and v.__name__.startswith("rewardsmith")
            for v in namespace.values()
        )
        try:
            env_a = gym.make(spec.env_id, **dict(spec.env_kwargs))
            env_b = gym.make(spec.env_id, **dict(spec.env_kwargs))
        except Exception:  # an env whose extra dependency is missing here
            continue
        obs_a, _ = env_a.reset(seed=1)
        obs_b, _ = env_b.reset(seed=1)
        _same(spec.extract(env_a.unwrapped, obs_a, None), standalone(env_b.unwrapped, obs_b, None))
        for _ in range(3):
            action = env_a.action_space.sample()
            obs_a, *_ = env_a.step(action)
            obs_b, *_ = env_b.step(action)
            _same(
                spec.extract(env_a.unwrapped, obs_a, action),
                standalone(env_b.unwrapped, obs_b, action),
            )
        env_a.close()
        env_b.close()


def test_task_file_and_generic_extractors_export_and_read_the_same_fields(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Expression fields (MuJoCo helpers, info), their adapter's fields, and a generic
    env's observation reader (a partial) match rewardsmith's on the same steps."""
    import gymnasium as gym

    from rewardsmith.envs.generic import generic_task
    from rewardsmith.envs.taskfile import load_task_text
    from tests.envs.test_envs_taskfile import GOOD

    monkeypatch.chdir(tmp_path)
    info_field = '\n[[fields]]\nname = "ctrl_cost"\nexpr = "info.get(\'reward_ctrl\', 0.0)"\n'
    cheetah = load_task_text(
        GOOD.replace("CheetahPitchTest", "CheetahExportTest") + info_field, "x.toml"
    )
    acrobot = generic_task("Acrobot-v1", task_id="AcrobotExportTest")
    for spec in (cheetah, acrobot):
        source, name = extractor_source(spec.extract)
        namespace: dict = {"__name__": f"exported_{name}"}
        exec(compile(source, f"<{spec.id}>", "exec"), namespace)
        standalone = namespace[name]
        takes_info = getattr(spec.extract, "takes_info", False)
        env_a = gym.make(spec.env_id, **dict(spec.env_kwargs))
        env_b = gym.make(spec.env_id, **dict(spec.env_kwargs))
        obs_a, _ = env_a.reset(seed=1)
        obs_b, _ = env_b.reset(seed=1)
        _same(spec.extract(env_a.unwrapped, obs_a, None), standalone(env_b.unwrapped, obs_b, None))
        for _ in range(3):
            action = env_a.action_space.sample()
            obs_a, _, _, _, info_a = env_a.step(action)
            obs_b, _, _, _, info_b = env_b.step(action)
            extra = ({"info": info_a}, {"info": info_b}) if takes_info else ({}, {})
            fields = spec.extract(env_a.unwrapped, obs_a, action, **extra[0])
            _same(fields, standalone(env_b.unwrapped, obs_b, action, **extra[1]))
        if takes_info:
            assert fields["ctrl_cost"] != 0.0  # read from the step's info
        env_a.close()
        env_b.close()


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def test_the_header_says_when_halving_stopped_the_chosen_reward_at_a_tie(tmp_path: Path) -> None:
    from rewardsmith.envs.registry import get_task
    from rewardsmith.export.module import _docstring

    report = {
        "fitness": "balance_steps",
        "budget": "smoke",
        "search": {"candidate": "abc", "iteration": 0, "fitness": 1000.0, "steps": 15360},
        "best": {"mean": 1000.0, "std": 0.0, "per_seed": [1000.0], "success_rate": 1.0},
    }
    spec = get_task("InvertedPendulum-v5")
    doc = " ".join(_docstring(tmp_path, {}, report, spec, "m").split())
    assert "over 1 seed(s) of PPO with budget smoke, success rate 100%" in doc
    assert "during the search: 1000 Depends" in doc
    report["search"]["pruned"] = True
    report["best"]["success_rate"] = None  # a task with no success threshold
    doc = " ".join(_docstring(tmp_path, {}, report, spec, "m").split())
    assert "budget smoke human-normalised" in doc
    assert "during the search: 1000 after 15,360 env steps (successive halving stopped it" in doc


def test_an_extractor_that_reads_other_modules_is_refused() -> None:
    namespace = {"__name__": "rewardsmith.fake", "os": os}
    exec("def extract(env, obs, action):\n    return {'cwd': os.getcwd()}\n", namespace)
    fn = namespace["extract"]
    fn.__module__ = "rewardsmith.fake"
    with pytest.raises(ExportError, match="module 'os'"):
        extractor_source(fn)


def test_export_refuses_bad_input(tmp_path: Path) -> None:
    proc = run_cli(["export", str(tmp_path), "-o", str(tmp_path / "r.py")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "run.json" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "run.json").write_text(json.dumps({"task": "CartPole-v1", "config": {}}))
    proc = run_cli(["export", str(tmp_path), "-o", str(tmp_path / "r.py")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "no best reward yet" in proc.stderr


def test_a_run_on_the_users_own_env_exports_and_runs_without_rewardsmith(tmp_path: Path) -> None:
    """The run's copy of its task file, the folders of its modules, and the env class it
    named all reach the exported module, which then works outside rewardsmith."""
    from tests.envs.test_envs_user_modules import write_user_task

    task_file = write_user_task(tmp_path / "mine", "umod_export", "ExportWalk")
    run = tmp_path / "runs" / "r1"
    (run / "best").mkdir(parents=True)
    (run / "task.toml").write_text(task_file.read_text())
    (run / "run.json").write_text(
        json.dumps(
            {
                "config": {"task_file": str(task_file), "budget": "smoke"},
                "task": "ExportWalkTask",
                "import_paths": [str(task_file.parent)],
            }
        )
    )
    (run / "best" / "report.json").write_text(
        json.dumps({"budget": "smoke", "fitness": "near_one", "search": {"fitness": 0.5}})
    )
    (run / "best" / "reward.py").write_text(
        "import numpy as np\n\n"
        "def compute_reward(observation, action):\n"
        "    near = np.exp(-np.abs(observation[:, 0] - 1.0))\n"
        "    return near, {'near': near}\n"
    )
    task_file.write_text("this file was edited since; the run's copy is what it trained on")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = elsewhere / "walk_reward.py"
    proc = run_cli(["export", str(run), "-o", str(out)], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    code = """
import json, gymnasium as gym
from walk_reward import ENV_ID, ENV_KWARGS, SynthesizedReward
env = SynthesizedReward(gym.make(ENV_ID, **ENV_KWARGS))
env.reset(seed=0)
for _ in range(10):
    _, reward, *_ , info = env.step([1.0])
print(json.dumps({"id": ENV_ID, "x": float(info["fields"]["observation"][0]), "r": reward,
                  "limit": env.spec.max_episode_steps}))
"""
    (elsewhere / "umod_export.py").write_text((task_file.parent / "umod_export.py").read_text())
    got = _outside(code, elsewhere)
    assert got["id"] == "rewardsmith/ExportWalk-v0" and got["limit"] == 50
    assert abs(got["x"] - 1.0) < 1e-5 and abs(got["r"] - 1.0) < 1e-5


def _export_a_run(
    tmp_path: Path, name: str, run: dict, reward: str, task_text: str | None = None
) -> None:
    """Write a finished run ``run.json`` + best reward under ``tmp_path/runs/name`` and
    export it as ``tmp_path/<name>_reward.py``."""
    folder = tmp_path / "runs" / name
    (folder / "best").mkdir(parents=True)
    if task_text is not None:
        (folder / "task.toml").write_text(task_text)
    (folder / "run.json").write_text(json.dumps(run))
    (folder / "best" / "report.json").write_text(json.dumps({"budget": "smoke"}))
    (folder / "best" / "reward.py").write_text(reward)
    out = tmp_path / f"{name}_reward.py"
    proc = run_cli(["export", str(folder), "-o", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_an_export_for_a_tuple_observation_trains_as_rewardsmith_did(tmp_path: Path) -> None:
    """Blackjack observes a tuple, which SB3 cannot take: the exported module flattens it
    for the policy, as training did, and still gives the reward the tuple's elements."""
    _export_a_run(
        tmp_path,
        "bj",
        {"config": {"env": "Blackjack-v1", "budget": "smoke"}, "task": "Blackjack-v1"},
        "import numpy as np\n\n"
        "def compute_reward(obs_0, action):\n"
        "    near = -np.abs(obs_0 - 21.0) / 21.0\n"
        "    return near, {'near': near}\n",
    )
    code = """
import json
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize
from bj_reward import TRAINING, make_sb3_vec_env
venv = VecNormalize(make_sb3_vec_env(n_envs=2, seed=0), **TRAINING["vecnormalize"])
model = PPO(TRAINING["policy"], venv, n_steps=32, batch_size=32, device="cpu", seed=0)
model.learn(64)
venv.reset()
_, reward, _, infos = venv.step([venv.action_space.sample() for _ in range(2)])
print(json.dumps({"training": {k: TRAINING[k] for k in ("observation_view", "policy")},
                  "obs": list(venv.observation_space.shape),
                  "player": [i["fields"]["obs_0"] for i in infos]}))
"""
    got = _outside(code, tmp_path)
    view = {"drop": [], "cast": [], "flatten": True}
    assert got["training"] == {"observation_view": view, "policy": "MlpPolicy"}
    assert got["obs"] == [45]  # one-hot 32 + 11 + 2
    assert all(4 <= p <= 31 for p in got["player"])


def _export_a_task_file_run(tmp_path: Path, name: str, task_id: str, task_text: str) -> None:
    """Export a run of the task file ``task_text`` (a ``trig_total`` field) as
    ``tmp_path/<name>_reward.py``, its reward paying that field."""
    task_file = tmp_path / f"{name}.toml"
    task_file.write_text(task_text)
    _export_a_run(
        tmp_path,
        name,
        {"config": {"task_file": str(task_file), "budget": "smoke"}, "task": task_id},
        "import numpy as np\n\ndef compute_reward(trig_total, action):\n"
        "    return trig_total, {'trig': trig_total}\n",
        task_text=task_text,
    )


def test_an_exported_expression_field_may_call_array_methods(tmp_path: Path) -> None:
    """``obs[:2].sum()`` in a task file's field works in the exported module too, in a
    fresh interpreter where nothing has called the method yet."""
    from tests.envs.test_envs_taskfile import METHODS_TASK

    _export_a_task_file_run(tmp_path, "methods", "PendulumMethodsTest", METHODS_TASK)
    code = """
import json, gymnasium as gym
from methods_reward import ENV_ID, ENV_KWARGS, SynthesizedReward
env = SynthesizedReward(gym.make(ENV_ID, **ENV_KWARGS))
obs, info = env.reset(seed=0)
print(json.dumps({"field": info["fields"]["trig_total"], "sum": float(obs[:2].sum())}))
"""
    got = _outside(code, tmp_path)
    assert got["field"] == pytest.approx(got["sum"])


def test_an_export_of_an_annealing_preset_gives_ppo_the_falling_settings(tmp_path: Path) -> None:
    """A preset whose learning rate falls to 0 exports that schedule, not the constant."""
    from tests.envs.test_envs_taskfile import METHODS_TASK

    task_text = METHODS_TASK.replace('"PendulumMethodsTest"', '"PendulumAnnealTest"')
    task_text += '\n[presets.smoke]\nppo = { learning_rate = 2e-3 }\nanneal = ["learning_rate"]\n'
    _export_a_task_file_run(tmp_path, "anneal", "PendulumAnnealTest", task_text)
    code = """
import json
from anneal_reward import TRAINING, ppo_settings
settings = ppo_settings()
print(json.dumps({"anneal": TRAINING["anneal"], "start": settings["learning_rate"](1.0),
                  "quarter": settings["learning_rate"](0.25), "gamma": settings["gamma"]}))
"""
    got = _outside(code, tmp_path)
    assert got["anneal"] == ["learning_rate"]
    assert got["start"] == pytest.approx(2e-3) and got["quarter"] == pytest.approx(5e-4)
    from rewardsmith.envs.generic import GENERIC_PPO

    assert got["gamma"] == GENERIC_PPO["gamma"]  # what is not annealed stays a number


def test_an_export_for_a_minigrid_like_observation_shows_the_policy_what_training_did(
    tmp_path: Path,
) -> None:
    """A mission of no fixed size is left out and a 7x7 view cast to float, in the exported
    module as in training, so SB3 trains on it there too."""
    from tests.train.test_spaces import MODULE

    (tmp_path / "umod_spaces.py").write_text(MODULE)
    _export_a_run(
        tmp_path,
        "grid",
        {"config": {"env": "umod_spaces:GridWalk-v0", "budget": "smoke"},
         "task": "umod_spaces:GridWalk-v0", "import_paths": [str(tmp_path)]},
        "import numpy as np\n\ndef compute_reward(image, action):\n"
        "    lit = image.reshape(len(image), -1).mean(axis=1) / 255.0\n"
        "    return lit, {'lit': lit}\n",
    )  # fmt: skip
    code = """
import json
from stable_baselines3 import PPO
from grid_reward import TRAINING, make_sb3_vec_env
venv = make_sb3_vec_env(n_envs=2, seed=0)
model = PPO(TRAINING["policy"], venv, n_steps=32, batch_size=32, device="cpu", seed=0)
model.learn(64)
obs = venv.reset()
_, reward, _, infos = venv.step([venv.action_space.sample() for _ in range(2)])
print(json.dumps({"view": TRAINING["observation_view"], "policy": TRAINING["policy"],
                  "keys": sorted(obs), "dtype": str(obs["image"].dtype),
                  "lit": [i["reward_components"]["lit"] for i in infos]}))
"""
    got = _outside(code, tmp_path)
    assert got["view"] == {"drop": ["mission"], "cast": ["image"], "flatten": False}
    assert got["policy"] == "MultiInputPolicy"
    assert got["keys"] == ["direction", "image"] and got["dtype"] == "float32"
    assert all(0.0 < lit < 1.0 for lit in got["lit"])


@pytest.mark.slow
@TINY
def test_an_export_named_with_a_hyphen_says_the_name_it_imports_by(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = tiny_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("export") / "my-reward.py"
    proc = run_cli(["export", str(run), "-o", str(out)], cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "my-reward.py is not importable by that name: rename it to my_reward.py" in text
    assert "use it: from my_reward import SynthesizedReward" in text
