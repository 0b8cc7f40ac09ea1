"""Observations SB3's PPO cannot take as they are (a tuple, a dict of integers and
vectors, a nested dict, an image) train, evaluate and render; the state fields are still
read from the env's own observation."""

from __future__ import annotations

import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rewardsmith.envs.generic import generic_task, observation_layout
from rewardsmith.envs.registry import get_task, task_job_fields
from rewardsmith.envs.wrapper import make_task_env
from rewardsmith.errors import UserError
from rewardsmith.sandbox.runner import Limits
from rewardsmith.train.jobs import run_job
from rewardsmith.train.spaces import (
    normalisation_kwargs,
    policy_env,
    policy_name,
    policy_setup,
    policy_view,
)

# A walker to x = 1 whose observation is a dict: flat (vectors and a phase counter), or
# nested (the body's position and velocity in a dict of their own).
MODULE = """\
import gymnasium as gym
import numpy as np

BOX = gym.spaces.Box(-np.inf, np.inf, (1,), dtype=np.float32)


class DictWalk(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}
    nested = False

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        body = {"position": BOX, "velocity": BOX}
        if self.nested:
            parts = {"body": gym.spaces.Dict(body), "phase": gym.spaces.Discrete(3)}
        else:
            parts = {**body, "phase": gym.spaces.Discrete(3)}
        self.observation_space = gym.spaces.Dict(parts)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def _obs(self, v):
        body = {"position": np.array([self.x], np.float32), "velocity": np.array([v], np.float32)}
        phase = self.t % 3
        return {"body": body, "phase": phase} if self.nested else {**body, "phase": phase}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0.0, 0
        return self._obs(0.0), {}

    def step(self, action):
        v = 0.1 * float(np.clip(action[0], -1.0, 1.0))
        self.x, self.t = self.x + v, self.t + 1
        return self._obs(v), -abs(self.x - 1.0), False, False, {}

    def render(self):
        frame = np.zeros((48, 64, 3), dtype=np.uint8)
        frame[:, : int(np.clip(32 + 30 * self.x, 0, 64))] = 200
        return frame


class NestedWalk(DictWalk):
    nested = True


class EyeWalk(DictWalk):
    # The same walk seen only through a camera: a bar as wide as the walker is far.

    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.observation_space = gym.spaces.Box(0, 255, (36, 36, 3), dtype=np.uint8)

    def _obs(self, v):
        image = np.zeros((36, 36, 3), dtype=np.uint8)
        image[:, : int(np.clip(18 + 15 * self.x, 0, 36))] = 255
        return image


class Mission(gym.Space):
    # Like MiniGrid's MissionSpace: a sentence, which gymnasium cannot flatten.
    def sample(self, mask=None, probability=None):
        return "walk to the right"

    def contains(self, x):
        return isinstance(x, str)


class GridWalk(DictWalk):
    # MiniGrid's observation: a direction, a 7x7 view and a mission.
    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.observation_space = gym.spaces.Dict({
            "direction": gym.spaces.Discrete(4),
            "image": gym.spaces.Box(0, 255, (7, 7, 3), dtype=np.uint8),
            "mission": Mission(),
        })

    def _obs(self, v):
        image = np.zeros((7, 7, 3), dtype=np.uint8)
        image[:, : int(np.clip(3 + 3 * self.x, 0, 7))] = 255
        return {"direction": int(v > 0), "image": image, "mission": "walk to the right"}


gym.register("DictWalk-v0", entry_point="umod_spaces:DictWalk", max_episode_steps=40)
gym.register("GridWalk-v0", entry_point="umod_spaces:GridWalk", max_episode_steps=40)
gym.register("EyeWalk-v0", entry_point="umod_spaces:EyeWalk", max_episode_steps=40)
gym.register("NestedWalk-v0", entry_point="umod_spaces:NestedWalk", max_episode_steps=40)
"""

BOX = gym.spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
IMAGE = gym.spaces.Box(0, 255, (48, 48, 3), dtype=np.uint8)


