"""Entry point of the sandboxed worker process: ``python -m rewardsmith.train.worker job.json``.

This process is the sandbox for candidate code. It runs one job in its own working
folder and always writes ``result.json`` (``{"error": ...}`` when the job broke), so the
parent gets a readable reason rather than a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _dispatch(job: dict[str, Any]) -> dict[str, Any]:
    kind = job.get("kind")
    if job.get("task_file") or job.get("import_paths"):
        # A task-file task exists only where its file was read, and the user's modules
        # only where their folders are on the path: rebuild and point there first.
        from rewardsmith.envs.registry import register_from_job

        register_from_job(job)
    if kind == "probe":
        from rewardsmith.train.probe import run_probe

        return run_probe(job)
    if kind == "check":
        from rewardsmith.train.check import run_check

        return run_check(job)
    if kind == "train":
        from rewardsmith.train.ppo import run_training
        from rewardsmith.train.tensorboard import add_event_files

        return add_event_files(run_training(job))
    if kind == "render":
        from rewardsmith.train.video import run_render

        return run_render(job)
    return {"error": f"unknown job kind {kind!r}"}


def main(argv: list[str]) -> int:
    """Run the job in ``argv[0]`` and write ``result.json`` beside it."""
    job_path = Path(argv[0])
    os.chdir(job_path.parent)
    job = json.loads(job_path.read_text())
    try:
        result = _dispatch(job)
        code = 0
    except Exception as exc:
        message = (str(exc).strip().splitlines() or [repr(exc)])[0]
        result = {
            "error": f"{type(exc).__name__}: {message}"[:500],
            "traceback": traceback.format_exc()[-4000:],
        }
        code = 1
    tmp = Path("result.json.tmp")
    tmp.write_text(json.dumps(result, default=float))
    tmp.replace("result.json")
    return code


def _exit_now(code: int) -> None:
    """Leave without tearing down the interpreter.

    Everything the parent reads is on disk by now (``result.json``, the policy, the event
    files are written and closed); unloading torch and its thread pools would take about a
    second more per training, which a run of many short rungs pays over and over.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main(sys.argv[1:]))
