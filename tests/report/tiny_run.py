"""One tiny finished run, built once per test session and shared by the report and export tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import only_run, run_cli

#: Small enough for CI, long enough that PPO learns something on CartPole.
TINY_ARGS = [
    "synthesize",
    "--env",
    "CartPole-v1",
    "--budget",
    "10000",
    "--iterations",
    "1",
    "--samples",
    "1",
    "--eval-seeds",
    "1",
    "--executor",
    "local",
    "--no-cache",
]


def tiny_run(factory: pytest.TempPathFactory) -> Path:
    """The shared run folder (built on first use); copy it before changing it."""
    out = factory.getbasetemp() / "tiny_run_out"
    done = out / ".built"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        proc = run_cli([*TINY_ARGS, "--out", str(out)], cwd=out, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (out / ".stdout").write_text(proc.stdout)
        done.write_text("ok")
    return only_run(out)


def tiny_run_stdout(factory: pytest.TempPathFactory) -> str:
    """What ``synthesize`` printed while it made the shared run."""
    return (tiny_run(factory).parent / ".stdout").read_text()


def copy_run(factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the shared run (with its baseline cache beside it)."""
    source = tiny_run(factory)
    out = factory.mktemp(name)
    shutil.copytree(source, out / source.name)
    cache = source.parent / ".cache"
    if cache.is_dir():
        shutil.copytree(cache, out / ".cache")
    return out / source.name
