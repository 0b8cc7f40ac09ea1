"""What SB3's PPO takes from an env's observation space, and how it is given the rest.

SB3's policies take a ``Box`` (``MlpPolicy``, or ``CnnPolicy`` for an image), a
``Discrete``, ``MultiDiscrete`` or ``MultiBinary``, and a flat ``Dict`` of those
(``MultiInputPolicy``). A ``Tuple`` (Blackjack's) or a ``Dict`` holding a ``Dict`` or a
``Tuple`` is flattened into one ``Box`` for the policy only: the task's state fields and
fitness are still read from the env's own observation, inside the flattening.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

_COMPOSITE = (gym.spaces.Dict, gym.spaces.Tuple)


def needs_flattening(space: gym.Space) -> bool:
    """Whether SB3's policies cannot take ``space`` as it is."""
    if isinstance(space, gym.spaces.Tuple):
        return True
    if isinstance(space, gym.spaces.Dict):
        return any(isinstance(sub, _COMPOSITE) for sub in space.spaces.values())
    return False


def policy_env(env: gym.Env) -> gym.Env:
    """``env`` as the policy sees it: flattened where SB3 could not take its observations."""
    if needs_flattening(env.observation_space):
        return gym.wrappers.FlattenObservation(env)
    return env


def is_image_space(space: gym.Space) -> bool:
    """Whether SB3 treats ``space`` as an image (imported late: SB3 brings torch)."""
    from stable_baselines3.common.preprocessing import is_image_space as sb3_is_image

    return bool(sb3_is_image(space))


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
        ``flatten_observation`` (whether the policy sees the observation flattened),
        ``policy`` (the SB3 policy class) and ``vecnormalize`` (``VecNormalize``'s
        observation arguments), as the exported module's ``TRAINING`` records them.
    """
    env = gym.make(spec.env_id, **spec.env_kwargs)
    try:
        space = env.observation_space
    finally:
        env.close()
    flatten = needs_flattening(space)
    seen = gym.spaces.flatten_space(space) if flatten else space
    return {
        "flatten_observation": flatten,
        "policy": policy_name(seen),
        "vecnormalize": normalisation_kwargs(seen),
    }
