"""Record a trained policy: a short looping mp4 and a poster frame, rendered offscreen.

Runs inside the sandboxed worker (job kind ``render``), one video per process: closing one
MuJoCo renderer in a process silently blanks the others, and the policy file was written
by a process that ran untrusted reward code, so it is only unpickled here, in the sandbox.

Job keys: ``task``, ``fitness`` (unused by the recording, kept for symmetry with
training), ``seed``, ``seconds`` (video length, default 5), ``max_episodes`` (default 10),
``width``/``height`` (MuJoCo only; classic-control and Box2D draw at their own size),
``fps`` (most frames per second kept, default 30), ``shadows``/``reflections`` (default
off: software rendering is 3-4x faster without them). Input files: ``policy.zip`` and,
when the training normalised observations, ``vecnormalize.pkl``.
Writes ``video.mp4`` (H.264, yuv420p, faststart: Chromium and Firefox play it) and
``poster.png``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

VIDEO_FILE = "video.mp4"
POSTER_FILE = "poster.png"
DEFAULT_SECONDS = 5.0
DEFAULT_MAX_EPISODES = 10
DEFAULT_WIDTH = 320
DEFAULT_HEIGHT = 240
DEFAULT_FPS = 30


class BlankVideoError(RuntimeError):
    """Every recorded frame was identical: the renderer drew nothing useful."""


def _gl_works() -> bool:
    """Whether mujoco can make an offscreen GL context with the backend chosen at import."""
    try:
        import mujoco

        # Deliberately not freed: freeing a context can tear down the EGL display the
        # env's own renderer is about to use (the "one renderer closes, others go blank" bug).
        mujoco.GLContext(8, 8).make_current()
    except Exception as exc:  # any failure means "not this backend"; the reason is logged
        logger.info("MuJoCo GL backend %s unusable: %s", os.environ.get("MUJOCO_GL"), exc)
        return False
    return True


def render_failure(task_id: str, exc: BaseException) -> RuntimeError:
    """The one-line error for a task that cannot be drawn offscreen here."""
    backend = os.environ.get("MUJOCO_GL")
    how = f" with MUJOCO_GL={backend}" if backend else ""
    return RuntimeError(
        f"cannot render {task_id} offscreen{how} ({type(exc).__name__}: {exc}); install EGL "
        "(libegl1) or OSMesa (libosmesa6), or set MUJOCO_GL to a backend that works here"
    )


def select_gl_backend() -> str:
    """Pick MuJoCo's GL backend for this process: ``MUJOCO_GL`` if set, else EGL, else OSMesa.

    The backend is fixed once mujoco and PyOpenGL are imported, so when EGL turns out not to
    work the worker restarts itself (same arguments) with ``MUJOCO_GL=osmesa``.
    """
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        if chosen in ("egl", "osmesa"):
            os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
        return chosen
    os.environ["MUJOCO_GL"] = os.environ["PYOPENGL_PLATFORM"] = "egl"
    if _gl_works():
        return "egl"
    os.environ["MUJOCO_GL"] = os.environ["PYOPENGL_PLATFORM"] = "osmesa"
    os.execv(sys.executable, sys.orig_argv)  # does not return


def _is_mujoco(spec: Any) -> bool:
    """Whether the task's env draws through MuJoCo's OpenGL renderer.

    A built-in MuJoCo task says so by its family; a task file or a generic task on a
    MuJoCo env (``Hopper-v5`` with its own fields, a user's ``MujocoEnv`` subclass) is
    known by its env class.
    """
    if spec.family == "mujoco":
        return True
    import gymnasium as gym

    try:
        from gymnasium.envs.mujoco import MujocoEnv
        from gymnasium.envs.registration import load_env_creator

        creator = gym.spec(spec.env_id).entry_point
        if isinstance(creator, str):
            creator = load_env_creator(creator)
    except Exception:  # no registered entry point to read: assume it needs no GL
        return False
    return isinstance(creator, type) and issubclass(creator, MujocoEnv)


def _make_env(spec: Any, width: int, height: int, render: bool = True) -> Any:
    """The env as the trained policy saw it (flattened where training flattened it)."""
    import gymnasium as gym

    from rewardsmith.train.spaces import policy_env

    kwargs = dict(spec.env_kwargs)
    if not render:
        return policy_env(gym.make(spec.env_id, **kwargs))
    if _is_mujoco(spec):
        kwargs.update(width=width, height=height)
    return policy_env(gym.make(spec.env_id, render_mode="rgb_array", **kwargs))


def _render_modes(spec: Any) -> list[str]:
    """The render modes the task's env declares (its class's ``metadata``)."""
    env = _make_env(spec, 0, 0, render=False)
    try:
        return list(env.metadata.get("render_modes") or [])
    finally:
        env.close()


def _batch_of_one(obs: Any) -> Any:
    """One observation as a batch of one; a ``Dict`` observation entry by entry."""
    if isinstance(obs, dict):
        return {key: np.asarray(value)[None] for key, value in obs.items()}
    return np.asarray(obs)[None]


def _scene_flags(env: Any, shadows: bool, reflections: bool) -> None:
    """Turn MuJoCo's shadows and reflections off (on only when asked)."""
    renderer = getattr(env.unwrapped, "mujoco_renderer", None)
    if renderer is None:
        return
    import mujoco

    viewer = renderer._get_viewer("rgb_array")  # gymnasium creates it lazily; no public API
    viewer.scn.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = int(shadows)
    viewer.scn.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = int(reflections)


