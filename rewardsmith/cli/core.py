"""The command line's core: the typer app, the entry point and the run commands.

Exit codes: 0 success, 1 the run (or the critic) failed, 2 bad input (one line, no
traceback). Heavy libraries (torch, ray, litellm, gymnasium) are imported inside the
commands that need them, so ``rewardsmith --help`` is instant.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rewardsmith.errors import RunFailed, UserError
from rewardsmith.store import safe_name, task_file_copy

if TYPE_CHECKING:
    from rewardsmith.agent.loop import SynthesisLoop
    from rewardsmith.config import SynthConfig
    from rewardsmith.store import RunStore

app = typer.Typer(
    help="Write reward functions for RL with LLMs (or offline), check them, train them, "
    "and hand back the one that produced the best behaviour.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class _WarningLines(logging.Handler):
    """Library warnings as the CLI's own lines: ``warning: ...``, as errors read ``error: ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        label = "[bold red]error:[/]" if record.levelno >= logging.ERROR else "[yellow]warning:[/]"
        err_console.print(f"{label} {escape(record.getMessage())}", highlight=False, soft_wrap=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A library's ``warnings.warn`` as one ``warning:`` line (no colour codes, no source)."""
    text = _ANSI.sub("", str(message)).strip().removeprefix("WARN: ")
    logging.getLogger("py.warnings").warning("%s", text)


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _WarningLines)]
    if root.handlers and not ours:
        return  # configured by whoever embeds the CLI (a test, an application)
    for handler in ours:
        root.removeHandler(handler)
    if verbose:
        # Which module said what, and the details under it.
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, handlers=[_WarningLines()])
    # gymnasium, SB3 and torch warn through ``warnings``: the same one-line form.
    logging.captureWarnings(verbose)
    if not verbose:
        warnings.showwarning = _show_warning


def _count(n: int, noun: str) -> str:
    """``1 iteration``, ``2 iterations``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# synthesize / resume ---------------------------------------------------------------------


def _make_run_id(env: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{safe_name(env)}-{os.urandom(2).hex()}"


def _build_loop(config: SynthConfig, store: RunStore) -> SynthesisLoop:
    from rewardsmith.agent.loop import SynthesisLoop
    from rewardsmith.train.executor import make_executor
    from rewardsmith.web.ranking import serve_ranking

    executor = make_executor(config, cache_root=store.root.parent / ".cache")
    return SynthesisLoop.from_config(config, store, executor, _ConsoleProgress(), serve_ranking)


class _ConsoleProgress:
    """Prints the loop's news with rich; a progress bar while candidates train."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.bar: Any = None
        self.rows: dict[str, Any] = {}

    def on_message(self, text: str) -> None:
        console.print(f"[dim]{escape(text)}[/]")

    def on_iteration_start(self, index: int, total: int) -> None:
        console.rule(f"iteration {index + 1}/{total}")

    def on_candidate_checked(self, index: int, slot: int, report: Any) -> None:
        if report.passed:
            console.print(f"  cand_{slot:02d}: critic passed")
        else:
            first = report.problems[0] if report.problems else "rejected"
            more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
            console.print(
                f"  cand_{slot:02d}: [yellow]rejected[/]: {escape(first)}{more}", highlight=False
            )

    def on_training_start(self, key: str, total: int) -> None:
        if self.bar is None:
            self.progress.start()
            self.bar = self.progress.add_task("training candidates", total=total)
        name = key.split("/")[-1]
        self.rows[key] = self.progress.add_task(f"  {name}: waiting", total=None)

    def on_training_progress(
        self, key: str, steps: int, target: int, fitness: float | None
    ) -> None:
        row = self.rows.get(key)
        if row is None:
            return
        name = key.split("/")[-1]
        self.progress.update(
            row,
            completed=steps,
            total=target or None,
            description=f"  {name}: fitness {_fmt(fitness)} at {steps:,} steps",
        )

    def on_training_done(self, key: str, result: Any) -> None:
        name = key.split("/")[-1]
        row = self.rows.pop(key, None)
        if row is not None:
            self.progress.remove_task(row)
        if result.status == "ok":
            note = f" after {result.steps:,} steps" if result.steps else ""
            console.print(f"  {name}: fitness {_fmt(result.fitness)}{note}")
        else:
            console.print(
                f"  {name}: [red]failed[/]: {escape('; '.join(result.problems))}", highlight=False
            )
        if self.bar is not None:
            self.progress.advance(self.bar)
            bar = next(t for t in self.progress.tasks if t.id == self.bar)
            if bar.finished and not self.rows:
                self.progress.stop()
                self.progress.remove_task(self.bar)
                self.bar = None

    def on_iteration_end(self, record: Any) -> None:
        best = record.best
        if best is not None:
            console.print(
                f"  best this iteration: {best.candidate.id} fitness {_fmt(best.fitness)}"
            )

    def on_final(self, report: dict[str, Any]) -> None:
        pass

    def on_ranking_needed(self, index: int, url: str) -> None:
        if self.bar is not None:
            self.progress.stop()
            self.progress.remove_task(self.bar)
            self.bar = None
        console.print(
            f"iteration {index + 1}: rank the policies at [bold]{url}[/] "
            "(waiting; Ctrl-C stops, `rewardsmith resume` comes back to this page)",
            highlight=False,
            soft_wrap=True,
        )


