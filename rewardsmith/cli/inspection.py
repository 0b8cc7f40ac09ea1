"""``rewardsmith check``, ``tasks``, ``show`` and ``doctor``: look without training.

The critic on one reward file, the tasks as a designer sees them, a run's iterations,
and which sandbox protections and backends this machine has.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Column, Table

from rewardsmith.cli.core import _fail, _fmt, _print_report, app, console
from rewardsmith.errors import UserError

if TYPE_CHECKING:
    from rewardsmith.envs.spec import TaskSpec


def _read_reward_file(path: Path) -> str:
    if not path.exists():
        raise UserError(f"{str(path)!r} does not exist; pass a Python file defining compute_reward")
    if not path.is_file():
        raise UserError(f"{str(path)!r} is not a file; pass a Python file defining compute_reward")
    try:
        source = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        raise UserError(
            f"{str(path)!r} is not a UTF-8 text file; pass a Python file defining compute_reward"
        ) from None
    if not source.strip() or "compute_reward" not in source:
        raise UserError(
            f"{str(path)!r} is not a reward file: it defines no compute_reward "
            "(see `rewardsmith tasks --describe ID` for the contract)"
        )
    return source


def _ident(header: str) -> Column:
    """A column of identifiers: a long one folds onto the next line, whole."""
    return Column(header, overflow="fold")


@app.command()
def check(
    reward_file: Path = typer.Argument(..., help="Python file defining compute_reward."),
    env: str = typer.Option(None, "--env", help="Task id the reward is written for."),
    task_file: str = typer.Option(None, "--task-file", help="TOML/YAML file declaring the task."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Run the critic alone on a reward file: every problem, or a pass."""
    import tempfile

    from rewardsmith.agent.candidate import RewardCandidate
    from rewardsmith.agent.critic import Critic
    from rewardsmith.envs.registry import resolve_task, task_job_fields
    from rewardsmith.sandbox.runner import Limits
    from rewardsmith.train.jobs import run_job

    try:
        if not 0 <= seed < 2**31:  # gymnasium's reset seeds
            raise UserError(f"--seed must be between 0 and {2**31 - 1}, got {seed}")
        spec = resolve_task(env, task_file)
        source = _read_reward_file(reward_file)
    except UserError as exc:
        _fail(str(exc))
    preset = spec.preset("smoke")
    with tempfile.TemporaryDirectory(prefix="rewardsmith-check-") as tmp:
        job = {
            "kind": "probe", "task": spec.id, **task_job_fields(spec),
            "seed": seed, "n_envs": preset.n_envs, "steps": 64,
        }  # fmt: skip
        outcome = run_job(job, Limits.for_training(300.0), keep_dir=Path(tmp))
        if not outcome.ok:
            _fail(f"could not roll out {spec.env_id}: {outcome.error}", 1)
        report = Critic(spec, Path(tmp) / "transitions.npz", n_envs=preset.n_envs).check(
            RewardCandidate(source, origin={"designer": "user", "file": str(reward_file)})
        )
    if report.passed:
        comps = ", ".join(report.dynamic.get("components", [])) or "none"
        console.print(
            f"[green]passed[/]: {escape(str(reward_file))} (components: {escape(comps)})",
            highlight=False,
        )
        return
    console.print(f"[red]rejected[/]: {escape(str(reward_file))}", highlight=False)
    for problem in report.problems:
        console.print(f"- {problem}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _print_prompt(spec: TaskSpec, task: str | None, fitness: str | None) -> None:
    """The first design request, as ``synthesize --model`` sends it (``--task`` included)."""
    from rewardsmith.agent.designer import DesignContext, conversation_markdown, first_messages
    from rewardsmith.config import check_task_text

    try:
        if task is not None:
            check_task_text(task)
        measure = spec.get_fitness(fitness)
    except UserError as exc:
        _fail(str(exc))
    except KeyError as exc:
        _fail(str(exc.args[0]))
    ctx = DesignContext(task=spec, description=task or spec.description, fitness=measure, seed=0)
    console.print(
        conversation_markdown(first_messages(ctx)), markup=False, highlight=False, soft_wrap=True
    )


@app.command()
def tasks(
    describe: str = typer.Option(None, "--describe", help="Show one task as a designer sees it."),
    task_file: str = typer.Option(None, "--task-file", help="Validate and show a task file."),
    prompt: bool = typer.Option(
        False, "--prompt", help="Print the model's first request for that task, word for word."
    ),
    task: str = typer.Option(None, "--task", help="With --prompt: the behaviour in words."),
    fitness: str = typer.Option(None, "--fitness", help="With --prompt: the fitness measure."),
) -> None:
    """List the built-in tasks and their state fields."""
    from rewardsmith.envs.generic import env_source
    from rewardsmith.envs.registry import all_tasks, resolve_task

    if (prompt or task or fitness) and not (describe or task_file):
        _fail("--prompt, --task and --fitness show one task; add --describe ID or --task-file FILE")
    if (task or fitness) and not prompt:
        _fail("--task and --fitness change the prompt only; add --prompt")
    if describe or task_file:
        try:
            spec = resolve_task(describe, task_file)
        except UserError as exc:
            _fail(str(exc))
        if prompt:
            _print_prompt(spec, task, fitness)
            return
        console.print(
            f"[bold]{escape(spec.id)}[/] ({escape(spec.env_id)}): {escape(spec.description)}",
            highlight=False,
        )
        # Names fold rather than end in "...": a reader copies them into reward code.
        fields = Table(_ident("field"), Column("shape", no_wrap=True), "unit", "meaning")
        for f in spec.fields:
            fields.add_row(f.name, str(f.shape), escape(f.unit), escape(f.meaning))
        fields.add_row("action", "(act_dim,)", "-", escape(spec.action_meaning))
        console.print(fields)
        console.print("each field f is also available as prev_f, its value one step earlier")
        if spec.termination:
            console.print(
                f"episodes end early when: {spec.termination}", markup=False, highlight=False
            )
        measures = Table(_ident("fitness"), "meaning", "success at")
        for m in spec.fitness:
            measures.add_row(m.name, escape(m.meaning), escape(m.threshold_text()))
        console.print(measures)
        if spec.family in ("generic", "custom") or task_file:
            source = env_source(spec)
            if source:
                console.print("env source (as the designer's prompt shows it):")
                console.print(source, markup=False, highlight=False)
        return
    table = Table(
        Column("task", no_wrap=True),
        "family",
        _ident("fitness measures"),
        _ident("state fields"),
    )
    for spec in all_tasks():
        table.add_row(
            spec.id,
            spec.family,
            ", ".join(m.name for m in spec.fitness),
            ", ".join(f.name for f in spec.fields),
        )
    console.print(table)


@app.command()
def show(run: Path = typer.Argument(..., help="A run folder.")) -> None:
    """What happened in a run, iteration by iteration."""
    from rewardsmith.agent.run_summary import run_notes, summarize_run
    from rewardsmith.store import RunStore

    try:
        store = RunStore.open(run)
    except UserError as exc:
        _fail(str(exc))
    summary = summarize_run(store)
    meta = summary["run"]
    console.print(
        f"[bold]{escape(str(store.root))}[/]: {escape(str(meta.get('task')))} "
        f"({meta.get('status')}): {escape(str(meta.get('description')))}",
        highlight=False,
    )
    for note in run_notes(meta):
        console.print(f"[bold yellow]{escape(note)}[/]", highlight=False)
    for it in summary["iterations"]:
        table = Table(title=f"iteration {it['index'] + 1}", title_justify="left")
        for col in ("cand", "id", "status", "fitness", "notes"):
            table.add_column(col)
        for c in it["candidates"]:
            mark = " *" if c["best"] else ""
            table.add_row(
                f"{c['slot']:02d}{mark}",
                c["id"],
                c["status"],
                _fmt(c["fitness"]),
                escape(c["notes"]),
            )
        console.print(table)
        for alert in it["alerts"]:
            console.print(f"[bold yellow]{escape(alert)}[/]", highlight=False)
        if not it["finished"] and not it["damaged"]:
            console.print("[dim](unfinished: `rewardsmith resume` completes it)[/]")
    if summary["report_damage"]:
        console.print(f"[bold yellow]{escape(summary['report_damage'])}[/]", highlight=False)
    report = summary.get("report")
    if report:
        _print_report(report, store)


@app.command()
def doctor() -> None:
    """Which protections and backends are active on this machine."""
    from rewardsmith.sandbox import forkserver
    from rewardsmith.sandbox.runner import sandbox_capabilities

    caps = sandbox_capabilities()

    def state(on: object, yes: str = "active", no: str = "not available here") -> str:
        return f"[green]{yes}[/]" if on else f"[yellow]{no}[/]"

    table = Table("protection / backend", "status")
    table.add_row("scrubbed environment (no API keys)", state(True))
    table.add_row("private temporary working folder", state(True))
    table.add_row("rlimits: CPU time, address space, file size", state(caps["rlimits"]))
    table.add_row(
        "rlimit: number of processes",
        state(caps["process_limit"], no="not binding (root ignores it)"),
    )
    table.add_row(
        f"no network ({caps['network_isolation_method']})", state(caps["network_isolation"])
    )
    table.add_row("static policy: numpy and math only", state(True))
    table.add_row(
        f"Landlock: writes only in the private folder (ABI {caps['landlock_abi']})",
        state(caps["landlock"], no="unavailable: only the static policy stops file writes"),
    )
    table.add_row(
        "seccomp: no ptrace, namespaces, mounts, bpf, io_uring; no IP sockets",
        state(caps["seccomp"], no="unavailable (needs libseccomp 2 and a seccomp kernel)"),
    )
    table.add_row("rendering (MUJOCO_GL)", os.environ.get("MUJOCO_GL", "egl (default)"))
    table.add_row("torch threads per training", "1")
    table.add_row(
        "worker start",
        state(
            forkserver.available(),
            yes="forked from a server that imported torch once",
            no="a fresh interpreter per job",
        ),
    )
    table.add_row("parallel trainings (default)", str(os.cpu_count()))
    try:
        from importlib.metadata import version

        ray_state = (
            f"[green]ray {version('ray')}[/] (default; --executor local for plain processes)"
        )
    except Exception:
        ray_state = "[yellow]ray not installed[/]: only --executor local"
    table.add_row("executor", ray_state)
    address = os.environ.get("RAY_ADDRESS")
    table.add_row("Ray cluster", address or "embedded local Ray (set RAY_ADDRESS to join one)")
    console.print(table)
