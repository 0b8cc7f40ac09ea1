"""What SB3's PPO takes from an env's observation space, and how it is given the rest.

SB3's policies take a ``Box`` (``MlpPolicy``, or ``CnnPolicy`` for an image), a
``Discrete``, ``MultiDiscrete`` or ``MultiBinary``, and a flat ``Dict`` of those
(``MultiInputPolicy``). Anything else is turned into one of those for the policy only
(the task's state fields and fitness are still read from the env's own observation):

- a ``Dict`` entry with no fixed size (MiniGrid's mission text) is left out;
- an image too small for SB3's CNN (under 36 pixels a side: MiniGrid's 7x7 view) is cast
  to float, so it is read as a vector;
- a ``Tuple`` (Blackjack's), or a ``Dict`` holding a ``Dict`` or a ``Tuple``, is flattened
  into one ``Box``.

The three steps are a *view*, a small JSON-able record, so an exported module can apply
the same ones without rewardsmith.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardsmith.envs.generic import has_fixed_size

_COMPOSITE = (gym.spaces.Dict, gym.spaces.Tuple)
#: The smallest image side SB3's NatureCNN takes (8x8/4, 4x4/2, 3x3/1 convolutions).
MIN_CNN_SIDE = 36


def is_image_space(space: gym.Space) -> bool:
    """Whether SB3 treats ``space`` as an image (imported late: SB3 brings torch)."""
    from stable_baselines3.common.preprocessing import is_image_space as sb3_is_image

    return bool(sb3_is_image(space))


def _small_image(space: gym.Space) -> bool:
    # Of an image's three sides the middle one is the smaller spatial side, whichever end
    # its channels are at.
    return is_image_space(space) and sorted(space.shape)[1] < MIN_CNN_SIDE


def policy_view(space: gym.Space) -> dict[str, Any]:
    """How the policy is to see observations of ``space``.

    Returns:
        ``drop``: ``Dict`` keys left out; ``cast``: ``Dict`` keys cast to float32
        (``["*"]``: the whole observation); ``flatten``: whether what is left is flattened.
    """
    view: dict[str, Any] = {"drop": [], "cast": [], "flatten": False}
    if isinstance(space, gym.spaces.Tuple):
        view["flatten"] = True
    elif isinstance(space, gym.spaces.Dict):
        kept = {k: s for k, s in space.spaces.items() if has_fixed_size(s)}
        view["drop"] = [k for k in space.spaces if k not in kept]
        if any(isinstance(s, _COMPOSITE) for s in kept.values()):
            view["flatten"] = True
        else:
            view["cast"] = [k for k, s in kept.items() if _small_image(s)]
    elif _small_image(space):
        view["cast"] = ["*"]
    return view


def float_box(space: gym.spaces.Box) -> gym.spaces.Box:
    """``space`` with float32 values (and bounds)."""
    return gym.spaces.Box(
        space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32
    )


def apply_view(env: gym.Env, view: dict[str, Any]) -> gym.Env:
    """``env`` wrapped to show its observations as ``view`` says.

    ``view`` (from :func:`policy_view`): ``Dict`` keys to ``drop``, keys to ``cast`` to
    float32 (``["*"]``: the whole observation), and whether to ``flatten`` what is left.
    The exported module holds a copy of this function and of :func:`float_box`, so both use
    only gymnasium and numpy.
    """
    if view["drop"]:
        keep = [k for k in env.observation_space.spaces if k not in view["drop"]]
        env = gym.wrappers.FilterObservation(env, keep)
    if view["cast"] == ["*"]:
        env = gym.wrappers.TransformObservation(
            env, lambda obs: np.asarray(obs, dtype=np.float32), float_box(env.observation_space)
        )
    elif view["cast"]:
        keys = set(view["cast"])
        spaces = env.observation_space.spaces
        cast = gym.spaces.Dict({k: float_box(s) if k in keys else s for k, s in spaces.items()})
        env = gym.wrappers.TransformObservation(
            env,
            lambda obs: {k: np.asarray(v, np.float32) if k in keys else v for k, v in obs.items()},
            cast,
        )
    if view["flatten"]:
        env = gym.wrappers.FlattenObservation(env)
    return env


def policy_env(env: gym.Env) -> gym.Env:
    """``env`` as the policy sees it (unchanged where SB3 takes its observations as they are)."""
    return apply_view(env, policy_view(env.observation_space))


def policy_name(space: gym.Space) -> str:
    """The SB3 policy class for observations of ``space`` (as the policy sees them)."""
    if isinstance(space, gym.spaces.Dict):
        return "MultiInputPolicy"
    if is_image_space(space):
        return "CnnPolicy"
    return "MlpPolicy"


def _normalisable(space: gym.Space) -> bool:
    # Images are scaled by the CNN itself; integers (Discrete, MultiBinary...) are one-hot
    # encoded by SB3 and VecNormalize refuses them.
    return isinstance(space, gym.spaces.Box) and not is_image_space(space)


def normalisation_kwargs(space: gym.Space) -> dict[str, Any]:
    """``VecNormalize``'s observation arguments for ``space``: the entries it can normalise.

    A ``Dict`` has its ``Box`` entries normalised and the rest left alone; an image or an
    integer observation is not normalised at all (the reward still is).
    """
    if isinstance(space, gym.spaces.Dict):
        keys = [key for key, sub in space.spaces.items() if _normalisable(sub)]
        return {"norm_obs": bool(keys), "norm_obs_keys": keys or None}
    return {"norm_obs": _normalisable(space)}


def policy_setup(spec: Any) -> dict[str, Any]:
    """How a policy for ``spec``'s env is trained (makes the env once).

    Returns:
        ``observation_view`` (:func:`policy_view`), ``policy`` (the SB3 policy class) and
        ``vecnormalize`` (``VecNormalize``'s observation arguments), as the exported
        module's ``TRAINING`` records them.
    """
    from rewardsmith.envs.generic import make_env

    env = make_env(spec.env_id, spec.env_kwargs)  # routes MuJoCo's warnings: the user's folder
    try:
        seen = policy_env(env)
        space = seen.observation_space
        view = policy_view(env.observation_space)
    finally:
        env.close()
    return {
        "observation_view": view,
        "policy": policy_name(space),
        "vecnormalize": normalisation_kwargs(space),
    }
