"""Reuse finished trainings: an :class:`Executor` wrapper keyed by what decides the result.

PPO on the CPU with a fixed seed is deterministic, so a training job's outcome is a
function of its spec (task, fitness, budget, seed, the reward's *normalised* code, rung
bounds), the bytes of its input files (the checkpoint a rung continues) and the versions of
the libraries that compute it. That triple, hashed, is the cache key; the outcome and its
files are stored under it. A second run (or a campaign cell) that asks for the same work
gets the stored files copied into its candidate folder instead of a training. Rungs of
successive halving chain naturally: a hit restores the same ``policy.zip`` bytes, so the
next rung's key matches too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from rewardsmith.train.contract import normalise_source
from rewardsmith.train.executor import Executor, Job, ProgressHook
from rewardsmith.train.jobs import JobOutcome

logger = logging.getLogger(__name__)

#: Job kinds whose outcome depends only on the key (rendering and probing are cheap).
CACHED_KINDS = frozenset({"train"})
_VERSIONED = ("rewardsmith", "stable-baselines3", "gymnasium", "mujoco", "torch", "numpy", "box2d")


#: rewardsmith's own code a training runs: the tasks' fields, fitness and native rewards,
#: the PPO wrapper, the seeds. Relative to the package folder.
TRAINING_SOURCES = ("envs", "train", "seeding.py")


def source_digest(package: Path, parts: tuple[str, ...] = TRAINING_SOURCES) -> str:
    """A digest of the Python files under ``parts`` of ``package``, names and bytes.

    A checkout keeps one version number across every commit, so the version alone would let
    a result trained before a field's fix answer a job after it.
    """
    digest = hashlib.sha256()
    for part in parts:
        root = package / part
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(package)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@cache
def library_versions() -> dict[str, str]:
    """Versions of everything that changes a training's numbers, rewardsmith's source too."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    versions["rewardsmith-source"] = source_digest(Path(__file__).resolve().parents[1])
    return versions


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def job_key(job: Job) -> str | None:
    """The cache key of ``job``, or ``None`` when its kind is not cached."""
    spec = dict(job.spec)
    if spec.get("kind") not in CACHED_KINDS:
        return None
    reward = dict(spec.get("reward", {}))
    if "source" in reward:
        # Comments and formatting do not change what PPO learns.
        reward["source"] = normalise_source(reward["source"])
    spec["reward"] = reward
    material = {
        "spec": spec,
        "inputs": {name: _file_digest(path) for name, path in sorted(job.inputs.items())},
        "versions": library_versions(),
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResultCache:
    """Outcomes and their files on disk, one folder per key.

    Args:
        root: The cache folder (created on first store).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def load(self, key: str, keep_dir: Path | None) -> JobOutcome | None:
        """The stored outcome with its files copied into ``keep_dir``, or ``None``."""
        entry = self._entry(key)
        try:
            result = json.loads((entry / "outcome.json").read_text())
        except (OSError, ValueError):
            return None
        files: list[Path] = []
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for name in result.get("files", []):
                src = entry / name
                if not src.is_file():
                    logger.warning("cache entry %s lacks %s; ignoring it", key[:12], name)
                    return None
                shutil.copyfile(src, keep_dir / name)
                files.append(keep_dir / name)
        result["cache_hit"] = key
        return JobOutcome(True, result, "", files)

    def store(self, key: str, outcome: JobOutcome) -> None:
        """File a successful outcome and copies of its files.

        Best effort: a full disk costs the reuse, never the run.
        """
        if not outcome.ok:
            return
        entry = self._entry(key)
        if entry.exists():
            return
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
            for path in outcome.files:
                shutil.copyfile(path, tmp / path.name)
            result = {k: v for k, v in outcome.result.items() if k != "cache_hit"}
            (tmp / "outcome.json").write_text(json.dumps(result, default=float))
            try:
                tmp.rename(entry)  # atomic: a reader sees a whole entry or none
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)  # another run filed it first
        except OSError as exc:
            logger.warning("could not store a cache entry: %s", exc)


class CachingExecutor:
    """Answers cached jobs from a :class:`ResultCache` and runs the rest on ``inner``.

    Args:
        inner: The executor that runs cache misses.
        cache: Where outcomes are kept.
    """

    def __init__(self, inner: Executor, cache: ResultCache) -> None:
        self.inner = inner
        self.cache = cache
        self.hits = 0

    def run(
        self, jobs: list[Job], on_progress: ProgressHook | None = None
    ) -> Iterator[tuple[Job, JobOutcome]]:
        """Yield cached outcomes at once, then the others as ``inner`` finishes them."""
        misses: list[Job] = []
        keys: dict[int, str] = {}
        for job in jobs:
            key = job_key(job)
            hit = self.cache.load(key, job.keep_dir) if key else None
            if hit is not None:
                self.hits += 1
                logger.info("job %s: reused cached result %s", job.key, key[:12] if key else "")
                yield job, hit
                continue
            if key:
                keys[id(job)] = key
            misses.append(job)
        if not misses:
            return
        for job, outcome in self.inner.run(misses, on_progress):
            key = keys.get(id(job))
            if key:
                self.cache.store(key, outcome)
            yield job, outcome

    def close(self, kill: bool = False) -> None:
        """Close the inner executor."""
        self.inner.close(kill)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