def test_the_policy_and_the_normalisation_follow_the_observation_space() -> None:
    mixed = gym.spaces.Dict({"v": BOX, "phase": gym.spaces.Discrete(3), "camera": IMAGE})
    nested = gym.spaces.Dict({"body": gym.spaces.Dict({"v": BOX}), "phase": gym.spaces.Discrete(2)})
    blackjack = gym.spaces.Tuple((gym.spaces.Discrete(32), gym.spaces.Discrete(11)))
    assert [policy_view(s)["flatten"] for s in (BOX, IMAGE, mixed, nested, blackjack)] == [
        False, False, False, True, True,
    ]  # fmt: skip
    # MiniGrid's: a mission (no fixed size) and a view too small for SB3's CNN.
    grid = gym.spaces.Dict(
        {"direction": gym.spaces.Discrete(4), "mission": gym.spaces.Sequence(BOX),
         "image": gym.spaces.Box(0, 255, (7, 7, 3), dtype=np.uint8)}
    )  # fmt: skip
    assert policy_view(grid) == {"drop": ["mission"], "cast": ["image"], "flatten": False}
    small = gym.spaces.Box(0, 255, (3, 16, 16), dtype=np.uint8)
    assert policy_view(small) == {"drop": [], "cast": ["*"], "flatten": False}
    assert policy_view(IMAGE)["cast"] == []  # 48 pixels a side: the CNN takes it
    assert policy_name(BOX) == "MlpPolicy" and policy_name(gym.spaces.Discrete(4)) == "MlpPolicy"
    assert policy_name(IMAGE) == "CnnPolicy" and policy_name(mixed) == "MultiInputPolicy"
    # Only vectors are normalised: integers are one-hot for SB3, images scaled by the CNN.
    assert normalisation_kwargs(BOX) == {"norm_obs": True}
    assert normalisation_kwargs(IMAGE) == {"norm_obs": False}
    assert normalisation_kwargs(gym.spaces.Discrete(4)) == {"norm_obs": False}
    assert normalisation_kwargs(mixed) == {"norm_obs": True, "norm_obs_keys": ["v"]}
    integers = gym.spaces.Dict({"phase": gym.spaces.Discrete(2)})
    assert normalisation_kwargs(integers) == {"norm_obs": False, "norm_obs_keys": None}
    setup = policy_setup(get_task("Blackjack-v1"))
    assert setup == {
        "observation_view": {"drop": [], "cast": [], "flatten": True},
        "policy": "MlpPolicy", "vecnormalize": {"norm_obs": True},
    }  # fmt: skip


def test_fields_of_a_tuple_observation_are_its_elements_named_or_numbered() -> None:
    spec = get_task("Blackjack-v1")
    assert [f.name for f in spec.fields] == ["obs_0", "obs_1", "obs_2", "time"]
    assert "Discrete(32)" in spec.fields[0].meaning
    env = make_task_env(spec, reward_mode="native")
    obs, info = env.reset(seed=3)
    assert [info["fields"][f"obs_{i}"] for i in range(3)] == [float(v) for v in obs]
    env.close()
    named = generic_task(
        "Blackjack-v1",
        obs_names={"player_sum": "Sum of the player's cards.", "dealer": "", "ace": ""},
        task_id="BlackjackNamedTest",
    )
    assert [f.name for f in named.fields] == ["player_sum", "dealer", "ace", "time"]
    assert named.fields[0].meaning == "Sum of the player's cards."
    assert named.fields[1].meaning == "Observation element 1 (Discrete(11))."
    with pytest.raises(ValueError, match="2 names for a tuple of 3 elements"):
        generic_task("Blackjack-v1", obs_names=["a", "b"], task_id="BlackjackShortTest")


def test_a_box_is_described_by_its_range_and_a_space_without_a_size_is_refused() -> None:
    bounds = np.array([-5.0, -3.0, 0.0], dtype=np.float32)
    _, meanings = observation_layout(gym.spaces.Box(bounds, -bounds + 1, dtype=np.float32))
    assert meanings[0].startswith("The raw observation (Box(3,) of float32, values in [-5, 6])")
    with pytest.raises(UserError) as err:
        observation_layout(gym.spaces.Sequence(BOX))
    message = str(err.value)
    assert message.startswith("observation space Sequence(") and "is not supported" in message
    assert "Dict/Tuple observations of those" in message and "\n" not in message


SEQUENCE = """\
import gymnasium as gym
import numpy as np


class Trail(gym.Env):
    observation_space = gym.spaces.Sequence(gym.spaces.Box(-1.0, 1.0, (2,)))
    action_space = gym.spaces.Discrete(2)


class Arms(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,))
    action_space = gym.spaces.Dict({"left": gym.spaces.Discrete(2), "up": gym.spaces.Discrete(2)})
"""


def test_a_task_file_on_an_env_ppo_cannot_observe_or_act_in_names_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rewardsmith.envs.taskfile import load_task_text

    monkeypatch.chdir(tmp_path)
    (tmp_path / "umod_trail.py").write_text(SEQUENCE)
    text = (
        '[task]\nid = "TrailTest"\nenv = "umod_trail:Trail"\nmax_episode_steps = 20\n\n'
        '[fitness]\nexpr = "native"\naggregate = "sum"\nsuccess_threshold = 1\n'
    )
    with pytest.raises(UserError) as err:
        load_task_text(text, "trail.toml")
    message = str(err.value)
    assert message.startswith("trail.toml line 3: env 'umod_trail:Trail': observation space")
    assert "is not supported" in message and "\n" not in message
    with pytest.raises(UserError) as err:
        load_task_text(text.replace("Trail", "Arms"), "arms.toml")
    message = str(err.value)
    assert message.startswith("arms.toml line 3: env 'umod_trail:Arms': action space Dict(")
    assert "PPO acts in Box, Discrete, MultiDiscrete and MultiBinary spaces" in message


