"""Helpers for tests: run the real CLI in a child process."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``rewardsmith ARGS`` as a user would, capturing its output."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def default_sigint() -> None:
    """A ``preexec_fn``: SIGINT back to its default, as a terminal's foreground job has it.

    A shell starts background jobs (``bash .ci/run &``) with SIGINT ignored, and children
    inherit that; the CLI would then never see the Ctrl-C a test sends it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn_cli(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    """``rewardsmith ARGS`` in the background, as a user's shell starts it (output dropped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", *args],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def only_run(out: Path) -> Path:
    """The single run folder under ``out`` (``.cache`` and other dot folders aside)."""
    runs = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def fenced_answer(code: str, preface: str = "") -> str:
    """A model answer holding ``code`` in a ``python`` block, as an LLM writes it."""
    return f"{preface}```python\n{code.strip()}\n```\n"


class TrainedOutcome:
    """What ``run_job`` returns for a finished training, for tests that fake the worker.

    Args:
        fitness: The training's final fitness.
        native_return: Its final native return (default: ten times the fitness).
    """

    def __init__(self, fitness: float, native_return: float | None = None) -> None:
        final = 10 * fitness if native_return is None else native_return
        self.ok, self.error = True, None
        self.result = {"fitness": fitness, "native_return_trace": [0.0, final]}


def load_bench(name: str) -> ModuleType:
    """The script ``bench/<name>.py`` as a module, registered as ``name`` (bench scripts
    import one another by that name)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def running(pid: int) -> bool:
    """Whether ``pid`` runs: a process gone, or dead and waiting to be reaped, does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
