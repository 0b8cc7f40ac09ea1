"""Custom tasks declared in a TOML (or YAML) file, validated before anything runs.

```toml
[task]
id = "CheetahFlip"                    # default: the file's stem
env = "HalfCheetah-v5"                # a gymnasium id, "package.module:EnvClass" or
                                      # "package.module:Name-v0"; modules are found beside
                                      # the file, in the current folder, or installed
env_kwargs = {}
max_episode_steps = 1000              # default: the env's own limit, else 1000
description = "Do a back flip."
adapter = "HalfCheetah-v5"            # start from a built-in task's fields and presets
                                      # (default: env's own built-in task, if it has one
                                      # and env_kwargs / obs_names are unset; false: none)
obs_names = ["x", "v"]                # optional, no adapter: a flat Box's entries or a Tuple's
action_meaning = "..."                # optional
termination = "..."                   # optional
ends_early = true                     # can an episode end before its time limit? (default:
                                      # the adapter's, else true; false is checked on a rollout)
native_reward = false                 # whether the env's reward is a baseline for this task

[[fields]]                            # optional extra fields
name = "torso_pitch"
expr = "joint_qpos('rooty')"          # over obs, info, action, env, data, model, helpers
unit = "rad"
meaning = "Torso pitch."
tags = ["angle"]

[fitness]
name = "flip_angle"
expr = "prev['torso_pitch'] - torso_pitch"   # or function = "package.module:step"
                                      # over the fields, prev, native and the step's own
                                      # obs, info, action, env, data, model, helpers
aggregate = "sum"                     # sum | mean | last | max
success_threshold = 6.0
meaning = "Radians rotated backwards."

[presets.quick]                       # optional overrides of the adapter's / generic presets
total_timesteps = 200000
ppo = { learning_rate = 1e-3 }
anneal = ["learning_rate"]            # falls linearly to 0 over the budget (RL-Zoo's lin_)
```

Every problem is one :class:`UserError` that names the file, the line and the fix.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.envs import taskexpr
from rewardsmith.envs.generic import (
    generic_task,
    make_env,
    makeable_id,
    unknown_env_hint,
    with_time_limit,
)
from rewardsmith.envs.imports import import_user_module, user_import_paths
from rewardsmith.envs.presets import budget_presets, ppo_kwargs
from rewardsmith.envs.registry import (
    YAML_SUFFIXES,
    all_tasks,
    get_task,
    is_reserved,
    register_source,
)
from rewardsmith.envs.spec import BUDGET_NAMES, FitnessMeasure, PPOPreset, StateField, TaskSpec
from rewardsmith.errors import UserError

_TOP_KEYS = {"task", "fields", "fitness", "presets"}
_TASK_KEYS = {
    "id",
    "env",
    "env_kwargs",
    "description",
    "adapter",
    "obs_names",
    "action_meaning",
    "termination",
    "ends_early",
    "family",
    "native_reward",
    "max_episode_steps",
}
#: Families of tasks that are not a built-in adapter of their env.
_NOT_ADAPTERS = ("generic", "custom")
#: Random steps a task file declaring ``ends_early = false`` is checked for.
_ENDS_EARLY_PROBE_STEPS = 200
_FIELD_KEYS = {"name", "expr", "unit", "meaning", "tags", "shape"}
_FITNESS_KEYS = {"name", "expr", "function", "aggregate", "success_threshold", "meaning", "unit"}
_PRESET_KEYS = {
    "total_timesteps",
    "n_envs",
    "normalize",
    "eval_episodes",
    "checkpoints",
    "ppo",
    "anneal",
}


class _Source:
    """The file's text, for pointing at lines."""

    def __init__(self, text: str, name: str) -> None:
        self.lines = text.splitlines()
        self.name = name

    def line_of(self, *needles: str) -> int:
        """The first line holding every needle (1-based; 0 when none does)."""
        for number, line in enumerate(self.lines, 1):
            if all(n in line for n in needles if n):
                return number
        return 0

    def fail(self, message: str, *needles: str) -> UserError:
        line = self.line_of(*needles) if needles else 0
        where = f"{self.name} line {line}" if line else self.name
        return UserError(f"{where}: {message}")


def _parse(text: str, name: str) -> dict[str, Any]:
    if name.lower().endswith(YAML_SUFFIXES):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            # PyYAML's message spans lines; its marks hold where and what, for one line.
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            context = getattr(exc, "context", None)
            what = f"{problem} ({context})" if context else problem
            raise UserError(f"{name}{where}: malformed YAML: {what}") from None
    else:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{name}: malformed TOML: {exc}; fix the syntax there") from None
    if not isinstance(data, dict):
        raise UserError(f"{name}: expected tables [task], [fitness] and optional [[fields]]")
    return data