def _print_report(report: dict[str, Any], store: RunStore) -> None:
    table = Table(title=f"{report['task']}: {report.get('fitness', '')}")
    table.add_column("reward")
    table.add_column("fitness (mean ± std)", justify="right")
    table.add_column("success rate", justify="right")
    rows = [("best synthesised", report.get("best")), ("native (env's own)", report.get("native"))]
    rows.append(("sparse (fitness signal alone)", report.get("sparse")))
    for name, data in rows:
        if data is None or data.get("mean") is None:
            continue
        rate = data.get("success_rate")
        table.add_row(
            name,
            f"{data['mean']:.3f} ± {data['std']:.3f}",
            "-" if rate is None else f"{rate:.0%}",
        )
    if "best" in report:
        from rewardsmith.agent.final_eval import hns_text

        console.print(table)
        console.print(f"human-normalised score: {escape(hns_text(report))}", highlight=False)
    else:
        console.print(f"best search fitness: {_fmt(report['search']['fitness'])}")
    confirmation = report.get("confirmation")
    if confirmation:
        chosen = next(c for c in confirmation["candidates"] if c["id"] == confirmation["chosen"])
        how = f"(the search's pick too), mean fitness {_fmt(chosen['mean'])}"
        if confirmation["changed"]:
            # Runs saved before the report gave a reason have none.
            reason = confirmation.get("reason") or f"mean fitness {_fmt(chosen['mean'])}"
            how = f"over the search's pick: {reason}"
        console.print(
            f"confirmation: {chosen['id']} chosen {how}; {len(confirmation['seeds'])} fresh "
            f"seed(s), {len(confirmation['candidates'])} rewards retrained",
            highlight=False,
        )
    if report["search"].get("hacking_alert"):
        console.print(f"[bold yellow]{escape(report['search']['hacking_alert'])}[/]")
    usage = store.read_run().get("usage")
    if usage and usage.get("prompt_tokens"):
        console.print(
            f"model usage: {usage['requests']} requests, {usage['prompt_tokens']:.0f} prompt + "
            f"{usage['completion_tokens']:.0f} completion tokens, ${usage['cost_usd']:.4f}",
            highlight=False,
        )
    console.print(f"best reward: {store.best_dir / 'reward.py'}")
    console.print(f"report:      {store.best_dir / 'report.json'}")


def _print_cost(config: SynthConfig) -> None:
    """The run's env steps at most, by part, so that a long run is known before it starts."""
    from rewardsmith.campaign.plan import run_cost

    cost = run_cost(config)
    if cost is None:
        return
    evaluation = cost.final + sum(cost.baselines.values())
    console.print(
        f"[dim]at most {cost.total:,} env steps: search {cost.search:,}, confirmation "
        f"{cost.confirm:,}, final evaluation with baselines {evaluation:,} (a training "
        "the cache holds is not repeated)[/]",
        highlight=False,
    )


