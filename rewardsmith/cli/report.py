"""``rewardsmith report``: write the HTML and Markdown report of a run or a campaign."""

from __future__ import annotations

from pathlib import Path

import typer

from rewardsmith.cli.core import _fail, _setup_logging, app, console
from rewardsmith.errors import UserError


@app.command()
def report(
    folder: Path = typer.Argument(..., help="A run folder (runs/<run-id>) or a campaign folder."),
    runs: bool = typer.Option(False, "--runs", help="For a campaign, also report every cell."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details."),
) -> None:
    """Write a self-contained report.html (and report.md) into the folder."""
    from rewardsmith.report import write_report

    _setup_logging(verbose)
    if not folder.is_dir():
        _fail(f"{str(folder)!r} is not a folder; pass runs/<run-id> or a campaign folder")
    try:
        html, md = write_report(folder, with_runs=runs)
    except UserError as exc:
        _fail(str(exc))
    console.print(f"report: {html}\n        {md}", highlight=False)
