"""``rewardsmith export``: a run's best reward as a module needing only numpy + gymnasium."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from rewardsmith.cli.core import _fail, _fmt, app, console
from rewardsmith.errors import UserError


@app.command()
def export(
    run: Path = typer.Argument(..., help="A finished run folder (runs/<run-id>)."),
    out: Path = typer.Option(..., "-o", "--out", help="Module to write, e.g. my_reward.py."),
) -> None:
    """Write the run's best reward, its field reader and gymnasium/SB3 wrappers as one file."""
    from rewardsmith.export import export_run

    if not run.is_dir():
        _fail(f"{str(run)!r} is not a folder; pass a run folder made by `rewardsmith synthesize`")
    try:
        info = export_run(run, out)
    except UserError as exc:
        _fail(str(exc))
    spread = "" if info.fitness_std is None else f" ± {_fmt(info.fitness_std)}"
    console.print(
        f"wrote {info.path}: reward {info.candidate} for {info.task}, "
        f"{info.measure} {_fmt(info.fitness)}{spread}",
        highlight=False,
    )
    stem = info.path.stem
    if not stem.isidentifier():
        # `from my-reward import ...` is a syntax error: say the name it can be imported by.
        name = re.sub(r"\W", "_", stem)
        name = name if name.isidentifier() else f"_{name}"
        console.print(
            f"{info.path.name} is not importable by that name: rename it to {name}.py, then",
            highlight=False,
        )
        stem = name
    console.print(
        f"use it: from {stem} import SynthesizedReward  (see its docstring)",
        highlight=False,
    )