def _shrink(frame: np.ndarray, width: int) -> np.ndarray:
    """Halve frames much wider than asked (classic-control and Box2D draw 600 px wide)."""
    while frame.shape[1] >= 1.5 * width:
        frame = frame[::2, ::2]
    return np.ascontiguousarray(frame)


def _even(frame: np.ndarray) -> np.ndarray:
    # yuv420p subsamples chroma 2x2, so both sides must be even.
    h, w = frame.shape[:2]
    return frame[: h - h % 2, : w - w % 2]


def check_not_blank(frames: list[np.ndarray], backend: str = "") -> None:
    """Raise :class:`BlankVideoError` when every frame is identical.

    Args:
        frames: The recorded RGB frames.
        backend: The GL backend used, named in the message.
    """
    if not frames:
        raise BlankVideoError("blank video: no frames were recorded")
    first = frames[0]
    if all(np.array_equal(first, f) for f in frames[1:]):
        where = f" with MUJOCO_GL={backend}" if backend else ""
        other = "osmesa" if backend == "egl" else "egl"
        raise BlankVideoError(
            f"blank video: all {len(frames)} frames are identical{where}: the renderer drew "
            f"nothing that moves; try MUJOCO_GL={other}, or check that the task renders "
            "(render_mode='rgb_array')"
        )


def write_video(frames: list[np.ndarray], path: Path, fps: float) -> None:
    """Encode ``frames`` as an H.264 mp4 that browsers play and loop.

    yuv420p and even sides for decoder compatibility; ``+faststart`` moves the index to
    the front so playback starts before the whole file has arrived.
    """
    import imageio.v2 as iio

    writer = iio.get_writer(
        str(path),
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=1,
        quality=None,
        ffmpeg_log_level="error",
        ffmpeg_params=["-movflags", "+faststart", "-preset", "veryfast", "-crf", "26"],
    )
    try:
        for frame in frames:
            writer.append_data(_even(frame))
    finally:
        writer.close()


