"""Policy videos: browser-friendly encoding, blank-video rejection, GL fallback, real renders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import imageio.v2 as iio
import numpy as np
import pytest

from rewardsmith.sandbox.runner import Limits
from rewardsmith.train import video
from rewardsmith.train.jobs import run_job


def _frames(n: int, height: int = 240, width: int = 320) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[:, (i * 7) % width : (i * 7) % width + 20] = 255  # a moving bar
        frames.append(frame)
    return frames


def test_identical_frames_are_a_blank_video() -> None:
    still = [np.full((24, 32, 3), 40, dtype=np.uint8)] * 5
    with pytest.raises(video.BlankVideoError, match="blank video: all 5 frames are identical"):
        video.check_not_blank(still, "egl")
    with pytest.raises(video.BlankVideoError, match="MUJOCO_GL=osmesa"):
        video.check_not_blank(still, "egl")  # the message names the other backend to try
    with pytest.raises(video.BlankVideoError, match="no frames"):
        video.check_not_blank([])
    video.check_not_blank(_frames(3, 24, 32))  # frames that change pass


def test_the_mp4_is_h264_yuv420p_even_sized_and_faststart(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    video.write_video(_frames(30, 241, 321), path, fps=25.0)  # odd sides get cropped
    reader = iio.get_reader(str(path))
    try:
        meta = reader.get_meta_data()
        first = reader.get_data(0)
    finally:
        reader.close()
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert tuple(meta["size"]) == (320, 240)
    assert first.shape == (240, 320, 3)
    assert meta["fps"] == pytest.approx(25.0)
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # the index comes first: streams at once


def test_wide_frames_are_halved_to_a_modest_size() -> None:
    frame = np.zeros((400, 600, 3), dtype=np.uint8)
    assert video._shrink(frame, 320).shape == (200, 300, 3)
    assert video._shrink(np.zeros((240, 320, 3), np.uint8), 320).shape == (240, 320, 3)


def test_egl_is_the_default_and_osmesa_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    monkeypatch.setattr(video, "_gl_works", lambda: True)
    assert video.select_gl_backend() == "egl"
    assert os.environ["MUJOCO_GL"] == os.environ["PYOPENGL_PLATFORM"] == "egl"

    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.delenv("PYOPENGL_PLATFORM")
    monkeypatch.setattr(video, "_gl_works", lambda: False)
    restarted: list[tuple] = []

    def fake_execv(path: str, argv: list[str]) -> None:
        restarted.append((path, list(argv), os.environ["MUJOCO_GL"]))
        raise SystemExit(0)

    monkeypatch.setattr(video.os, "execv", fake_execv)
    with pytest.raises(SystemExit):
        video.select_gl_backend()
    assert restarted == [(sys.executable, list(sys.orig_argv), "osmesa")]

    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert video.select_gl_backend() == "osmesa"  # a user's choice is kept as it is


def _policy(task_id: str, folder: Path, normalize: bool = False) -> dict[str, Path]:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from rewardsmith.envs.registry import get_task

    spec = get_task(task_id)
    env = DummyVecEnv([lambda: gym.make(spec.env_id)])
    if normalize:
        env = VecNormalize(env)
        env.reset()
        env.step(np.array([env.action_space.sample()]))
        env.save(str(folder / "vecnormalize.pkl"))
    PPO("MlpPolicy", env, seed=0, device="cpu", n_steps=64).save(str(folder / "policy.zip"))
    return {p.name: p for p in folder.iterdir()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task_id", "normalize", "size"),
    [("InvertedPendulum-v5", True, (240, 320)), ("CartPole-v1", False, (200, 300))],
)
def test_a_render_job_records_a_policy_in_its_own_sandboxed_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task_id: str, normalize: bool, size: tuple
) -> None:
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its log into the cwd
    policy_dir = tmp_path / "policy"
    policy_dir.mkdir()
    inputs = _policy(task_id, policy_dir, normalize)
    keep = tmp_path / "cand"
    job = {"kind": "render", "task": task_id, "seed": 1, "seconds": 2.0}
    outcome = run_job(job, Limits.for_training(60), keep, inputs)
    assert outcome.ok, (outcome.error, outcome.stderr_tail)
    result = outcome.result
    assert result["frames"] == round(2.0 * result["fps"]) and 20 <= result["fps"] <= 30
    assert (result["height"], result["width"]) == size
    assert sorted(p.name for p in outcome.files) == ["poster.png", "video.mp4"]
    poster = iio.imread(keep / "poster.png")
    assert poster.shape == (*size, 3) and poster.std() > 0
    reader = iio.get_reader(str(keep / "video.mp4"))
    try:
        frames = [f for f in reader]
    finally:
        reader.close()
    assert len(frames) == result["frames"]
    assert any(not np.array_equal(frames[0], f) for f in frames[1:])
    if task_id.startswith("Inverted"):
        assert result["gl"] == os.environ.get("MUJOCO_GL", "egl")


PLAIN = """\
import gymnasium as gym
import numpy as np


class Plain(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, False, False, {}


gym.register("Plain-v0", entry_point="umod_plain:Plain", max_episode_steps=10)
"""


def test_a_render_job_for_an_env_that_draws_nothing_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rewardsmith.envs.registry import get_task, task_job_fields

    monkeypatch.chdir(tmp_path)
    (tmp_path / "umod_plain.py").write_text(PLAIN)
    (tmp_path / "policy").mkdir()
    inputs = _policy("umod_plain:Plain-v0", tmp_path / "policy")
    job = {"kind": "render", "task": "umod_plain:Plain-v0"}
    job.update(task_job_fields(get_task("umod_plain:Plain-v0")))
    outcome = run_job(job, Limits.for_training(60), None, inputs)
    assert not outcome.ok
    assert outcome.error.startswith("cannot record umod_plain:Plain-v0: its env draws no frames")
    assert "'rgb_array'" in outcome.error and "Traceback" not in outcome.error


def test_a_render_job_without_a_policy_says_so(tmp_path: Path) -> None:
    outcome = run_job({"kind": "render", "task": "CartPole-v1"}, Limits.for_training(60))
    assert not outcome.ok
    assert "no policy.zip" in outcome.error


PENDULUM_FILE = """\
[task]
id = "PendulumFileVideoTest"
env = "InvertedPendulum-v5"

[fitness]
expr = "native"
success_threshold = 900
"""


@pytest.mark.slow
def test_a_task_file_on_a_mujoco_env_renders_through_mujocos_gl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task file's family is "custom", yet its env draws through MuJoCo: the worker must
    # still pick a GL backend first (it failed with "an OpenGL platform library has not
    # been loaded into this process") and size the frames as for a built-in task.
    from rewardsmith.envs.registry import task_job_fields
    from rewardsmith.envs.taskfile import load_task_text

    monkeypatch.chdir(tmp_path)
    spec = load_task_text(PENDULUM_FILE, "pendulum.toml")
    assert spec.family == "custom"
    (tmp_path / "policy").mkdir()
    inputs = _policy("InvertedPendulum-v5", tmp_path / "policy", normalize=True)
    job = {"kind": "render", "task": spec.id, "seed": 1, "seconds": 1.0, **task_job_fields(spec)}
    outcome = run_job(job, Limits.for_training(60), tmp_path / "cand", inputs)
    assert outcome.ok, (outcome.error, outcome.stderr_tail)
    assert outcome.result["gl"] == os.environ.get("MUJOCO_GL", "egl")
    assert (outcome.result["height"], outcome.result["width"]) == (240, 320)
