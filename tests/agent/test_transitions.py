"""The critic's transitions and the field fingerprint a resume compares against."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from rewardsmith.agent.transitions import (
    CHANGES_KEY,
    FINGERPRINT_KEY,
    changed_fields,
    ensure_transitions,
)
from rewardsmith.envs.registry import get_task
from rewardsmith.store import RunStore
from rewardsmith.train.probe import field_fingerprint
from tests.helpers import run_cli

PROBE = {
    "kind": "probe",
    "task": "CartPole-v1",
    "fitness": "balance_steps",
    "seed": 3,
    "n_envs": 2,
    "steps": 8,
}


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "runs", "cartpole")
    store.write_run({"task": "CartPole-v1", "description": "balance", "status": "created"})
    return store


def _ensure(store: RunStore) -> tuple[Path, list[str]]:
    messages: list[str] = []
    return ensure_transitions(store, dict(PROBE), messages.append), messages


def test_changed_fields_names_moved_added_and_removed_fields_in_order() -> None:
    old = {"a": "1", "b": "2", "gone": "3"}
    new = {"a": "1", "b": "9", "new": "4"}
    assert changed_fields(old, new) == ["b", "new", "gone"]
    assert changed_fields(new, dict(new)) == []


def test_a_fingerprint_is_the_same_on_every_call_and_covers_every_field() -> None:
    spec = get_task("HumanoidStandup-v5")
    first = field_fingerprint(spec)
    assert first == field_fingerprint(spec)
    assert list(first) == [f.name for f in spec.fields]
    # Different fields of one rollout read differently.
    assert len(set(first.values())) == len(first)


def test_a_fresh_run_collects_transitions_and_keeps_the_fingerprint(store: RunStore) -> None:
    path, messages = _ensure(store)
    assert path == store.root / "transitions.npz" and path.is_file()
    assert messages == ["collecting random transitions for the critic"]
    run = store.read_run()
    assert run[FINGERPRINT_KEY] == field_fingerprint(get_task("CartPole-v1"))
    assert CHANGES_KEY not in run


def test_a_resume_whose_fields_read_the_same_keeps_the_transitions(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    path, _ = _ensure(store)
    before = path.stat().st_mtime_ns
    with caplog.at_level(logging.WARNING):
        again, messages = _ensure(store)
    assert again == path and path.stat().st_mtime_ns == before
    assert messages == [] and not caplog.records
    assert CHANGES_KEY not in store.read_run()


def test_a_resume_whose_fields_changed_warns_records_and_collects_again(
    store: RunStore, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    path, _ = _ensure(store)
    current = store.read_run()[FINGERPRINT_KEY]
    # As if the run began under a rewardsmith that computed pole_angle otherwise and had a
    # field it no longer has.
    old: dict[str, Any] = {**current, "pole_angle": "0" * 16, "retired_field": "1" * 16}
    store.update_run(**{FINGERPRINT_KEY: old})
    (store.iter_dir(0) / "iteration.json").parent.mkdir(parents=True)
    record = {"index": 0, "best_id": None, "feedback": "", "results": [], "ranking": None}
    (store.iter_dir(0) / "iteration.json").write_text(json.dumps(record))
    path.write_bytes(b"stale")
    with caplog.at_level(logging.WARNING):
        _, messages = _ensure(store)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("pole_angle, retired_field of task CartPole-v1 read differently")
    assert "1 finished iteration saw the old values" in warning
    assert messages == ["collecting random transitions for the critic"]
    assert path.read_bytes()[:2] == b"PK"  # a fresh .npz, not the stale bytes
    run = store.read_run()
    assert run[FINGERPRINT_KEY] == current
    (change,) = run[CHANGES_KEY]
    assert change["fields"] == ["pole_angle", "retired_field"]
    assert change["iterations_done"] == 1

    shown = run_cli(["show", str(store.root)], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert (
        "Resumed after 1 finished iteration with fields that read differently: pole_angle, "
        "retired_field; candidates before and after saw different values" in text
    )
    reported = run_cli(["report", str(store.root)], cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    note = "Resumed after 1 finished iteration with fields that read differently: pole_angle"
    assert note in (store.root / "report.md").read_text()
    assert note in (store.root / "report.html").read_text()


def test_a_run_from_before_fingerprints_gains_one_without_a_warning(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    _ensure(store)
    run = store.read_run()
    del run[FINGERPRINT_KEY]
    store.write_run(run)
    with caplog.at_level(logging.WARNING):
        _ensure(store)
    assert not caplog.records
    assert FINGERPRINT_KEY in store.read_run()
