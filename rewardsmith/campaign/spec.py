"""A campaign file: a grid of tasks x designers x seeds with shared defaults, validated up front.

Example ``campaign.toml``::

    name = "pole-study"          # campaign folder name (default: the file's stem)
    out = "campaigns"            # where the campaign folder goes (default: campaigns)
    executor = "local"           # ray (default) | local; one executor shared by all cells
    workers = 4                  # trainings at once, over the whole campaign
    seeds = [0, 1]               # or a count: seeds = 3 means 0, 1, 2
    designers = ["offline", "openai/gpt-4o-mini"]

    [defaults]                   # any `rewardsmith synthesize` option
    iterations = 3
    samples = 4
    budget = "smoke"

    [[tasks]]
    env = "CartPole-v1"
    iterations = 5               # per-task override

    [[tasks]]
    file = "tasks/pole_right.toml"   # a task file (relative to this file)

A designer is ``"offline"``, a model string, or a table ``{name, model, api_base,
temperature, llm_critic, ...}``; a task is a built-in id, a path ending ``.toml``, or a
table with ``env`` or ``file`` plus overrides. Every cell becomes a validated
:class:`~rewardsmith.config.SynthConfig` before anything runs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardsmith.config import SynthConfig, check_type
from rewardsmith.errors import UserError
from rewardsmith.store import safe_name

if TYPE_CHECKING:
    from rewardsmith.envs.spec import FitnessMeasure

#: Set once for the whole campaign (the shared executor), never per cell.
CAMPAIGN_KEYS = ("name", "out", "executor", "ray_address", "workers", "parallel", "seeds")
#: Options a designer entry may set.
DESIGNER_KEYS = (
    "model",
    "api_base",
    "temperature",
    "llm_critic",
    "max_revisions",
    "llm_timeout",
    "llm_retries",
    "llm_backoff",
)
#: Config fields no default or override may set: the grid and the campaign decide them.
_GRID_FIELDS = ("env", "task_file", "seed", "out", "executor", "ray_address", "workers")
MAX_CELLS = 10_000


def _option_names() -> list[str]:
    return [f.name for f in fields(SynthConfig) if f.name not in _GRID_FIELDS]


@dataclass(frozen=True)
class DesignerEntry:
    """One designer of the grid: a name and the options it sets."""

    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class TaskEntry:
    """One task of the grid: a label, a built-in env or a task file, and its overrides."""

    label: str
    env: str = ""
    task_file: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Cell:
    """One synthesis of the campaign: a task, a designer, a seed, and its config."""

    id: str
    task: TaskEntry
    designer: DesignerEntry
    seed: int
    config: SynthConfig


@dataclass
class CampaignSpec:
    """A parsed, validated campaign.

    Args:
        name: Campaign folder name.
        out: Folder that holds the campaign folder.
        executor: ``ray`` or ``local``.
        ray_address: Ray cluster to join.
        workers: Trainings at once over the whole campaign (``None``: one per core).
        parallel: Cells that run at once (their trainings share the executor's workers).
        cells: The grid, in task, designer, seed order.
        data: The campaign's data with task-file paths made absolute (saved in the
            manifest, so ``--resume`` needs no original file).
    """

    name: str
    out: Path
    executor: str
    ray_address: str | None
    workers: int | None
    parallel: int
    cells: list[Cell]
    data: dict[str, Any]

    @property
    def folder(self) -> Path:
        """The campaign folder."""
        return self.out / self.name

    def shared_config(self) -> SynthConfig:
        """Config of the shared executor (executor, workers, Ray address, result cache)."""
        first = self.cells[0].config
        return SynthConfig(
            executor=self.executor,
            ray_address=self.ray_address,
            workers=self.workers,
            cache=first.cache,
            cache_dir=first.cache_dir,
            out=str(self.folder),
        )


def _where(source: str, part: str) -> str:
    return f"{source}: {part}" if part else source


def _check_options(values: Any, allowed: list[str] | tuple[str, ...], where: str) -> dict:
    if not isinstance(values, dict):
        raise UserError(f"{where} must be a table of options, got {type(values).__name__}")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        grid = [k for k in unknown if k in _GRID_FIELDS]
        hint = (
            f"{', '.join(grid)} are set by the grid or at the top of the campaign file"
            if grid
            else f"known options: {', '.join(sorted(allowed))}"
        )
        raise UserError(f"{where} has unknown option(s) {', '.join(unknown)}; {hint}")
    for key, value in values.items():
        check_type(key, value, where)
    return dict(values)


def _designers(raw: Any, source: str) -> list[DesignerEntry]:
    if raw is None:
        raw = ["offline"]
    if not isinstance(raw, list) or not raw:
        raise UserError(f'{source}: designers must be a non-empty list, e.g. ["offline"]')
    entries = []
    for i, item in enumerate(raw):
        where = f"{source}: designers[{i}]"
        if isinstance(item, str):
            if not item.strip():
                raise UserError(f'{where} is empty; write "offline" or a model string')
            model = None if item == "offline" else item
            entries.append(DesignerEntry(safe_name(item), {"model": model}))
            continue
        if not isinstance(item, dict):
            raise UserError(f"{where} must be a model string or a table, got {item!r}")
        item = dict(item)
        name = item.pop("name", None)
        options = _check_options(item, DESIGNER_KEYS, where)
        if options.get("model") == "offline":
            options["model"] = None
        label = name or options.get("model") or "offline"
        if not isinstance(label, str):
            raise UserError(f"{where}: name must be text, got {label!r}")
        entries.append(DesignerEntry(safe_name(label), options))
    names = [d.name for d in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"{source}: designer name(s) {', '.join(dupes)} appear twice; add name=")
    return entries


def _tasks(raw: Any, source: str, base: Path) -> list[TaskEntry]:
    if not isinstance(raw, list) or not raw:
        raise UserError(
            f'{source}: tasks must be a non-empty list, e.g. tasks = ["CartPole-v1"] or '
            "[[tasks]] tables with env = ... or file = ..."
        )
    entries = []
    for i, item in enumerate(raw):
        where = f"{source}: tasks[{i}]"
        if isinstance(item, str):
            item = {"file": item} if item.endswith(".toml") else {"env": item}
        if not isinstance(item, dict):
            raise UserError(f"{where} must be an env id, a .toml path or a table, got {item!r}")
        item = dict(item)
        env, file, label = item.pop("env", ""), item.pop("file", ""), item.pop("name", "")
        if bool(env) == bool(file):
            raise UserError(f'{where} needs exactly one of env = "ID" or file = "task.toml"')
        overrides = _check_options(item, _option_names(), where)
        if file:
            path = Path(file).expanduser()
            path = path if path.is_absolute() else (base / path)
            if not path.is_file():
                raise UserError(f"{where}: task file {file!r} not found (looked at {path})")
            file = str(path.resolve())
            label = label or path.stem
        entries.append(TaskEntry(safe_name(label or env), env, file, overrides))
    labels = [t.label for t in entries]
    dupes = sorted({n for n in labels if labels.count(n) > 1})
    if dupes:
        raise UserError(f"{source}: task(s) {', '.join(dupes)} appear twice; give one a name=")
    return entries


def _seeds(raw: Any, source: str) -> list[int]:
    if raw is None:
        return [0]
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= 100:
            raise UserError(f"{source}: seeds = {raw} must be between 1 and 100 (or a list)")
        return list(range(raw))
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in raw)
    ):
        raise UserError(f"{source}: seeds must be a count or a list of integers, got {raw!r}")
    if len(set(raw)) != len(raw):
        raise UserError(f"{source}: seeds {raw} repeat a value; list each seed once")
    return list(raw)


def _validate_cell(
    cell: Cell, where: str, checked: dict[tuple[str, str, str | None], tuple[str, FitnessMeasure]]
) -> None:
    key = (cell.config.env, cell.config.task_file or "", cell.config.fitness)
    try:
        cell.config.validate()
        if key not in checked:  # a task file is read (and rolled out) once, not once per cell
            from rewardsmith.envs.registry import resolve_task

            task = resolve_task(cell.config.env, cell.config.task_file)
            checked[key] = (task.id, task.get_fitness(cell.config.fitness))
        # Named by the task's id, as `synthesize` names it, not by the cell's env or file.
        cell.config.validate_fitness(*checked[key])
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    except KeyError as exc:
        raise UserError(f"{where}: {exc.args[0]}") from None


def parse_campaign(data: dict[str, Any], source: str, base: Path) -> CampaignSpec:
    """Build and validate a campaign from its TOML data.

    Args:
        data: The parsed campaign file.
        source: Name of the file, for messages.
        base: Folder relative task-file paths are resolved against.

    Raises:
        UserError: The first problem, naming where it is and how to fix it.
    """
    known = {*CAMPAIGN_KEYS, "designers", "defaults", "tasks"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(
            f"{source}: unknown key(s) {', '.join(unknown)}; the top level takes "
            f"{', '.join(sorted(known))} (synthesis options go under [defaults])"
        )
    name = data.get("name") or Path(source).stem
    if not isinstance(name, str) or safe_name(name) != name:
        raise UserError(f"{source}: name {name!r} may hold only letters, digits, '.', '_', '-'")
    executor = data.get("executor", "ray")
    if executor not in ("ray", "local"):
        raise UserError(f"{source}: executor must be ray or local, got {executor!r}")
    ray_address = data.get("ray_address")
    if ray_address is not None and (executor != "ray" or not isinstance(ray_address, str)):
        raise UserError(f'{source}: ray_address needs executor = "ray" and must be text')
    workers, parallel = data.get("workers"), data.get("parallel")
    for key, value in (("workers", workers), ("parallel", parallel)):
        bad = value is not None and (not isinstance(value, int) or isinstance(value, bool))
        if bad or (value is not None and not 1 <= value <= 1024):
            raise UserError(f"{source}: {key} must be a whole number from 1 to 1024, got {value!r}")
    defaults = _check_options(data.get("defaults", {}), _option_names(), f"{source}: [defaults]")
    designers = _designers(data.get("designers"), source)
    tasks = _tasks(data.get("tasks"), source, base)
    seeds = _seeds(data.get("seeds"), source)
    total = len(designers) * len(tasks) * len(seeds)
    if total > MAX_CELLS:
        raise UserError(f"{source}: the grid has {total} cells; keep it under {MAX_CELLS}")
    out = Path(str(data.get("out", "campaigns"))).expanduser()
    out = out if out.is_absolute() else base / out
    folder = out / name
    cells = []
    checked: dict[tuple[str, str, str | None], tuple[str, FitnessMeasure]] = {}
    for task in tasks:
        for designer in designers:
            for seed in seeds:
                cell_id = f"{task.label}__{designer.name}__seed{seed}"
                values = {**defaults, **designer.options, **task.overrides}
                values.update(
                    env=task.env,
                    task_file=task.task_file or None,
                    seed=seed,
                    out=str(folder),
                    executor=executor,
                    ray_address=ray_address,
                    workers=workers,
                )
                if "budget" in values:
                    values["budget"] = str(values["budget"])
                cell = Cell(cell_id, task, designer, seed, SynthConfig(**values))
                _validate_cell(cell, f"{source}: cell {cell_id}", checked)
                cells.append(cell)
    saved = dict(data)
    saved["tasks"] = [
        {
            "name": t.label,
            **({"file": t.task_file} if t.task_file else {"env": t.env}),
            **t.overrides,
        }
        for t in tasks
    ]
    saved.update(name=name, out=str(out))
    return CampaignSpec(
        name,
        out,
        executor,
        ray_address,
        workers,
        parallel or workers or max(2, os.cpu_count() or 1),
        cells,
        saved,
    )


def load_campaign(path: Path) -> CampaignSpec:
    """Read and validate the campaign file ``path``.

    Raises:
        UserError: Unreadable file, invalid TOML, or any invalid entry.
    """
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read campaign file {str(path)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise UserError(f"campaign file {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"campaign file {str(path)!r} is not valid TOML: {exc}") from exc
    return parse_campaign(data, path.name, path.resolve().parent)
