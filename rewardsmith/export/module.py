"""Write a run's best reward as a standalone module that needs only numpy and gymnasium.

The module holds the reward code as it was trained, the task's field extractor (see
:mod:`rewardsmith.export.extractor`), a ``gymnasium.Wrapper`` that applies the reward to
one env, and helpers that wrap an SB3 ``VecEnv`` so the reward runs once per vector step,
as it did in training. Its docstring says which run it came from and what fitness it
reached.
"""

from __future__ import annotations

import ast
import inspect
import json
import pprint
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rewardsmith.agent.final_eval import hns_text
from rewardsmith.export.extractor import ExportError, extractor_source
from rewardsmith.export.template import RUNTIME
from rewardsmith.train.spaces import apply_view, float_box, policy_setup

#: Names the exported module defines itself; the reward code must not reuse them.
_OWN_NAMES = frozenset(
    {
        "ENV_ID",
        "ENV_KWARGS",
        "ENV_ENTRY_POINT",
        "FITNESS",
        "TRAINING",
        "REWARD_PARAMETERS",
        "FIELD_NAMES",
        "extract_fields",
        "gather",
        "reward_batch",
        "SynthesizedReward",
        "wrap_vec_env",
        "make_sb3_vec_env",
        "apply_view",
        "float_box",
        "fl",
        "gym",
        "np",
        "math",
        "types",
    }
)


def _top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _reward_parameters(source: str) -> list[str]:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "compute_reward":
            return [a.arg for a in node.args.args]
    raise ExportError("the best reward defines no compute_reward")


def _registration(env_id: str) -> list[str]:
    """Lines that register an env class a task file named (rewardsmith gave it its id)."""
    import gymnasium as gym

    if not env_id.startswith("rewardsmith/"):
        return []
    entry = gym.spec(env_id).entry_point
    if not isinstance(entry, str):
        raise ExportError(f"the env {env_id!r} has no importable entry point to export")
    return [
        f"ENV_ENTRY_POINT = {entry!r}  # the class the task file named\n"
        "if ENV_ID not in gym.registry:\n"
        "    gym.register(ENV_ID, entry_point=ENV_ENTRY_POINT)"
    ]


def _iteration_number(index: Any) -> str:
    """The 1-based number people see (``synthesize``, ``show``, the page) for an index."""
    return str(index + 1) if isinstance(index, int) else "?"


def _success_text(rate: float | None) -> str:
    """``, success rate 40%`` (nothing where the task declares no success threshold)."""
    return "" if rate is None else f", success rate {rate:.0%}"


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


@dataclass
class ExportInfo:
    """What :func:`export_run` wrote.

    Args:
        path: The module file.
        task: Task id.
        candidate: Id of the exported reward.
        fitness: Fitness the run reports for it (final evaluation mean, else search).
        fitness_std: Its spread over evaluation seeds (``None`` without a final evaluation).
        measure: Name of the fitness measure.
    """

    path: Path
    task: str
    candidate: str
    fitness: float | None
    fitness_std: float | None
    measure: str