def _check_keys(src: _Source, table: dict[str, Any], known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
            )
            raise src.fail(f"unknown key {key!r} in {where}{hint}", key)


def _resolve_env(src: _Source, env: str, import_paths: tuple[str, ...]) -> str:
    """A gymnasium id for ``env``, as ``--env`` resolves it, failing at ``env``'s line."""
    import gymnasium as gym

    try:
        env_id = makeable_id(env, import_paths)
    except UserError as exc:
        raise src.fail(str(exc), env) from None
    if env_id is None:
        hint = unknown_env_hint(env, list(gym.registry))
        raise src.fail(
            f"unknown env {env!r}{hint} (a gymnasium id, or 'package.module:EnvClass')", env
        )
    return env_id


class FieldError(ValueError):
    """Evaluating the field ``name`` failed on a real env."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"field {name!r}: {message}")
        self.name = name


class ExprExtractor:
    """Reads the base task's fields (if any) plus the file's expression fields.

    Args:
        base: The adapter's extractor, or ``None``.
        exprs: ``(name, compiled code, shape, source text)`` of each expression field.
    """

    takes_info = True

    def __init__(self, base: Any, exprs: list[tuple[str, Any, tuple[int, ...], str]]) -> None:
        self.base = base
        self.exprs = exprs

    def __call__(self, env: Any, obs: Any, action: Any, info: Any = None) -> dict[str, Any]:
        """Fields of one env after a reset (``action is None``) or a step."""
        fields = dict(self.base(env, obs, action)) if self.base is not None else {}
        names = step_names(env, obs, action, info)
        for name, code, shape, _ in self.exprs:
            try:
                value = np.asarray(taskexpr.evaluate(code, names), dtype=np.float64)
                fields[name] = float(value) if shape == () else value.reshape(shape).copy()
            except Exception as exc:
                raise FieldError(name, f"{type(exc).__name__}: {exc}") from exc
        return fields


def step_names(env: Any, obs: Any, action: Any, info: Any) -> dict[str, Any]:
    """The step's names an expression may read besides the fields.

    ``obs``, ``info``, ``action``, ``env`` and, for a MuJoCo env, ``data``, ``model`` and
    the name helpers.
    """
    if action is None:
        action = np.zeros(env.action_space.shape or (), dtype=np.float64)
    names = {"obs": obs, "info": info or {}, "action": action, "env": env}
    names.update(taskexpr.mujoco_helpers(env))
    return names


class ExprFitness:
    """A fitness step from an expression over the fields, ``prev``, ``native`` and the step.

    The step is ``obs``, ``info``, ``action``, ``env`` and MuJoCo's ``data``, ``model`` and
    name helpers.

    ``takes_step`` (true only when the expression names one of those) asks
    :class:`~rewardsmith.envs.wrapper.TaskWrapper` to pass the step as keywords, so an
    expression over the fields alone costs no more per step than before; a declared field
    of the same name as one of those wins.
    """

    def __init__(self, code: Any) -> None:
        self.code = code
        step = taskexpr.FIELD_NAMES | set(taskexpr.HELPERS)
        self.takes_step = bool(_code_names(code) & step)

    def __call__(
        self,
        prev: Any,
        fields: Any,
        native: float,
        *,
        env: Any = None,
        obs: Any = None,
        action: Any = None,
        info: Any = None,
    ) -> float:
        """The per-step fitness term."""
        names = step_names(env, obs, action, info) if env is not None else {}
        names.update(fields)
        names.update(prev=prev, native=native)
        return float(taskexpr.evaluate(self.code, names))


def _code_names(code: Any) -> set[str]:
    """Every name ``code`` reads, in nested code (comprehensions) too."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def load_task_file(path: str | Path, import_paths: Sequence[str] | None = None) -> TaskSpec:
    """Read, validate and register the task declared in ``path``.

    Args:
        path: The task file.
        import_paths: Folders its ``module:name`` references are imported from (default:
            the file's own folder, then the current one).

    Raises:
        UserError: The file is missing or any part of it is wrong (one line: where and fix).
    """
    path = Path(path)
    fix = "pass the path to a .toml (or .yaml) task file"
    if path.is_dir():
        raise UserError(f"task file {str(path)!r} is a folder; {fix}")
    if not path.is_file():
        raise UserError(f"task file {str(path)!r} does not exist; {fix}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise UserError(f"task file {str(path)!r} cannot be read ({reason}); {fix}") from None
    paths = tuple(import_paths) if import_paths else user_import_paths(path.parent)
    return load_task_text(text, path.name, paths)


def load_task_text(text: str, name: str, import_paths: tuple[str, ...] | None = None) -> TaskSpec:
    """Validate and register the task declared in ``text`` (file name ``name``).

    Args:
        text: The file's text.
        name: The file's name, for messages (its suffix picks TOML or YAML).
        import_paths: Folders ``module:name`` references are imported from (default: the
            current folder; :func:`load_task_file` puts the file's own folder first).
    """
    import_paths = user_import_paths() if import_paths is None else tuple(import_paths)
    src = _Source(text, name)
    data = _parse(text, name)
    _check_keys(src, data, _TOP_KEYS, "the file's top level")
    task = data.get("task")
    if not isinstance(task, dict) or not task.get("env"):
        raise src.fail('missing [task] table with env = "<gymnasium id or module:Class>"')
    _check_keys(src, task, _TASK_KEYS, "[task]")
    if "fitness" not in data or not isinstance(data["fitness"], dict):
        raise src.fail(
            'missing [fitness] table; add one with expr = "..." (or function = '
            '"module:function"), aggregate and success_threshold'
        )
    kwargs = dict(task.get("env_kwargs") or {})
    if "max_episode_steps" in task:
        limit = task["max_episode_steps"]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise src.fail(
                f"max_episode_steps must be a whole number of steps >= 1, got {limit!r}",
                "max_episode_steps",
            )
        kwargs["max_episode_steps"] = limit  # a gymnasium.make keyword: adds a TimeLimit
    env_id = _resolve_env(src, str(task["env"]), import_paths)
    kwargs = with_time_limit(env_id, kwargs)
    base = _base_task(src, task, env_id, kwargs)
    exprs, extra_fields = _expression_fields(src, data.get("fields") or [], base)
    fitness = _fitness(
        src,
        data["fitness"],
        {f.name for f in base.fields} | {f.name for f in extra_fields},
        import_paths,
    )
    task_id = str(task.get("id") or Path(name).stem)
    if is_reserved(task_id):
        where = "id" if "id" in task else "[task]"
        raise src.fail(
            f"task id {task_id!r} is a built-in task's; give this task its own "
            f'(id = "{task_id}-custom")',
            where,
        )
    spec = replace(
        base,
        id=task_id,
        env_id=env_id,
        env_kwargs=kwargs,
        description=str(task.get("description") or base.description),
        fields=(*base.fields, *extra_fields),
        extract=ExprExtractor(base.extract, exprs) if exprs else base.extract,
        fitness=(fitness, *[m for m in base.fitness if m.name != fitness.name]),
        presets=_presets(src, data.get("presets") or {}, base.presets),
        action_meaning=str(task.get("action_meaning") or base.action_meaning),
        termination=str(task.get("termination") or base.termination),
        ends_early=_flag(src, task, "ends_early", base.ends_early),
        family=str(task.get("family") or "custom"),
        native_reward=_flag(src, task, "native_reward", base.native_reward),
    )
    _try_rollout(src, spec, data)
    return register_source(spec, text, name, import_paths)


def _flag(src: _Source, task: dict[str, Any], key: str, default: bool) -> bool:
    value = task.get(key, default)
    if not isinstance(value, bool):
        raise src.fail(f"{key} must be true or false, got {value!r}", key)
    return value


def _default_adapter(task: dict[str, Any], env_id: str) -> str | None:
    """The built-in task of ``env_id`` itself, if the file leaves its env as that task has it.

    A file on ``Hopper-v5`` then gets Hopper's named fields and tuned presets, not the raw
    observation; ``env_kwargs`` or ``obs_names`` say the file wants the env otherwise.
    """
    if task.get("obs_names") or task.get("env_kwargs"):
        return None
    for builtin in all_tasks():  # not get_task, which would register a generic task
        if builtin.id == env_id == builtin.env_id and builtin.family not in _NOT_ADAPTERS:
            return env_id
    return None


def _base_task(src: _Source, task: dict[str, Any], env_id: str, kwargs: dict[str, Any]) -> TaskSpec:
    adapter = task.get("adapter", _default_adapter(task, env_id))
    if adapter is not None and adapter is not False and not isinstance(adapter, str):
        raise src.fail(f"adapter must be a built-in task id or false, got {adapter!r}", "adapter")
    if adapter:
        try:
            return get_task(str(adapter))
        except UserError as exc:
            raise src.fail(f"adapter: {exc}", str(adapter)) from None
    try:
        return generic_task(env_id, kwargs, task.get("obs_names"))
    except ValueError as exc:
        raise src.fail(
            f"obs_names: {exc}; give one name per observation entry", "obs_names"
        ) from None
    except UserError as exc:  # the env cannot be made, or its observations cannot be read
        raise _env_error(src, task, env_id, exc) from None


def _env_error(src: _Source, task: dict[str, Any], env_id: str, exc: UserError) -> UserError:
    """``exc``, about ``env_id``, in the file's own words and at the line to fix."""
    said = str(task.get("env"))
    message = str(exc).replace(repr(env_id), repr(said))
    if "env_kwargs" in message and "env_kwargs" in task:
        return src.fail(message, "env_kwargs")
    return src.fail(message, "env", said)


def _expression_fields(
    src: _Source, entries: list[Any], base: TaskSpec
) -> tuple[list[tuple[str, Any, tuple[int, ...], str]], list[StateField]]:
    base_names = {f.name for f in base.fields} if base.family not in _NOT_ADAPTERS else set()
    taken = {f.name for f in base.fields} | {"action"}
    exprs, fields = [], []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("expr"):
            raise src.fail(
                'every [[fields]] entry needs name = "..." and expr = "..."', "[[fields]]"
            )
        _check_keys(src, entry, _FIELD_KEYS, f"field {entry['name']!r}")
        name, expr = str(entry["name"]), str(entry["expr"])
        if name in base_names:
            raise src.fail(
                f"field {name!r} is already a field of {base.id}, whose fields this file "
                "starts from; rename it, or set adapter = false in [task] to start from the "
                "raw observation",
                name,
            )
        if not name.isidentifier() or name in taken:
            raise src.fail(
                f"field name {name!r} must be a new Python identifier (not {sorted(taken)[:5]}...)",
                name,
            )
        if name.startswith("prev_"):
            raise src.fail(
                f"field name {name!r} starts with 'prev_', which rewards use for a field's "
                f"value one step earlier; rename it (e.g. {name[5:] + '_before'!r})",
                name,
            )
        try:
            code = taskexpr.compile_expr(expr, taskexpr.FIELD_NAMES | set(taskexpr.HELPERS))
        except taskexpr.ExprError as exc:
            raise src.fail(f"field {name!r}: {exc}", expr) from None
        shape = tuple(int(d) for d in entry.get("shape", ()))
        exprs.append((name, code, shape, expr))
        meaning = str(entry.get("meaning") or f"{expr}.")
        fields.append(
            StateField(
                name,
                shape,
                str(entry.get("unit") or "-"),
                meaning if meaning.endswith(".") else meaning + ".",
                frozenset(entry.get("tags") or ()),
            )
        )
        taken.add(name)
    return exprs, fields


def _fitness(
    src: _Source, table: dict[str, Any], names: set[str], import_paths: tuple[str, ...]
) -> FitnessMeasure:
    _check_keys(src, table, _FITNESS_KEYS, "[fitness]")
    aggregate = str(table.get("aggregate", "sum"))
    if aggregate not in ("sum", "mean", "last", "max"):
        raise src.fail(f"aggregate {aggregate!r} must be sum, mean, last or max", "aggregate")
    if "success_threshold" not in table:
        raise src.fail(
            "[fitness] needs success_threshold = <number> (the episode value of success)",
            "[fitness]",
        )
    if table.get("function"):
        target = str(table["function"])
        module, _, attr = target.partition(":")
        try:
            step = getattr(import_user_module(module, import_paths), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise src.fail(
                f"fitness function {target!r} cannot be imported ({exc})", target
            ) from None
    elif table.get("expr"):
        try:
            allowed = names | {"prev", "native"} | taskexpr.FIELD_NAMES | set(taskexpr.HELPERS)
            step = ExprFitness(taskexpr.compile_expr(str(table["expr"]), allowed))
        except taskexpr.ExprError as exc:
            raise src.fail(f"fitness: {exc}", str(table["expr"])) from None
    else:
        raise src.fail('[fitness] needs expr = "..." or function = "module:function"', "[fitness]")
    name = str(table.get("name") or "fitness")
    if not re.fullmatch(r"[a-z][a-z0-9_.]*", name):
        raise src.fail(f"fitness name {name!r} must be lower case letters, digits, _ or .", name)
    return FitnessMeasure(
        name,
        str(
            table.get("meaning")
            or f"Episode {aggregate} of {table.get('expr') or table.get('function')}."
        ),
        str(table.get("unit") or "-"),
        step,
        aggregate,  # type: ignore[arg-type]
        _threshold(src, table["success_threshold"]),
    )


def _threshold(src: _Source, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise src.fail(
            f"success_threshold must be a number (the episode value that counts as success), "
            f"got {value!r}",
            "success_threshold",
        )
    return float(value)


def _presets(src: _Source, table: dict[str, Any], base: Any) -> dict[str, PPOPreset]:
    _check_keys(src, table, set(BUDGET_NAMES), "[presets]")
    out = {}
    for budget in BUDGET_NAMES:
        preset = base[budget]
        override = dict(table.get(budget) or {})
        _check_keys(src, override, _PRESET_KEYS, f"[presets.{budget}]")
        try:
            ppo = ppo_kwargs(preset.ppo, **dict(override.pop("ppo", {})))
        except ValueError as exc:
            raise src.fail(f"[presets.{budget}] ppo: {exc}", f"presets.{budget}") from None
        if "anneal" in override:
            anneal = override["anneal"]
            if not isinstance(anneal, list) or not all(isinstance(a, str) for a in anneal):
                raise src.fail(
                    f"[presets.{budget}] anneal must be a list of setting names, such as "
                    f'["learning_rate"]; got {anneal!r}',
                    f"presets.{budget}",
                )
            override["anneal"] = tuple(anneal)
        out[budget] = replace(preset, ppo=ppo, **override)
    try:
        return budget_presets(**out)
    except ValueError as exc:
        raise src.fail(f"[presets]: {exc}", "presets") from None


def _try_rollout(src: _Source, spec: TaskSpec, data: dict[str, Any]) -> None:
    """Make the env, check helper names against the model, and read fields for two steps."""
    from rewardsmith.envs.wrapper import TaskWrapper

    try:
        made = make_env(spec.env_id, spec.env_kwargs)
    except UserError as exc:
        raise _env_error(src, data["task"], spec.env_id, exc) from None
    env = TaskWrapper(made, spec, spec.fitness[0], "sparse")
    try:
        model = getattr(env.unwrapped, "model", None)
        exprs = [str(entry["expr"]) for entry in data.get("fields") or []]
        if data["fitness"].get("expr"):
            exprs.append(str(data["fitness"]["expr"]))
        for expr in exprs:
            mujoco_only = sorted(taskexpr.names_read(expr) & taskexpr.MUJOCO_NAMES)
            if model is None and mujoco_only:
                raise src.fail(
                    f"{mujoco_only[0]!r} needs a MuJoCo env; {spec.env_id} is not one (read "
                    "obs, info, action or env instead)",
                    expr,
                )
            for helper, name in taskexpr.helper_calls(expr):
                kind = taskexpr.HELPERS[helper][0]
                if model is None:
                    raise src.fail(
                        f"{helper}() needs a MuJoCo env; {spec.env_id} is not one", helper
                    )
                known = taskexpr.mujoco_names(model, kind)
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    fix = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                    raise src.fail(f"unknown {kind} name {name!r} in {helper}(); {fix}", name)
        try:
            env.reset(seed=0)
            env.action_space.seed(0)
            _, _, terminated, _, _ = env.step(env.action_space.sample())
            if not spec.ends_early:
                # Random play ends the episodes of most envs that can end early; a
                # wrong ``false`` would let deduplication merge rewards that differ.
                for _ in range(_ENDS_EARLY_PROBE_STEPS):
                    if terminated:
                        raise src.fail(
                            "ends_early = false, but a random-action episode ended early "
                            "(terminated); set ends_early = true",
                            "ends_early",
                        )
                    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                    if truncated:
                        break
        except UserError:
            raise
        except FieldError as exc:
            raise src.fail(
                f"{exc}; check its expression and shape (declare shape = [..] for a vector)",
                f'"{exc.name}"',
            ) from None
        except Exception as exc:
            fitness = data["fitness"]
            said = str(fitness.get("function") or fitness.get("expr"))
            if _raised_in(exc, spec.fitness[0].step):
                raise src.fail(
                    f"fitness {said!r} failed on a real step: {type(exc).__name__}: {exc}; "
                    "fix it (it may read the fields, prev, native and the step's obs, info, "
                    f"action, env{', data, model' if model is not None else ''})",
                    said,
                ) from None
            raise src.fail(
                f"the env's step failed on a random action: {type(exc).__name__}: {exc}; "
                "check env_kwargs, or the env itself"
            ) from None
    finally:
        env.close()


def _raised_in(exc: BaseException, step: Any) -> bool:
    """Whether ``exc`` came out of the fitness ``step`` (a function, or an expression's)."""
    code = getattr(step, "__code__", None) or type(step).__call__.__code__
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False