def _load_policy(spec: Any) -> tuple[Any, Any]:
    """The PPO policy and, when the training normalised observations, the normaliser."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    model = PPO.load("policy.zip", device="cpu")
    norm = None
    if Path("vecnormalize.pkl").exists():
        # The normaliser needs a VecEnv only to be attached; the recording steps ``env`` itself,
        # and a second renderer in this process could blank the first, so this one draws none.
        norm = VecNormalize.load(
            "vecnormalize.pkl", DummyVecEnv([lambda: _make_env(spec, 0, 0, render=False)])
        )
        norm.training = False
    return model, norm


def record(
    job: dict[str, Any],
) -> tuple[list[np.ndarray], float, int, list[float]]:
    """Roll the policy out and render it; return frames, fps, episodes begun, their returns."""
    import torch

    from rewardsmith.envs.registry import get_task

    torch.set_num_threads(1)
    spec = get_task(job["task"])
    width = int(job.get("width", DEFAULT_WIDTH))
    height = int(job.get("height", DEFAULT_HEIGHT))
    env = _make_env(spec, width, height)
    try:
        model, norm = _load_policy(spec)
        native_fps = float(env.metadata.get("render_fps") or DEFAULT_FPS)
        # Keep every k-th step so the video plays at real speed without too many frames.
        stride = max(1, math.ceil(native_fps / float(job.get("fps", DEFAULT_FPS))))
        fps = native_fps / stride
        want = max(2, round(float(job.get("seconds", DEFAULT_SECONDS)) * fps))
        max_episodes = int(job.get("max_episodes", DEFAULT_MAX_EPISODES))
        seed = int(job.get("seed", 0))
        obs, _ = env.reset(seed=seed)
        _scene_flags(env, bool(job.get("shadows")), bool(job.get("reflections")))

        def grab() -> None:
            frames.append(_shrink(np.asarray(env.render()), width))

        frames: list[np.ndarray] = []
        try:
            grab()
        except Exception as exc:  # the first frame creates the GL context: say which failed
            raise render_failure(spec.id, exc) from exc
        episodes, returns, total, step = 1, [], 0.0, 0
        while len(frames) < want:
            inp = _batch_of_one(obs)
            inp = norm.normalize_obs(inp) if norm is not None else inp
            action, _ = model.predict(inp, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action[0])
            total += float(reward)
            step += 1
            if step % stride == 0:
                grab()
            if terminated or truncated:
                returns.append(total)
                total = 0.0
                if episodes >= max_episodes:
                    break
                episodes += 1
                obs, _ = env.reset(seed=seed + episodes)
                if len(frames) < want:  # the step's own frame may already have been the last
                    grab()
    finally:
        env.close()
    return frames, fps, episodes, returns


def run_render(job: dict[str, Any]) -> dict[str, Any]:
    """Worker entry for ``render`` jobs: record the policy, write the video and the poster."""
    import imageio.v2 as iio

    from rewardsmith.envs.registry import get_task

    spec = get_task(job["task"])
    backend = ""
    if _is_mujoco(spec):
        backend = select_gl_backend()
        try:
            import mujoco  # noqa: F401  (binds the GL backend; fails here when it is missing)
        except Exception as exc:
            raise render_failure(spec.id, exc) from exc
    if not Path("policy.zip").exists():
        return {"error": "no policy.zip to record: the candidate's training saved no policy"}
    modes = _render_modes(spec)
    if "rgb_array" not in modes:
        return {
            "error": f"cannot record {spec.id}: its env draws no frames (render_modes "
            f"{modes}); a video needs an env whose metadata lists 'rgb_array' and whose "
            "render() returns an image"
        }
    frames, fps, episodes, returns = record(job)
    check_not_blank(frames, backend)
    write_video(frames, Path(VIDEO_FILE), fps)
    iio.imwrite(POSTER_FILE, _even(frames[len(frames) // 3]))
    height, width = _even(frames[0]).shape[:2]
    return {
        "files": [VIDEO_FILE, POSTER_FILE],
        "frames": len(frames),
        "fps": fps,
        "seconds": len(frames) / fps,
        "episodes": episodes,
        "episode_returns": returns,
        "width": width,
        "height": height,
        "gl": backend,
    }
