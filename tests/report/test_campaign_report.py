"""The campaign report, from a campaign folder with made-up finished cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardsmith.campaign.manifest import Manifest
from rewardsmith.report.campaign_report import campaign_rows
from tests.helpers import run_cli
from tests.report.browser import open_report


def _cell(folder: Path, cell_id: str, best: float, hns: float, tokens: int) -> None:
    root = folder / cell_id
    (root / "best").mkdir(parents=True)
    run = {
        "config": {"model": "m", "budget": "smoke"},
        "task": cell_id.split("__")[0],
        "status": "finished",
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "cost_usd": 0.5},
    }
    (root / "run.json").write_text(json.dumps(run))
    report = {
        "search": {"fitness": best},
        "best": {"mean": best, "std": 0.0, "per_seed": [best], "success_rate": 1.0},
        "native": {"mean": 100.0},
        "sparse": {"mean": 0.0},
        "hns": hns,
    }
    (root / "best" / "report.json").write_text(json.dumps(report))


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    manifest = Manifest.create(folder, "study", {})
    grid = [("Hopper-v5", "gpt", 0, 80.0), ("Hopper-v5", "gpt", 1, 120.0)]
    grid += [("Hopper-v5", "offline", 0, 50.0), ("Ant-v5", "gpt", 0, 150.0)]
    for task, designer, seed, best in grid:
        cell_id = f"{task}__{designer}__seed{seed}"
        manifest.add_cell(
            cell_id, {"task": task, "designer": designer, "seed": seed, "run": cell_id}
        )
        _cell(folder, cell_id, best, best / 100.0, 1000)
        manifest.cells[cell_id]["status"] = "done"
    manifest.add_cell(
        "Ant-v5__offline__seed0",
        {"task": "Ant-v5", "designer": "offline", "seed": 0, "run": "Ant-v5__offline__seed0"},
    )
    manifest.update_cell("Ant-v5__offline__seed0", status="failed", error="no candidate trained")
    return folder


def test_rows_aggregate_seeds_per_task_and_designer(campaign: Path) -> None:
    rows, cells = campaign_rows(Manifest.open(campaign))
    by_key = {(r["task"], r["designer"]): r for r in rows}
    hopper = by_key[("Hopper-v5", "gpt")]
    assert (hopper["cells"], hopper["done"]) == (2, 2)
    assert hopper["best"] == 100.0 and hopper["hns"] == 1.0
    assert hopper["best_text"] == "100.000 ± 20.000"
    assert hopper["tokens"] == 2000 and hopper["cost"] == 1.0
    failed = by_key[("Ant-v5", "offline")]
    assert (failed["done"], failed["best_text"]) == (0, "-")
    assert {c["status"] for c in cells} == {"done", "failed"}


def test_campaign_report_opens_in_chromium(campaign: Path) -> None:
    proc = run_cli(["report", str(campaign)], cwd=campaign.parent)
    assert proc.returncode == 0, proc.stderr
    html = (campaign / "report.html").read_text()
    assert "no candidate trained" in html
    assert 'src="data:image/png;base64,' in html  # the HNS bar chart
    assert "| Hopper-v5 | gpt | 2/2 | 100.000 ± 20.000 |" in (campaign / "report.md").read_text()
    page = open_report(campaign / "report.html", screenshot="campaign_report.png")
    assert page.console_errors == []
    assert page.image_widths and all(w > 0 for w in page.image_widths)
    assert "Results per task and designer" in page.text
