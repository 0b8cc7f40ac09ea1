"""The critic's random transitions, and whether a resumed run's fields still read as before.

A run keeps ``transitions.npz`` and, in ``run.json``, a fingerprint of what each state field
read on one fixed rollout (:func:`~rewardsmith.train.probe.field_fingerprint`). A resume
takes the fingerprint again. A field that now reads differently (a newer rewardsmith fixed
its computation, another env or simulator version) means candidates trained before and
after saw different values under one name: the run says which, records it in ``run.json``
and collects fresh transitions, so the critic checks new candidates against what their
trainings will see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardsmith.errors import RunFailed
from rewardsmith.sandbox.runner import Limits
from rewardsmith.store import RunStore
from rewardsmith.train.jobs import run_job

logger = logging.getLogger(__name__)

TRANSITIONS_FILE = "transitions.npz"
#: run.json key: field name -> digest of its values on the fingerprint rollout.
FINGERPRINT_KEY = "field_fingerprint"
#: run.json key: one entry per resume that found fields reading differently.
CHANGES_KEY = "field_changes"
_PROBE_SECONDS = 300.0


def field_change_notes(run: dict[str, Any]) -> list[str]:
    """One sentence per resume of ``run`` (``run.json``) that found fields reading otherwise."""
    notes = []
    for change in run.get(CHANGES_KEY, []):
        done = int(change.get("iterations_done", 0))
        notes.append(
            f"Resumed after {done} finished iteration{'' if done == 1 else 's'} with fields "
            f"that read differently: {', '.join(change.get('fields', []))}; candidates before "
            "and after saw different values under those names."
        )
    return notes


def changed_fields(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Fields whose fingerprint differs, were added or were removed, in the task's order."""
    moved = [name for name, digest in new.items() if old.get(name) != digest]
    return moved + [name for name in old if name not in new]


def _run_probe(job: dict[str, Any], keep_dir: Path | None) -> dict[str, Any]:
    outcome = run_job(job, Limits.for_training(_PROBE_SECONDS), keep_dir=keep_dir)
    if not outcome.ok:
        raise RunFailed(f"could not roll out task {job['task']}: {outcome.error}")
    return outcome.result


def _iterations_done(store: RunStore) -> int:
    return sum((store.iter_dir(i) / "iteration.json").exists() for i in store.list_iterations())


def ensure_transitions(
    store: RunStore, probe_job: dict[str, Any], on_message: Callable[[str], None]
) -> Path:
    """The run's transitions file, collected now if missing or if the fields changed.

    Args:
        store: The run folder.
        probe_job: The worker's ``probe`` job (task, fitness, seed, ``n_envs``, ``steps``).
        on_message: Called with a line of news (the loop's ``callbacks.on_message``).

    Raises:
        RunFailed: The task could not be rolled out.
    """
    path = store.root / TRANSITIONS_FILE
    run = store.read_run()
    saved = run.get(FINGERPRINT_KEY)
    changes = list(run.get(CHANGES_KEY, []))
    if path.exists():
        current = _run_probe({**probe_job, "fingerprint_only": True}, None)["fingerprint"]
        changed = changed_fields(saved, current) if isinstance(saved, dict) else []
        if not changed:
            if saved is None:
                # Begun before runs kept fingerprints: from here on resumes can compare.
                store.update_run(**{FINGERPRINT_KEY: current})
            return path
        done = _iterations_done(store)
        logger.warning(
            "%s of task %s read%s differently than when this run began (a newer rewardsmith "
            "or another env version): candidates of the %d finished iteration%s saw the old "
            "values, new ones see the new; start a new run to compare like with like",
            ", ".join(changed),
            probe_job["task"],
            "s" if len(changed) == 1 else "",
            done,
            "" if done == 1 else "s",
        )
        changes.append({"fields": changed, "time": time.time(), "iterations_done": done})
        path.unlink()
    on_message("collecting random transitions for the critic")
    result = _run_probe(probe_job, store.root)
    record: dict[str, Any] = {FINGERPRINT_KEY: result["fingerprint"]}
    if changes:
        record[CHANGES_KEY] = changes
    store.update_run(**record)
    return path
