"""Read a run folder back into a summary of what happened (for ``rewardsmith show``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.agent.reflection import hacking_alert
from rewardsmith.store import DamagedFile, RunStore, json_object, read_record


def run_notes(run: dict[str, Any]) -> list[str]:
    """What a run's ``show`` and report say above its results.

    What the offline designer left out of the description, and the state fields that read
    differently when the run resumed.
    """
    from rewardsmith.agent.offline import DESIGN_NOTES_KEY
    from rewardsmith.agent.transitions import field_change_notes

    notes = run.get(DESIGN_NOTES_KEY)
    kept = [str(n) for n in notes] if isinstance(notes, list) else []
    return [*kept, *field_change_notes(run)]


def _clip(text: str, limit: int = 160) -> str:
    """``text`` cut to about ``limit`` characters at a word boundary, marked with "..."."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ;,:") + " ..."


def _results_and_best(data: Any) -> tuple[list[CandidateResult], str | None]:
    record = json_object(data)
    return [CandidateResult.from_json(r) for r in record["results"]], record["best_id"]


def _finished_rows(folder: Path) -> list[dict[str, Any]]:
    results, best_id = read_record(folder / "iteration.json", _results_and_best)
    manifest = folder / "candidates.json"
    slots = (
        read_record(manifest, lambda saved: [int(s["slot"]) for s in saved])
        if manifest.exists()
        else list(range(len(results)))
    )
    return [
        _row(slot, result, result.candidate.id == best_id)
        for slot, result in zip(slots, results, strict=False)
    ]


def _folder_row(cand: Path) -> dict[str, Any] | None:
    slot = int(cand.name[5:])
    if (cand / "fitness.json").exists():
        return _row(slot, read_record(cand / "fitness.json", CandidateResult.from_json), False)
    if not (cand / "critic.json").exists():
        return None
    critic = read_record(cand / "critic.json", json_object)
    passed = bool(critic["passed"])
    return {
        "slot": slot,
        "id": "",
        "status": "checked" if passed else "rejected",
        "fitness": None,
        "notes": "" if passed else _clip("; ".join(critic["problems"])),
        "best": False,
        "alert": None,
    }


def _candidate_rows(store: RunStore, index: int) -> tuple[list[dict[str, Any]], bool, list[str]]:
    """The iteration's rows, whether it finished, and what could not be read."""
    folder = store.iter_dir(index)
    damage: list[str] = []
    if (folder / "iteration.json").exists():
        try:
            return _finished_rows(folder), True, damage
        except DamagedFile as exc:
            # What the candidate folders hold is still worth showing.
            damage.append(str(exc))
    rows = []
    for cand in sorted(folder.glob("cand_*")):
        if not cand.name[5:].isdigit():
            continue
        try:
            row = _folder_row(cand)
        except DamagedFile as exc:
            damage.append(str(exc))
            continue
        if row is not None:
            rows.append(row)
    return rows, False, damage


def _row(slot: int, result: CandidateResult, best: bool) -> dict[str, Any]:
    notes = _clip("; ".join(result.problems)) if result.problems else ""
    return {
        "slot": slot,
        "id": result.candidate.id,
        "status": result.status,
        "fitness": result.fitness,
        "notes": notes,
        "best": best,
        "alert": hacking_alert(result) if result.status == "ok" else None,
    }


def summarize_run(store: RunStore) -> dict[str, Any]:
    """The run's metadata, each iteration's candidates, alerts, and the final report."""
    iterations = []
    for index in store.list_iterations():
        rows, finished, damage = _candidate_rows(store, index)
        alerts = damage + [f"cand_{r['slot']:02d}: {r['alert']}" for r in rows if r["alert"]]
        iterations.append(
            {
                "index": index,
                "candidates": rows,
                "finished": finished,
                "damaged": bool(damage),
                "alerts": alerts,
            }
        )
    report_path = store.best_dir / "report.json"
    report, report_damage = None, None
    if report_path.exists():
        try:
            report = read_record(report_path, json_object)
        except DamagedFile as exc:
            report_damage = str(exc)
    return {
        "run": store.read_run(),
        "iterations": iterations,
        "report": report,
        "report_damage": report_damage,
    }
