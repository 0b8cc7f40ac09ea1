"""``rewardsmith campaign``: run a grid of syntheses (tasks x designers x seeds), or plan one."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from rewardsmith.cli.core import (
    _fail,
    _fmt,
    _offline_problem,
    _setup_logging,
    app,
    console,
    err_console,
)
from rewardsmith.errors import UserError

if TYPE_CHECKING:
    from rewardsmith.campaign.runner import CampaignProgress
    from rewardsmith.campaign.spec import CampaignSpec


def _load(target: Path, resume: bool) -> CampaignSpec:
    from rewardsmith.campaign.manifest import Manifest
    from rewardsmith.campaign.spec import load_campaign, parse_campaign

    if target.is_dir():
        if not resume:
            raise UserError(
                f"{str(target)!r} is a folder; pass a campaign file (TOML), or add --resume "
                "to finish the campaign in that folder"
            )
        manifest = Manifest.open(target)
        return parse_campaign(manifest.data["spec"], str(target / "campaign.json"), target)
    if not target.is_file():
        raise UserError(f"campaign file {str(target)!r} does not exist; pass a TOML campaign file")
    return load_campaign(target)


def _check_models(spec: CampaignSpec) -> list[str]:
    """Every designer model's problem (missing key, unknown model), one line each."""
    from rewardsmith.agent.model_check import check_model

    seen = set()
    problems = []
    for cell in spec.cells:
        key = (cell.config.model, cell.config.api_base)
        if cell.config.model and key not in seen:
            seen.add(key)
            # litellm prints a provider list to stdout on an unknown model; the error says it.
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    check_model(cell.config.model, cell.config.api_base)
                except UserError as exc:
                    problems.append(f"designer {cell.designer.name}: {exc}")
    return problems


def _check_offline(spec: CampaignSpec) -> tuple[list[str], list[str]]:
    """Problems and warnings of the cells that use the offline designer.

    Problems: tasks it has nothing for. Warnings: descriptions it reads none or part of.
    """
    from rewardsmith.agent.designer import uses_offline_designer
    from rewardsmith.agent.offline import design_notes
    from rewardsmith.envs.registry import resolve_task

    seen = set()
    problems, warnings = [], []
    for cell in spec.cells:
        config = cell.config
        key = (config.env, config.task_file, config.task, config.fitness, config.model)
        if key in seen or not uses_offline_designer(config.model):
            continue
        seen.add(key)
        task = resolve_task(config.env, config.task_file)
        problem = _offline_problem(config, task, task.get_fitness(config.fitness))
        if problem:
            problems.append(f"task {cell.task.label}: {problem}")
        for note in design_notes(config.model, task, config.task):
            if f"task {cell.task.label}: {note}" not in warnings:
                warnings.append(f"task {cell.task.label}: {note}")
    return problems, warnings


def _print_plan(spec: CampaignSpec) -> None:
    from rewardsmith.campaign.plan import estimate

    found = estimate(spec)
    table = Table(title=f"campaign {spec.name}: {len(spec.cells)} cells -> {spec.folder}")
    # A cell's id is <task>__<designer>__seed<n>, so it alone names all three; ids fold
    # whole and numbers never wrap, so that an 80-column terminal cuts neither short.
    table.add_column("cell", overflow="fold")
    table.add_column("iters x samples", overflow="fold")
    table.add_column("budget", overflow="fold")
    table.add_column("env steps", justify="right", no_wrap=True)
    table.add_column("LLM calls", justify="right", no_wrap=True)
    for item in found.cells:
        c = item.cell.config
        steps = f"{item.own_steps:,}" if item.estimated else "?"
        calls = f"{item.llm_calls}-{item.llm_calls_max}" if item.llm_calls_max else "0"
        table.add_row(
            item.cell.id,
            f"{c.iterations} x {c.n_samples}",
            c.budget,
            steps,
            calls,
        )
    console.print(table)
    console.print(
        f"estimate: {found.env_steps:,} env steps (search with {spec.cells[0].config.search}, "
        f"final evaluations, and {found.baseline_steps:,} for baselines shared between cells); "
        f"{found.llm_calls:,} LLM calls expected, at most {found.llm_calls_max:,}",
        highlight=False,
    )
    console.print(
        f"executor {spec.executor}, {spec.workers or 'one per core'} workers shared, "
        f"{spec.parallel} cells at once",
        highlight=False,
    )
    if not all(item.estimated for item in found.cells):
        console.print("[yellow]cells marked ? use a task file whose budget is read at run time[/]")


def _status_line(p: CampaignProgress) -> str:
    return (
        f"cells: {p.done}/{p.total} done, {p.running} running, {p.failed} failed, "
        f"{p.pending} waiting | env steps {p.env_steps:,} | tokens {p.tokens:,.0f} | "
        f"${p.cost_usd:.4f}"
    )


