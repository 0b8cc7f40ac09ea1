"""TensorBoard event files for a trained candidate, written from its CSV logs.

After a training, ``metrics.csv`` (one row per fitness checkpoint) and ``rollouts.csv``
(reward components per PPO rollout) are replayed into one event file in the same
folder, so ``tensorboard --logdir runs/<run-id>`` shows every candidate of a run as its
own TensorBoard run. Scalars are tagged ``eval/<column>`` and ``rollout/<column>`` and
stepped by env steps.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: CSV file -> tag prefix.
SOURCES = {"metrics.csv": "eval", "rollouts.csv": "rollout"}
EVENT_PREFIX = "events.out.tfevents."
#: One fixed name per candidate: a later rung of successive halving replays the whole
#: CSVs again, and its file must replace the earlier rung's, not sit beside it.
EVENT_FILE = f"{EVENT_PREFIX}rewardsmith"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def write_event_files(folder: Path) -> list[str]:
    """Write an event file into ``folder`` from its ``metrics.csv`` and ``rollouts.csv``.

    Args:
        folder: A candidate's folder (or a worker's working folder).

    Returns:
        Names of the event files written (relative to ``folder``); empty when there was
        no CSV to replay.
    """
    sources = [(folder / name, tag) for name, tag in SOURCES.items() if (folder / name).is_file()]
    if not sources:
        return []
    from torch.utils.tensorboard import SummaryWriter

    before = {p.name for p in folder.glob(f"{EVENT_PREFIX}*")}
    writer = SummaryWriter(log_dir=str(folder), flush_secs=3600)
    try:
        for path, prefix in sources:
            for row in _rows(path):
                step = _number(row.get("steps"))
                if step is None:
                    continue
                for column, text in row.items():
                    value = _number(text)
                    if column == "steps" or value is None:
                        continue
                    writer.add_scalar(f"{prefix}/{column}", value, global_step=int(step))
    finally:
        writer.close()
    written = sorted(p for p in folder.glob(f"{EVENT_PREFIX}*") if p.name not in before)
    if not written:
        return []
    written[-1].replace(folder / EVENT_FILE)
    for extra in written[:-1]:
        extra.unlink()
    return [EVENT_FILE]


def add_event_files(result: dict[str, Any], folder: Path | None = None) -> dict[str, Any]:
    """Worker hook: write event files for a finished training and list them in ``result``.

    A training that worked is never failed by its TensorBoard log: any problem here is
    logged and the result goes back unchanged.

    Args:
        result: What ``run_training`` returned; its ``files`` are moved into the run folder.
        folder: Where the CSVs are (default: the worker's working folder).
    """
    if result.get("error"):
        return result
    try:
        names = write_event_files(folder or Path.cwd())
    except Exception as exc:  # a TensorBoard problem must not lose a finished training
        logger.warning("could not write TensorBoard events: %s", exc)
        return result
    result["files"] = [*result.get("files", []), *names]
    return result