def _read(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ExportError(f"{str(path)!r} is missing; {what}") from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{str(path)!r} cannot be read ({exc}); {what}") from None


def _docstring(
    run_dir: Path, run: dict[str, Any], report: dict[str, Any], spec: Any, module: str
) -> str:
    search = report.get("search", {})
    best = report.get("best") or {}
    config = run.get("config", {})
    designer = config.get("model") or "the offline designer"
    lines = [
        f"Reward for {spec.id}"
        + ("" if spec.id == spec.env_id else f" ({spec.env_id})")
        + ", synthesised by rewardsmith.",
        "",
        f"Behaviour: {report.get('description') or run.get('description', '')}",
        f"Source run: {run_dir.resolve()} (designed by {designer}); candidate "
        f"{search.get('candidate')} from iteration {_iteration_number(search.get('iteration'))}.",
        f"Exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by rewardsmith "
        f"{run.get('versions', {}).get('rewardsmith', '?')}.",
        "",
        f"Fitness ({report.get('fitness', '?')}: {report.get('fitness_meaning', '')})",
    ]
    if best.get("mean") is not None:
        seeds = len(best.get("per_seed", []))
        lines.append(
            f"  this reward: {_fmt(best['mean'])} +- {_fmt(best.get('std'))} over {seeds} "
            f"seed(s) of PPO with budget {report.get('budget')}"
            + _success_text(best.get("success_rate"))
        )
        for name in ("native", "sparse"):
            base = report.get(name) or {}
            if base.get("mean") is not None:
                lines.append(f"  {name} baseline: {_fmt(base['mean'])} +- {_fmt(base.get('std'))}")
        lines.append(f"  human-normalised score: {hns_text(report)}")
    during = f"  during the search: {_fmt(search.get('fitness'))}"
    if search.get("pruned"):
        during += (
            f" after {int(search.get('steps', 0)):,} env steps (successive halving stopped it "
            "at a tie; the confirmation chose it)"
        )
    lines.append(during)
    lines += [
        "",
        "Depends only on numpy and gymnasium (stable-baselines3 for the VecEnv helpers).",
        "",
        "Usage::",
        "",
        "    import gymnasium as gym",
        f"    from {module} import ENV_ID, ENV_KWARGS, SynthesizedReward",
        "",
        "    env = SynthesizedReward(gym.make(ENV_ID, **ENV_KWARGS))",
        "",
        "    # stable-baselines3, the reward computed once per vector step as in training:",
        "    from stable_baselines3 import PPO",
        f"    from {module} import TRAINING, make_sb3_vec_env, ppo_settings",
        "",
        "    model = PPO(TRAINING['policy'], make_sb3_vec_env(seed=0), **ppo_settings())",
        "    model.learn(TRAINING['total_timesteps'])",
    ]
    return "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")


def render_module(run_dir: Path, module: str = "this_module") -> tuple[str, ExportInfo]:
    """The exported module's source for the run in ``run_dir``, and what it holds.

    Args:
        run_dir: A finished run folder.
        module: The name the module will be imported by, for its docstring's usage.

    Raises:
        ExportError: Not a finished run, no best reward, or a non-portable extractor.
    """
    from rewardsmith.envs.registry import resolve_task
    from rewardsmith.store import RUN_IMPORT_PATHS, task_file_copy

    run = _read(run_dir / "run.json", "pass a run folder made by `rewardsmith synthesize`")
    report = _read(
        run_dir / "best" / "report.json",
        "the run has no best reward yet: finish it with `rewardsmith resume`",
    )
    reward_path = run_dir / "best" / "reward.py"
    if not reward_path.is_file():
        raise ExportError(f"{str(reward_path)!r} is missing; finish the run first")
    reward = reward_path.read_text()
    config = run.get("config") or {}
    task_file = config.get("task_file")
    if task_file and task_file_copy(run_dir, task_file).is_file():
        task_file = str(task_file_copy(run_dir, task_file))  # the task the run trained on
    spec = resolve_task(
        config.get("env") or report.get("task") or run.get("task"),
        task_file,
        run.get(RUN_IMPORT_PATHS),
    )
    extract_src, extract_name = extractor_source(spec.extract)
    # Task files' expression fields may read the step's info dict; built-in ones never do.
    info = ", info=info" if getattr(spec.extract, "takes_info", False) else ""
    extract_call = f"{extract_name}(env.unwrapped, obs, action{info})"
    params = _reward_parameters(reward)
    clashes = (_top_level_names(reward) & (_OWN_NAMES | _top_level_names(extract_src))) - {
        "np",
        "math",
    }
    if clashes:
        raise ExportError(
            f"the reward defines {', '.join(sorted(clashes))}, which the exported module also "
            "defines; rename them in best/reward.py and export again"
        )
    budget = str(report.get("budget") or run.get("config", {}).get("budget", "quick"))
    preset = spec.preset(int(budget) if budget.isdigit() else budget)
    training = {
        "budget": budget,
        "total_timesteps": preset.total_timesteps,
        "n_envs": preset.n_envs,
        "normalize": preset.normalize,
        **policy_setup(spec),
        "ppo": dict(preset.ppo),
        "anneal": list(preset.anneal),
        "seeds": report.get("seeds", []),
    }
    best = report.get("best") or {}
    fitness = {
        "measure": report.get("fitness"),
        "meaning": report.get("fitness_meaning"),
        "success_threshold": report.get("success_threshold"),
        "reached": best.get("mean", report.get("search", {}).get("fitness")),
        "std": best.get("std"),
        "per_seed": best.get("per_seed", []),
        "native": (report.get("native") or {}).get("mean"),
        "sparse": (report.get("sparse") or {}).get("mean"),
        "hns": report.get("hns"),
    }
    # The extractor's imports join the module's own at the top (once each).
    imports = {"import math", "import numpy as np"}
    body_lines = []
    for line in extract_src.splitlines():
        if line.startswith("import "):
            imports.add(line)
        else:
            body_lines.append(line)
    extract_src = "\n".join(body_lines)
    stdlib = sorted(i for i in imports if "numpy" not in i)
    parts = [
        f'"""{_docstring(run_dir, run, report, spec, module)}\n"""',
        "from __future__ import annotations\n",
        "\n".join([*stdlib, "from typing import Any"])
        + "\n\nimport gymnasium as gym\nimport numpy as np\n",
        _public_names(bool(_registration(spec.env_id))),
        f"ENV_ID = {spec.env_id!r}",
        *_registration(spec.env_id),
        f"ENV_KWARGS = {dict(spec.env_kwargs)!r}",
        f"FITNESS = {pprint.pformat(fitness, sort_dicts=False)}",
        f"TRAINING = {pprint.pformat(training, sort_dicts=False)}\n",
        "# " + "-" * 52 + " the reward, as trained\n",
        reward.strip() + "\n",
        "# " + "-" * 50 + " reading the state fields\n",
        extract_src.strip() + "\n",
        "# " + "-" * 45 + " what the policy sees, as trained\n",
        _policy_view_source(),
        RUNTIME.format(params=tuple(params), extract_call=extract_call).strip() + "\n",
    ]
    source = "\n\n\n".join(part.strip() for part in parts) + "\n"
    ast.parse(source)  # a broken template must fail here, not in the user's training
    info = ExportInfo(
        Path(),
        spec.id,
        str(report.get("search", {}).get("candidate")),
        fitness["reached"],
        fitness["std"],
        str(report.get("fitness")),
    )
    return source, info


