"""Any gymnasium env without an adapter: fields from the observation, source for the prompt.

The fields are the observation's entries: one per key of a ``Dict`` space, one per
element of a ``Tuple`` (``obs_0``, ... unless named), one per index of a ``Box`` when the
user names them (``obs_names``), otherwise the whole vector as ``observation``; a nested
``Dict`` or ``Tuple`` entry is one flat vector. :func:`env_source` gives the env's
step/observation/reward code, pruned of comments and docstrings, so an LLM designer can
read what the numbers mean (the way Eureka shows its envs).
"""

from __future__ import annotations

import ast
import difflib
import inspect
import logging
import textwrap
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from rewardsmith.envs import fieldlib as fl
from rewardsmith.envs.measures import native_step
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.spec import FitnessMeasure, PPOPreset, StateField, TaskSpec
from rewardsmith.errors import UserError

logger = logging.getLogger(__name__)

#: Methods worth showing a designer, in this order; the rest of the class is left out.
_SOURCE_METHODS = (
    "step",
    "_get_obs",
    "get_obs",
    "_get_reward",
    "compute_reward",
    "reset_model",
    "reset",
    "_is_terminated",
    "is_healthy",
    "terminated",
)
_MAX_SOURCE_CHARS = 8000

GENERIC_PPO = ppo_kwargs(
    n_steps=512,
    batch_size=256,
    n_epochs=10,
    gamma=0.99,
    gae_lambda=0.95,
    learning_rate=3e-4,
    clip_range=0.2,
    ent_coef=0.0,
    policy_kwargs={"net_arch": [64, 64]},
)


def generic_presets(normalize: bool = True) -> dict[str, PPOPreset]:
    """Budgets for an env nobody tuned: SB3-default-like PPO on 8 envs."""
    return budget_presets(
        smoke=PPOPreset(
            32_768, 8, GENERIC_PPO, normalize=normalize, eval_episodes=3, checkpoints=5
        ),
        quick=PPOPreset(303_104, 8, GENERIC_PPO, normalize=normalize, eval_episodes=5),
        full=PPOPreset(1_000_000, 8, GENERIC_PPO, normalize=normalize, eval_episodes=10),
    )


#: Where an env registers no time limit, episodes are cut off after this many steps.
DEFAULT_EPISODE_STEPS = 1000


