"""TensorBoard event files replayed from a candidate's CSV logs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rewardsmith.train.tensorboard import add_event_files, write_event_files


def _csv(path: Path, rows: list[dict[str, float | str]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_event_file_holds_every_metric_and_component_by_env_steps(tmp_path: Path) -> None:
    _csv(
        tmp_path / "metrics.csv",
        [
            {"steps": 1000, "fitness": 10.0, "component/upright": 0.5},
            {"steps": 2000, "fitness": 30.0, "component/upright": 0.8},
        ],
    )
    _csv(
        tmp_path / "rollouts.csv",
        [{"steps": 256, "component/upright": 0.4}, {"steps": 512, "component/upright": "nan"}],
    )
    names = write_event_files(tmp_path)
    assert len(names) == 1 and names[0].startswith("events.out.tfevents.")
    scalars = _scalars(tmp_path)
    assert scalars["eval/fitness"] == [(1000, 10.0), (2000, 30.0)]
    assert scalars["eval/component/upright"] == [(1000, 0.5), (2000, pytest.approx(0.8))]
    # A missing value is left out rather than written as NaN.
    assert scalars["rollout/component/upright"] == [(256, pytest.approx(0.4))]


def test_worker_hook_lists_the_event_file_and_never_fails_a_training(tmp_path: Path) -> None:
    _csv(tmp_path / "metrics.csv", [{"steps": 1000, "fitness": 1.0}])
    result = add_event_files({"fitness": 1.0, "files": ["metrics.csv"]}, tmp_path)
    assert result["files"][0] == "metrics.csv"
    assert result["files"][1].startswith("events.out.tfevents.")
    # No CSV: nothing to add; a broken folder: the result comes back unchanged.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert add_event_files({"files": []}, empty) == {"files": []}
    assert add_event_files({"files": ["x"]}, tmp_path / "missing") == {"files": ["x"]}
    assert add_event_files({"error": "boom"}, tmp_path) == {"error": "boom"}