def _train(task_id: str, reward: str, keep: Path, spec_fields: dict) -> dict:
    """A 4096-step training of ``reward`` (a source, or ``"native"``), its files in ``keep``."""
    mode = {"mode": "native"} if reward == "native" else {"mode": "candidate", "source": reward}
    job = {
        "kind": "train", "task": task_id, **spec_fields, "budget": "4096", "seed": 0,
        "reward": mode, "save_policy": True,
    }  # fmt: skip
    outcome = run_job(job, Limits.for_training(120), keep_dir=keep)
    assert outcome.ok, (outcome.error, outcome.stderr_tail)
    return outcome.result


@pytest.mark.slow
def test_tuple_dict_and_nested_observations_train_and_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stable_baselines3 import PPO

    monkeypatch.chdir(tmp_path)
    (tmp_path / "umod_spaces.py").write_text(MODULE)
    blackjack = (
        "import numpy as np\n\ndef compute_reward(obs_0, action):\n"
        "    near = -np.abs(obs_0 - 21.0) / 21.0\n    return near, {'near': near}\n"
    )
    result = _train("Blackjack-v1", blackjack, tmp_path / "bj", {})
    assert 4 <= result["field_ranges"]["obs_0"][0] <= result["field_ranges"]["obs_0"][1] <= 31
    # Blackjack declares no reward_threshold: no success is counted (not "a return >= 0").
    assert result["success_rate"] is None
    assert "success_rate" not in (tmp_path / "bj" / "metrics.csv").read_text().splitlines()[0]
    policy = PPO.load(tmp_path / "bj" / "policy.zip", device="cpu").policy
    assert type(policy).__name__ == "ActorCriticPolicy"  # on the one-hot flattened tuple

    flat = get_task("umod_spaces:DictWalk-v0")
    assert [(f.name, f.shape) for f in flat.fields] == [  # gymnasium sorts a Dict's keys
        ("phase", ()), ("position", ()), ("velocity", ()), ("time", ()),
    ]  # fmt: skip
    walk = (
        "import numpy as np\n\ndef compute_reward(position, velocity, action):\n"
        "    near = -np.abs(position - 1.0)\n    return near, {'near': near}\n"
    )
    _train(flat.id, walk, tmp_path / "flat", task_job_fields(flat))
    keep = tmp_path / "flat"
    assert type(PPO.load(keep / "policy.zip", device="cpu").policy).__name__ == (
        "MultiInputActorCriticPolicy"
    )
    with (keep / "vecnormalize.pkl").open("rb") as file:
        norm = pickle.load(file)
    assert norm.norm_obs_keys == ["position", "velocity"]  # the phase counter stays an integer
    inputs = {p.name: p for p in keep.iterdir() if p.name in ("policy.zip", "vecnormalize.pkl")}
    render = {"kind": "render", "task": flat.id, **task_job_fields(flat), "seconds": 1.0}
    outcome = run_job(render, Limits.for_training(60), tmp_path / "video", inputs)
    assert outcome.ok, (outcome.error, outcome.stderr_tail)
    assert outcome.result["frames"] == 25 and (tmp_path / "video" / "video.mp4").stat().st_size

    eye = get_task("umod_spaces:EyeWalk-v0")
    keep = tmp_path / "eye"
    _train(eye.id, "native", keep, task_job_fields(eye))
    policy = PPO.load(keep / "policy.zip", device="cpu").policy
    assert type(policy).__name__ == "ActorCriticCnnPolicy"
    with (keep / "vecnormalize.pkl").open("rb") as file:
        assert pickle.load(file).norm_obs is False  # the CNN scales pixels; rewards still are

    grid = get_task("umod_spaces:GridWalk-v0")
    assert [(f.name, f.shape) for f in grid.fields] == [  # the mission text is left out
        ("direction", ()), ("image", (7, 7, 3)), ("time", ()),
    ]  # fmt: skip
    env = policy_env(gym.make(grid.env_id))
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"direction", "image"} and obs["image"].dtype == np.float32
    env.close()
    seeing = (
        "import numpy as np\n\ndef compute_reward(image, action):\n"
        "    lit = image.reshape(len(image), -1).mean(axis=1) / 255.0\n"
        "    return lit, {'lit': lit}\n"
    )
    keep = tmp_path / "grid"
    _train(grid.id, seeing, keep, task_job_fields(grid))
    policy = PPO.load(keep / "policy.zip", device="cpu").policy
    assert type(policy).__name__ == "MultiInputActorCriticPolicy"
    assert type(policy.features_extractor.extractors["image"]).__name__ == "Flatten"

    nested = get_task("umod_spaces:NestedWalk-v0")
    assert [(f.name, f.shape) for f in nested.fields] == [
        ("body", (2,)), ("phase", ()), ("time", ()),
    ]  # fmt: skip
    body = (
        "import numpy as np\n\ndef compute_reward(body, action):\n"
        "    near = -np.abs(body[:, 0] - 1.0)\n    return near, {'near': near}\n"
    )
    result = _train(nested.id, body, tmp_path / "nested", task_job_fields(nested))
    assert "body" not in result["field_ranges"] and result["fitness_trace"]  # a vector field
    policy = PPO.load(tmp_path / "nested" / "policy.zip", device="cpu").policy
    assert type(policy).__name__ == "ActorCriticPolicy"