def _offline_problem(config: SynthConfig, spec: Any, measure: Any) -> str:
    """Why the offline designer, if ``config`` uses it, has nothing for ``spec`` ("" if not).

    Asked before a run folder exists, so such a run is refused rather than left failed.
    """
    from rewardsmith.agent.designer import uses_offline_designer
    from rewardsmith.agent.offline import offline_design_problem

    if not uses_offline_designer(config.model):
        return ""
    return offline_design_problem(spec, config.task or "", measure)


def _run_loop(config: SynthConfig, store: RunStore) -> None:
    from rewardsmith.agent.llm import LLMError
    from rewardsmith.store import DamagedFile

    loop = _build_loop(config, store)
    resume_hint = f"continue with: rewardsmith resume {store.root}"
    try:
        report = loop.run()
    except KeyboardInterrupt:
        loop.executor.close(kill=True)
        store.update_run(status="interrupted")
        err_console.print(f"\ninterrupted; {resume_hint}", highlight=False)
        raise typer.Exit(130) from None
    except LLMError as exc:
        # Every answer so far is on disk; resuming asks the model only for the rest.
        store.update_run(status="interrupted")
        _fail(f"{str(exc).rstrip('.')}. The run is kept; {resume_hint}", 1)
    except RunFailed as exc:
        _fail(str(exc), 1)
    except DamagedFile as exc:
        store.update_run(status="interrupted")
        _fail(str(exc))
    except OSError as exc:
        # Disk full or folder gone mid-run: atomic writes left every file whole.
        with contextlib.suppress(OSError):
            store.update_run(status="interrupted")
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(
            f"the run folder could not be written: {exc.strerror or exc}{where}; "
            f"fix it, then {resume_hint}",
            1,
        )
    finally:
        loop.executor.close()
    _print_report(report, store)


