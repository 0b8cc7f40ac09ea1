"""Kill a run mid-iteration with SIGKILL, resume it, and check nothing finished is redone."""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from rewardsmith.train.scratch import ROOT_PREFIX
from tests.helpers import run_cli, running, spawn_cli

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> list[int]:
    """Children, grandchildren...: the trainings are the fork server's children."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(x) for x in out.stdout.split()]
    return children + [d for child in children for d in _descendants(child)]


def test_resume_after_sigkill_retrains_nothing_finished(tmp_path: Path) -> None:
    args = [
        "synthesize",
        "--env",
        "CartPole-v1",
        "--budget",
        "4000",
        "--iterations",
        "2",
        "--samples",
        "3",
        "--workers",
        "2",
        "--eval-seeds",
        "0",
        "--search",
        "full",
        "--confirm-seeds",
        "1",
        "--out",
        "runs",
    ]
    proc = spawn_cli(args, tmp_path)
    deadline = time.monotonic() + 300
    done_file = None
    while time.monotonic() < deadline:
        found = list((tmp_path / "runs").glob("*/iter_00/cand_00/fitness.json"))
        if found:
            done_file = found[0]
            break
        time.sleep(0.2)
    assert done_file is not None, "the first candidate never finished"
    time.sleep(0.5)  # let the next candidate's worker start
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = done_file.parents[2]
    assert not (run / "iter_00" / "iteration.json").exists()
    time.sleep(1.0)
    # The killed CLI's sandboxed workers die with it.
    assert workers, "no worker was running when the CLI was killed"
    assert not [w for w in workers if running(w)], "orphaned workers"
    before = done_file.stat().st_mtime_ns, done_file.read_text()
    shown = run_cli(["show", str(run)], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "unfinished" in shown.stdout and "ok" in shown.stdout

    result = run_cli(["resume", str(run)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (done_file.stat().st_mtime_ns, done_file.read_text()) == before
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    for index in (0, 1):
        record = json.loads((run / f"iter_{index:02d}" / "iteration.json").read_text())
        assert [r["status"] for r in record["results"]] == ["ok"] * 3
    assert (run / "best" / "reward.py").is_file()
    # The 3 fittest of 6 full-budget candidates were confirmed on one fresh seed each.
    confirmation = json.loads((run / "best" / "report.json").read_text())["confirmation"]
    assert len(confirmation["candidates"]) == 3 and len(confirmation["seeds"]) == 1
    markers = sorted(run.glob("confirm/*/seed_*/fitness.json"))
    assert len(markers) == 3
    stamps = [(m.stat().st_mtime_ns, m.read_text()) for m in markers]
    # A second resume of a finished run does no training at all.
    again = run_cli(["resume", str(run)], cwd=tmp_path)
    assert again.returncode == 0
    assert "training" not in again.stdout.lower() or "fitness" not in again.stdout
    assert [(m.stat().st_mtime_ns, m.read_text()) for m in markers] == stamps


def _rung_states(run: Path) -> dict[str, dict]:
    return {
        path.parent.name: json.loads(path.read_text())
        for path in run.glob("iter_00/cand_*/rung.json")
    }


def _metric_steps(folder: Path) -> list[int]:
    lines = (folder / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("steps")
    return [int(float(line.split(",")[column])) for line in lines[1:]]


def test_resume_after_sigkill_mid_halving_continues_every_rung(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "CartPole-v1", "--budget", "8000", "--iterations", "1"]
    args += ["--samples", "4", "--workers", "1", "--eval-seeds", "0", "--confirm-seeds", "0"]
    args += ["--no-cache", "--out", "runs"]
    proc = spawn_cli(args, tmp_path)
    deadline = time.monotonic() + 300
    run = None
    while time.monotonic() < deadline and run is None:
        # Kill once one survivor has finished rung 1 and the other's rung-1 job, which
        # continues its rung-0 checkpoint, is under way.
        found = [
            path
            for path in (tmp_path / "runs").glob("*/iter_00/cand_*/rung.json")
            if json.loads(path.read_text() or "{}").get("rung", 0) >= 1
        ]
        run = found[0].parents[2] if found else None
        time.sleep(0.2)
    assert run is not None, "no rung-1 training finished"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _rung_states(run)
    assert before and not (run / "iter_00" / "iteration.json").exists()
    # The killed run's job folders (a checkpoint among them) outlive it until swept.
    left = list(Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}{proc.pid}-*"))
    assert left, "the killed run had no scratch root"

    result = run_cli(["resume", str(run)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not any(path.exists() for path in left), "the resumed run swept the killed one's"
    after = _rung_states(run)
    for cand, old in before.items():
        new = after[cand]
        if new["rung"] == old["rung"]:
            assert new == old, f"{cand} retrained a rung it had finished"
        else:
            # It went on from the checkpoint it had, not from scratch.
            assert new["resumed_from_steps"] >= old["steps"] > 0, (cand, old, new)
    continued = [c for c, old in before.items() if after[c]["rung"] > old["rung"]]
    assert continued, (before, after)  # the kill interrupted a continuation
    finals = [s for s in after.values() if s["rung"] == max(x["rung"] for x in after.values())]
    assert finals and all(s["steps"] == 8000 for s in finals)
    for cand in after:
        steps = _metric_steps(run / "iter_00" / cand)
        assert steps == sorted(set(steps)), f"{cand}: training restarted ({steps})"
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
