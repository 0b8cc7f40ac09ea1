"""Read a run folder into plain data for the reports; no plotting, no HTML.

Works on finished and on partial runs: an iteration is read from its candidates'
folders (``reward.py``, ``critic.json``, ``fitness.json``), so a run that stopped
mid-iteration still shows what it has.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.errors import UserError

VIDEO_FILE = "video.mp4"
POSTER_FILE = "poster.png"
RANKING_FILE = "ranking.json"


def _json(path: Path) -> Any:
    """``path``'s JSON, or ``None`` when it is missing or unreadable (a report shows gaps)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_csv(path: Path) -> dict[str, list[float]]:
    """Columns of a numeric CSV (``metrics.csv``, ``rollouts.csv``); empty when missing."""
    if not path.is_file():
        return {}
    columns: dict[str, list[float]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            for key, text in row.items():
                try:
                    value = float(text) if text not in (None, "") else math.nan
                except ValueError:
                    value = math.nan
                columns.setdefault(key, []).append(value)
    return columns


@dataclass
class CandidateData:
    """One candidate of one iteration, as its folder holds it."""

    iteration: int
    slot: int
    folder: Path
    id: str = ""
    source: str = ""
    status: str = "pending"
    fitness: float | None = None
    success_rate: float | None = None
    steps: int = 0
    problems: list[str] = field(default_factory=list)
    critic_passed: bool | None = None
    critic_problems: list[str] = field(default_factory=list)

    @property
    def video(self) -> Path | None:
        """The policy video, when one was recorded."""
        path = self.folder / VIDEO_FILE
        return path if path.is_file() else None

    @property
    def poster(self) -> Path | None:
        """The video's poster frame, when there is one."""
        path = self.folder / POSTER_FILE
        return path if path.is_file() else None

    @property
    def key(self) -> str:
        """``iter_NN/cand_MM``."""
        return f"iter_{self.iteration:02d}/cand_{self.slot:02d}"


@dataclass
class IterationData:
    """One iteration: its candidates, its feedback text and a person's ranking."""

    index: int
    candidates: list[CandidateData]
    feedback: str = ""
    ranking: dict[str, Any] | None = None
    finished: bool = False

    @property
    def best(self) -> CandidateData | None:
        """The trained candidate with the highest fitness."""
        trained = [c for c in self.candidates if c.fitness is not None]
        return max(trained, key=lambda c: c.fitness or 0.0) if trained else None


@dataclass
class RunData:
    """Everything a report shows about one run."""

    root: Path
    run: dict[str, Any]
    iterations: list[IterationData]
    report: dict[str, Any] | None

    @property
    def config(self) -> dict[str, Any]:
        """The run's saved configuration."""
        return self.run.get("config") or {}

    @property
    def task(self) -> str:
        """Task id."""
        return str(self.run.get("task") or self.config.get("env") or "?")

    @property
    def designer(self) -> str:
        """The model that designed the rewards, or ``offline``."""
        return str(self.config.get("model") or "offline")

    @property
    def usage(self) -> dict[str, float]:
        """Model tokens and cost (zeros when none were used)."""
        usage = self.run.get("usage") or {}
        return {
            "prompt_tokens": float(usage.get("prompt_tokens", 0)),
            "completion_tokens": float(usage.get("completion_tokens", 0)),
            "cost_usd": float(usage.get("cost_usd", 0.0)),
            "requests": float(usage.get("requests", 0)),
        }

    @property
    def candidates(self) -> list[CandidateData]:
        """Every candidate of every iteration."""
        return [c for it in self.iterations for c in it.candidates]

    @property
    def best_candidate(self) -> CandidateData | None:
        """The candidate the run picked as best (by its report), else the fittest one."""
        search = (self.report or {}).get("search") or {}
        for cand in self.candidates:
            if cand.id and cand.id == search.get("candidate") and cand.fitness is not None:
                return cand
        trained = [c for c in self.candidates if c.fitness is not None]
        return max(trained, key=lambda c: c.fitness or 0.0) if trained else None

    @property
    def best_seed_dirs(self) -> list[Path]:
        """Folders of the best reward's final-evaluation trainings."""
        best = self.root / "best"
        return sorted(p for p in best.glob("seed_*") if p.is_dir()) if best.is_dir() else []

    def env_steps(self) -> int:
        """Env steps this run trained (candidates, confirmation, final evaluation of the best)."""
        total = sum(c.steps for c in self.candidates)
        markers = [folder / "fitness.json" for folder in self.best_seed_dirs]
        markers += sorted((self.root / "confirm").glob("*/seed_*/fitness.json"))
        for marker in markers:
            total += int((_json(marker) or {}).get("steps", 0))
        return total

    def baseline(self, mode: str) -> list[list[float]]:
        """Fitness traces of the ``native`` or ``sparse`` baseline, one per evaluation seed.

        Baselines are cached beside the run (``<out>/.cache/baselines``); a missing cache
        gives an empty list.
        """
        report = self.report or {}
        cache = self.root.parent / ".cache" / "baselines"
        traces = []
        for seed in report.get("seeds", []):
            name = f"{self.task}__{report.get('fitness')}__{report.get('budget')}__{mode}__{seed}"
            record = _json(cache / f"{name}.json") or {}
            if record.get("fitness_trace"):
                traces.append([float(v) for v in record["fitness_trace"]])
        return traces


def _read_candidate(iteration: int, folder: Path) -> CandidateData:
    cand = CandidateData(iteration, int(folder.name[5:]), folder)
    reward = folder / "reward.py"
    if reward.is_file():
        cand.source = reward.read_text(errors="replace")
    critic = _json(folder / "critic.json")
    if isinstance(critic, dict):
        cand.critic_passed = bool(critic.get("passed"))
        cand.critic_problems = [str(p) for p in critic.get("problems", [])]
        if not cand.critic_passed:
            cand.status = "rejected"
    result = _json(folder / "fitness.json")
    if isinstance(result, dict):
        cand.status = str(result.get("status", "ok"))
        cand.fitness = result.get("fitness")
        cand.success_rate = result.get("success_rate")
        cand.steps = int(result.get("steps") or 0)
        cand.problems = [str(p) for p in result.get("problems", [])]
        cand.id = str((result.get("candidate") or {}).get("id", ""))
    return cand


def _read_iteration(folder: Path, index: int) -> IterationData:
    slots = sorted(
        (p for p in folder.glob("cand_*") if p.is_dir() and p.name[5:].isdigit()),
        key=lambda p: int(p.name[5:]),
    )
    candidates = [_read_candidate(index, p) for p in slots]
    manifest = _json(folder / "candidates.json")
    if isinstance(manifest, list):
        ids = {s.get("slot"): (s.get("candidate") or {}).get("id", "") for s in manifest}
        for cand in candidates:
            cand.id = cand.id or str(ids.get(cand.slot, ""))
    record = _json(folder / "iteration.json")
    if isinstance(record, dict):
        # Twins of an identical candidate have no fitness.json; the record holds their result.
        for cand, result in zip(candidates, record.get("results", []), strict=False):
            if cand.fitness is None and result.get("fitness") is not None:
                cand.status = str(result.get("status", "ok"))
                cand.fitness = result.get("fitness")
                cand.success_rate = result.get("success_rate")
    feedback = folder / "feedback.md"
    ranking = _json(folder / RANKING_FILE)
    return IterationData(
        index,
        candidates,
        feedback.read_text(errors="replace") if feedback.is_file() else "",
        ranking if isinstance(ranking, dict) else None,
        isinstance(record, dict),
    )


def load_run(root: Path) -> RunData:
    """Read the run folder ``root``.

    Raises:
        UserError: ``root`` is not a run folder.
    """
    run = _json(root / "run.json")
    if not isinstance(run, dict):
        raise UserError(
            f"{str(root)!r} is not a rewardsmith run folder (no readable run.json); pass a "
            "folder made by `rewardsmith synthesize` or a campaign folder"
        )
    iterations = []
    for folder in sorted(root.glob("iter_*")):
        if folder.is_dir() and folder.name[5:].isdigit():
            iterations.append(_read_iteration(folder, int(folder.name[5:])))
    report = _json(root / "best" / "report.json")
    return RunData(root, run, iterations, report if isinstance(report, dict) else None)
