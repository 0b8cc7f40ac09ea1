"""The campaign manifest, ``<campaign>/campaign.json``: the grid and each cell's state.

Layout::

    <out>/<name>/
      campaign.json          name, the campaign's data, status, one entry per cell
      <task>__<designer>__seed<N>/   a run folder per cell (``rewardsmith report`` reads it)
      .cache/                baselines and results shared by the cells

Cell states: ``pending`` (not started), ``running``, ``done``, ``failed`` (the error is
kept), ``interrupted``. Every write is atomic and made under one lock, because cells
finish on several threads.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rewardsmith.errors import UserError
from rewardsmith.store import read_json, write_json

MANIFEST = "campaign.json"
STATES = ("pending", "running", "done", "failed", "interrupted")


class Manifest:
    """Thread-safe reader and writer of ``campaign.json``.

    Args:
        folder: The campaign folder.
        data: The manifest's content.
    """

    def __init__(self, folder: Path, data: dict[str, Any]) -> None:
        self.folder = folder
        self.data = data
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """``campaign.json``."""
        return self.folder / MANIFEST

    @property
    def cells(self) -> dict[str, dict[str, Any]]:
        """Cell id -> its entry."""
        return self.data["cells"]

    @classmethod
    def create(cls, folder: Path, name: str, spec_data: dict[str, Any]) -> Manifest:
        """A new manifest (not yet written)."""
        data = {
            "name": name,
            "created": time.time(),
            "status": "created",
            "spec": spec_data,
            "cells": {},
        }
        return cls(folder, data)

    @classmethod
    def open(cls, folder: Path) -> Manifest:
        """Read the manifest of the campaign folder ``folder``.

        Raises:
            UserError: No readable manifest there.
        """
        path = folder / MANIFEST
        try:
            data = read_json(path)
        except FileNotFoundError:
            raise UserError(
                f"{str(folder)!r} is not a campaign folder (no {MANIFEST}); pass the folder "
                "made by `rewardsmith campaign FILE`"
            ) from None
        except (OSError, ValueError) as exc:
            raise UserError(f"{str(path)!r} is corrupt ({exc}); start the campaign anew") from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
            raise UserError(f"{str(path)!r} is corrupt (no cells); start the campaign anew")
        return cls(folder, data)

    def add_cell(self, cell_id: str, entry: dict[str, Any]) -> None:
        """Register a cell as ``pending`` unless it is already known."""
        with self._lock:
            self.cells.setdefault(cell_id, {"status": "pending", "error": "", **entry})

    def update_cell(self, cell_id: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into a cell's entry and write the manifest."""
        with self._lock:
            self.cells[cell_id].update(changes)
            self._write()
            return dict(self.cells[cell_id])

    def set(self, **changes: Any) -> None:
        """Merge top-level ``changes`` and write the manifest."""
        with self._lock:
            self.data.update(changes)
            self._write()

    def save(self) -> None:
        """Write the manifest as it is."""
        with self._lock:
            self._write()

    def _write(self) -> None:
        self.data["updated"] = time.time()
        write_json(self.path, self.data)

    def counts(self) -> dict[str, int]:
        """Cells per state, plus ``total``."""
        with self._lock:
            states = [c.get("status", "pending") for c in self.cells.values()]
        found = {state: states.count(state) for state in STATES}
        found["total"] = len(states)
        return found
