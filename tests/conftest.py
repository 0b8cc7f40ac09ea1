"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an empty temp folder (MuJoCo writes its log into the cwd)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