def with_time_limit(env_id: str, env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``env_kwargs``, with ``max_episode_steps`` added where ``env_id`` registers no limit.

    Evaluation plays whole episodes, and a policy that never ends one (CliffWalking's
    walking into a wall) would stall it; ``max_episode_steps`` is ``gymnasium.make``'s own
    keyword, so every process that makes the env gets the same limit.
    """
    import gymnasium as gym

    kwargs = dict(env_kwargs or {})
    registered = env_id.partition(":")[2] or env_id  # "module:Name-v0", module imported
    if kwargs.get("max_episode_steps") or gym.spec(registered).max_episode_steps:
        return kwargs
    logger.info(
        "%s registers no time limit; its episodes are cut off after %d steps "
        "(max_episode_steps in a task file sets another)",
        env_id,
        DEFAULT_EPISODE_STEPS,
    )
    kwargs["max_episode_steps"] = DEFAULT_EPISODE_STEPS
    return kwargs


def class_env_id(env: str) -> str:
    """The gymnasium id of the env class ``module:Class`` (registered here on first use)."""
    import gymnasium as gym

    env_id = f"rewardsmith/{env.partition(':')[2]}-v0"
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=env)
    return env_id


def makeable_id(env: str, import_paths: Sequence[str] = ()) -> str | None:
    """The gymnasium id to make for ``env``; ``None`` for an unknown id (imports gymnasium).

    ``env`` is an id gymnasium knows, ``module:Name-v0`` (importing ``module``, looked up in
    ``import_paths`` too, registers ``Name-v0``, as with ``gymnasium.make``) or
    ``module:Entry``: an env class, or a function that returns an env, which is registered
    as ``rewardsmith/Entry-v0``. Both ``--env`` and a task file's ``env`` come here, so a
    name means the same, and fails the same way, in either place.

    Raises:
        UserError: ``module`` cannot be imported, or holds no such id, class or function.
    """
    import gymnasium as gym

    from rewardsmith.envs.imports import import_user_module

    if env in gym.registry:
        return env
    module, sep, name = env.partition(":")
    if not sep or not module or not name:
        return None
    try:
        imported = import_user_module(module, import_paths)
    except ImportError as exc:
        raise UserError(f"env {env!r}: cannot import module {module!r}: {exc}") from None
    if name in gym.registry:
        return env
    found = getattr(imported, name, None)
    is_env_class = isinstance(found, type) and issubclass(found, gym.Env)
    if is_env_class or inspect.isfunction(found):
        return class_env_id(env)
    raise UserError(
        f"env {env!r}: importing {module!r} registered no id {name!r}, and {name!r} is not "
        "a gymnasium env class or a function in it; name an id it registers "
        "(module:Name-v0), its env class (module:EnvClass) or a function that returns the "
        "env (module:make_env)"
    )


def _newer_versions(env_id: str) -> list[str]:
    """Registered ids of the same env with a higher version than ``env_id``, oldest first."""
    import gymnasium as gym

    name, _, version = env_id.rpartition("-v")
    if not version.isdigit():
        return []
    found = []
    for other in gym.registry:
        other_name, _, other_version = other.rpartition("-v")
        if other_name == name and other_version.isdigit() and int(other_version) > int(version):
            found.append((int(other_version), other))
    return [other for _, other in sorted(found)]


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None, **extra: Any) -> Any:
    """``gymnasium.make(env_id, **env_kwargs, **extra)``, or one line saying why it cannot be.

    Raises:
        UserError: The env cannot be made here: a keyword it does not take, a package it
            needs (``phys2d/*`` needs jax, the v2/v3 MuJoCo envs mujoco-py), or its own error.
    """
    import gymnasium as gym

    from rewardsmith.envs.mujoco_log import route_mujoco_warnings

    route_mujoco_warnings()
    kwargs = {**dict(env_kwargs or {}), **extra}
    try:
        return gym.make(env_id, **kwargs)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        if isinstance(exc, TypeError) and "unexpected keyword" in reason:
            fix = "remove or rename that keyword in env_kwargs"
        elif isinstance(exc, ImportError):
            newer = _newer_versions(env_id)
            if newer:
                fix = f"use {newer[-1]}"
            elif isinstance(exc, ModuleNotFoundError) and exc.name:
                fix = f"install the package that provides {exc.name!r}"
            else:
                fix = "install what it needs"
        else:
            fix = "check the env's id and env_kwargs"
        raise UserError(f"env {env_id!r} cannot be made here: {reason}; {fix}") from None


def gymnasium_ids() -> list[str]:
    """Every id in gymnasium's registry (for suggestions)."""
    import gymnasium as gym

    return list(gym.registry)


#: Prefixes of popular env ids: the module that registers them when imported, its pip name.
_ID_PACKAGES = (
    ("ALE/", "ale_py", "ale-py"),
    ("MiniGrid-", "minigrid", "minigrid"),
    ("BabyAI-", "minigrid", "minigrid"),
)


def unknown_env_hint(env: str, known: Sequence[str]) -> str:
    """What to add to "unknown env ``env``": the package to import, or the closest ids.

    An id of a family no installed package has registered (``ALE/Pong-v5``) is not a typo:
    its package is missing or was not imported, and closest-spelled ids mislead.
    """
    import gymnasium as gym

    if ":" not in env:
        for prefix, module, pip_name in _ID_PACKAGES:
            if env.startswith(prefix) and not any(i.startswith(prefix) for i in gym.registry):
                return (
                    f"; {prefix}* ids are registered by {pip_name} when imported: install it "
                    f"and name the env {module}:{env}"
                )
        namespace, sep, _ = env.rpartition("/")
        if sep and not any(i.startswith(f"{namespace}/") for i in gym.registry):
            return (
                f"; no installed package has registered ids under {namespace}/: install the "
                f"one that provides them and name the env <its module>:{env}"
            )
    close = difflib.get_close_matches(env, list(known), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(close)}?" if close else ""


#: One field read from the observation: its name, the key or index it sits at (``None``:
#: the whole observation), its shape, and the sub-space to flatten it with (``None``: as is).
FieldSlot = tuple[str, Any, tuple[int, ...], Any]


def generic_extract(
    env: Any, obs: Any, action: Any, layout: tuple[FieldSlot, ...]
) -> dict[str, Any]:
    """Fields read from the observation by ``layout`` (see :data:`FieldSlot`)."""
    import gymnasium as gym

    fields: dict[str, Any] = {}
    for name, where, shape, nested in layout:
        if name == "time":
            fields[name] = float(fl.count_step(env, action))
            continue
        value = obs[where] if where is not None else obs
        if nested is not None:
            value = gym.spaces.flatten(nested, value)
        array = np.asarray(value, dtype=np.float64)
        fields[name] = float(array.reshape(-1)[0]) if shape == () else array.reshape(shape).copy()
    return fields


def _identifier(text: str) -> str:
    name = "".join(c if c.isalnum() else "_" for c in str(text).strip().lower()).strip("_")
    return name if name and not name[0].isdigit() else f"obs_{name}"


def space_text(space: Any) -> str:
    """A space in a few words: a ``Box``'s bounds as one range, not two arrays of them."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Box):
        low, high = float(np.min(space.low)), float(np.max(space.high))
        return f"Box{tuple(space.shape)} of {space.dtype}, values in [{low:g}, {high:g}]"
    return str(space)


def _entry_slot(name: str, where: Any, sub: Any) -> FieldSlot:
    """The slot of one ``Dict``/``Tuple`` entry; a nested ``Dict``/``Tuple`` is flattened."""
    import gymnasium as gym

    if sub.shape is None:
        return (name, where, (int(gym.spaces.flatdim(sub)),), sub)
    shape = tuple(int(d) for d in sub.shape)
    return (name, where, () if shape in ((), (1,)) else shape, None)


def has_fixed_size(space: Any) -> bool:
    """Whether observations of ``space`` flatten to a vector of one size (Text does not)."""
    import gymnasium as gym

    try:
        gym.spaces.flatdim(space)
    except (NotImplementedError, ValueError, TypeError):
        return False
    return True


def check_observation_space(space: Any) -> None:
    """Raise :class:`UserError` unless fields can be read from ``space`` and PPO can take it.

    Box, Discrete, MultiBinary, MultiDiscrete, and Dict/Tuple of those (nested or not) are
    fine, and so is a Dict with some entries of no fixed size (they are left out); Text,
    Graph and Sequence spaces alone have nothing of a fixed size to read or to train on.
    """
    import gymnasium as gym

    entries = space.spaces.values() if isinstance(space, gym.spaces.Dict) else [space]
    if not any(has_fixed_size(entry) for entry in entries):
        raise UserError(
            f"observation space {space} is not supported: rewardsmith reads fields from Box, "
            "Discrete, MultiBinary, MultiDiscrete and Dict/Tuple observations of those; "
            "wrap the env so that it observes one of them (e.g. an entry point that returns "
            "the wrapped env)"
        ) from None


def check_action_space(space: Any) -> None:
    """Raise :class:`UserError` unless PPO can act in ``space``."""
    import gymnasium as gym

    acts = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
    if not isinstance(space, acts):
        raise UserError(
            f"action space {space} is not supported: PPO acts in Box, Discrete, MultiDiscrete "
            "and MultiBinary spaces; wrap the env so that it takes one of them (e.g. an entry "
            "point that returns the wrapped env)"
        )


def observation_layout(
    space: Any, obs_names: Sequence[str] | Mapping[str, str] | None = None
) -> tuple[tuple[FieldSlot, ...], list[str]]:
    """How to read fields from an observation of ``space``, and each field's meaning.

    Args:
        space: The env's observation space.
        obs_names: For a flat ``Box``: one name per index; for a ``Tuple``: one name per
            element. A list of names, or ``{name: meaning}`` in order.

    Raises:
        UserError: ``space`` is one fields cannot be read from.
        ValueError: ``obs_names`` has the wrong number of names.
    """
    import gymnasium as gym

    check_observation_space(space)
    layout: list[FieldSlot] = []
    meanings: list[str] = []
    names = list(obs_names or [])

    def described(name: str, fallback: str) -> str:
        return (obs_names[name] if isinstance(obs_names, Mapping) else "") or fallback

    if isinstance(space, gym.spaces.Dict):
        for key, sub in space.spaces.items():
            if not has_fixed_size(sub):  # MiniGrid's mission text: nothing to compute with
                logger.info("observation entry %r (%s) has no fixed size: left out", key, sub)
                continue
            layout.append(_entry_slot(_identifier(key), key, sub))
            meanings.append(f"Observation entry {key!r} ({space_text(sub)}).")
    elif isinstance(space, gym.spaces.Tuple):
        if names and len(names) != len(space.spaces):
            raise ValueError(
                f"obs_names has {len(names)} names for a tuple of {len(space.spaces)} elements"
            )
        for index, sub in enumerate(space.spaces):
            name = _identifier(names[index]) if names else f"obs_{index}"
            layout.append(_entry_slot(name, index, sub))
            fallback = f"Observation element {index} ({space_text(sub)})."
            meanings.append(described(names[index], fallback) if names else fallback)
    elif names:
        size = int(np.prod(space.shape))
        if len(names) != size:
            raise ValueError(f"obs_names has {len(names)} names for an observation of {size}")
        for index, name in enumerate(names):
            layout.append((_identifier(name), index, (), None))
            meanings.append(described(name, f"Observation index {index}."))
    else:
        layout.append(("observation", None, tuple(int(d) for d in space.shape), None))
        meanings.append(
            f"The raw observation ({space_text(space)}); see the env's source for what each "
            "index means."
        )
    layout.append(("time", None, (), None))
    meanings.append("Steps since the episode started.")
    return tuple(layout), meanings


def describe_action_space(space: Any) -> str:
    """The action space in words, for the designer."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete):
        return (
            f"Discrete({space.n}): an integer in [{space.start}, {space.start + space.n - 1}]; "
            "the reward receives an integer array of shape (n,)."
        )
    if isinstance(space, gym.spaces.Box):
        low, high = float(np.min(space.low)), float(np.max(space.high))
        return f"Box{tuple(space.shape)}: continuous values in [{low:g}, {high:g}]."
    return f"{space_text(space)} (see the env's source)."


def generic_task(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    obs_names: Sequence[str] | Mapping[str, str] | None = None,
    task_id: str | None = None,
    description: str = "",
) -> TaskSpec:
    """A task for ``env_id`` with fields taken from its observation (makes the env once)."""
    import gymnasium as gym

    env_kwargs = with_time_limit(env_id, env_kwargs)
    env = make_env(env_id, env_kwargs)
    try:
        try:
            layout, meanings = observation_layout(env.observation_space, obs_names)
            check_action_space(env.action_space)
        except UserError as exc:
            raise UserError(f"env {env_id!r}: {exc}") from None
        action_meaning = describe_action_space(env.action_space)
        spec = env.spec
        limit = getattr(spec, "max_episode_steps", None)
        threshold = getattr(spec, "reward_threshold", None)
        discrete = isinstance(env.action_space, gym.spaces.Discrete)
    finally:
        env.close()
    fields = tuple(
        StateField(name, shape, "-" if name != "time" else "steps", meaning, frozenset(tags))
        for (name, _, shape, _), meaning, tags in zip(
            layout, meanings, [()] * (len(layout) - 1) + [("time",)], strict=True
        )
    )
    ending = f"it is cut off after {limit} steps"
    return TaskSpec(
        id=task_id or env_id,
        env_id=env_id,
        description=description
        or f"Maximise the return of {task_id or env_id} (no adapter: generic task).",
        fields=fields,
        extract=partial(generic_extract, layout=layout),
        fitness=(
            FitnessMeasure(
                "native_return",
                "The env's own episode return.",
                "reward",
                native_step,
                "sum",
                # No reward_threshold: success is not defined, so it is not counted
                # (0 would have called every return above zero a success).
                float(threshold) if threshold is not None else None,
            ),
        ),
        presets=generic_presets(normalize=not discrete),
        action_meaning=action_meaning,
        termination=f"See the env's source for when episodes end early; {ending}.",
        env_kwargs=env_kwargs,
        family="generic",
    )


class _Pruner(ast.NodeTransformer):
    """Drops docstrings (comments never reach the AST)."""

    def _strip(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        first = body[0] if body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):  # a docstring
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_FunctionDef = _strip
    visit_AsyncFunctionDef = _strip
    visit_ClassDef = _strip


def prune_source(source: str) -> str:
    """``source`` without comments, docstrings or blank lines (it stays valid Python)."""
    tree = _Pruner().visit(ast.parse(textwrap.dedent(source)))
    return ast.unparse(tree)


def env_source(task: TaskSpec) -> str:
    """The env's step/observation/reward methods, pruned, for the designer's prompt.

    Empty when the env cannot be made or its source cannot be read (a compiled env).
    """
    try:
        env = make_env(task.env_id, task.env_kwargs)
        cls = type(env.unwrapped)
        env.close()
    except Exception as exc:  # an env we cannot make has no source to show
        logger.warning("no source for %s: %s", task.env_id, exc)
        return ""
    parts: list[str] = []
    for klass in cls.__mro__:
        if klass.__module__.startswith(("gymnasium.core", "builtins")):
            continue
        for name in _SOURCE_METHODS:
            method = klass.__dict__.get(name)
            if method is None:
                continue
            try:
                parts.append(prune_source(inspect.getsource(method)))
            except (OSError, TypeError, SyntaxError):
                continue
        if parts:
            break
    text = f"# {cls.__module__}.{cls.__qualname__}\n" + "\n\n".join(parts) if parts else ""
    return text[:_MAX_SOURCE_CHARS]
