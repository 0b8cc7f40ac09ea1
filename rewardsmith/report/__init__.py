"""Reports of runs and campaigns: a self-contained ``report.html`` and a ``report.md``.

``write_report(folder)`` picks the kind from the folder: a run folder (``run.json``) or a
campaign folder (``campaign.json``).
"""

from __future__ import annotations

from pathlib import Path

from rewardsmith.errors import UserError


def write_report(folder: Path, with_runs: bool = False) -> tuple[Path, Path]:
    """Write the report of a run or a campaign folder; return the HTML and Markdown paths.

    Args:
        folder: A run folder or a campaign folder.
        with_runs: For a campaign, also write each cell's run report.

    Raises:
        UserError: ``folder`` is neither.
    """
    if (folder / "campaign.json").is_file():
        from rewardsmith.report.campaign_report import write_campaign_report

        return write_campaign_report(folder, with_runs)
    if (folder / "run.json").is_file():
        from rewardsmith.report.run_report import write_run_report

        return write_run_report(folder)
    raise UserError(
        f"{str(folder)!r} is neither a run folder (run.json) nor a campaign folder "
        "(campaign.json); pass runs/<run-id> or the campaign folder"
    )


__all__ = ["write_report"]
