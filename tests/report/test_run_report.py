"""The run report: the CLI writes report.html + report.md, and Chromium shows it whole."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_cli
from tests.report.browser import open_report
from tests.report.tiny_run import copy_run, tiny_run_stdout

# Builds (once per session, on one pytest-xdist worker) a tiny real run.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tiny_run")]


def _video(folder: Path) -> None:
    import imageio.v2 as iio

    frames = [np.full((64, 96, 3), (i * 9) % 255, dtype=np.uint8) for i in range(20)]
    writer = iio.get_writer(
        str(folder / "video.mp4"),
        fps=10,
        codec="libx264",
        pixelformat="yuv420p",
        ffmpeg_params=["-movflags", "+faststart"],
    )
    for frame in frames:
        writer.append_data(frame)
    writer.close()
    iio.imwrite(str(folder / "poster.png"), frames[5])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny run with what other features add: videos, a ranking, a rejection."""
    root = copy_run(tmp_path_factory, "report_run")
    _video(root / "iter_00" / "cand_00")
    ranking = {"iteration": 0, "order": [0], "unacceptable": [0], "text": "1 <b>wobbles</b>"}
    (root / "iter_00" / "ranking.json").write_text(json.dumps(ranking))
    rejected = root / "iter_00" / "cand_09"
    rejected.mkdir()
    (rejected / "reward.py").write_text("def compute_reward(x):\n    return x\n")
    verdict = {"passed": False, "problems": ["parameter 'x' is not a state field"]}
    (rejected / "critic.json").write_text(json.dumps(verdict))
    # A confirmation that overturned the search's pick (the tiny run has one candidate).
    report_path = root / "best" / "report.json"
    report = json.loads(report_path.read_text())
    chosen = report["search"]["candidate"]
    report["confirmation"] = {
        "seeds": [5, 6],
        "budget": "10000",
        "candidates": [
            {
                "id": chosen,
                "iteration": 0,
                "search_fitness": 61.0,
                "fitness": [140.0, 152.5],
                "mean": 146.25,
                "failed": 0,
            },
            {
                "id": "0123456789ab",
                "iteration": 0,
                "search_fitness": 200.0,
                "fitness": [20.0],
                "mean": 20.0,
                "failed": 1,
            },
        ],
        "chosen": chosen,
        "search_pick": "0123456789ab",
        "changed": True,
    }
    report_path.write_text(json.dumps(report))
    marker = root / "confirm" / chosen / "seed_5" / "fitness.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"fitness": 140.0, "fitness_trace": [9.0, 140.0], "steps": 777}))
    return root


def test_synthesize_says_what_the_final_evaluation_found(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    said = " ".join(tiny_run_stdout(tmp_path_factory).split())
    assert "the best reward and the native and sparse baselines on 1 seed each" in said
    assert "human-normalised score" in said


def test_report_command_writes_html_and_markdown(run_folder: Path) -> None:
    proc = run_cli(["report", str(run_folder)], cwd=run_folder.parent)
    assert proc.returncode == 0, proc.stderr
    html = (run_folder / "report.html").read_text()
    md = (run_folder / "report.md").read_text()
    best = json.loads((run_folder / "best" / "report.json").read_text())
    for needle in ("Best reward code", "Critic rejections", "Human ranking", "Policy videos"):
        assert needle in html
    assert best["search"]["candidate"] in html
    assert "parameter &#39;x&#39; is not a state field" in html
    assert "1 &lt;b&gt;wobbles&lt;/b&gt;" in html  # a person's text is escaped, not markup
    assert '<div class="highlight">' in html  # the code is highlighted
    assert f"tensorboard --logdir {run_folder}" in html
    assert html.count('src="data:image/png;base64,') >= 3  # fitness, curves, components
    assert 'src="data:video/mp4;base64,' in html
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "| best synthesised |" in md
    assert "<h2>Confirmation</h2>" in html and "140.000, 152.500" in html
    assert "not the search&#39;s own pick (`0123456789ab`)" in html
    assert "20.000 (1 failed)" in html
    assert f"| `{best['search']['candidate']}` (chosen) | 1 | 61.000 | 140.000, 152.500" in md
    assert "```python" in md
    for name in ("fitness", "curves", "components"):
        assert (run_folder / "report_assets" / f"{name}.png").stat().st_size > 1000


def test_every_trained_candidate_has_a_tensorboard_event_file(run_folder: Path) -> None:
    trained = [p.parent for p in run_folder.glob("iter_*/cand_*/metrics.csv")]
    assert trained
    for folder in trained:
        assert list(folder.glob("events.out.tfevents.*")), folder


def test_report_opens_in_chromium_without_errors(run_folder: Path) -> None:
    html = run_folder / "report.html"
    if not html.exists():
        assert run_cli(["report", str(run_folder)], cwd=run_folder.parent).returncode == 0
    page = open_report(html, screenshot="report.png")
    assert page.console_errors == []
    assert len(page.image_widths) >= 3
    assert all(width > 0 for width in page.image_widths), page.image_widths
    assert page.video_states and all(state >= 1 for state in page.video_states)
    assert "Best reward code" in page.text


def test_report_of_a_partial_run_shows_what_there_is(run_folder: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(run_folder, partial)
    shutil.rmtree(partial / "best")
    (partial / "iter_00" / "iteration.json").unlink()
    proc = run_cli(["report", str(partial)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (partial / "report.html").read_text()
    assert "No final evaluation yet" in html
    assert "Best reward code" in html


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    proc = run_cli(["report", str(tmp_path)], cwd=tmp_path)
    assert proc.returncode == 2
    assert "neither a run folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_and_report_say_why_confirmation_overturned_the_pick(
    run_folder: Path, tmp_path: Path
) -> None:
    # The fixture's confirmation was saved before reports gave a reason.
    proc = run_cli(["show", str(run_folder)], cwd=run_folder.parent)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "chosen over the search's pick: mean fitness 146.250; 2 fresh seed(s)" in text
    given = tmp_path / "given"
    shutil.copytree(run_folder, given)
    report_path = given / "best" / "report.json"
    report = json.loads(report_path.read_text())
    reason = "the search's pick failed to train on 1 fresh seed(s)"
    report["confirmation"]["reason"] = reason
    # The search's pick had been stopped by successive halving at a tie.
    report["confirmation"]["candidates"][1].update(search_pruned=True, search_steps=10000)
    report_path.write_text(json.dumps(report))
    proc = run_cli(["show", str(given)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"chosen over the search's pick: {reason}; 2 fresh seed(s)" in " ".join(
        proc.stdout.split()
    )
    assert run_cli(["report", str(given)], cwd=tmp_path).returncode == 0
    markdown = (given / "report.md").read_text()
    assert f"(`0123456789ab`): {reason}." in markdown
    assert "(1 of them stopped by successive halving at a tie with one that went on" in markdown
    assert "| `0123456789ab` | 1 | 200.000 (at 10,000 steps) |" in markdown
