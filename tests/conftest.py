"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, fail at once if pytest-xdist's groups did not take.

    Grouped tests start Ray clusters or build a shared run; run side by side on two
    workers they still pass, only twice as slowly, so a broken grouping would go unseen.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"{item.nodeid} has an xdist_group mark but no group in its node id: this "
                "pytest and pytest-xdist do not group tests; install pytest<9.2"
            )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an empty temp folder (MuJoCo writes its log into the cwd)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _local_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made by tests use plain child processes unless a test asks for Ray.

    Starting an embedded Ray costs seconds and a few hundred MB per run; the tests about
    Ray pass ``--executor ray`` (or build a ``RayExecutor``) themselves.
    """
    monkeypatch.setenv("REWARDSMITH_EXECUTOR", "local")


@pytest.fixture(autouse=True)
def _sb3_logs_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that train SB3 models directly (not through the worker, which sets a silent
    logger) would each leave an empty ``/tmp/SB3-*`` folder; SB3 reads ``SB3_LOGDIR`` first.
    """
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path_factory.getbasetemp() / "sb3-logs"))