@app.command()
def synthesize(
    env: str = typer.Option(
        None, "--env", help="Task or gymnasium id, or module:EnvClass / module:make_env."
    ),
    task: str = typer.Option(None, "--task", help="The behaviour in words."),
    fitness: str = typer.Option(None, "--fitness", help="Fitness measure of the task."),
    model: str = typer.Option(None, "--model", help="litellm model string; none: offline."),
    api_base: str = typer.Option(None, "--api-base", help="OpenAI-compatible server URL."),
    temperature: float = typer.Option(None, "--temperature", help="Sampling temperature."),
    iterations: int = typer.Option(None, "--iterations", help="Rounds (default 5)."),
    samples: int = typer.Option(None, "--samples", help="Candidates per round (8, offline 4)."),
    budget: str = typer.Option(None, "--budget", help="smoke | quick | full | env steps."),
    seed: int = typer.Option(None, "--seed", help="Root seed (default 0)."),
    out: str = typer.Option(None, "--out", help="Folder for run folders (default runs/)."),
    workers: int = typer.Option(None, "--workers", help="Trainings at once (default: cores)."),
    eval_seeds: int = typer.Option(
        None, "--eval-seeds", help="Final evaluation seeds (3; an HNS needs 2 or more)."
    ),
    confirm_top: int = typer.Option(None, "--confirm-top", help="Rewards reconfirmed (3)."),
    confirm_seeds: int = typer.Option(None, "--confirm-seeds", help="Their fresh seeds (2)."),
    llm_critic: bool = typer.Option(None, "--llm-critic", help="Model reviews candidates."),
    max_revisions: int = typer.Option(None, "--max-revisions", help="Repairs per rejection."),
    llm_timeout: float = typer.Option(None, "--llm-timeout", help="Seconds per model request."),
    llm_retries: int = typer.Option(None, "--llm-retries", help="Retries per model request."),
    llm_backoff: float = typer.Option(None, "--llm-backoff", help="First retry delay, seconds."),
    task_file: str = typer.Option(None, "--task-file", help="TOML/YAML file declaring a task."),
    executor: str = typer.Option(None, "--executor", help="ray (default) | local."),
    ray_address: str = typer.Option(None, "--ray-address", help="Join this Ray cluster."),
    search: str = typer.Option(None, "--search", help="halving (default) | full."),
    eta: int = typer.Option(None, "--eta", help="Successive-halving factor (default 2)."),
    first_success: bool = typer.Option(None, "--first-success", help="Stop at success."),
    cache: bool = typer.Option(None, "--cache/--no-cache", help="Reuse earlier results."),
    cache_dir: str = typer.Option(None, "--cache-dir", help="Result cache (<out>/.cache)."),
    feedback: str = typer.Option(None, "--feedback", help="auto | human | both."),
    videos: bool = typer.Option(None, "--videos/--no-videos", help="Record policy videos."),
    video_seconds: float = typer.Option(None, "--video-seconds", help="Video length (5 s)."),
    video_shadows: bool = typer.Option(
        None, "--video-shadows/--no-video-shadows", help="MuJoCo shadows, reflections (off)."
    ),
    device: str = typer.Option(None, "--device", help="cpu (default) | cuda for PPO."),
    config_file: Path = typer.Option(None, "--config", help="TOML file with these options."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details."),
) -> None:
    """Search for reward code that makes PPO learn the described behaviour."""
    from rewardsmith import __version__
    from rewardsmith.config import load_config
    from rewardsmith.envs.registry import resolve_task
    from rewardsmith.store import RunStore

    _setup_logging(verbose)
    try:
        config = load_config(
            {
                "env": env,
                "task": task,
                "fitness": fitness,
                "model": model,
                "api_base": api_base,
                "temperature": temperature,
                "iterations": iterations,
                "samples": samples,
                "budget": budget,
                "seed": seed,
                "out": out,
                "workers": workers,
                "eval_seeds": eval_seeds,
                "confirm_top": confirm_top,
                "confirm_seeds": confirm_seeds,
                "llm_critic": llm_critic,
                "max_revisions": max_revisions,
                "llm_timeout": llm_timeout,
                "llm_retries": llm_retries,
                "llm_backoff": llm_backoff,
                "task_file": task_file,
                "executor": executor,
                "ray_address": ray_address,
                "search": search,
                "eta": eta,
                "first_success": first_success,
                "cache": cache,
                "cache_dir": cache_dir,
                "feedback": feedback,
                "videos": videos,
                "video_seconds": video_seconds,
                "video_shadows": video_shadows,
                "device": device,
            },
            config_file,
        )
        config.validate()
        spec = resolve_task(config.env, config.task_file)
        try:
            measure = spec.get_fitness(config.fitness)
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
        config.validate_fitness(spec.id, measure)
        problem = _offline_problem(config, spec, measure)
        if problem:
            raise UserError(problem)
        if config.model:
            from rewardsmith.agent.model_check import check_model

            # litellm prints a provider list to stdout on an unknown model; the error says it.
            with contextlib.redirect_stdout(io.StringIO()):
                check_model(config.model, config.api_base)
        store = RunStore.create(Path(config.out), _make_run_id(config.env or spec.id))
    except UserError as exc:
        _fail(str(exc))
    run: dict[str, Any] = {}
    if config.task_file:
        from rewardsmith.envs.imports import IMPORT_PATHS_KEY
        from rewardsmith.envs.registry import task_job_fields
        from rewardsmith.store import RUN_IMPORT_PATHS, write_atomic

        # The run keeps the task as it was: resume reads this copy, not a since-edited file,
        # and finds the file's modules where they were found now.
        copy = task_file_copy(store.root, config.task_file)
        write_atomic(copy, Path(config.task_file).read_text())
        run[RUN_IMPORT_PATHS] = task_job_fields(spec).get(IMPORT_PATHS_KEY, [])
    from rewardsmith.agent.offline import DESIGN_NOTES_KEY, design_notes

    notes = design_notes(config.model, spec, config.task)
    store.write_run(
        {
            **run,
            "config": config.to_json(),
            "task": spec.id,
            "description": config.task or spec.description,
            "versions": _versions(__version__),
            "status": "created",
            **({DESIGN_NOTES_KEY: notes} if notes else {}),
        }
    )
    designer = f"model {config.model}" if config.model else "the offline designer (no --model)"
    measure = spec.get_fitness(config.fitness)
    console.print(
        f"run {store.root}: {spec.id}, {_count(config.iterations, 'iteration')} x "
        f"{_count(config.n_samples, 'candidate')}, budget {config.budget}, designed by {designer}",
        highlight=False,
    )
    _print_cost(config)
    console.print(f"fitness: {measure.name}: {measure.meaning}", markup=False, highlight=False)
    if config.task and config.fitness is None and len(spec.fitness) > 1:
        others = ", ".join(m.name for m in spec.fitness[1:])
        console.print(
            f"[dim]a custom --task is judged by the default fitness; if it asks for another "
            f"behaviour, pass --fitness (this task also has: {others})[/]",
            highlight=False,
        )
    for note in notes:
        console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False)
    _run_loop(config, store)


