"""The report of a campaign: one row per task x designer, aggregated over seeds, and HNS bars."""

from __future__ import annotations

import logging
import statistics
from pathlib import Path
from typing import Any

from rewardsmith.campaign.manifest import Manifest
from rewardsmith.errors import UserError
from rewardsmith.report import plots
from rewardsmith.report.data import RunData, load_run
from rewardsmith.report.html import data_uri, fmt, pct, render
from rewardsmith.report.run_report import ASSETS
from rewardsmith.store import write_atomic

logger = logging.getLogger(__name__)


def _mean_text(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.fmean(values))} ± {fmt(statistics.pstdev(values))}"


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _cell_values(data: RunData) -> dict[str, Any]:
    report = data.report or {}
    best = report.get("best") or {}
    fitness = best.get("mean")
    if fitness is None:
        fitness = (report.get("search") or {}).get("fitness")
    usage = data.usage
    return {
        "best": fitness,
        "native": (report.get("native") or {}).get("mean"),
        "sparse": (report.get("sparse") or {}).get("mean"),
        "hns": report.get("hns"),
        "success": best.get("success_rate"),
        "steps": data.env_steps(),
        "tokens": usage["prompt_tokens"] + usage["completion_tokens"],
        "cost": usage["cost_usd"],
    }


def campaign_rows(manifest: Manifest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows per task x designer (aggregated over seeds) and one row per cell.

    Returns:
        ``(rows, cells)``: each row has ``task``, ``designer``, ``cells``, ``done``, means
        (``best``, ``native``, ``sparse``, ``hns``, ``success``), their texts, and totals
        (``steps``, ``tokens``, ``cost``).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    cells = []
    for cell_id, entry in manifest.cells.items():
        root = manifest.folder / str(entry.get("run", cell_id))
        values: dict[str, Any] = {}
        if (root / "run.json").is_file():
            try:
                values = _cell_values(load_run(root))
            except UserError:
                values = {}
        status = entry.get("status", "pending")
        if status != "done" and not values:
            status = status if status != "pending" else "missing"
        key = (str(entry.get("task")), str(entry.get("designer")))
        groups.setdefault(key, []).append({"status": status, **values})
        link = root / "report.html"
        cells.append(
            {
                "id": cell_id,
                "status": status,
                "fitness": fmt(values.get("best")),
                "run": root.name,
                "link": f"{root.name}/report.html" if link.is_file() else "",
                "error": entry.get("error", ""),
            }
        )
    rows = []
    for (task, designer), members in sorted(groups.items()):
        done = [m for m in members if m["status"] == "done"]

        def pick(name: str, group: list[dict[str, Any]] = done) -> list[float]:
            return [m[name] for m in group if m.get(name) is not None]

        rows.append(
            {
                "task": task,
                "designer": designer,
                "cells": len(members),
                "done": len(done),
                "best": _mean(pick("best")),
                "hns": _mean(pick("hns")),
                "best_text": _mean_text(pick("best")),
                "native_text": _mean_text(pick("native")),
                "sparse_text": _mean_text(pick("sparse")),
                "hns_text": _mean_text(pick("hns")),
                "success_text": pct(_mean(pick("success"))),
                "steps": int(sum(pick("steps", members))),
                "tokens": float(sum(pick("tokens", members))),
                "cost": float(sum(pick("cost", members))),
            }
        )
    return rows, cells


def _markdown(
    name: str, rows: list[dict[str, Any]], cells: list[dict[str, Any]], image: str
) -> str:
    lines = [
        f"# Campaign {name}",
        "",
        "| task | designer | seeds | best fitness | native | sparse | HNS | success | env steps "
        "| tokens | cost |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['designer']} | {r['done']}/{r['cells']} | {r['best_text']} | "
            f"{r['native_text']} | {r['sparse_text']} | {r['hns_text']} | {r['success_text']} | "
            f"{r['steps']:,} | {r['tokens']:,.0f} | ${r['cost']:.4f} |"
        )
    if image:
        lines += ["", f"![HNS per task]({image})"]
    lines += ["", "## Cells", "", "| cell | status | best fitness | error |", "|---|---|--:|---|"]
    lines += [f"| {c['id']} | {c['status']} | {c['fitness']} | {c['error']} |" for c in cells]
    return "\n".join(lines) + "\n"


def write_campaign_report(folder: Path, with_runs: bool = False) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` into the campaign folder.

    Args:
        folder: The campaign folder.
        with_runs: Also write every cell's own run report (linked from the cell table).

    Raises:
        UserError: ``folder`` is not a campaign folder.
    """
    manifest = Manifest.open(folder)
    if with_runs:
        from rewardsmith.report.run_report import write_run_report

        for entry in manifest.cells.values():
            root = folder / str(entry.get("run"))
            if (root / "run.json").is_file():
                write_run_report(root)
    rows, cells = campaign_rows(manifest)
    png = plots.hns_bars(rows)
    image = ""
    if png is not None:
        write_atomic(folder / ASSETS / "hns.png", png)
        image = f"{ASSETS}/hns.png"
    statuses = [c["status"] for c in cells]
    counts = {
        "total": len(cells),
        "done": statuses.count("done"),
        "failed": statuses.count("failed"),
        "missing": len(cells) - statuses.count("done") - statuses.count("failed"),
    }
    totals = {
        "steps": sum(r["steps"] for r in rows),
        "tokens": sum(r["tokens"] for r in rows),
        "cost": sum(r["cost"] for r in rows),
    }
    name = str(manifest.data.get("name", folder.name))
    html = render(
        "campaign.html.j2",
        title=f"rewardsmith campaign {name}",
        name=name,
        rows=rows,
        cells=cells,
        counts=counts,
        totals=totals,
        plot=data_uri(png, "image/png") if png else "",
    )
    html_path, md_path = folder / "report.html", folder / "report.md"
    write_atomic(html_path, html)
    write_atomic(md_path, _markdown(name, rows, cells, image))
    logger.info("wrote %s", html_path)
    return html_path, md_path
