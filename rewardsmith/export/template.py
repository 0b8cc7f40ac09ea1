"""The part of an exported module that applies the reward: fields, wrappers, SB3 helpers.

Kept as text: it is written into the exported file, which must not import rewardsmith.
"""

RUNTIME = '''

# ------------------------------------------------------------- applying it

REWARD_PARAMETERS = {params!r}
FIELD_NAMES = tuple(p for p in REWARD_PARAMETERS if p != "action")


def gather(fields, previous, name):
    """A parameter's value for one env: ``prev_<field>`` is ``<field>`` one step back."""
    if name in fields or not name.startswith("prev_"):
        return fields[name]
    return previous[name[len("prev_"):]]


def extract_fields(env, obs, action, info=None):
    """The task's state fields of ``env`` after a reset (``action=None``) or a step."""
    return {extract_call}


def reward_batch(fields, action):
    """Call ``compute_reward`` once on a batch: ``fields`` maps names to ``(n, ...)`` arrays.

    Returns:
        ``(reward, components)``: float64 arrays of shape ``(n,)``.
    """
    action = np.asarray(action)
    n = len(action)
    kwargs = {{}}
    for name in REWARD_PARAMETERS:
        kwargs[name] = action if name == "action" else np.asarray(fields[name], dtype=np.float64)
    reward, components = compute_reward(**kwargs)
    reward = np.broadcast_to(np.asarray(reward, dtype=np.float64), (n,)).copy()
    components = {{
        str(k): np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
        for k, v in dict(components).items()
    }}
    return reward, components


class SynthesizedReward(gym.Wrapper):
    """Replace the env's reward with the synthesised one.

    ``info["fields"]`` holds the state fields after every reset and step,
    ``info["prev_fields"]`` after a step the fields before it, ``info["native_reward"]``
    the env's own reward and ``info["reward_components"]`` the reward's named terms.

    Args:
        env: An env made with ``gymnasium.make(ENV_ID, **ENV_KWARGS)``.
        compute: ``False`` only reads the fields (for :func:`wrap_vec_env`, which computes
            the reward once for the whole batch).
    """

    def __init__(self, env, compute=True):
        super().__init__(env)
        self.compute = compute

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._fields = extract_fields(self.env, obs, None, info)
        info["fields"] = self._fields
        return obs, info

    def step(self, action):
        obs, native, terminated, truncated, info = self.env.step(action)
        previous, fields = self._fields, extract_fields(self.env, obs, action, info)
        self._fields = fields
        info["fields"] = fields
        info["prev_fields"] = previous
        info["native_reward"] = float(native)
        reward = native
        if self.compute:
            batch = {{
                name: np.asarray([gather(fields, previous, name)], dtype=np.float64)
                for name in FIELD_NAMES
            }}
            values, components = reward_batch(batch, np.asarray([action]))
            reward = float(values[0])
            info["reward_components"] = {{k: float(v[0]) for k, v in components.items()}}
        return obs, reward, terminated, truncated, info


_VEC_CLASS = None


def wrap_vec_env(venv):
    """Wrap a stable-baselines3 ``VecEnv`` so the reward runs once per vector step.

    Every env inside must be wrapped in ``SynthesizedReward(env, compute=False)``
    (:func:`make_sb3_vec_env` builds such a ``VecEnv``). Needs stable-baselines3.
    """
    global _VEC_CLASS
    if _VEC_CLASS is None:
        from stable_baselines3.common.vec_env import VecEnvWrapper

        class SynthesizedRewardVecEnv(VecEnvWrapper):
            """Stacks the envs' fields and calls ``compute_reward`` once for the batch."""

            def reset(self):
                return self.venv.reset()

            def step_async(self, actions):
                self._actions = np.asarray(actions)
                self.venv.step_async(actions)

            def step_wait(self):
                obs, native, dones, infos = self.venv.step_wait()
                fields = {{
                    name: np.asarray(
                        [gather(i["fields"], i["prev_fields"], name) for i in infos],
                        dtype=np.float64,
                    )
                    for name in FIELD_NAMES
                }}
                reward, components = reward_batch(fields, self._actions)
                for i, info in enumerate(infos):
                    info["native_reward"] = float(native[i])
                    info["reward_components"] = {{k: float(v[i]) for k, v in components.items()}}
                return obs, reward.astype(np.float32), dones, infos

        _VEC_CLASS = SynthesizedRewardVecEnv
    return _VEC_CLASS(venv)


def _as_the_policy_saw_it(env):
    """The env with the reward's fields, its observations shown to the policy as in
    training (``TRAINING["observation_view"]``)."""
    return apply_view(SynthesizedReward(env, compute=False), TRAINING["observation_view"])


def make_sb3_vec_env(n_envs=None, seed=None, **kwargs):
    """``n_envs`` copies of the env (default: as trained) with the reward, for SB3.

    Extra keyword arguments go to ``stable_baselines3.common.env_util.make_vec_env``.
    Add ``VecNormalize(venv, **TRAINING["vecnormalize"])`` yourself when
    ``TRAINING["normalize"]`` is true; train ``TRAINING["policy"]``.
    """
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(
        ENV_ID,
        n_envs=n_envs or TRAINING["n_envs"],
        seed=seed,
        env_kwargs=dict(ENV_KWARGS),
        wrapper_class=_as_the_policy_saw_it,
        **kwargs,
    )
    return wrap_vec_env(venv)


def ppo_settings():
    """``TRAINING["ppo"]`` for ``stable_baselines3.PPO``, the settings named in
    ``TRAINING["anneal"]`` falling linearly to 0 over one ``learn`` call, as in training."""
    settings = dict(TRAINING["ppo"])
    for name in TRAINING["anneal"]:
        settings[name] = _falling(float(settings[name]))
    return settings


def _falling(start):
    return lambda progress_remaining: start * progress_remaining
'''