def _public_names(registers: bool) -> str:
    """``__all__``: what ``from my_reward import *`` gives, not the extractor's helpers."""
    names = [
        "ENV_ID", *(["ENV_ENTRY_POINT"] if registers else []), "ENV_KWARGS", "FITNESS",
        "TRAINING", "REWARD_PARAMETERS", "FIELD_NAMES", "compute_reward", "extract_fields",
        "reward_batch", "SynthesizedReward", "wrap_vec_env", "make_sb3_vec_env",
    ]  # fmt: skip
    return "__all__ = [\n" + "".join(f"    {name!r},\n" for name in names) + "]"


def _policy_view_source() -> str:
    """The source of ``apply_view`` and ``float_box``, for the exported module.

    Copied, not rewritten: the exported module shows the policy its observations exactly
    as training did (both use only gymnasium and numpy).
    """
    return "\n\n".join(
        textwrap.dedent(inspect.getsource(fn)).strip() + "\n" for fn in (float_box, apply_view)
    )


def export_run(run_dir: Path, out: Path) -> ExportInfo:
    """Write the best reward of ``run_dir`` as a standalone module ``out``.

    Raises:
        ExportError: See :func:`render_module`; also when ``out`` cannot be written.
    """
    from rewardsmith.store import write_atomic

    if out.suffix != ".py":
        raise ExportError(f"-o {str(out)!r} must name a .py file, e.g. -o my_reward.py")
    # The usage in the docstring imports the module by the name it is written under.
    source, info = render_module(run_dir, out.stem if out.stem.isidentifier() else "this_module")
    try:
        write_atomic(out, source)
    except OSError as exc:
        raise ExportError(f"cannot write {str(out)!r} ({exc.strerror}); pick another -o") from exc
    info.path = out
    return info