@app.command()
def resume(
    run: Path = typer.Argument(..., help="A run folder made by `rewardsmith synthesize`."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Continue an interrupted run without retraining any finished candidate."""
    from rewardsmith.config import SynthConfig
    from rewardsmith.store import RunStore

    _setup_logging(verbose)
    try:
        store = RunStore.open(run)
        saved = store.read_run().get("config")
        if not isinstance(saved, dict):
            raise UserError(
                f"{str(store.root / 'run.json')!r} holds no run configuration; this run cannot "
                "be resumed: start a new one with `rewardsmith synthesize`"
            )
        try:
            config = SynthConfig.from_json(saved)
            copy = task_file_copy(store.root, config.task_file) if config.task_file else None
            if copy is not None and copy.is_file():
                config.task_file = str(copy)
            config.validate()
        except (TypeError, ValueError) as exc:
            raise UserError(
                f"the configuration in {str(store.root / 'run.json')!r} is corrupt ({exc}); "
                "start a new run with `rewardsmith synthesize`"
            ) from None
    except UserError as exc:
        _fail(str(exc))
    stale = store.sweep_temp()
    if stale:
        logging.getLogger(__name__).info("removed %d half-written temp file(s)", len(stale))
    console.print(f"resuming {store.root}", highlight=False)
    _run_loop(config, store)


def _versions(own: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"rewardsmith": own, "python": sys.version.split()[0]}
    for name in ("gymnasium", "mujoco", "stable-baselines3", "torch", "numpy", "litellm"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def main() -> None:
    """Console-script entry point."""
    import importlib

    # typer vendors click in some versions: take its exception classes from where they live.
    click_errors = importlib.import_module(typer.BadParameter.__module__)
    previous = _sigterm_as_interrupt()
    _setup_logging(False)  # every command; those with --verbose widen it
    try:
        code = app(standalone_mode=False)
    except UserError as exc:  # raised outside a command's own handling
        _fail_main(str(exc))
    except click_errors.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            app(args=[*sys.argv[1:], "--help"], standalone_mode=False)
            sys.exit(2)
        # click's own multi-line box becomes the one line every bad input gets.
        name = exc.ctx.command_path if exc.ctx is not None else "rewardsmith"
        _fail_main(f"{exc.format_message()} (see `{name} --help`)")
    except click_errors.ClickException as exc:
        _fail_main(exc.format_message())
    except typer.Abort:
        err_console.print("aborted", highlight=False)
        sys.exit(130)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(code if isinstance(code, int) else 0)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Any:
    """End on SIGTERM (``timeout``, ``kill``, a batch scheduler) as on Ctrl-C.

    A run is then marked interrupted and the resume command printed, where Ray's driver
    would dump a stack. Returns the handler it replaced (``None`` off the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _fail_main(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(2)