class _Display:
    """Live campaign progress: a status line on a terminal, one line per cell event in logs."""

    def __init__(self) -> None:
        from rich.live import Live
        from rich.text import Text

        self._text = Text
        self.live = Live(Text(""), console=console, refresh_per_second=2, transient=False)
        self.enabled = console.is_terminal

    def on_cell_start(self, cell_id: str) -> None:
        console.print(f"[dim]start[/] {cell_id}", highlight=False)

    def on_cell_end(self, cell_id: str, entry: dict[str, Any]) -> None:
        if entry.get("status") == "done":
            console.print(
                f"[green]done[/]  {cell_id}: best fitness {_fmt(entry.get('best_fitness'))}",
                highlight=False,
            )
        elif entry.get("status") == "failed":
            console.print(
                f"[red]failed[/] {escape(cell_id)}: {escape(str(entry.get('error')))}",
                highlight=False,
            )

    def on_progress(self, progress: CampaignProgress) -> None:
        if self.enabled:
            self.live.update(self._text(_status_line(progress)))

    def on_ranking_needed(self, cell_id: str, index: int, url: str) -> None:
        console.print(
            f"{cell_id} iteration {index + 1}: rank the policies at [bold]{url}[/] "
            "(the other cells go on; Ctrl-C stops, `campaign --resume` comes back here)",
            highlight=False,
            soft_wrap=True,
        )


def _print_summary(folder: Path) -> None:
    from rewardsmith.campaign.manifest import Manifest
    from rewardsmith.report.campaign_report import campaign_rows

    rows, _ = campaign_rows(Manifest.open(folder))
    table = Table(title="results (means over seeds)")
    for column in ("task", "designer"):
        table.add_column(column, overflow="fold")
    for column in ("seeds", "best fitness", "native", "sparse", "HNS"):
        table.add_column(column, justify="right", overflow="fold")
    for r in rows:
        table.add_row(
            r["task"],
            r["designer"],
            f"{r['done']}/{r['cells']}",
            r["best_text"],
            r["native_text"],
            r["sparse_text"],
            r["hns_text"],
        )
    console.print(table)


@app.command()
def campaign(
    target: Path = typer.Argument(
        ..., help="Campaign file (TOML); with --resume also the campaign folder."
    ),
    plan: bool = typer.Option(False, "--plan", help="Print the grid and an estimate; run nothing."),
    resume: bool = typer.Option(False, "--resume", help="Finish only the cells not done yet."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html at the end."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details."),
) -> None:
    """Run one synthesis per task x designer x seed over one shared executor."""
    from rewardsmith.campaign.runner import (
        CampaignRunner,
        make_campaign_executor,
        open_manifest,
    )

    _setup_logging(verbose)
    try:
        spec = _load(target, resume)
        offline_problems, warnings = _check_offline(spec)
        problems = _check_models(spec) + offline_problems
        if plan:
            # A plan is for before the keys are set up: say what is missing, do not refuse.
            _print_plan(spec)
            for problem in problems:
                console.print(f"[yellow]before running:[/] {escape(problem)}", highlight=False)
        for warning in warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        if plan:
            return
        if problems:
            raise UserError(problems[0])
        manifest = open_manifest(spec, resume)
        executor = make_campaign_executor(spec)
    except UserError as exc:
        _fail(str(exc))
    display = _Display()
    runner = CampaignRunner(spec, manifest, executor, display)
    todo = runner.pending()
    console.print(
        f"campaign {spec.folder}: {len(todo)} of {len(spec.cells)} cells to run, "
        f"executor {spec.executor}, {spec.parallel} at once",
        highlight=False,
    )
    try:
        if display.enabled:
            with display.live:
                counts = runner.run()
        else:
            counts = runner.run()
    except KeyboardInterrupt:
        runner.interrupt()
        err_console.print(
            f"\ninterrupted; continue with: rewardsmith campaign --resume {spec.folder}",
            highlight=False,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        # Cell threads may be mid-write into their run folders; their state is already
        # marked resumable, so leave without waiting for them.
        os._exit(130)
    finally:
        executor.close()
    console.print(_status_line(runner.progress()), highlight=False)
    _print_summary(spec.folder)
    if report:
        from rewardsmith.report.campaign_report import write_campaign_report

        html, _ = write_campaign_report(spec.folder)
        console.print(f"report: {html}", highlight=False)
    if counts["failed"]:
        logging.getLogger(__name__).info("%d cell(s) failed", counts["failed"])
        err_console.print(
            f"{counts['failed']} cell(s) failed (see {spec.folder / 'campaign.json'}); "
            f"retry them with: rewardsmith campaign --resume {spec.folder}",
            highlight=False,
        )
        raise typer.Exit(1)
