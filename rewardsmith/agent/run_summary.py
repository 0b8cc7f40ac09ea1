"""Read a run folder back into a summary of what happened (for ``rewardsmith show``)."""

from __future__ import annotations

from typing import Any

from rewardsmith.agent.candidate import CandidateResult
from rewardsmith.agent.reflection import hacking_alert
from rewardsmith.store import RunStore, read_json


def _clip(text: str, limit: int = 160) -> str:
    """``text`` cut to about ``limit`` characters at a word boundary, marked with "..."."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ;,:") + " ..."


def _candidate_rows(store: RunStore, index: int) -> tuple[list[dict[str, Any]], bool]:
    folder = store.iter_dir(index)
    finished = (folder / "iteration.json").exists()
    if finished:
        data = read_json(folder / "iteration.json")
        results = [CandidateResult.from_json(r) for r in data["results"]]
        best_id = data["best_id"]
        slots = (
            [s["slot"] for s in read_json(folder / "candidates.json")]
            if (folder / "candidates.json").exists()
            else list(range(len(results)))
        )
        rows = [
            _row(slot, result, result.candidate.id == best_id)
            for slot, result in zip(slots, results, strict=False)
        ]
        return rows, True
    rows = []
    for cand in sorted(folder.glob("cand_*")):
        slot = int(cand.name[5:])
        if (cand / "fitness.json").exists():
            rows.append(
                _row(slot, CandidateResult.from_json(read_json(cand / "fitness.json")), False)
            )
        elif (cand / "critic.json").exists():
            critic = read_json(cand / "critic.json")
            status = "checked" if critic["passed"] else "rejected"
            notes = "" if critic["passed"] else _clip("; ".join(critic["problems"]))
            rows.append(
                {
                    "slot": slot,
                    "id": "",
                    "status": status,
                    "fitness": None,
                    "notes": notes,
                    "best": False,
                    "alert": None,
                }
            )
    return rows, False


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
        rows, finished = _candidate_rows(store, index)
        alerts = [f"cand_{r['slot']:02d}: {r['alert']}" for r in rows if r["alert"]]
        iterations.append(
            {"index": index, "candidates": rows, "finished": finished, "alerts": alerts}
        )
    report_path = store.best_dir / "report.json"
    return {
        "run": store.read_run(),
        "iterations": iterations,
        "report": read_json(report_path) if report_path.exists() else None,
    }
