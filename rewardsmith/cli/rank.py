"""``rewardsmith rank``: open the ranking page of an existing run's iteration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rewardsmith.cli.core import _fail, app, console, err_console
from rewardsmith.errors import UserError

if TYPE_CHECKING:
    from rewardsmith.envs.spec import TaskSpec
    from rewardsmith.store import RunStore


@lru_cache(maxsize=4)
def _resolve(env: str | None, task_file: str | None) -> TaskSpec:
    # Cached: a task file registers its task, and registering twice is an error.
    from rewardsmith.envs.registry import resolve_task

    return resolve_task(env, task_file)


def _task(config: dict[str, Any]) -> TaskSpec:
    """The run's task, a task-file one included (``UserError`` when it is gone)."""
    return _resolve(config.get("env"), config.get("task_file"))


def _manifest(store: RunStore, index: int, config: dict[str, Any]) -> dict[str, Any] | None:
    """Iteration ``index``'s page manifest: saved by a waiting run, or built from its record."""
    from rewardsmith.store import read_record
    from rewardsmith.web.page import build_manifest, load_manifest

    iter_dir = store.iter_dir(index)
    saved = load_manifest(iter_dir)
    if saved is not None:
        return saved
    done = iter_dir / "iteration.json"
    if not done.is_file():
        return None  # still designing or training: nothing to show yet
    run = store.read_run()
    mode = config.get("feedback") if config.get("feedback") in ("human", "both") else "human"
    results = read_record(done, lambda record: list(record["results"]))
    fitness = config.get("fitness") or _task(config).get_fitness(None).name
    manifest = build_manifest(
        iter_dir, index, results, mode, str(run.get("description", "")), fitness
    )
    return manifest if manifest["candidates"] else None


def _pick(store: RunStore, wanted: int | None, config: dict[str, Any]) -> tuple[int, dict]:
    """The iteration to rank and its manifest; ``UserError`` when there is none."""
    from rewardsmith.agent.feedback import load_ranking

    found = store.list_iterations()
    if wanted is not None:
        # Numbered from 1, as synthesize, show, the page and the report count them.
        if wanted - 1 not in found:
            numbers = ", ".join(str(i + 1) for i in found) or "none"
            raise UserError(
                f"--iteration {wanted} does not exist in {store.root}; it has iterations "
                f"{numbers} (numbered from 1)"
            )
        manifest = _manifest(store, wanted - 1, config)
        if manifest is None:
            raise UserError(
                f"iteration {wanted} of {store.root} has no trained candidate to rank yet; "
                "wait until its training finishes"
            )
        return wanted - 1, manifest
    for index in reversed(found):
        if load_ranking(store.iter_dir(index)) is not None:
            continue
        manifest = _manifest(store, index, config)
        if manifest is not None:
            return index, manifest
    raise UserError(
        f"every iteration of {store.root} with trained candidates is ranked already; "
        "pass --iteration N to rank a past one again"
    )


def _record_missing(
    store: RunStore, index: int, manifest: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    """Record the videos a run without --videos never made; return the manifest to show."""
    from rewardsmith.agent.candidate import CandidateResult
    from rewardsmith.agent.human_round import VideoPlan, record_videos
    from rewardsmith.config import SynthConfig
    from rewardsmith.envs.registry import task_job_fields
    from rewardsmith.store import read_record
    from rewardsmith.train.executor import LocalExecutor

    iter_dir = store.iter_dir(index)
    if (
        all(c["video"] for c in manifest["candidates"])
        or not (iter_dir / "iteration.json").exists()
    ):
        return manifest
    results = read_record(
        iter_dir / "iteration.json",
        lambda record: [CandidateResult.from_json(r) for r in record["results"]],
    )
    config = run.get("config", {})
    task = _task(config)
    fitness = config.get("fitness") or task.get_fitness(None).name
    # Defaults for runs saved before a key existed come from the config class itself.
    saved = SynthConfig.from_json(config)
    plan = VideoPlan(
        store,
        task.id,
        fitness,
        saved.seed,
        task_job_fields(task),
        saved.video_seconds,
        saved.video_shadows,
    )
    executor = LocalExecutor()
    try:
        record_videos(plan, index, results, executor, lambda text: console.print(f"[dim]{text}[/]"))
    finally:
        executor.close()
    # Rebuilt, not patched: candidates that still have no video drop off the page.
    return _manifest(store, index, config) or manifest


@app.command()
def rank(
    run: Path = typer.Argument(..., help="A run folder made by `rewardsmith synthesize`."),
    iteration: int = typer.Option(
        None, "--iteration", help="Rank this iteration (from 1), even a past one."
    ),
    open_page: bool = typer.Option(True, "--open/--no-open", help="Open the page in a browser."),
) -> None:
    """Rank an iteration's policy videos on a local page (the latest unranked one by default)."""
    import webbrowser

    from rewardsmith.agent.feedback import load_ranking
    from rewardsmith.store import RunStore
    from rewardsmith.web.page import save_manifest
    from rewardsmith.web.server import RankingServer

    try:
        store = RunStore.open(run)
        meta = store.read_run()
        config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        _task(config)
        index, manifest = _pick(store, iteration, config)
    except UserError as exc:
        _fail(str(exc))
    manifest = _record_missing(store, index, manifest, meta)
    iter_dir = store.iter_dir(index)
    save_manifest(iter_dir, manifest)
    again = load_ranking(iter_dir) is not None
    if again:
        console.print(
            f"{iter_dir.name} is ranked already; a new ranking replaces its ranking.json "
            "(a finished iteration keeps the one its run used)",
            highlight=False,
        )
    with RankingServer(iter_dir, manifest, replace=again) as server:
        console.print(
            f"rank {iter_dir.name} of {store.root} at [bold]{server.url}[/] "
            "(waiting; Ctrl-C stops without saving)",
            highlight=False,
            soft_wrap=True,
        )
        if open_page:
            webbrowser.open(server.url)
        try:
            ranking = server.wait(also_done=None if again else lambda: load_ranking(iter_dir))
        except KeyboardInterrupt:
            err_console.print("stopped; no ranking was saved", highlight=False)
            raise typer.Exit(130) from None
    console.print(
        f"saved {iter_dir / 'ranking.json'}: best candidate {ranking.preferred}", highlight=False
    )
    if meta.get("status") not in ("running", "finished"):
        console.print(f"continue the run with: rewardsmith resume {store.root}", highlight=False)
