"""What a ranking page shows: the manifest of one iteration's rankable candidates.

The loop writes ``iter_NN/ranking_page.json`` before it waits for a person, so the page
served by a waiting run and the one ``rewardsmith rank`` opens later show exactly the same
candidates. A finished iteration without a manifest (a run with automatic feedback) gets
one built from its ``iteration.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardsmith.store import read_json, write_json

PAGE_FILE = "ranking_page.json"
VIDEO_FILE = "video.mp4"
POSTER_FILE = "poster.png"


def candidate_entry(slot: int, result: dict[str, Any], cand_dir: Path) -> dict[str, Any]:
    """One candidate as the page lists it.

    Args:
        slot: The candidate's folder number in its iteration.
        result: Its :class:`~rewardsmith.agent.candidate.CandidateResult` as JSON.
        cand_dir: Its folder (where ``video.mp4`` and ``poster.png`` live).
    """
    return {
        "slot": slot,
        "id": result["candidate"]["id"],
        "fitness": result.get("fitness"),
        "code": result["candidate"]["source"],
        "video": (cand_dir / VIDEO_FILE).is_file(),
        "poster": (cand_dir / POSTER_FILE).is_file(),
    }


def build_manifest(
    iter_dir: Path,
    iteration: int,
    results: list[dict[str, Any]],
    mode: str,
    description: str,
    fitness_name: str,
) -> dict[str, Any]:
    """The page manifest of an iteration: its trained candidates, one per distinct reward.

    Only candidates with a video are shown, unless none has one.

    Args:
        iter_dir: The iteration's folder.
        iteration: Its index.
        results: Every candidate's result as JSON, indexed by slot.
        mode: ``human`` or ``both`` (fitness shown at first in ``both``).
        description: The behaviour asked for.
        fitness_name: The fitness measure's name, for the labels.
    """
    seen: set[str] = set()
    entries = []
    for slot, result in enumerate(results):
        cid = result["candidate"]["id"]
        if result.get("status") != "ok" or cid in seen:
            continue  # a twin of an earlier slot is the same reward: ranked once
        seen.add(cid)
        entries.append(candidate_entry(slot, result, iter_dir / f"cand_{slot:02d}"))
    watchable = [e for e in entries if e["video"]]
    if watchable:
        # A candidate without a video (a twin that shares another's training, a failed
        # recording) cannot be judged by eye; when no video exists at all, rank them anyway.
        entries = watchable
    if mode == "both":
        entries.sort(key=lambda e: -(e["fitness"] if e["fitness"] is not None else -1e300))
    return {
        "iteration": iteration,
        "mode": mode,
        "description": description,
        "fitness_name": fitness_name,
        "candidates": entries,
    }


def save_manifest(iter_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically and return its path."""
    path = iter_dir / PAGE_FILE
    write_json(path, manifest)
    return path


def load_manifest(iter_dir: Path) -> dict[str, Any] | None:
    """The saved manifest of ``iter_dir``, or ``None``."""
    path = iter_dir / PAGE_FILE
    return read_json(path) if path.is_file() else None


def shown_candidates(manifest: dict[str, Any]) -> dict[int, str]:
    """``slot -> candidate id`` of the candidates the page shows."""
    return {int(c["slot"]): str(c["id"]) for c in manifest["candidates"]}
