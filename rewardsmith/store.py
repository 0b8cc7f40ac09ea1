"""The run folder on disk: atomic writes and reads; no logic about what the files mean.

Layout (see DESIGN.md)::

    runs/<run-id>/
      run.json                 config, task, versions, seed, status, field fingerprint
      transitions.npz          random-rollout transitions for the critic
      iter_00/
        prompt.md  response_00.md ...
        exchange_00.json ...   each designer call's answers, written once it is saved whole
        candidates.json        the iteration's candidates (written once all are checked)
        cand_00/ reward.py critic.json metrics.csv fitness.json policy.zip
        feedback.md            what the next iteration is told
        iteration.json         the finished iteration (written last)
      best/ reward.py report.json
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rewardsmith.errors import UserError

T = TypeVar("T")

RUN_FILE = "run.json"
#: run.json key: the folders a task file's own modules were imported from at the start.
RUN_IMPORT_PATHS = "import_paths"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def task_file_copy(run_root: Path, task_file: str) -> Path:
    """Where a run keeps its copy of ``task_file`` (the suffix picks TOML or YAML)."""
    from rewardsmith.envs.registry import YAML_SUFFIXES

    suffix = Path(task_file).suffix.lower()
    return run_root / ("task" + (suffix if suffix in YAML_SUFFIXES else ".toml"))


def safe_name(text: str) -> str:
    """``text`` reduced to characters that are safe in a folder name.

    An env id such as ``pkg.mod:Walk-v0`` holds ``:``, which rsync and Windows read as
    something else.
    """
    return _UNSAFE.sub("-", text).strip("-.") or "x"


# Below this much free space a run would fail part-way (policies, metrics, videos).
MIN_FREE_BYTES = 20 * 1024 * 1024


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; run folders are shared artefacts, so honour the umask instead.
_FILE_MODE = 0o666 & ~_current_umask()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(path.read_text())


class DamagedFile(UserError):
    """A run file that does not read back as what the run wrote.

    Every write here is atomic, so such a file was edited or torn outside rewardsmith.
    """


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} in it" if exc.args else "a key is missing"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def json_object(data: Any) -> dict[str, Any]:
    """``data`` if it is a JSON object; a ``parse`` for :func:`read_record`."""
    if not isinstance(data, dict):
        raise TypeError(f"a JSON object was expected, not {type(data).__name__}")
    return data


def read_record(path: Path, parse: Callable[[Any], T]) -> T:
    """Read the JSON file ``path`` and turn it into a value with ``parse``.

    Raises:
        DamagedFile: The file is not JSON, or ``parse`` found it the wrong shape; the
            message names the file and how a run recovers (it remakes a deleted file).
    """
    try:
        return parse(read_json(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # ValueError covers a torn file (JSONDecodeError) and undecodable bytes.
        raise DamagedFile(
            f"{str(path)!r} is damaged ({_reason(exc)}); delete it and resume the run "
            "(`rewardsmith resume RUN`): the run remakes it"
        ) from None


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


class RunStore:
    """Paths and atomic I/O for one run folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, out: Path, run_id: str) -> RunStore:
        """Make a new run folder ``out/run_id``, checking first that ``out`` is writable.

        Raises:
            UserError: ``out`` cannot be created or written, or the run exists.
        """
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / f".rewardsmith-write-test-{os.getpid()}"
            try:
                probe.write_text("ok")
            finally:
                probe.unlink(missing_ok=True)  # a full disk leaves an empty file behind
        except OSError as exc:
            raise UserError(
                f"cannot write to output folder {str(out)!r} ({exc.strerror}); "
                "pass a writable folder with --out"
            ) from exc
        free = shutil.disk_usage(out).free
        if free < MIN_FREE_BYTES:
            raise UserError(
                f"output folder {str(out)!r} has only {free // 1024} KiB free; a run needs at "
                f"least {MIN_FREE_BYTES // 2**20} MiB: free space or pass another folder with --out"
            )
        root = out / run_id
        if root.exists():
            raise UserError(f"run folder {str(root)!r} already exists; use `rewardsmith resume`")
        root.mkdir()
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> RunStore:
        """Open an existing run folder.

        Raises:
            UserError: ``root`` is not a run folder.
        """
        if not (root / RUN_FILE).is_file():
            raise UserError(
                f"{str(root)!r} is not a rewardsmith run folder (no {RUN_FILE}); "
                "pass a folder under runs/ made by `rewardsmith synthesize`"
            )
        try:
            data = read_json(root / RUN_FILE)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(
                f"{str(root / RUN_FILE)!r} is corrupt ({exc}); this run cannot be reopened: "
                "start a new one with `rewardsmith synthesize`"
            ) from exc
        if not isinstance(data, dict):
            raise UserError(
                f"{str(root / RUN_FILE)!r} is corrupt (not a JSON object); this run cannot be "
                "reopened: start a new one with `rewardsmith synthesize`"
            )
        return cls(root)

    def sweep_temp(self) -> list[Path]:
        """Delete the temp files of writes a killed process left half done; return them.

        :func:`write_atomic` only renames complete files into place, so a leftover
        ``.NAME.XXXX.tmp`` is never complete and never read; this only tidies up.
        """
        stale = [p for p in self.root.rglob(".*.tmp") if p.is_file()]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    # Paths -------------------------------------------------------------------------------
    def iter_dir(self, index: int) -> Path:
        """``iter_NN`` folder of iteration ``index``."""
        return self.root / f"iter_{index:02d}"

    def cand_dir(self, iteration: int, slot: int) -> Path:
        """``iter_NN/cand_MM`` folder of a candidate."""
        return self.iter_dir(iteration) / f"cand_{slot:02d}"

    @property
    def best_dir(self) -> Path:
        """``best/`` folder."""
        return self.root / "best"

    # I/O -----------------------------------------------------------------------------------
    def read_run(self) -> dict[str, Any]:
        """Contents of ``run.json``."""
        return read_json(self.root / RUN_FILE)

    def write_run(self, data: dict[str, Any]) -> None:
        """Replace ``run.json``."""
        write_json(self.root / RUN_FILE, data)

    def update_run(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into ``run.json`` and return the result."""
        data = self.read_run()
        data.update(changes)
        self.write_run(data)
        return data

    def list_iterations(self) -> list[int]:
        """Indexes of the iteration folders present, in order."""
        found = []
        for path in self.root.glob("iter_*"):
            suffix = path.name[5:]
            if path.is_dir() and suffix.isdigit():
                found.append(int(suffix))
        return sorted(found)
